"""Add-ons of a VAN: the golden path rendered to the right clusters through ArgoCD's own semantics, each add-on an
owner of its files (its own root, its own change sets, approved like the clusters it lands on), chosen at creation,
turned off and on, set; and nobody else writes them."""
from __future__ import annotations

import json

import pytest
import yaml
from django.core.exceptions import ValidationError

from addons import services as addon_services
from addons.models import AddonInstallation
from addons.registry import builtins
from addons.rendering import addon_render, addons_application
from portal.crd_validation import validate_object, validate_yaml_text
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet, ManagedFile
from portal.gitops.services import propose_change
from portal.sealing import Sealer
from tests.van.test_rendering import argocd_generate
from van.rendering import van_render

WHERE = {"prometheus": "every", "k8sgpt": "hub", "sealed-secrets": "every",
         "grafana": "hub", "argo-workflows": "hub", "crossplane": "hub"}


def all_addons(spec) -> dict[str, str]:
    out = {}
    for definition in builtins().values():
        out |= addon_render(spec, definition, definition.settings_defaults())
    return out


# --- rendering, against ArgoCD's semantics and the upstream CRDs ------------------------------------------------


def test_the_golden_path_lands_on_the_right_clusters(sample_van, hub_keys):
    from dataclasses import replace

    spec = replace(sample_van, addons=tuple(builtins()))
    files = van_render(spec, sealer=Sealer()) | all_addons(spec)
    generated = argocd_generate(files, hub_keys[0], appsets=lambda path: path.startswith("addons/"))
    placed = {}
    for app in generated:
        placed.setdefault(app["metadata"]["labels"]["wayline.io/addon"], set()).add(app["metadata"]["labels"]["wayline.io/cluster"])
    every = {c.name for c in spec.clusters}
    assert placed == {slug: every if where == "every" else {"hub"} for slug, where in WHERE.items()}
    names = [a["metadata"]["name"] for a in generated]
    assert len(names) == len(set(names)) and all(len(n) <= 63 for n in names)
    pointer = yaml.safe_load(files["vans/demo/hub/addons.yaml"])  # the hub syncs each add-on's argocd/ folder only
    assert pointer["spec"]["generators"][0]["git"]["directories"] == [{"path": "addons/demo/*/argocd"}]
    assert "directory" not in pointer["spec"]["template"]["spec"]["source"]
    for app in generated:  # pinned, never a range; values are plain YAML data
        source = app["spec"]["source"]
        definition = builtins()[app["metadata"]["labels"]["wayline.io/addon"]]
        assert source["targetRevision"] in {s.version for s in definition.sources}
        assert app["spec"]["destination"]["namespace"] == definition.namespace
        assert app["spec"]["syncPolicy"]["automated"]["prune"] is False
    grafana = next(a for a in generated if a["metadata"]["labels"]["wayline.io/addon"] == "grafana")
    assert grafana["spec"]["source"]["helm"]["valuesObject"]["grafana.ini"]["security"]["allow_embedding"] is True


def test_a_tagged_add_on_goes_only_to_clusters_with_every_tag(sample_van, hub_keys):
    from dataclasses import replace

    from addons.registry import definition_parse

    splunk = definition_parse({
        "slug": "splunk", "name": "Splunk", "summary": "Logs.", "upstream": "https://github.com/splunk/x",
        "placement": "tagged", "tags": ["region=eu", "gpu"], "namespace": "splunk",
        "sources": [{"name": "splunk", "git": {"repoURL": "https://git.example.net/ops/splunk.git", "path": "deploy",
                                               "revision": "v1.4.0"}}]}, "splunk.yaml")
    spec = replace(sample_van, addons=("splunk",))
    files = van_render(spec, sealer=Sealer()) | addon_render(spec, splunk, {})
    generated = argocd_generate(files, hub_keys[0], appsets=lambda path: path.startswith("addons/"))
    assert {a["metadata"]["labels"]["wayline.io/cluster"] for a in generated} == {"edge-eu"}
    assert generated[0]["spec"]["source"] == {"repoURL": "https://git.example.net/ops/splunk.git", "path": "deploy",
                                              "targetRevision": "v1.4.0"}


@pytest.mark.conformance
def test_rendered_add_ons_validate_against_the_argocd_crds(sample_van):
    from dataclasses import replace

    spec = replace(sample_van, addons=tuple(builtins()))
    files = all_addons(spec)
    assert len(files) == 7  # one ApplicationSet per source: Argo Workflows and Argo Events are two
    for path, text in files.items():
        assert validate_yaml_text(text, file=path) == [], path
    assert validate_object(addons_application(spec)) == []


def test_settings_a_user_typed_are_never_run_as_templates(sample_van):
    from dataclasses import replace

    grafana = builtins()["grafana"]
    spec = replace(sample_van, addons=("grafana",))
    settings = grafana.settings_defaults() | {"root_url": "https://grafana.example.net/{{.server}}"}
    (text,) = addon_render(spec, grafana, settings).values()
    values = yaml.safe_load(text)["spec"]["template"]["spec"]["source"]["helm"]["valuesObject"]
    assert values["grafana.ini"]["server"]["root_url"] == 'https://grafana.example.net/{{"{{"}}.server}}'  # prints "{{"


# --- installations: owners of their files ------------------------------------------------------------------------


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run a service with its on-commit work (the GitOps apply), as a request would."""
    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)
    return run


def files_under(prefix: str) -> dict[str, str]:
    return dict(ManagedFile.objects.filter(path__startswith=prefix).values_list("path", "content"))


pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_a_new_van_gets_the_golden_path_each_add_on_in_its_own_change_set(van_world):
    world, van, *_ = van_world
    assert dict(van.addons.values_list("slug", "enabled")) == {slug: True for slug in WHERE}
    for installation in van.addons.all():
        files = files_under(installation.gitops_root())
        assert files and all(p.startswith(f"addons/demo/{installation.slug}/") for p in files), installation.slug
        (cs,) = ChangeSet.objects.filter(owner_id=installation.pk, owner_type__model="addoninstallation")
        assert cs.status == ChangeSetStatus.APPLIED and cs.message.startswith(f"add-on {installation.slug} of VAN demo: create")
        assert {f.path for f in cs.files.all()} == set(files)
    assert "vans/demo/hub/addons.yaml" in files_under("vans/demo/")
    assert "addons/" not in "".join(files_under("vans/demo/"))  # the VAN writes none of the add-ons' files


@pytestmark_db
def test_deselected_add_ons_render_nothing_and_needs_are_checked(van_world, svc):
    world, van, hub, eu, us, app = van_world
    lab = svc.cluster_create(actor=world.admin, name="lab-hub", api_url="https://lab-hub.example.net:6443",
                             owner_team=world.payments, environment="dev", provider="onprem", sealing_cert=hub.sealing_cert)
    with pytest.raises(ValidationError) as refused:
        svc.van_create(actor=world.admin, name="lab", owner_team=world.payments, hub=lab, hub_host="lab.example.net",
                       addons=["grafana"])
    assert refused.value.message_dict == {"addons": ["add-ons: Grafana needs Prometheus: choose both or neither"]}
    assert type(lab).objects.get(pk=lab.pk).van_id is None and lab.van_id is None  # refused before anything was written
    lab = svc.van_create(actor=world.admin, name="lab", owner_team=world.payments, hub=lab, hub_host="lab.example.net",
                         addons=["prometheus", "sealed-secrets"])
    assert sorted(lab.addons.filter(enabled=True).values_list("slug", flat=True)) == ["prometheus", "sealed-secrets"]
    assert sorted({p.split("/")[2] for p in files_under("addons/lab/")}) == ["prometheus", "sealed-secrets"]
    none = svc.cluster_create(actor=world.admin, name="bare-hub", api_url="https://bare-hub.example.net:6443",
                              owner_team=world.payments, environment="dev", provider="onprem", sealing_cert=hub.sealing_cert)
    svc.van_create(actor=world.admin, name="bare", owner_team=world.payments, hub=none, hub_host="bare.example.net", addons=[])
    assert files_under("addons/bare/") == {} and "vans/bare/hub/addons.yaml" not in files_under("vans/bare/")


@pytestmark_db
def test_turning_an_add_on_off_removes_exactly_its_files_in_one_change_set(van_world, committing):
    world, van, *_ = van_world
    grafana, prometheus = (van.addons.get(slug=s) for s in ("grafana", "prometheus"))
    before = files_under("addons/demo/")
    with pytest.raises(ValidationError, match="Grafana needs Prometheus: turn that off first"):
        committing(addon_services.addon_disable, actor=world.alice, installation=prometheus)
    committing(addon_services.addon_disable, actor=world.alice, installation=grafana)
    cs = ChangeSet.objects.filter(owner_id=grafana.pk, owner_type__model="addoninstallation").latest("pk")
    gone = {p for p in before if p.startswith("addons/demo/grafana/")}
    assert cs.status == ChangeSetStatus.APPLIED and {f.path for f in cs.files.all()} == gone
    assert all(f.content is None for f in cs.files.all())
    assert files_under("addons/demo/") == {p: t for p, t in before.items() if p not in gone}
    committing(addon_services.addon_enable, actor=world.alice, installation=grafana)
    assert files_under("addons/demo/") == before


@pytestmark_db
def test_an_add_ons_files_cannot_be_written_by_another_owner(van_world):
    world, van, *_ = van_world
    grafana, prometheus = (van.addons.get(slug=s) for s in ("grafana", "prometheus"))
    for owner, path in ((van, "addons/demo/grafana/grafana.yaml"), (prometheus, "addons/demo/grafana/grafana.yaml"),
                        (grafana, "vans/demo/hub/addons.yaml"), (grafana, "addons/demo/grafana-evil/x.yaml")):
        with pytest.raises(ValidationError, match="outside|inside|root"):
            propose_change(actor=world.alice, owner=owner, files_to_write={path: "kind: Nothing\n"}, message="sneak")


@pytestmark_db
def test_settings_are_validated_per_field_and_land_in_the_values(van_world, committing):
    world, van, *_ = van_world
    prometheus = van.addons.get(slug="prometheus")
    with pytest.raises(ValidationError) as refused:
        committing(addon_services.addon_settings_set, actor=world.alice, installation=prometheus,
                   settings={"retention": "forever", "alertmanager": "yes", "extra": 1})
    assert set(refused.value.message_dict) == {"retention", "alertmanager", "extra"}
    committing(addon_services.addon_settings_set, actor=world.alice, installation=prometheus, settings={"retention": "30d"})
    text = files_under("addons/demo/prometheus/")["addons/demo/prometheus/argocd/kube-prometheus-stack.yaml"]
    values = yaml.safe_load(text)["spec"]["template"]["spec"]["source"]["helm"]["valuesObject"]
    assert values["prometheus"]["prometheusSpec"]["retention"] == "30d"
    cs = ChangeSet.objects.filter(owner_id=prometheus.pk, owner_type__model="addoninstallation").latest("pk")
    assert cs.message == "add-on prometheus of VAN demo: settings (retention)"


@pytestmark_db
def test_an_add_on_on_a_prod_cluster_waits_for_approval(van_world, svc, committing):
    world, van, hub, eu, us, app = van_world
    svc.cluster_update(actor=world.admin, obj=eu, environment="prod")
    prometheus, grafana = (van.addons.get(slug=s) for s in ("prometheus", "grafana"))
    committing(addon_services.addon_settings_set, actor=world.alice, installation=prometheus, settings={"retention": "30d"})
    committing(addon_services.addon_settings_set, actor=world.alice, installation=grafana, settings={"replicas": 2})
    latest = lambda i: ChangeSet.objects.filter(owner_id=i.pk, owner_type__model="addoninstallation").latest("pk")  # noqa: E731
    assert (latest(prometheus).environment.slug, latest(prometheus).status) == ("prod", ChangeSetStatus.AWAITING_APPROVAL)
    assert (latest(grafana).environment.slug, latest(grafana).status) == ("dev", ChangeSetStatus.APPLIED)  # the hub is dev


@pytestmark_db
def test_an_add_ons_change_sets_are_read_like_its_vans(van_world):
    world, van, *_ = van_world
    grafana = van.addons.get(slug="grafana")
    mine = ChangeSet.objects.filter(owner_id=grafana.pk, owner_type__model="addoninstallation")
    assert mine.exists()
    assert set(ChangeSet.objects.restrict(world.alice, "view").filter(pk__in=mine)) == set(mine)
    for outsider in (world.bob, world.victor):
        assert not ChangeSet.objects.restrict(outsider, "view").filter(pk__in=mine).exists()
    assert not ChangeSet.objects.restrict(world.bob, "retry").filter(pk__in=mine).exists()
    assert AddonInstallation.objects.restrict(world.bob, "change").filter(van=van).count() == 0
    assert AddonInstallation.objects.restrict(world.alice, "change").filter(van=van).count() == len(WHERE)


# --- pages ------------------------------------------------------------------------------------------------------


@pytestmark_db
def test_the_add_on_matrix_shows_where_each_runs_and_acts_only_for_editors(van_world, client):
    from django.urls import reverse

    world, van, *_ = van_world
    url = reverse("addons:van_addons", kwargs={"pk": van.pk})
    client.force_login(world.alice)
    page = client.get(url).content.decode()
    assert page.count('title="Prometheus runs on') == 2 and page.count('title="Grafana runs on') == 1
    assert "<code>hub</code>" in page and "<code>edge-eu</code>" in page and "Turn off" in page
    client.force_login(world.victor)  # in no team: sees the public VAN, acts on nothing
    page = client.get(url).content.decode()
    assert 'id="addon-grafana"' in page and "Turn off" not in page and "Settings" not in page
    van.visibility = "private"
    van.save()
    client.force_login(world.bob)
    assert client.get(url).status_code == 404
    grafana = van.addons.get(slug="grafana")
    assert client.get(reverse("addons:addon_settings", kwargs={"pk": grafana.pk})).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


@pytestmark_db
def test_the_settings_form_is_built_from_the_schema_and_refuses_bad_values_per_field(van_world, client, django_capture_on_commit_callbacks):
    from django.urls import reverse

    world, van, *_ = van_world
    argo = van.addons.get(slug="argo-workflows")
    form = client.get(reverse("addons:addon_settings", kwargs={"pk": argo.pk}))
    assert form.status_code == 302  # signed out: to the login page
    client.force_login(world.alice)
    form = client.get(reverse("addons:addon_settings", kwargs={"pk": argo.pk})).content.decode()
    assert form.count('name="server_auth_modes"') == 3 and 'value="sso"' in form
    grafana = van.addons.get(slug="grafana")
    url = reverse("addons:addon_settings", kwargs={"pk": grafana.pk})
    response = client.post(url, {"replicas": "2", "root_url": "javascript:alert(1)"})
    assert response.status_code == 400 and "root_url" in response.context["form"].errors
    assert van.addons.get(slug="grafana").settings == {"replicas": 1}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"replicas": "2", "root_url": "https://grafana.example.net"})
    assert response.status_code == 302
    assert van.addons.get(slug="grafana").settings == {"replicas": 2, "root_url": "https://grafana.example.net"}
    with django_capture_on_commit_callbacks(execute=True):  # clearing a value is a change too: git loses it
        client.post(url, {"replicas": "2", "root_url": ""})
    text = files_under("addons/demo/grafana/")["addons/demo/grafana/argocd/grafana.yaml"]
    assert "root_url" not in text and van.addons.get(slug="grafana").settings == {"replicas": 2}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_add_on_matrix_in_the_browser(van_world, live_server, page, client):
    from pathlib import Path

    from django.urls import reverse
    from playwright.sync_api import expect

    from addons.status import store_applications
    from tests.van.test_addon_status import addon_application

    world, van, *_ = van_world
    # what the hub reported: Prometheus healthy on the hub, degraded on edge-eu
    store_applications(van, [addon_application("demo", "prometheus", "hub"),
                             addon_application("demo", "prometheus", "edge-eu", health="Degraded", message="crash looping")])
    client.force_login(world.alice)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page.goto(live_server.url + reverse("addons:van_addons", kwargs={"pk": van.pk}))
    expect(page.locator("#addon-matrix tbody tr")).to_have_count(6)
    expect(page.locator('#addon-prometheus td[data-cluster="edge-eu"]')).to_contain_text("Degraded")
    expect(page.locator('#addon-prometheus td[data-cluster="hub"]')).to_contain_text("Healthy")
    page.locator("#addon-crossplane").get_by_role("button", name="Turn off").click()
    expect(page.locator("#addon-crossplane")).to_contain_text("off")
    expect(page.locator(".messages, .message").first).to_contain_text("Crossplane turned off")
    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "van-addons.png"), full_page=True)


# --- API ----------------------------------------------------------------------------------------------------------


@pytestmark_db
def test_the_api_lists_definitions_and_a_vans_add_ons_and_refuses_bad_settings_per_field(van_world):
    from rest_framework.test import APIClient

    world, van, *_ = van_world
    api = APIClient()
    api.force_authenticate(world.alice)
    definitions = api.get("/api/addons/").json()
    assert [d["slug"] for d in definitions] == list(builtins())
    grafana = api.get("/api/addons/grafana/").json()
    assert grafana["needs"] == ["prometheus"] and grafana["sources"][0]["version"] == "8.5.2"
    assert api.get("/api/addons/nope/").status_code == 404
    listed = api.get("/api/addon-installations/").json()["results"]
    assert {(i["van"], i["slug"], i["enabled"]) for i in listed} == {("demo", slug, True) for slug in WHERE}
    grafana = van.addons.get(slug="grafana")
    refused = api.patch(f"/api/addon-installations/{grafana.pk}/", {"settings": {"replicas": 50, "extra": 1}}, format="json")
    assert refused.status_code == 400 and {"replicas", "extra"} <= set(refused.json()), refused.json()
    assert api.patch(f"/api/addon-installations/{grafana.pk}/", {"settings": {"replicas": 3}}, format="json").status_code == 200
    assert api.patch(f"/api/addon-installations/{grafana.pk}/", {}, format="json").json()["settings"] == {"replicas": 3}
    patched = api.patch(f"/api/addon-installations/{grafana.pk}/", {"settings": {"root_url": "https://g.example.net"}}, format="json")
    assert patched.json()["settings"] == {"replicas": 3, "root_url": "https://g.example.net"}, "PATCH merges"
    refused = api.post(f"/api/addon-installations/{van.addons.get(slug='sealed-secrets').pk}/disable/")
    assert refused.status_code == 400 and "K8sGPT needs Sealed Secrets" in str(refused.json())
    api.force_authenticate(world.bob)  # another team: sees the public VAN's add-ons, changes none
    assert len(api.get("/api/addon-installations/").json()["results"]) == len(WHERE)
    assert api.patch(f"/api/addon-installations/{grafana.pk}/", {"settings": {}}, format="json").status_code == 403
    van.visibility = "private"
    van.save()
    assert api.get("/api/addon-installations/").json()["results"] == []
    assert api.get(f"/api/addon-installations/{grafana.pk}/").status_code == 404
    api.force_authenticate(None)
    assert api.get("/api/addons/").status_code == 401


@pytestmark_db
def test_the_van_form_offers_the_golden_path_checked_and_creates_what_is_left_checked(van_world, client, django_capture_on_commit_callbacks):
    from django.urls import reverse

    world, van, hub, eu, us, app = van_world
    client.force_login(world.alice)
    form = client.get(reverse("van:van_add")).content.decode()
    for slug in WHERE:
        assert f'value="{slug}"' in form
    assert form.count('name="addons"') == len(WHERE) and form.count("checked") >= len(WHERE)
    chosen = [slug for slug in WHERE if slug != "grafana"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("van:van_add"), {
            "name": "west", "owner_team": world.payments.pk, "visibility": "public", "hub": us.pk, "reachability": "loadbalancer",
            "hub_host": "west.example.net", "inter_router_port": 55671, "edge_port": 45671, "addons": chosen})
    assert response.status_code == 302, response.content.decode()[:2000]
    west = type(van).objects.get(name="west")
    assert dict(west.addons.values_list("slug", "enabled")) == {slug: slug != "grafana" for slug in WHERE}
    assert not files_under("addons/west/grafana/") and files_under("addons/west/prometheus/")
    edit = client.get(reverse("van:van_edit", kwargs={"pk": west.pk})).content.decode()
    assert 'name="addons"' not in edit


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_van_without_grafana_with_splunk_from_git_and_a_sealed_secret_in_the_browser(van_world, live_server, page, client):
    """The issue's walk: ops add Splunk from git; alice creates a VAN with Grafana left out and Splunk in, sees the
    matrix, and seals a Secret for its hub. Screenshots under tests/artifacts/."""
    from pathlib import Path

    from django.urls import reverse
    from playwright.sync_api import expect

    world, van, hub, eu, us, app = van_world
    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    us.sealing_cert = hub.sealing_cert
    us.save()

    def sign_in(user):
        client.force_login(user)
        page.context.clear_cookies()
        page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])

    sign_in(world.admin)
    page.goto(live_server.url + reverse("addons:custom_addon_add"))
    for field, value in (("slug", "splunk"), ("name", "Splunk Connect"), ("summary", "Logs to Splunk."),
                         ("upstream", "https://github.com/splunk/splunk-connect-for-kubernetes"),
                         ("repo_url", "https://git.example.net/ops/splunk.git"), ("path", "deploy/base"),
                         ("version", "v1.5.3"), ("namespace", "splunk")):
        page.locator(f"#id_{field}").fill(value)
    page.locator("#id_source_kind").select_option("git")
    page.locator("#id_placement").select_option("every-cluster")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#addon-splunk")).to_contain_text("deploy/base")

    sign_in(world.alice)
    page.goto(live_server.url + reverse("van:van_add"))
    page.locator("#id_name").fill("west")
    page.locator("#id_hub").select_option(label=str(us))
    page.locator("#id_hub_host").fill("west.example.net")
    page.get_by_label("Grafana (hub only)").uncheck()
    page.get_by_label("Splunk Connect (every cluster)").check()
    page.screenshot(path=str(artifacts / "van-create-golden-path.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    west = type(van).objects.get(name="west")
    page.goto(live_server.url + reverse("addons:van_addons", kwargs={"pk": west.pk}))
    expect(page.locator("#addon-grafana")).to_contain_text("off")
    expect(page.locator("#addon-splunk")).to_contain_text("on")
    page.screenshot(path=str(artifacts / "van-addons-splunk.png"), full_page=True)
    page.locator("#addon-sealed-secrets").get_by_role("link", name="Seal a Secret").click()
    page.locator("#id_namespace").fill("payments")
    page.locator("#id_name").fill("db-credentials")
    page.locator("#id_data").fill("password=s3cret-in-the-browser\nuser=payments")
    page.get_by_role("button", name="Seal and propose").click()
    expect(page.locator("#sealed")).to_contain_text("payments/db-credentials")
    assert "s3cret-in-the-browser" not in page.content()
    page.screenshot(path=str(artifacts / "secret-sealed.png"), full_page=True)


# --- Grafana's starter dashboards ---------------------------------------------------------------------------------


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for ch in expr:
        if ch in depth:
            depth[ch] += 1
        elif ch in closing:
            depth[closing[ch]] -= 1
            if depth[closing[ch]] < 0:
                return False
    return not any(depth.values())


def test_grafana_ships_at_least_ten_starter_dashboards_as_configmaps_its_sidecar_loads():
    from addons.dashboards import STARTERS, dashboard

    assert len(STARTERS) >= 10
    uids = set()
    for slug in STARTERS:
        board = json.loads(json.dumps(dashboard(slug)))
        assert board["uid"] == f"wl-{slug}" and len(board["uid"]) <= 40 and board["uid"] not in uids
        uids.add(board["uid"])
        names = [v["name"] for v in board["templating"]["list"]]
        assert {"cluster", "namespace", "datasource"} <= set(names), slug  # what embedding fills in (var-cluster, ...)
        ids = [p["id"] for p in board["panels"]]
        assert board["panels"] and len(ids) == len(set(ids)), slug
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0 and panel["type"] in {"stat", "timeseries", "table"}
            assert panel["targets"] and all(_balanced(t["expr"]) and t["refId"] for t in panel["targets"]), panel["title"]
    grafana = builtins()["grafana"]
    assert grafana.sources[0].values["sidecar"]["dashboards"] == {"enabled": True, "label": "grafana_dashboard", "labelValue": "1"}


@pytest.mark.conformance
@pytestmark_db
def test_the_grafana_add_on_commits_its_dashboards_for_the_hub(van_world):
    from addons.dashboards import STARTERS

    world, van, *_ = van_world
    files = files_under("addons/demo/grafana/")
    maps = {p: yaml.safe_load(t) for p, t in files.items() if "/dashboards/" in p}
    assert len(maps) == len(STARTERS)
    for path, configmap in maps.items():
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1" and len(configmap["metadata"]["name"]) <= 63
        (text,) = configmap["data"].values()
        assert json.loads(text)["uid"] == "wl-" + path.rsplit("/", 1)[1].removesuffix(".yaml")
    syncer = yaml.safe_load(files["addons/demo/grafana/argocd/dashboards.yaml"])
    assert validate_object(syncer) == []
    assert syncer["spec"]["template"]["spec"]["source"]["path"] == "addons/demo/grafana/dashboards"
    assert syncer["spec"]["generators"][0]["clusters"]["selector"]["matchLabels"] == {"wayline.io/van": "demo", "wayline.io/role": "hub"}


# --- Prometheus over the VAN, one Grafana for all ------------------------------------------------------------------


@pytest.mark.conformance
@pytestmark_db
def test_each_edges_prometheus_reaches_the_hubs_grafana_over_the_van(van_world):
    world, van, hub, eu, *_ = van_world
    files = {p: yaml.safe_load(t) for p, t in files_under("addons/demo/prometheus/").items()}
    connectors = {p: d for p, d in files.items() if d["kind"] == "Connector"}
    listeners = {p: d for p, d in files.items() if d["kind"] == "Listener"}
    assert [p.split("/")[4] for p in connectors] == ["edge-eu"] and [p.split("/")[4] for p in listeners] == ["hub"]
    (connector,), (listener,) = connectors.values(), listeners.values()
    for obj in (connector, listener):
        assert validate_object(obj) == [] and obj["metadata"]["namespace"] == "skupper"
    key = connector["spec"]["routingKey"]
    assert listener["spec"] == {"routingKey": key, "host": key, "port": 9090}
    assert connector["spec"]["host"] == "kube-prometheus-stack-prometheus.monitoring.svc.cluster.local"
    syncer = files["addons/demo/prometheus/argocd/van.yaml"]
    assert validate_object(syncer) == [] and syncer["spec"]["template"]["spec"]["destination"] == {
        "name": "{{.path.basename}}", "namespace": "skupper"}
    grafana = yaml.safe_load(files_under("addons/demo/grafana/")["addons/demo/grafana/argocd/grafana.yaml"])
    sources = grafana["spec"]["template"]["spec"]["source"]["helm"]["valuesObject"]["datasources"]["datasources.yaml"]["datasources"]
    urls = {s["name"]: s["url"] for s in sources}
    assert urls == {"prometheus-hub": "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090",
                    "prometheus-edge-eu": f"http://{key}.skupper.svc.cluster.local:9090"}
    assert [s["isDefault"] for s in sources].count(True) == 1


# --- K8sGPT: an analyser per cluster on the hub, reading it over the VAN ---------------------------------------------


@pytest.mark.conformance
@pytestmark_db
def test_k8sgpt_analyses_every_cluster_from_the_hub_through_the_van(van_world, hub_keys, svc, committing):
    import json as json_

    from tests.van.kubeseal_reference import unseal
    from van.rendering.spec import edge_api

    world, van, hub, eu, *_ = van_world
    files = {p: yaml.safe_load(t) for p, t in files_under("addons/demo/k8sgpt/").items()}
    analysers = {p: d for p, d in files.items() if d["kind"] == "K8sGPT"}
    assert sorted(d["metadata"]["namespace"] for d in analysers.values()) == ["k8sgpt-edge-eu", "k8sgpt-hub"]
    for doc in files.values():
        if doc["kind"] != "Namespace":  # core Kubernetes, no CRD
            assert validate_object(doc) == [], doc["kind"]
    edge = files["addons/demo/k8sgpt/analysers/edge-eu/k8sgpt.yaml"]["spec"]
    assert edge["kubeconfig"] == {"name": "kubeconfig", "key": "kubeconfig"}
    assert edge["ai"] == {"enabled": True, "backend": "openai", "model": "gpt-4o-mini", "anonymized": True,
                          "secret": {"name": "k8sgpt-ai", "key": "api-key"}}
    assert "kubeconfig" not in files["addons/demo/k8sgpt/analysers/hub/k8sgpt.yaml"]["spec"]  # the hub reads itself
    sealed = files["addons/demo/k8sgpt/analysers/edge-eu/kubeconfig.yaml"]
    config = json_.loads(unseal(hub_keys[0], sealed)["kubeconfig"])
    api = edge_api(van="demo", cluster="edge-eu", api_url=eu.api_url, skupper_namespace="skupper")
    assert config["clusters"][0]["cluster"] == {"server": api.server, "tls-server-name": "edge-eu.example.net"}
    assert config["users"][0]["user"]["token"].startswith("edge-") and "token" not in files_under("addons/demo/k8sgpt/")[
        "addons/demo/k8sgpt/analysers/edge-eu/kubeconfig.yaml"].replace("kubeconfig", "")
    k8sgpt = van.addons.get(slug="k8sgpt")
    count = ChangeSet.objects.filter(owner_id=k8sgpt.pk, owner_type__model="addoninstallation").count()
    svc.van_update(actor=world.alice, obj=van, description="unrelated")  # re-rendered, sealed the same: no change
    assert ChangeSet.objects.filter(owner_id=k8sgpt.pk, owner_type__model="addoninstallation").count() == count
    committing(addon_services.addon_settings_set, actor=world.alice, installation=k8sgpt,
               settings={"backend": "localai", "model": "llama3", "base_url": "http://localai.localai.svc:8080/v1"})
    edge = yaml.safe_load(files_under("addons/demo/k8sgpt/")["addons/demo/k8sgpt/analysers/edge-eu/k8sgpt.yaml"])["spec"]
    assert edge["ai"] == {"enabled": True, "backend": "localai", "model": "llama3", "anonymized": True,
                          "baseUrl": "http://localai.localai.svc:8080/v1"}


@pytestmark_db
def test_what_an_add_on_keeps_for_one_cluster_is_approved_as_that_cluster(van_world, svc):
    """A Prod edge's analyser (its credentials, on the hub) and its Prometheus listener wait for Prod approval, as the
    VAN's own cluster Secret and kube-api listener for it do; the hub-only Grafana follows the (Dev) hub."""
    world, van, hub, eu, us, app = van_world
    svc.cluster_update(actor=world.admin, obj=us, environment="prod")
    svc.van_edge_add(actor=world.admin, van=van, cluster=us)
    latest = {slug: ChangeSet.objects.filter(owner_type__model="addoninstallation", owner_id=van.addons.get(slug=slug).pk)
              .latest("pk") for slug in ("k8sgpt", "prometheus", "grafana")}
    assert {slug: (cs.environment.slug, cs.status) for slug, cs in latest.items()} == {
        "k8sgpt": ("prod", "awaiting_approval"), "prometheus": ("prod", "awaiting_approval"), "grafana": ("dev", "applied")}
    assert {f.path.split("/")[4] for f in latest["k8sgpt"].files.all()} == {"edge-us"}
