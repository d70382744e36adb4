"""Issue 12: what an app says about its source reaches the ApplicationSets only once validated, and what Wayline
renders cannot delete workloads because a GitOps repository was emptied or broken.

Every hostile value is refused the same way through the page form, the REST API and the service (the model's
validators), with the error on the field; a row written around them stops the render, naming app and field.
"""
from __future__ import annotations

import itertools

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from portal.crd_validation import validate_yaml_text
from tests.van.conftest import edge_keys, gitops, hub_keys, svc, van_world  # noqa: F401 - fixtures
from van import services
from van.models import App, AppRelease, Cluster, DistributionRule

_seq = itertools.count(1)

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "traversal": "../../etc/passwd",
    "minus-one": "-1",
    "git-option": "--upload-pack=x",
    "file-url": "file:///etc",
    "control-chars": "main\x1b[2Jx\x07y",
    "newline": "deploy\nkind: Secret",
    "huge": "x" * 10_000,
}

GIT_APP = {"source_kind": "kustomize", "repo_url": "https://git.example.net/payments/api.git", "path": "deploy",
           "revision": "main", "image": "registry.example.net/payments/api", "version": "1.0.0", "namespace": "payments"}
HELM_APP = {"source_kind": "helm", "repo_url": "https://charts.example.net/payments", "chart": "ledger",
            "chart_version": "2.1.0", "namespace": "payments"}

# Every field that ends up in a rendered manifest, and the kind of app that renders it.
FIELDS = {"repo_url": GIT_APP, "path": GIT_APP, "revision": GIT_APP, "image": GIT_APP, "version": GIT_APP,
          "namespace": GIT_APP, "chart": HELM_APP, "chart_version": HELM_APP}
ISSUE_FIELDS = ("repo_url", "path", "revision")  # the issue's own examples: every entry point for these

VALID = [
    ("repo_url", GIT_APP, "git@github.com:acme/payments-api.git"),
    ("repo_url", GIT_APP, "ssh://git@git.example.net:2222/acme/payments-api.git"),
    ("repo_url", HELM_APP, "https://charts.example.net"),
    ("repo_url", HELM_APP, "oci://registry.example.net/charts"),
    ("path", GIT_APP, "."),
    ("path", GIT_APP, "k8s/overlays/eu-west_1"),
    ("revision", GIT_APP, "HEAD"),
    ("revision", GIT_APP, "v1.2.0"),
    ("revision", GIT_APP, "release/2024.1"),
    ("revision", GIT_APP, "0123456789abcdef0123456789abcdef01234567"),
    ("image", GIT_APP, "registry.example.net:5000/payments/api"),
    ("version", GIT_APP, "1.4.2-rc.1"),
    ("chart", HELM_APP, "ingress-nginx"),
    ("chart_version", HELM_APP, "2.1.0+build.7"),
]


def _name() -> str:
    return f"app-{next(_seq)}"


def _service_create(world, base, **changes):
    fields = {**base, **changes}
    return services.app_create(actor=world.alice, name=_name(), owner_team=world.payments, tags="payments", **fields)


def _form_data(world, base, **changes):
    data = {"name": _name(), "description": "", "component_ref": "", "repo_url": "", "path": "", "revision": "",
            "chart": "", "chart_version": "", "values": "", "image": "", "version": "", "tags": "payments",
            "overrides": "", "owner_team": world.payments.pk, "visibility": "public"}
    return data | base | changes


def _api_data(world, base, **changes):
    return {"name": _name(), "owner_team": world.payments.slug, "visibility": "public", "tags": ["payments"]} | base | changes


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    return client


@pytest.fixture
def page(client, world):
    client.force_login(world.alice)
    return client


# --- refused where they enter ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", FIELDS)
def test_the_service_refuses_hostile_values_on_the_field(world, field, value):
    with pytest.raises(ValidationError) as exc:
        _service_create(world, FIELDS[field], **{field: value})
    assert field in exc.value.message_dict, exc.value.message_dict
    assert not App.objects.exists()


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", FIELDS)
def test_the_api_answers_400_naming_the_field(api, world, field, value):
    response = api.post(reverse("app-list"), _api_data(world, FIELDS[field], **{field: value}), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not App.objects.exists()


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", ISSUE_FIELDS)
def test_the_page_form_shows_the_error_on_the_field(page, world, field, value):
    response = page.post(reverse("van:app_add"), _form_data(world, FIELDS[field], **{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not App.objects.exists()


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", ISSUE_FIELDS)
def test_an_edit_is_refused_through_the_api_and_the_service(api, world, field, value):
    app = _service_create(world, GIT_APP)
    response = api.patch(reverse("app-detail", kwargs={"pk": app.pk}), {field: value}, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    with pytest.raises(ValidationError) as exc:
        services.app_update(actor=world.alice, obj=App.objects.get(pk=app.pk), **{field: value})
    assert field in exc.value.message_dict
    app.refresh_from_db()
    assert getattr(app, field) == GIT_APP[field]


def test_messages_say_what_is_allowed(world):
    with pytest.raises(ValidationError) as exc:
        _service_create(world, GIT_APP, repo_url="file:///etc", path="../../etc/passwd", revision="-1")
    errors = exc.value.message_dict
    assert "https://host/path" in errors["repo_url"][0] and "file:// URLs are not allowed" in errors["repo_url"][0]
    assert "such as deploy/prod" in errors["path"][0] and "'..'" in errors["path"][0]
    assert "HEAD, a branch or tag name" in errors["revision"][0] and "'-'" in errors["revision"][0]
    with pytest.raises(ValidationError) as exc:
        _service_create(world, GIT_APP, repo_url="https://git.example.net/" + "x" * 10_000)
    assert all(len(message) < 1000 for message in exc.value.messages)  # the value is quoted shortened


@pytest.mark.parametrize("field, base, value", VALID, ids=[f"{f}={v}" for f, _, v in VALID])
def test_valid_values_pass(world, field, base, value):
    app = _service_create(world, base, **{field: value})
    assert getattr(App.objects.get(pk=app.pk), field) == value


def test_valid_values_pass_the_page_form_and_the_api(page, api, world):
    response = page.post(reverse("van:app_add"), _form_data(world, GIT_APP, repo_url="git@github.com:acme/a.git", path="k8s/base"))
    assert response.status_code == 302, response.context["form"].errors
    response = api.post(reverse("app-list"), _api_data(world, HELM_APP, repo_url="oci://registry.example.net/charts"), format="json")
    assert response.status_code == 201, response.content


def test_a_helm_app_needs_a_chart_repository_and_a_git_app_a_git_repository(world):
    with pytest.raises(ValidationError) as exc:
        _service_create(world, HELM_APP, repo_url="git@github.com:acme/charts.git")
    assert "Helm chart repository" in exc.value.message_dict["repo_url"][0]
    with pytest.raises(ValidationError) as exc:
        _service_create(world, GIT_APP, repo_url="oci://registry.example.net/charts")
    assert "git repository URL" in exc.value.message_dict["repo_url"][0]


@pytest.mark.parametrize("values", [
    {"a": "x\x07y"}, {"a": 2 ** 70}, {"": 1}, {"a": {"b": "x" * 70_000}}, {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
], ids=["control-char", "huge-int", "empty-key", "too-large", "too-deep"])
def test_helm_values_are_validated_through_the_api(api, world, values):
    response = api.post(reverse("app-list"), _api_data(world, HELM_APP, values=values), format="json")
    assert response.status_code == 400 and "values" in response.json(), response.content
    assert not App.objects.exists()


@pytest.mark.parametrize("values", [{"a": "x\x00y"}, {"a": float("nan")}, {"a": float("inf")}, ["not", "a", "mapping"]],
                         ids=["control-char", "nan", "inf", "list"])
def test_helm_values_and_overrides_are_validated_by_the_service(world, values):
    # NaN and Infinity are not JSON (the API refuses them as it parses) but a page's JSON field or a caller may pass them.
    with pytest.raises(ValidationError) as exc:
        _service_create(world, HELM_APP, values=values)
    assert "values" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _service_create(world, HELM_APP, overrides={"prod": {"values": values}})
    assert "overrides" in exc.value.message_dict
    assert not App.objects.exists()


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_upgrade_refuses_hostile_versions_through_the_api_and_the_service(api, world, value):
    app = _service_create(world, GIT_APP)
    response = api.post(reverse("app-version", kwargs={"pk": app.pk}), {"version": value}, format="json")
    assert response.status_code == 400 and "version" in response.json(), response.content
    with pytest.raises(ValidationError) as exc:
        services.app_version_set(actor=world.alice, app=app, chart_version=value, version="2.0.0")
    assert "chart_version" in exc.value.message_dict
    app.refresh_from_db()
    assert app.version == "1.0.0" and app.chart_version == ""


def test_rollback_to_a_release_with_a_bad_version_is_refused(world):
    app = _service_create(world, GIT_APP)
    release = AppRelease.objects.create(app=app, version="1.0.0")
    AppRelease.objects.filter(pk=release.pk).update(version="--upload-pack=x")  # a row written around the model
    release.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        services.app_rollback(actor=world.alice, app=app, release=release)
    assert "version" in exc.value.message_dict
    app.refresh_from_db()
    assert app.version == "1.0.0"


def test_cluster_api_url_and_tags_are_validated_where_they_enter(api, world):
    for url in ("https://deploy:s3cret@kube.example.net:6443", "ftp://kube.example.net/", "https://-oProxyCommand=x/"):
        response = api.post(reverse("cluster-list"), {"name": f"c-{next(_seq)}", "environment": "dev", "provider": "eks",
                                                      "api_url": url, "owner_team": "payments"}, format="json")
        assert response.status_code == 400 and "api_url" in response.json(), (url, response.content)
    response = api.post(reverse("cluster-list"), {"name": "c-tags", "environment": "dev", "provider": "eks",
                                                  "api_url": "https://kube.example.net", "owner_team": "payments",
                                                  "tags": ["<script>alert(1)</script>"]}, format="json")
    assert response.status_code == 400 and "tags" in response.json()
    assert not Cluster.objects.exists()


# --- the renderer refuses what slipped past --------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("repo_url", "<script>alert(1)</script>"),
    ("repo_url", "file:///etc"),
    ("path", "../../etc/passwd"),
    ("revision", "-1"),
    ("image", "--upload-pack=x"),
    ("version", "1.0\nkind: Secret"),
    ("namespace", "../kube-system"),
    ("values", {"a": "x\x00"}),
    ("values", {"a": "{{ .Values.secret }}" * 2, "b": "\x1b[2J"}),
])
def test_rendering_refuses_a_bad_row_inserted_straight_into_the_database(svc, van_world, gitops, field, value):
    from django.db import connection

    from portal.gitops.models import ChangeSetFile

    if connection.vendor == "postgresql" and "\\x00" in repr(value):
        pytest.skip("PostgreSQL stores no NUL in JSON: such a row cannot exist there")

    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    written = ChangeSetFile.objects.count()
    App.objects.filter(pk=app.pk).update(**{field: value})  # around the model's validators
    with pytest.raises(ValidationError) as exc:
        services.van_render_files(van=van)
    message = " ".join(exc.value.messages)
    assert "app 'payments-api'" in message and f"field {field} " in message, message
    # Any edit of the VAN now stops before proposing a change; nothing with the value reaches git.
    with pytest.raises(ValidationError) as exc:
        svc.rule_create(actor=world.admin, van=van, name="payments-us", app_tags="payments", cluster_selector="region=us")
    assert f"app 'payments-api': field {field} " in " ".join(exc.value.messages)
    assert not DistributionRule.objects.filter(name="payments-us").exists()
    assert ChangeSetFile.objects.count() == written


def test_rendering_refuses_a_cluster_url_inserted_straight_into_the_database(svc, van_world):
    world, van, hub, eu, us, app = van_world
    Cluster.objects.filter(pk=eu.pk).update(api_url="https://deploy:s3cret@edge-eu.example.net:6443")
    with pytest.raises(ValidationError, match=r"cluster 'edge-eu': field api_url"):
        services.van_render_files(van=van)


def _rendered(van) -> dict[str, dict]:
    return {path: yaml.safe_load(text) for path, text in services.van_render_files(van=van).items()}


def test_helm_values_are_rendered_literally_never_run_as_templates(svc, van_world):
    world, van, *_ = van_world
    svc.app_create(actor=world.alice, name="ledger", owner_team=world.payments, tags="payments", **HELM_APP,
                   values={"fullnameOverride": "{{ .Release.Name }}-ledger", "{{ .server }}": 1, "cpu": 0.5, "tiny": 1e-05})
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    docs = _rendered(van)
    [appset] = [d for p, d in docs.items() if p.endswith("/payments-eu/ledger.yaml")]
    values = appset["spec"]["template"]["spec"]["source"]["helm"]["valuesObject"]
    # What Go templating makes of {{"{{"}} is {{: the chart sees exactly what the team typed.
    assert values["fullnameOverride"] == '{{"{{"}} .Release.Name }}-ledger'
    assert values['{{"{{"}} .server }}'] == 1
    assert values["cpu"] == 0.5 and values["tiny"] == 1e-05


# --- fail closed: nothing rendered deletes workloads because git lost files -----------------------------------


def _appsets(docs):
    return {p: d for p, d in docs.items() if d["kind"] == "ApplicationSet"}


def test_rendered_applicationsets_never_prune_or_delete_by_default(svc, van_world):
    world, van, *_ = van_world
    rule = svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    assert rule.prune is False
    docs = _rendered(van)
    appsets = _appsets(docs)
    assert any("/applicationsets/" in p for p in appsets) and any(p.endswith("skupper-sites.yaml") for p in appsets)
    for path, appset in appsets.items():
        assert appset["spec"]["syncPolicy"] == {"applicationsSync": "create-update", "preserveResourcesOnDeletion": True}, path
        automated = appset["spec"]["template"]["spec"]["syncPolicy"]["automated"]
        assert automated["prune"] is False and automated["allowEmpty"] is False, path
    bootstrap = docs["vans/demo/bootstrap.yaml"]
    assert bootstrap["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": True, "allowEmpty": False}
    assert "prune: true" not in "".join(services.van_render_files(van=van).values())


@pytest.mark.conformance
def test_the_fail_closed_fields_exist_in_the_upstream_crds(svc, van_world):
    world, van, *_ = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu", prune=True)
    for path, text in services.van_render_files(van=van).items():
        errors = validate_yaml_text(text, file=path)
        assert errors == [], "\n".join(map(str, errors))


def test_prune_is_an_opt_in_of_a_rule_and_of_the_platform(svc, van_world, settings):
    world, van, *_ = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu", prune=True)
    docs = _rendered(van)
    [appset] = [d for p, d in docs.items() if "/applicationsets/payments-eu/" in p]
    assert appset["spec"]["template"]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": False}
    # Even a pruning rule keeps workloads when its ApplicationSet or Application goes.
    assert appset["spec"]["syncPolicy"]["preserveResourcesOnDeletion"] is True
    assert docs["vans/demo/bootstrap.yaml"]["spec"]["syncPolicy"]["automated"]["prune"] is False
    settings.WAYLINE_ARGOCD_PRUNE = True
    docs = _rendered(van)
    assert docs["vans/demo/bootstrap.yaml"]["spec"]["syncPolicy"]["automated"]["prune"] is True
    assert docs["vans/demo/hub/skupper-sites.yaml"]["spec"]["template"]["spec"]["syncPolicy"]["automated"]["prune"] is True


def test_a_new_rule_does_not_prune_unless_asked_through_the_api_or_the_form(api, page, svc, van_world):
    world, van, *_ = van_world
    with svc._capture(execute=True):
        response = api.post(reverse("rule-list"), {"van": van.name, "name": "api-rule", "app_tags": ["payments"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["prune"] is False
    form = page.get(reverse("van:rule_add", kwargs={"van_pk": van.pk})).context["form"]
    assert form["prune"].value() is False


# --- one set of validators: the GitOps repository settings' and the apps' -------------------------------------


@pytest.mark.parametrize("url", ["https://git.example.net/team/gitops.git", "ssh://git@git.example.net:2222/gitops.git",
                                 "git@github.com:acme/gitops.git"])
def test_remote_urls_pass_for_gitops_repositories_and_apps_alike(url):
    from portal.validators import git_remote_url_validator, git_url_validator

    git_url_validator(url)
    git_remote_url_validator(url)


@pytest.mark.parametrize("url", ["/srv/git/gitops.git", "file:///srv/git/gitops.git"])
def test_repositories_on_this_server_are_for_gitops_settings_only(url):
    from portal.validators import git_remote_url_validator, git_url_validator

    git_url_validator(url)  # a platform admin's GitOps repository may live on the Wayline server
    with pytest.raises(ValidationError, match="paths and file:// URLs are not allowed"):
        git_remote_url_validator(url)  # an app's would make ArgoCD's repo server read its own disk


@pytest.mark.parametrize("url", ["ssh://-oProxyCommand=touch%20x/repo.git", "https://user:token@git.example.net/a.git",
                                 "https://git.example.net/<script>", "https://git.example.net/a\x00.git"])
def test_option_injection_credentials_and_markup_are_refused_for_both(url):
    from portal.validators import git_remote_url_validator, git_url_validator

    for validator in (git_url_validator, git_remote_url_validator):
        with pytest.raises(ValidationError, match="Enter a git repository URL"):
            validator(url)


def test_json_nested_too_deeply_for_the_page_form_is_a_form_error(page, world):
    deep = "[" * 100_000 + "]" * 100_000
    response = page.post(reverse("van:app_add"), _form_data(world, HELM_APP, values='{"a": ' + deep + "}"))
    assert response.status_code == 400 and response.context["form"].errors.get("values")
