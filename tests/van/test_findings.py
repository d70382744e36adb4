"""K8sGPT findings: parsed from the hub's Results, routed to the owning team, resolved when gone, restricted like status."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.van.argocd_objects import application
from tests.van.k8sgpt_objects import result
from van.models import AppStatus, Finding
from van.status import applications, findings
from van.status.selectors import findings_shown

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("place_payments_everywhere")]


@pytest.mark.conformance
def test_the_result_objects_of_these_tests_follow_the_upstream_crd():
    from portal.crd_validation import validate_object

    for obj in (result("edge-eu", "Pod", "payments", "api-7d9", details="The image does not exist.", parent="Deployment/api"),
                result("edge-eu", "Service", "payments", "api", kubernetes_id="payments-api", errors=("no endpoints", "x"))):
        assert validate_object(obj) == []


def test_parse_reads_the_object_its_errors_and_its_cluster_from_the_namespace():
    row = findings.parse(result("edge-eu", "Pod", "payments", "api-7d9", errors=("Back-off pulling image x:1.4",),
                                details="The tag does not exist.", parent="Deployment/api", kubernetes_id="payments-api"))
    assert row["cluster_name"] == "edge-eu" and (row["kind"], row["object_name"]) == ("Pod", "payments/api-7d9")
    assert row["errors"] == ["Back-off pulling image x:1.4"] and row["details"] == "The tag does not exist."
    assert row["kubernetes_id"] == "payments-api" and row["parent_object"] == "Deployment/api"


@pytest.mark.parametrize("bad", [None, {}, {"metadata": {"name": "x"}}, {"metadata": {"name": "x", "namespace": "default"}, "spec": {}},
                                 {"metadata": {"name": "x", "namespace": 7}, "spec": {}},
                                 {"metadata": {"name": "x", "namespace": "k8sgpt-edge"}, "spec": {"error": 5}},
                                 {"metadata": {"name": "x", "namespace": "k8sgpt-edge"}, "spec": {"error": True}}])
def test_results_that_cannot_be_placed_are_refused(bad):
    with pytest.raises(findings.Malformed):
        findings.parse(bad)


def _world_with_placed_app(van_world):
    world, van, hub, eu, us, app = van_world
    applications.store_all(van, [application(van.name, app.name, eu.name)])  # payments-api runs on edge-eu, namespace payments
    return world, van, hub, eu, app


def test_a_finding_in_an_apps_namespace_goes_to_the_apps_team_and_resolves_when_gone(van_world):
    world, van, hub, eu, app = _world_with_placed_app(van_world)
    pod = result(eu.name, "Pod", "payments", "api-7d9")
    stray = result(eu.name, "Pod", "kube-system", "coredns-1")
    assert findings.store_all(van, [pod, stray, result("elsewhere", "Pod", "x", "y"), {"spec": {}}]) == (2, 2)
    mine = Finding.objects.get(object_name="payments/api-7d9")
    assert mine.app == app and mine.owner_team == world.payments and mine.cluster == eu and mine.resolved_at is None
    assert Finding.objects.get(object_name="kube-system/coredns-1").owner_team is None
    findings.store_all(van, [stray])
    mine.refresh_from_db()
    assert mine.resolved_at is not None
    resolved_at = mine.resolved_at
    findings.store_all(van, [pod, stray])  # it comes back: open again, seen first now
    mine.refresh_from_db()
    assert mine.resolved_at is None and mine.first_seen > resolved_at


def test_the_kubernetes_id_label_picks_among_placed_apps_and_reaches_no_further(van_world, svc, settings, tmp_path):
    """Two apps share the namespace: the label names the one whose component declares the id. A component that
    declares the same id but is no app placed there (a squatter) changes nothing."""
    from catalog import services as catalog_services
    from tests.catalog.conftest import GitRepo

    world, van, hub, eu, app = _world_with_placed_app(van_world)
    settings.CATALOG_ALLOW_LOCAL_GIT = True

    def component(name, owner):
        return (f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  annotations:\n"
                f"    backstage.io/kubernetes-id: ranker\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n")

    for name in ("ranker", "aaa-squatter"):
        repo = GitRepo(tmp_path / f"catalog-{name}")
        repo.write({f"{name}.yaml": component(name, "search")})
        repo.commit()
        location = catalog_services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml",
                                                      refresh=False, owner_team=world.search)
        catalog_services.location_refresh(actor=None, location_id=location.pk)
    ranker = svc.app_create(actor=world.admin, name="ranker", owner_team=world.search, namespace="payments", tags="payments",
                            repo_url="https://git.example.net/r.git", source_kind="kustomize", path="deploy",
                            component_ref="component:default/ranker")
    findings.store_all(van, [result(eu.name, "Pod", "payments", "web-1", kubernetes_id="ranker", result_name="labelled"),
                             result(eu.name, "Pod", "payments", "web-2", result_name="unlabelled"),
                             result(eu.name, "Pod", "payments", "web-3", kubernetes_id="nobody", result_name="unknown-id")])
    labelled, unlabelled, unknown = (Finding.objects.get(result=f"k8sgpt-{eu.name}/{n}") for n in ("labelled", "unlabelled", "unknown-id"))
    assert labelled.app == ranker and labelled.owner_team == world.search
    assert unlabelled.app is None and unlabelled.owner_team is None, "two teams' apps share the namespace: nobody's"
    assert unknown.app is None
    svc.app_update(actor=world.admin, obj=ranker, component_ref="")  # now only the squatter declares the id
    findings.store_all(van, [result(eu.name, "Pod", "payments", "web-1", kubernetes_id="ranker", result_name="labelled")])
    labelled.refresh_from_db()
    assert labelled.app is None and labelled.owner_team is None


def test_a_hub_cannot_attach_status_or_findings_to_an_app_its_van_does_not_place(van_world, svc, client):
    """Another team's hub labels an Application and a Result with payments' app: neither reaches payments' pages,
    and a private app's existence cannot be probed through one's own hub."""
    world, van, hub, eu, app = _world_with_placed_app(van_world)
    lab_hub = svc.cluster_create(actor=world.admin, name="lab-hub", api_url="https://lab-hub.example.net:6443",
                                 owner_team=world.search, environment="dev", provider="gke", tags="region=us",
                                 sealing_cert=eu.sealing_cert)
    lab = svc.van_create(actor=world.admin, name="lab", owner_team=world.search, hub=lab_hub, hub_host="lab.example.net")
    applications.store_all(lab, [application(lab.name, app.name, lab_hub.name, health="Degraded", health_message="URGENT: rotate")])
    findings.store_all(lab, [result(lab_hub.name, "Pod", "payments", f"{app.name}-x", errors=("URGENT: see evil",))])
    assert AppStatus.objects.get(van=lab).app is None and Finding.objects.get(van=lab).app is None
    client.force_login(world.alice)
    assert "URGENT" not in client.get(reverse("van:app", kwargs={"pk": app.pk})).content.decode()
    assert "URGENT" not in client.get(reverse("portal:home")).content.decode()
    assert [f.van for f in findings_shown(user=world.bob, cluster=lab_hub)] == [lab], "the VAN's team sees its unplaced finding"
    assert findings_shown(user=world.alice, cluster=lab_hub) == []


def test_findings_are_restricted_like_their_app_and_shown_on_the_owning_teams_home(van_world, svc, client):
    world, van, hub, eu, app = _world_with_placed_app(van_world)
    findings.store_all(van, [result(eu.name, "Pod", "payments", "api-7d9", errors=("Back-off pulling image secret-ish:1.4",))])
    client.force_login(world.alice)
    home = client.get(reverse("portal:home")).content.decode()
    assert "Findings on your services" in home and "Back-off pulling image secret-ish:1.4" in home
    assert "payments/api-7d9" in client.get(reverse("van:app", kwargs={"pk": app.pk})).content.decode()
    assert "payments/api-7d9" in client.get(reverse("van:cluster", kwargs={"pk": eu.pk})).content.decode()
    client.force_login(world.bob)
    assert "secret-ish" not in client.get(reverse("portal:home")).content.decode()
    svc.app_update(actor=world.admin, obj=app, visibility="private")
    assert findings_shown(user=world.bob, cluster=eu) == [] and len(findings_shown(user=world.alice, cluster=eu)) == 1
    assert "secret-ish" not in client.get(reverse("van:cluster", kwargs={"pk": eu.pk})).content.decode()
    client.logout()
    assert "secret-ish" not in client.get(reverse("portal:home")).content.decode()


def test_apps_sharing_a_namespace_are_told_apart_by_the_objects_name():
    from van.status.findings import _app_of

    apps = [(1, "payment-gateway", "component:default/gw", 10), (2, "payment", "", 10), (3, "checkout", "", 10)]
    assert _app_of(apps, "payment-gateway-6f8b9c-x2x7q", "", {}) == (1, 10), "the longest app name that starts it"
    assert _app_of(apps, "payment-7c5", "", {}) == (2, 10)
    assert _app_of(apps, "checkout-abc12", "ReplicaSet/checkout-abc", {}) == (3, 10)
    assert _app_of(apps, "web-tls", "", {}) == (None, 10), "nobody named: no app, the one team they share"
    assert _app_of(apps + [(4, "other", "", 11)], "web-tls", "", {}) == (None, None)
    assert _app_of(apps, "payment-gateway", "", {"component:default/gw": 12}) == (1, 12), "the component's owner first"
