"""Workloads on catalog entity pages: Backstage's Kubernetes annotations, read live from the clusters an entity's
apps run on, edges through their VAN listener, over real HTTPS against the fake API server."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from portal.kube import Workload, _workload
from tests.kube.apiserver import FakeKubeAPI
from tests.kube.demo_hub import kubeconfig
from van.rendering.spec import edge_api
from van.status.workloads import entity_workloads, selector_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("place_payments_everywhere")]

EDGE_TOKEN = "edge-eu-workloads-token-never-shown-4b1d"
KWARGS = {"kind": "component", "namespace": "default", "name": "payments"}
LABEL = {"backstage.io/kubernetes-id": "payments"}


def deployment(name, namespace, labels, *, replicas=2, ready=2, image="registry.example.net/payments-api:1.0.0"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"replicas": replicas, "readyReplicas": ready}}


def pod(name, namespace, labels, *, waiting="", restarts=0, owner="ReplicaSet/payments-api-6f8b9c"):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": "2026-12-01T09:00:00Z"}}
    kind, _, owner_name = owner.partition("/")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": "u1", "controller": True}]},
            "spec": {"containers": [{"name": "app", "image": "registry.example.net/payments-api:1.0.0"}]},
            "status": {"phase": "Running" if not waiting else "Pending",
                       "containerStatuses": [{"name": "app", "ready": not waiting, "restartCount": restarts, "state": state,
                                              "image": "registry.example.net/payments-api:1.0.0", "imageID": "", "started": not waiting}]}}


@pytest.fixture
def edge_world(van_world, svc, settings, tmp_path):
    """``van_world`` with a fake API server standing in for edge-eu (certificate for edge-eu's own name, reached
    through its VAN listener address), a Component linked to payments-api, and objects in three namespaces."""
    from catalog import services as catalog_services
    from tests.catalog.conftest import GitRepo, component_yaml

    world, van, hub, eu, us, app = van_world
    server = FakeKubeAPI(tokens=(EDGE_TOKEN,), server_names=("edge-eu.example.net",)).start()
    svc.cluster_update(actor=world.admin, obj=eu, credentials_kind="kubeconfig",
                       credentials=kubeconfig("https://edge-eu.example.net:6443", server.ca_data, EDGE_TOKEN))
    listener = edge_api(van=van.name, cluster=eu.name, api_url=eu.api_url, skupper_namespace=van.skupper_namespace)
    settings.WAYLINE_VAN_LISTENER_ADDRESSES = {urlsplit(listener.server).hostname: server.url.removeprefix("https://")}
    settings.CATALOG_ALLOW_LOCAL_GIT = True
    repo = GitRepo(tmp_path / "catalog-repo")
    text = component_yaml("payments", "payments").replace("metadata:\n", "metadata:\n  annotations:\n    backstage.io/kubernetes-id: payments\n")
    repo.write({"payments.yaml": text})
    repo.commit()
    location = catalog_services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False)
    catalog_services.location_refresh(actor=None, location_id=location.pk)
    svc.app_update(actor=world.admin, obj=app, component_ref="component:default/payments")
    server.put(deployment("payments-api", "payments", LABEL))
    server.put(pod("payments-api-6f8b9c-x2x7q", "payments", LABEL, waiting="ImagePullBackOff", restarts=4))
    server.put(pod("unlabelled-sidecar", "payments", {"app": "other"}))
    server.put(pod("search-indexer-1", "search", LABEL))  # another namespace, same label: never read
    yield world, van, hub, eu, app, server, repo, location
    server.stop()


def test_workload_summaries_read_counts_reasons_and_images_defensively():
    assert _workload("Deployment", deployment("d", "n", {}, replicas=3, ready=1)) == Workload(
        "Deployment", "d", "1/3", False, "", ("registry.example.net/payments-api:1.0.0",))
    sick = _workload("Pod", pod("p", "n", {}, waiting="CrashLoopBackOff", restarts=7))
    assert (sick.ready, sick.ok, sick.status, sick.restarts, sick.owner) == ("0/1", False, "CrashLoopBackOff", 7, "ReplicaSet/payments-api-6f8b9c")
    cron = {"spec": {"schedule": "*/5 * * * *", "suspend": True,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "busybox:1.36"}]}}}}}, "metadata": {"name": "c"}}
    assert _workload("CronJob", cron) == Workload("CronJob", "c", "0 running", False, "suspended", ("busybox:1.36",))
    for junk in ({}, {"metadata": "x", "spec": [], "status": 3}, {"status": {"containerStatuses": ["x", {"state": "y"}]}}):
        for kind in ("Deployment", "DaemonSet", "CronJob", "Pod"):
            assert _workload(kind, junk).kind == kind  # never raises on what an API server might send


@pytest.mark.parametrize("annotations, selector, why", [
    ({"backstage.io/kubernetes-id": "payments"}, "backstage.io/kubernetes-id=payments", ""),
    ({"backstage.io/kubernetes-id": "x", "backstage.io/kubernetes-label-selector": "app in (a,b),tier!=db"}, "app in (a,b),tier!=db", ""),
    ({"backstage.io/kubernetes-label-selector": "  "}, "", "would select every object"),
    ({"backstage.io/kubernetes-label-selector": "=broken="}, "", "does not parse"),
    ({"backstage.io/kubernetes-label-selector": "a=" + "b" * 600}, "", "longer than 500"),
    ({}, "", "neither"),
])
def test_the_selector_is_backstages_and_an_empty_or_broken_one_reads_nothing(annotations, selector, why):
    got, reason = selector_of(annotations)
    assert got == selector and why in reason


def test_the_entity_page_lists_what_its_label_selects_in_its_apps_namespace_through_the_van_listener(edge_world, client):
    world, van, hub, eu, app, server, *_ = edge_world
    client.force_login(world.alice)
    page = client.get(reverse("catalog:entity", kwargs=KWARGS)).content.decode()
    assert 'id="workloads"' in page and reverse("catalog:entity_workloads", kwargs=KWARGS) in page
    panel = client.get(reverse("catalog:entity_workloads", kwargs=KWARGS)).content.decode()
    assert "<html" not in panel and 'hx-trigger="every 15s"' in panel
    assert "payments-api-6f8b9c-x2x7q" in panel and "ImagePullBackOff" in panel and "1/2" not in panel and "2/2" in panel
    assert "unlabelled-sidecar" not in panel and "search-indexer-1" not in panel
    assert EDGE_TOKEN not in panel
    # the hub (placed too, by place_payments_everywhere) has no credentials: the page says so and reads nothing there
    assert "cluster &#x27;hub&#x27; has no credentials" in panel
    reads = [(path, query.get("labelSelector")) for method, path, query in server.requests if "/namespaces/" in path]
    assert reads and all("/namespaces/payments/" in path and selector == "backstage.io/kubernetes-id=payments" for path, selector in reads)


def test_a_kubernetes_namespace_naming_another_namespace_reads_nothing_there(edge_world, client, tmp_path):
    from catalog import services as catalog_services

    world, van, hub, eu, app, server, repo, location = edge_world
    text = repo.path.joinpath("payments.yaml").read_text().replace(
        "    backstage.io/kubernetes-id: payments\n", "    backstage.io/kubernetes-id: payments\n    backstage.io/kubernetes-namespace: search\n")
    repo.write({"payments.yaml": text})
    repo.commit()
    catalog_services.location_refresh(actor=None, location_id=location.pk)
    client.force_login(world.alice)
    panel = client.get(reverse("catalog:entity_workloads", kwargs=KWARGS)).content.decode()
    assert "search-indexer-1" not in panel and "Not read: payments-api on edge-eu deploys into" in panel
    assert not [path for method, path, query in server.requests if "/namespaces/" in path]


def test_an_edge_whose_certificate_is_not_for_its_name_is_refused_before_the_token_is_sent(edge_world, client, svc, settings):
    world, van, hub, eu, app, server, *_ = edge_world
    impostor = FakeKubeAPI(tokens=(EDGE_TOKEN,), server_names=("someone-else.example.net",)).start()
    try:
        # the impostor answers on edge-eu's listener address, with a certificate from a CA edge-eu's kubeconfig trusts
        svc.cluster_update(actor=world.admin, obj=eu, credentials_kind="kubeconfig",
                           credentials=kubeconfig("https://edge-eu.example.net:6443", impostor.ca_data, EDGE_TOKEN))
        listener = edge_api(van=van.name, cluster=eu.name, api_url=eu.api_url, skupper_namespace=van.skupper_namespace)
        settings.WAYLINE_VAN_LISTENER_ADDRESSES = {urlsplit(listener.server).hostname: impostor.url.removeprefix("https://")}
        client.force_login(world.alice)
        panel = client.get(reverse("catalog:entity_workloads", kwargs=KWARGS)).content.decode()
        assert "TLS failed" in panel and "payments-api-6f8b9c" not in panel, panel
        assert impostor.requests == [], "no request (and so no bearer token) reached the impostor"
    finally:
        impostor.stop()


def test_a_revoked_token_reads_as_unauthorized_and_answers_are_kept_a_few_seconds(edge_world, client, settings):
    world, van, hub, eu, app, server, *_ = edge_world
    client.force_login(world.alice)
    url = reverse("catalog:entity_workloads", kwargs=KWARGS)
    assert "payments-api-6f8b9c-x2x7q" in client.get(url).content.decode()
    asked = len(server.requests)
    assert "payments-api-6f8b9c-x2x7q" in client.get(url).content.decode() and len(server.requests) == asked, "the cached answer"
    settings.WAYLINE_WORKLOADS_CACHE_SECONDS = 0
    server.revoke(EDGE_TOKEN)
    panel = client.get(url).content.decode()
    assert "unauthorized" in panel and "refused the credentials" in panel and "payments-api-6f8b9c-x2x7q" not in panel


def test_workloads_are_restricted_like_the_app_and_the_entity(edge_world, client, svc):
    world, van, hub, eu, app, server, *_ = edge_world
    url = reverse("catalog:entity_workloads", kwargs=KWARGS)
    client.force_login(world.victor)  # in no team: sees the public app and entity, reads nothing private
    assert "payments-api-6f8b9c-x2x7q" in client.get(url).content.decode()
    svc.app_update(actor=world.admin, obj=app, visibility="private")
    for user in (world.bob, world.victor):  # another team, and nobody's member
        client.force_login(user)
        panel = client.get(url).content.decode()
        assert "payments-api-6f8b9c" not in panel and "edge-eu" not in panel and "No app linked" in panel
    assert entity_workloads(user=world.bob, ref="component:default/payments", annotations=LABEL)["targets"] == []
    client.force_login(world.alice)
    assert "payments-api-6f8b9c-x2x7q" in client.get(url).content.decode()
    assert client.get(reverse("catalog:entity_workloads", kwargs={**KWARGS, "name": "nope"})).status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code in (302, 404) and "payments-api" not in response.content.decode()


def test_the_panel_costs_a_constant_number_of_queries(edge_world, client, django_assert_max_num_queries, svc):
    world, van, hub, eu, app, server, *_ = edge_world
    client.force_login(world.alice)
    url = reverse("catalog:entity_workloads", kwargs=KWARGS)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for n in range(5):
        svc.app_create(actor=world.admin, name=f"payments-extra-{n}", owner_team=world.payments, namespace="payments",
                       repo_url="https://git.example.net/p.git", source_kind="kustomize", path="deploy", tags="payments",
                       component_ref="component:default/payments")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_workloads_card_loads_in_the_browser(edge_world, live_server, page, client):
    """The card is fetched by htmx after the page and shows the edge's objects, the failing pod flagged."""
    from pathlib import Path

    from playwright.sync_api import expect

    world, *_ = edge_world
    client.force_login(world.alice)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page.goto(live_server.url + reverse("catalog:entity", kwargs=KWARGS))
    card = page.locator("#workloads")
    expect(card.locator("table")).to_contain_text("payments-api-6f8b9c-x2x7q")
    expect(card.locator("tr", has_text="payments-api-6f8b9c-x2x7q").locator(".badge.warn")).to_have_text("0/1")
    expect(card).to_contain_text("has no credentials")
    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    card.screenshot(path=str(artifacts / "entity-workloads.png"))
