"""Add-on definitions: the built-ins load from data files, every definition is checked where it enters (errors name
the file and the field), sources are pinned, settings are validated on the server and land in the Helm values."""
from __future__ import annotations

import copy

import pytest
import yaml
from django.urls import reverse

from addons.registry import (
    DEFINITIONS_DIR, AddOnDefinition, DefinitionError, builtins, check_needs, definition_load, definition_parse,
    missing_needs,
)

MINIMAL = {
    "slug": "splunk", "name": "Splunk Connect", "summary": "Logs to Splunk.", "upstream": "https://github.com/splunk/x",
    "placement": "tagged", "tags": ["logging"], "namespace": "splunk",
    "sources": [{"name": "splunk", "git": {"repoURL": "https://git.example.net/ops/splunk.git", "path": "deploy/base",
                                           "revision": "v1.4.0"}}],
}


def with_(changes: dict, base=MINIMAL) -> dict:
    data = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        index = int(leaf) if isinstance(node, list) else leaf
        if value is KeyError:
            del node[index]
        else:
            node[index] = value
    return data


def test_the_six_built_ins_are_data_and_all_on_by_default():
    found = builtins()
    assert set(found) == {"prometheus", "grafana", "sealed-secrets", "k8sgpt", "argo-workflows", "crossplane"}
    assert sorted(p.stem for p in DEFINITIONS_DIR.glob("*.yaml")) == sorted(found)
    assert all(d.default_enabled for d in found.values())
    where = {slug: d.placement for slug, d in found.items()}
    # K8sGPT runs on the hub and reads each cluster through the VAN (docs/addons.md, docs/live-status.md)
    assert where == {"prometheus": "every-cluster", "k8sgpt": "hub", "sealed-secrets": "every-cluster",
                     "grafana": "hub", "argo-workflows": "hub", "crossplane": "hub"}
    assert {s.name for s in found["argo-workflows"].sources} == {"argo-workflows", "argo-events"}
    for definition in found.values():
        for source in definition.sources:
            assert source.kind == "helm" and source.version[0].isdigit() and not set("*^~<>x ") & set(source.version), source
            yaml.safe_load(yaml.safe_dump(definition.values_for(source, definition.settings_defaults())))  # values are YAML


def test_defaults_validate_and_settings_land_where_the_definition_says():
    prometheus = builtins()["prometheus"]
    settings, errors = prometheus.settings_clean({"retention": "30d", "alertmanager": False})
    assert errors == {}
    values = prometheus.values_for(prometheus.sources[0], settings)
    assert values["prometheus"]["prometheusSpec"]["retention"] == "30d" and values["alertmanager"] == {"enabled": False}
    assert values["grafana"] == {"enabled": False}, "the definition's own values are kept"
    assert prometheus.sources[0].values["prometheus"]["prometheusSpec"]["retention"] == "15d", "defaults are not mutated"
    argo = builtins()["argo-workflows"]
    events = next(s for s in argo.sources if s.name == "argo-events")
    assert "server" not in argo.values_for(events, argo.settings_defaults()), "a setting goes to its own source only"
    for definition in builtins().values():
        assert definition.settings_clean({}) == (definition.settings_defaults(), {}), definition.slug


@pytest.mark.parametrize("slug, sent, field, says", [
    ("prometheus", {"retention": "forever"}, "retention", "How long samples are kept"),
    ("prometheus", {"alertmanager": "yes"}, "alertmanager", "is not of type 'boolean'"),
    ("prometheus", {"scrape_everything": True}, "scrape_everything", "Prometheus has no setting 'scrape_everything'"),
    ("grafana", {"replicas": 50}, "replicas", "greater than the maximum"),
    ("grafana", {"root_url": "javascript:alert(1)"}, "root_url", "not valid here"),
    ("k8sgpt", {"service_monitor": "on"}, "service_monitor", "is not of type 'boolean'"),
    ("argo-workflows", {"server_auth_modes": ["root"]}, "server_auth_modes", "is not one of"),
    ("argo-workflows", {"server_auth_modes": []}, "server_auth_modes", "should be non-empty"),
])
def test_bad_settings_are_refused_with_an_error_on_the_field(slug, sent, field, says):
    _, errors = builtins()[slug].settings_clean(sent)
    assert set(errors) == {field} and says in errors[field], errors


def test_a_tool_from_git_is_the_same_shape_as_a_built_in():
    splunk = definition_parse(copy.deepcopy(MINIMAL), "splunk.yaml")
    assert isinstance(splunk, AddOnDefinition) and splunk.placement_label == "tagged clusters: logging"
    (source,) = splunk.sources
    assert (source.kind, source.repo_url, source.path, source.version) == (
        "git", "https://git.example.net/ops/splunk.git", "deploy/base", "v1.4.0")
    assert splunk.settings_clean({}) == ({}, {})
    assert splunk.settings_clean({"x": 1})[1] == {"x": "Splunk Connect has no setting 'x'"}


@pytest.mark.parametrize("changes, says", [
    ({"sources.0.git.revision": "main"}, "sources[0].git.revision: 'main' does not match"),
    ({"sources.0.git.revision": "HEAD"}, "sources[0].git.revision"),
    ({"sources.0": {"name": "s", "helm": {"repoURL": "https://charts.example.net", "chart": "s", "version": "^1.2.0"}}},
     "sources[0].helm.version"),
    ({"sources.0": {"name": "s", "helm": {"repoURL": "https://charts.example.net", "chart": "s", "version": "latest"}}},
     "sources[0].helm.version"),
    ({"sources.0": {"name": "s", "helm": {"repoURL": "http://charts.example.net", "chart": "s", "version": "1.0.0"}}},
     "sources[0].helm.repoURL"),
    ({"sources.0.git.repoURL": "file:///etc"}, "sources[0].git.repoURL"),
    ({"sources.0.git.path": "../../secrets"}, "sources[0].git.path"),
    ({"sources": []}, "sources: [] should be non-empty"),
    ({"slug": "Bad_Slug"}, "slug: 'Bad_Slug' does not match"),
    ({"tags": KeyError}, "tags"),
    ({"tags": ["region=eu", "wayline.io/role=hub"]}, "tags[1]: tag 'wayline.io/role=hub': the prefix 'wayline.io' is reserved"),
    ({"placement": "everywhere"}, "placement: 'everywhere' is not one of"),
    ({"namespace": "kube system"}, "namespace"),
    ({"owner": "payments"}, "Additional properties are not allowed ('owner' was unexpected)"),
    ({"needs": ["splunk"]}, "needs: an add-on cannot need itself"),
    ({"settings": {"type": "array"}}, "settings: must be a schema of type object"),
    ({"settings": {"type": "object", "properties": {"n": {"type": "nonsense"}}}}, "settings: not a JSON Schema"),
    ({"settings": {"type": "object", "properties": {"n": {"type": "integer", "default": "ten"}}}},
     "settings.properties.n.default: 'ten' is not of type 'integer'"),
    ({"settings": {"type": "object", "properties": {"n": {"type": "integer", "x-wayline-values": "elsewhere:replicas"}}}},
     "settings.properties.n.x-wayline-values: 'elsewhere:replicas'"),
    ({"sources": [{"name": "a", "git": {"repoURL": "https://g.example.net/a", "path": "p", "revision": "v1.0.0"}},
                  {"name": "a", "git": {"repoURL": "https://g.example.net/b", "path": "p", "revision": "v1.0.0"}}]},
     "sources: two sources share a name"),
])
def test_a_bad_definition_is_refused_naming_the_file_and_the_field(changes, says):
    with pytest.raises(DefinitionError) as refused:
        definition_parse(with_(changes), "ops/splunk/addon.yaml")
    assert str(refused.value).startswith("ops/splunk/addon.yaml: ") and says in str(refused.value), str(refused.value)


def test_a_definition_that_is_not_yaml_names_the_line():
    with pytest.raises(DefinitionError, match=r"^addon\.yaml: line 2: not YAML"):
        definition_load("slug: x\n\tname: y\n", "addon.yaml")


def test_needs_must_exist_and_form_no_cycle_and_a_choice_says_what_it_misses():
    a = definition_parse(with_({"slug": "a", "needs": ["b"]}), "a.yaml")
    b = definition_parse(with_({"slug": "b", "needs": ["a"]}), "b.yaml")
    with pytest.raises(DefinitionError, match=r"needs: a cycle \(a -> b -> a\)"):
        check_needs({"a": a, "b": b})
    with pytest.raises(DefinitionError, match=r"^a: needs: no add-on 'b'"):
        check_needs({"a": a})
    assert missing_needs({"grafana", "k8sgpt", "sealed-secrets"}) == {"grafana": ["prometheus"]}
    assert missing_needs(set(builtins())) == {}


@pytest.mark.django_db
def test_the_add_on_catalogue_lists_each_definition_with_its_pinned_source(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-Wayline-123"))
    page = client.get(reverse("addons:addon_list")).content.decode()
    for definition in builtins().values():
        assert f'id="addon-{definition.slug}"' in page and definition.name in page
        for source in definition.sources:
            assert f"<code>{source.version}</code>" in page
    assert "needs prometheus" in page and "hub only" in page and "every cluster" in page


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_add_on_catalogue_in_the_browser(live_server, page, client, django_user_model):
    from pathlib import Path

    from playwright.sync_api import expect

    client.force_login(django_user_model.objects.create_user("reader", password="pw-Wayline-123"))
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page.goto(live_server.url + reverse("addons:addon_list"))
    expect(page.locator("li.card")).to_have_count(len(builtins()))
    expect(page.locator("#addon-grafana")).to_contain_text("needs prometheus")
    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "addon-catalogue.png"), full_page=True)
