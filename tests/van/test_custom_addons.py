"""Tools from outside the golden path: ops add one from its chart or git repository (checked like a built-in, errors
on the field), a VAN's editors turn it on by tag, and it can replace a built-in (Grafana off, Splunk on)."""
from __future__ import annotations

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.urls import reverse

from addons import services as addon_services
from addons.models import CustomAddon
from addons.registry import addon_get
from portal.gitops.models import ChangeSet, ManagedFile

pytestmark = pytest.mark.django_db

SPLUNK = {"slug": "splunk", "name": "Splunk Connect", "summary": "Ships logs to Splunk.",
          "upstream": "https://github.com/splunk/splunk-connect-for-kubernetes", "namespace": "splunk",
          "source_kind": "git", "repo_url": "https://git.example.net/ops/splunk.git", "path": "deploy/base",
          "version": "v1.5.3", "placement": "tagged", "tags": "gpu"}


def files_under(prefix):
    return dict(ManagedFile.objects.filter(path__startswith=prefix).values_list("path", "content"))


@pytest.mark.parametrize("changes, field, says", [
    ({"version": "main"}, "version", "sources[0].git.revision"),
    ({"source_kind": "helm", "chart": "splunk", "version": "~1.5"}, "version", "sources[0].helm.version"),
    ({"repo_url": "file:///etc/passwd"}, "repo_url", "sources[0].git.repoURL"),
    ({"slug": "grafana"}, "slug", "exists already"),
    ({"slug": "Not A Label"}, "slug", "slug"),
    ({"tags": "wayline.io/role=hub"}, "tags", "reserved"),
    ({"source_kind": "svn"}, "source_kind", "helm"),
])
def test_a_bad_tool_is_refused_on_its_field(world, changes, field, says):
    with pytest.raises(ValidationError) as refused:
        addon_services.custom_addon_create(actor=world.admin, **(SPLUNK | changes))
    assert set(refused.value.message_dict) == {field} and says in str(refused.value.message_dict[field]), refused.value.message_dict
    assert not CustomAddon.objects.exists()


def test_a_tool_from_git_replaces_grafana_on_a_van(van_world, django_capture_on_commit_callbacks):
    world, van, hub, eu, us, app = van_world
    addon_services.custom_addon_create(actor=world.admin, **SPLUNK)
    assert addon_get("splunk").sources[0].version == "v1.5.3"
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_disable(actor=world.alice, installation=van.addons.get(slug="grafana"))
    with django_capture_on_commit_callbacks(execute=True):
        splunk = addon_services.addon_add(actor=world.alice, van=van, slug="splunk")
    assert splunk.enabled and not files_under("addons/demo/grafana/")
    (path, text), = files_under("addons/demo/splunk/").items()
    appset = yaml.safe_load(text)
    assert path == "addons/demo/splunk/argocd/splunk.yaml"
    assert appset["spec"]["generators"][0]["clusters"]["selector"] == {
        "matchLabels": {"wayline.io/van": "demo"}, "matchExpressions": [{"key": "gpu", "operator": "Exists"}]}
    assert appset["spec"]["template"]["spec"]["source"] == {"repoURL": "https://git.example.net/ops/splunk.git",
                                                           "path": "deploy/base", "targetRevision": "v1.5.3"}
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_disable(actor=world.alice, installation=splunk)
    assert not files_under("addons/demo/splunk/")


def test_only_platform_admins_add_tools_and_only_a_vans_editors_turn_one_on(van_world, client):
    world, van, *_ = van_world
    client.force_login(world.alice)
    assert client.get(reverse("addons:custom_addon_add")).status_code == 403
    assert client.post(reverse("addons:custom_addon_add"), SPLUNK).status_code == 403
    assert not CustomAddon.objects.exists()
    client.force_login(world.admin)
    response = client.post(reverse("addons:custom_addon_add"), SPLUNK | {"version": "main"})
    assert response.status_code == 400 and "version" in response.context["form"].errors
    assert client.post(reverse("addons:custom_addon_add"), SPLUNK).status_code == 302
    listed = client.get(reverse("addons:addon_list")).content.decode()
    assert 'id="addon-splunk"' in listed and "Add a tool" in listed
    matrix = client.get(reverse("addons:van_addons", kwargs={"pk": van.pk})).content.decode()
    assert 'id="addon-splunk"' in matrix and "not chosen" in matrix
    add = reverse("addons:van_addon_add", kwargs={"pk": van.pk, "slug": "splunk"})
    client.force_login(world.bob)  # another team: sees the public VAN, changes nothing
    assert client.post(add).status_code == 403
    client.force_login(world.alice)
    assert client.post(reverse("addons:van_addon_add", kwargs={"pk": van.pk, "slug": "nope"})).status_code == 303
    assert not van.addons.filter(slug="nope").exists()
    assert client.post(add).status_code == 303 and van.addons.get(slug="splunk").enabled


def test_the_api_adds_a_tool_for_platform_admins_and_turns_it_on_only_for_a_vans_editors(van_world):
    from rest_framework.test import APIClient

    world, van, *_ = van_world
    api = APIClient()
    api.force_authenticate(world.alice)
    body = SPLUNK | {"tags": ["gpu"]}
    assert api.post("/api/custom-addons/", body, format="json").status_code == 403
    api.force_authenticate(world.admin)
    refused = api.post("/api/custom-addons/", body | {"version": "latest"}, format="json")
    assert refused.status_code == 400 and "version" in refused.json(), refused.json()
    created = api.post("/api/custom-addons/", body, format="json")
    assert created.status_code == 201 and created.json()["definition"]["sources"][0]["git"]["revision"] == "v1.5.3"
    assert "repo_url" not in created.json() and api.get("/api/addons/splunk/").json()["sources"][0]["version"] == "v1.5.3"
    van.visibility = "private"
    van.save()
    api.force_authenticate(world.bob)  # another team, private VAN: as if it did not exist
    refused = api.post("/api/addon-installations/", {"van": "demo", "slug": "splunk"}, format="json")
    assert refused.status_code in (400, 403) and not van.addons.filter(slug="splunk").exists()
    api.force_authenticate(world.alice)
    added = api.post("/api/addon-installations/", {"van": "demo", "slug": "splunk"}, format="json")
    assert added.status_code == 201 and added.json()["enabled"] is True
    moved = api.patch(f"/api/addon-installations/{added.json()['id']}/", {"slug": "grafana", "settings": {}}, format="json")
    assert moved.status_code == 400 and van.addons.get(pk=added.json()["id"]).slug == "splunk"


# --- what a hostile reader of this feature found, kept found ------------------------------------------------------


@pytest.mark.parametrize("changes, field", [
    ({"repo_url": "https://user:s3cret@git.example.net/ops/splunk.git"}, "repo_url"),  # a credential in a URL
    ({"repo_url": "https://evil.example/{{.metadata.annotations}}/x.git"}, "repo_url"),  # template text
    ({"upstream": "https://example.net/{{.server}}"}, "upstream"),
])
def test_a_tools_urls_follow_the_projects_url_rules(world, changes, field):
    with pytest.raises(ValidationError) as refused:
        addon_services.custom_addon_create(actor=world.admin, **(SPLUNK | changes))
    assert set(refused.value.message_dict) == {field}, refused.value.message_dict


def test_no_tool_can_take_another_add_ons_argocd_names(van_world, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    for slug in ("sealed-secrets-data", "argo-workflows-argo-events", "grafana-dashboards"):
        addon_services.custom_addon_create(actor=world.admin, **(SPLUNK | {"slug": slug, "placement": "every-cluster", "tags": ""}))
        with django_capture_on_commit_callbacks(execute=True):
            addon_services.addon_add(actor=world.alice, van=van, slug=slug)
    names = {}
    for path, text in files_under("addons/demo/").items():
        doc = yaml.safe_load(text)
        if doc["kind"] == "ApplicationSet":
            for name in (doc["metadata"]["name"], doc["spec"]["template"]["metadata"]["name"]):
                assert name not in names, (name, path, names.get(name))
                names[name] = path


def test_a_tool_whose_stored_definition_breaks_keeps_its_files_and_says_so(van_world, svc, client, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    addon_services.custom_addon_create(actor=world.admin, **(SPLUNK | {"placement": "every-cluster", "tags": ""}))
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_add(actor=world.alice, van=van, slug="splunk")
    before = files_under("addons/demo/splunk/")
    custom = CustomAddon.objects.get(slug="splunk")
    custom.definition = custom.definition | {"unknown_key": True}
    custom.save()
    svc.van_update(actor=world.alice, obj=van, description="an unrelated edit")
    assert files_under("addons/demo/splunk/") == before
    assert not ManagedFile.objects.filter(path__startswith="addons/demo/splunk/").exclude(content__in=before.values()).exists()
    client.force_login(world.alice)
    page = client.get(reverse("addons:van_addons", kwargs={"pk": van.pk})).content.decode()
    assert "<code>splunk</code> is on, but its definition is gone or no longer valid" in page


def test_settings_a_newer_definition_refuses_block_neither_the_van_nor_other_teams(van_world, svc, client):
    world, van, hub, eu, us, app = van_world
    prometheus = van.addons.get(slug="prometheus")
    prometheus.settings = {"retention": "forever"}  # stored before a release tightened the schema
    prometheus.save()
    svc.rule_create(actor=world.alice, van=van, name="later", app_tags="payments", cluster_selector="")
    svc.app_update(actor=world.alice, obj=app, description="still publishes")
    client.force_login(world.alice)
    page = client.get(reverse("addons:van_addons", kwargs={"pk": van.pk})).content.decode()
    assert "Its stored settings are no longer valid" in page and "retention" in page


def test_turning_a_tool_on_with_bad_settings_through_the_api_leaves_it_off(van_world):
    from rest_framework.test import APIClient

    world, van, *_ = van_world
    addon_services.custom_addon_create(actor=world.admin, **SPLUNK)
    api = APIClient()
    api.force_authenticate(world.alice)
    refused = api.post("/api/addon-installations/", {"van": "demo", "slug": "splunk", "settings": {"bogus": 1}}, format="json")
    assert refused.status_code == 400 and not van.addons.filter(slug="splunk", enabled=True).exists()


def test_values_a_tools_form_cannot_store_are_refused_on_the_field(van_world, client):
    world, *_ = van_world
    client.force_login(world.admin)
    response = client.post(reverse("addons:custom_addon_add"), SPLUNK | {"values": "when: 2024-01-01\n"})
    assert response.status_code == 400 and "values" in response.context["form"].errors


def test_upgrading_a_tool_shows_its_diff_first_then_proposes_it_per_van(van_world, svc, client, django_capture_on_commit_callbacks):
    world, van, hub, eu, *_ = van_world
    addon_services.custom_addon_create(actor=world.admin, **(SPLUNK | {"placement": "every-cluster", "tags": ""}))
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_add(actor=world.alice, van=van, slug="splunk")
    url = reverse("addons:custom_addon_upgrade", kwargs={"slug": "splunk"})
    client.force_login(world.alice)  # not a platform admin: sees the tool, may not upgrade it, nor preview it
    assert client.get(url).status_code == 403
    assert client.post(url, {"version": "v1.6.0", "_preview": "1"}).status_code == 403
    client.force_login(world.admin)
    refused = client.post(url, {"version": "main", "_preview": "1"})
    assert refused.status_code == 400 and "version" in refused.context["form"].errors
    before = ChangeSet.objects.count()
    response = client.post(url, {"version": "v1.6.0", "_preview": "1"})
    page = response.content.decode()
    assert response.status_code == 200, response.context["form"].errors
    assert "VAN demo" in page and "-        targetRevision: v1.5.3\n+        targetRevision: v1.6.0" in page
    assert ChangeSet.objects.count() == before and CustomAddon.objects.get().definition["sources"][0]["git"]["revision"] == "v1.5.3"
    svc.cluster_update(actor=world.admin, obj=eu, environment="prod")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"version": "v1.6.0"}).status_code == 302
    latest = ChangeSet.objects.filter(owner_type__model="addoninstallation", owner_id=van.addons.get(slug="splunk").pk).latest("pk")
    assert latest.message == "add-on splunk of VAN demo: upgrade splunk to v1.6.0" and latest.environment.slug == "prod"
    assert latest.status == "awaiting_approval"
