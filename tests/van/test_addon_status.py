"""What a hub reports about its VAN's add-ons, read by the hub watcher over real HTTPS from the fake API server:
ArgoCD's health of each add-on per cluster (the add-on matrix) and the Crossplane Workspaces of the VAN's claims
(observed values against desired ones, so a change made in a cloud console shows as drift)."""
from __future__ import annotations

import threading

import pytest
from django.urls import reverse

from addons import services as addon_services
from addons.models import AddonStatus, InfraClaim
from addons.status import parse_workspace, store_applications, store_workspaces
from portal.crd_validation import validate_object
from tests.polling import wait_for
from tests.kube.apiserver import FakeKubeAPI
from tests.van.test_hub_watcher import TOKEN, kubeconfig
from van.status.watcher import HubWatcher

MODULE = "git::https://git.example.net/platform/tf-cluster.git?ref=v1.2.0"


@pytest.fixture
def hub_api():
    api = FakeKubeAPI(tokens=(TOKEN,), bookmark_seconds=0.3).start()
    yield api
    api.stop()


def addon_application(van: str, slug: str, cluster: str | None, *, health="Healthy", sync="Synced", message=""):
    """An Application one of an add-on's ApplicationSets generates (labels as addons/rendering.py sets them)."""
    labels = {"wayline.io/van": van, "wayline.io/addon": slug, **({"wayline.io/cluster": cluster} if cluster else {})}
    name = f"{slug}.{cluster}" if cluster else f"addons.{van}.{slug}"
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd", "labels": labels},
            "spec": {"project": van, "source": {"repoURL": "https://charts.example.net", "chart": slug, "targetRevision": "1.0.0"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": slug}},
            "status": {"sync": {"status": sync}, "health": {"status": health, **({"message": message} if message else {})}}}


def workspace(van: str, claim: str, *, node_count=3, node_size="medium", ready=True, outputs=True):
    """A provider-terraform Workspace as Crossplane reports it once applied (the module's outputs in atProvider)."""
    status = {"conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "reason": "Available" if ready else "Creating",
         "lastTransitionTime": "2026-12-02T10:00:00Z"},
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": "2026-12-02T10:00:00Z"}]}
    if outputs:
        status["atProvider"] = {"outputs": {"node_count": node_count, "node_size": node_size, "endpoint": "https://k8s.example"}}
    return {"apiVersion": "tf.upbound.io/v1beta1", "kind": "Workspace",
            "metadata": {"name": f"{van}.{claim}", "labels": {"wayline.io/van": van, "wayline.io/addon": "crossplane"}},
            "spec": {"deletionPolicy": "Orphan", "providerConfigRef": {"name": "default"},
                     "forProvider": {"source": "Remote", "module": MODULE, "vars": [{"key": "node_count", "value": str(node_count)}]}},
            "status": status}


@pytest.mark.conformance
def test_the_reported_objects_of_these_tests_follow_the_upstream_crds():
    for obj in (addon_application("demo", "prometheus", "edge-eu"), workspace("demo", "shop-eu")):
        assert validate_object(obj) == [], validate_object(obj)


@pytest.mark.parametrize("obj", [
    None, [], {"metadata": "x"}, {"metadata": {"name": "other.shop", "labels": {"wayline.io/van": "other"}}},
    {"metadata": {"name": "demo.shop", "labels": {"wayline.io/van": "other"}}},  # another VAN's label: not ours
    {"metadata": {"name": "elsewhere", "labels": {"wayline.io/van": "demo"}}},  # not <van>.<claim>
])
def test_workspaces_that_are_not_this_vans_claims_are_refused(obj):
    class Van:
        name = "demo"

    with pytest.raises(ValueError):
        parse_workspace(Van, obj)


def test_odd_outputs_are_not_taken_for_values():
    class Van:
        name = "demo"

    obj = workspace("demo", "shop")
    obj["status"]["atProvider"]["outputs"] = {"node_count": {"nested": 1}, "node_size": True}
    assert parse_workspace(Van, obj)[1] | {} == {"node_count": None, "node_size": None, "ready": True, "synced": True, "message": ""}


@pytest.mark.django_db
def test_a_claims_observed_values_show_drift_and_a_gone_workspace_says_so(van_world, client, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_settings_set(actor=world.alice, installation=van.addons.get(slug="crossplane"),
                                          settings={"cluster_module": MODULE})
        claim = addon_services.claim_create(actor=world.alice, van=van, name="shop-eu", environment="dev", node_count=3,
                                            node_size="medium")
    url = reverse("addons:van_claims", kwargs={"pk": van.pk})
    client.force_login(world.alice)
    assert "not observed yet" in client.get(url).content.decode()
    # someone scaled the cluster in the cloud console; another VAN's Workspace on the same hub is not this VAN's
    assert store_workspaces(van, [workspace("demo", "shop-eu", node_count=4), workspace("other", "shop-eu")]) == (1, 1)
    claim.refresh_from_db()
    assert claim.observed["node_count"] == 4 and claim.drift == ["node count 4 (want 3)"]
    page = client.get(url).content.decode()
    assert "drift: node count 4 (want 3)" in page and "ready" in page
    store_workspaces(van, [])
    claim.refresh_from_db()
    assert claim.observed == {"missing": True}
    assert "not on the hub" in client.get(url).content.decode()


@pytest.mark.django_db
def test_the_matrix_shows_argocds_health_per_add_on_and_cluster(van_world, client):
    world, van, hub, eu, *_ = van_world
    store_applications(van, [
        addon_application("demo", "prometheus", "hub"),
        addon_application("demo", "prometheus", "edge-eu", health="Degraded", message="crash looping"),
        addon_application("demo", "grafana", None, health="Progressing", sync="OutOfSync"),  # what the hub runs for it
        {"metadata": {"name": "no-labels"}},
    ])
    assert AddonStatus.objects.count() == 3
    client.force_login(world.alice)
    page = client.get(reverse("addons:van_addons", kwargs={"pk": van.pk})).content.decode()
    row = page.split('id="addon-prometheus"', 1)[1].split("</tr>", 1)[0]
    assert 'data-cluster="edge-eu"' in row and "health-degraded" in row and "crash looping" in row
    assert "health-healthy" in row.split('data-cluster="edge-eu"')[0]  # the hub's cell
    grafana = page.split('id="addon-grafana"', 1)[1].split("</tr>", 1)[0]
    assert "health-progressing" in grafana and "OutOfSync" in grafana
    store_applications(van, [addon_application("demo", "prometheus", "hub")])  # edge-eu's went away
    page = client.get(reverse("addons:van_addons", kwargs={"pk": van.pk})).content.decode()
    assert "health-degraded" not in page.split('id="addon-prometheus"', 1)[1].split("</tr>", 1)[0]
    client.force_login(world.bob)  # another team's VAN status is as invisible as the VAN
    van.visibility = "private"
    van.save(update_fields=["visibility"])
    assert client.get(reverse("addons:van_addons", kwargs={"pk": van.pk})).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_hub_watcher_reads_add_on_applications_and_claim_workspaces(van_world, svc, hub_api, django_capture_on_commit_callbacks):
    world, van, hub, eu, *_ = van_world
    svc.cluster_update(actor=world.admin, obj=hub, api_url=hub_api.url, credentials_kind="kubeconfig",
                       credentials=kubeconfig(hub_api.url, hub_api.ca_data, TOKEN))
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_settings_set(actor=world.alice, installation=van.addons.get(slug="crossplane"),
                                          settings={"cluster_module": MODULE})
        addon_services.claim_create(actor=world.alice, van=van, name="shop-eu", environment="dev", node_count=3,
                                    node_size="medium")
    hub_api.put(addon_application("demo", "sealed-secrets", "edge-eu", health="Degraded"))
    watcher = HubWatcher(van.pk, watch_seconds=1, backoff_base=0.1, backoff_cap=0.5, seen_every=0.2)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        # no Crossplane on the hub yet (the Workspace kind is unknown there): the add-ons are read all the same
        wait_for(lambda: AddonStatus.objects.filter(slug="sealed-secrets", cluster_name="edge-eu", health_status="Degraded").exists())
        assert InfraClaim.objects.get().observed_at is None
        hub_api.register("tf.upbound.io/v1beta1", "Workspace", "workspaces", namespaced=False)
        hub_api.put(workspace("demo", "shop-eu", node_size="large"))
        wait_for(lambda: InfraClaim.objects.get().observed.get("node_size") == "large", timeout=20)
        assert InfraClaim.objects.get().drift == ["node size large (want medium)"]
    finally:
        watcher.stop.set()
        thread.join(timeout=10)
