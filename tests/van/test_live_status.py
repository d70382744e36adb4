"""Status rows from the hub's Applications: parsing, storing, history, who may see them, versions and drift."""
from __future__ import annotations

import pytest
from django.urls import reverse

from portal.kube import ClusterState
from van.models import AppStatus, AppStatusChange
from van.status import applications
from van.status.selectors import image_tag, live_rows
from van.status.watcher import connection_record
from tests.van.argocd_objects import application

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("place_payments_everywhere")]

IMAGE = "registry.example.net/payments-api"


@pytest.mark.conformance
def test_the_application_objects_of_these_tests_follow_the_upstream_crd():
    from portal.crd_validation import validate_object

    for obj in (application("demo", "payments-api", "edge-eu", image=f"{IMAGE}:1.0.0"),
                application("demo", "payments-api", "edge-eu", sync="OutOfSync", health="Progressing", phase="Running")):
        assert validate_object(obj) == []


def test_parse_reads_sync_health_versions_operation_and_labels():
    fields = applications.parse(application("demo", "payments-api", "edge-eu", sync="OutOfSync", health="Degraded",
                                            image=f"{IMAGE}:1.3.0", phase="Failed", message="one or more objects failed",
                                            health_message="Back-off pulling image"))
    assert fields["application"] == "payments-api-edge-eu" and fields["app_name"] == "payments-api" and fields["cluster_name"] == "edge-eu"
    assert (fields["sync_status"], fields["health_status"]) == ("OutOfSync", "Degraded")
    assert fields["images"] == [f"{IMAGE}:1.3.0"] and fields["operation_phase"] == "Failed"
    assert fields["health_message"] == "Back-off pulling image" and len(fields["revision"]) == 40


@pytest.mark.parametrize("bad", [None, "text", {}, {"metadata": {}}, {"metadata": {"name": "x"}},
                                 {"metadata": {"name": "x", "labels": {"wayline.io/app": "a"}}},
                                 {"metadata": {"name": "x", "labels": {"wayline.io/app": "a", "wayline.io/cluster": "c"}}, "status": []}])
def test_objects_that_are_not_mappable_applications_are_refused_by_name(bad):
    with pytest.raises(applications.Malformed):
        applications.parse(bad)


def test_unknown_states_read_as_unknown_and_long_text_is_cut():
    obj = application("demo", "a", "c", sync="Sideways", health="Exploded", health_message="x" * 10_000)
    fields = applications.parse(obj)
    assert (fields["sync_status"], fields["health_status"]) == ("Unknown", "Unknown") and len(fields["health_message"]) == 2000


def test_a_full_list_upserts_marks_the_missing_deleted_skips_the_malformed_and_keeps_history(van_world):
    world, van, hub, eu, us, app = van_world
    first = [application(van.name, app.name, eu.name, health="Progressing"), application(van.name, app.name, hub.name),
             {"metadata": {"name": "broken"}}]
    assert applications.store_all(van, first) == (2, 1)
    row = AppStatus.objects.get(van=van, application=f"{app.name}-{eu.name}")
    assert row.app == app and row.cluster == eu and row.health_status == "Progressing" and row.deleted_at is None
    applications.store_all(van, [application(van.name, app.name, eu.name, health="Healthy")])
    row.refresh_from_db()
    assert row.health_status == "Healthy"
    assert [c.health_status for c in row.changes.all()] == ["Healthy", "Progressing"]
    assert AppStatus.objects.get(application=f"{app.name}-{hub.name}").deleted_at is not None
    # the same state again adds no history
    applications.store_all(van, [application(van.name, app.name, eu.name, health="Healthy")])
    assert row.changes.count() == 2


def test_one_event_at_a_time_keeps_a_short_history(van_world):
    world, van, hub, eu, us, app = van_world
    for i in range(applications.HISTORY + 5):
        applications.store_one(van, applications.parse(application(van.name, app.name, eu.name, health="Healthy" if i % 2 else "Progressing")))
    row = AppStatus.objects.get(van=van)
    assert AppStatusChange.objects.filter(status=row).count() == applications.HISTORY
    applications.mark_deleted(van, row.application)
    row.refresh_from_db()
    assert row.deleted_at is not None


@pytest.mark.parametrize("images, repo, tag", [
    ([f"{IMAGE}:1.3.0", "other/x:2"], IMAGE, "1.3.0"),
    ([f"{IMAGE}"], IMAGE, "latest"),
    (["registry.example.net:5000/team/app:4.2"], "registry.example.net:5000/team/app", "4.2"),
    (["other/x:2"], IMAGE, ""),
    ([f"{IMAGE}:1.3.0"], "", ""),
])
def test_image_tag_finds_the_apps_repository_among_the_images(images, repo, tag):
    assert image_tag(images, repo) == tag


def test_rows_show_running_against_git_flag_drift_and_link_the_change_set(van_world, svc):
    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    svc.app_version_set(actor=world.alice, app=app, version="1.4.0")
    applications.store_all(van, [application(van.name, app.name, eu.name, image=f"{IMAGE}:1.3.0")])
    (row,) = live_rows(user=world.alice, app=app)
    assert (row["running"], row["desired"], row["drift"]) == ("1.3.0", "1.4.0", True)
    assert row["changeset"] is not None and row["can_open"] and row["changeset"].owner_id == van.pk
    applications.store_all(van, [application(van.name, app.name, eu.name, image=f"{IMAGE}:1.4.0")])
    (row,) = live_rows(user=world.alice, app=app)
    assert not row["drift"]


def test_a_private_apps_status_is_invisible_to_other_teams_like_a_missing_app(van_world, svc, client):
    world, van, hub, eu, us, app = van_world
    svc.app_update(actor=world.admin, obj=app, visibility="private")
    applications.store_all(van, [application(van.name, app.name, eu.name, health="Degraded", health_message="secret-ish detail")])
    assert live_rows(user=world.bob, cluster=eu) == [] and len(live_rows(user=world.alice, cluster=eu)) == 1
    client.force_login(world.bob)
    assert client.get(reverse("van:app_status", kwargs={"pk": app.pk})).status_code == 404
    cluster_page = client.get(reverse("van:cluster", kwargs={"pk": eu.pk})).content.decode()
    assert "secret-ish detail" not in cluster_page and app.name not in cluster_page
    client.force_login(world.alice)
    panel = client.get(reverse("van:app_status", kwargs={"pk": app.pk})).content.decode()
    assert "Degraded" in panel and "secret-ish detail" in panel and "<html" not in panel


def test_an_unreachable_hub_shows_what_it_last_reported_and_when_it_was_last_seen(van_world, client):
    world, van, hub, eu, us, app = van_world
    applications.store_all(van, [application(van.name, app.name, eu.name)])
    connection_record(hub, ClusterState.REACHABLE)
    connection_record(hub, ClusterState.UNREACHABLE, "the connection to the API server was refused or could not be opened")
    client.force_login(world.alice)
    page = client.get(reverse("van:app", kwargs={"pk": app.pk})).content.decode()
    assert "hub unreachable, last seen" in page and "Synced" in page


def test_the_app_page_status_panel_costs_a_constant_number_of_queries(van_world, svc, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world, van, hub, eu, us, app = van_world
    url = reverse("van:app_status", kwargs={"pk": app.pk})
    svc.app_version_set(actor=world.alice, app=app, version="1.0.1")  # a release with a change set, as below
    applications.store_all(van, [application(van.name, app.name, eu.name)])
    client.force_login(world.alice)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(4):
        svc.app_version_set(actor=world.alice, app=app, version=f"1.{i + 1}.0")
    svc.van_update(actor=world.admin, obj=van, edges=[eu, us])
    applications.store_all(van, [application(van.name, app.name, c.name) for c in (eu, hub, us)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    assert body.count("<tr>") == 1 + 3  # the header and one row per Application


def test_a_release_waiting_for_approval_is_not_in_git_yet(van_world, svc):
    """The version in git is the newest release that reached the VAN: one published with the VAN, or one whose change
    set was applied; a change set still waiting (here: the edge is Prod) leaves the version before it."""
    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    svc.cluster_update(actor=world.admin, obj=eu, environment="prod")
    svc.app_version_set(actor=world.alice, app=app, version="1.4.0")
    applications.store_all(van, [application(van.name, app.name, eu.name, image=f"{IMAGE}:1.0.0", environment="prod")])
    (row,) = live_rows(user=world.alice, app=app)
    assert row["changeset"] is None and (row["running"], row["desired"], row["drift"]) == ("1.0.0", "1.0.0", False)


def test_the_van_page_sums_up_health_and_the_hubs_state_in_constant_queries(van_world, svc, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world, van, hub, eu, us, app = van_world
    url = reverse("van:van_status", kwargs={"pk": van.pk})
    client.force_login(world.alice)
    empty = client.get(url).content.decode()
    assert "no credentials" in empty and "No hub has reported an Application of this VAN" in empty
    svc.cluster_update(actor=world.admin, obj=hub, credentials_kind="token", credentials="hub-reader-token-not-shown")
    applications.store_all(van, [application(van.name, app.name, eu.name, health="Degraded", health_message="Back-off pulling image")])
    connection_record(hub, ClusterState.UNAUTHORIZED, "the API server refused the credentials (401)")
    with CaptureQueriesContext(connection) as few:
        panel = client.get(url).content.decode()
    assert "unauthorized" in panel and "refused the credentials" in panel and "1 Degraded" in panel
    assert "hub-reader-token-not-shown" not in panel and "Back-off pulling image" in panel
    svc.van_update(actor=world.admin, obj=van, edges=[eu, us])
    other = svc.app_create(actor=world.admin, name="payments-web", owner_team=world.payments, namespace="web",
                           repo_url="https://git.example.net/w.git", source_kind="kustomize", path="deploy", tags="payments")
    applications.store_all(van, [application(van.name, a.name, c.name, health=h)
                                 for a, h in ((app, "Healthy"), (other, "Progressing")) for c in (eu, hub, us)])
    connection_record(hub, ClusterState.REACHABLE)
    with django_assert_max_num_queries(len(few.captured_queries)):
        panel = client.get(url).content.decode()
    assert "3 Healthy" in panel and "3 Progressing" in panel and "reachable" in panel and panel.count("<tr>") == 1 + 6
    page = client.get(reverse("van:van", kwargs={"pk": van.pk})).content.decode()
    assert 'id="live-status"' in page and "3 Progressing" in page


def test_a_private_vans_status_is_404_to_other_teams_and_nobody(van_world, svc, client):
    world, van, hub, eu, us, app = van_world
    svc.van_update(actor=world.admin, obj=van, visibility="private")
    applications.store_all(van, [application(van.name, app.name, eu.name)])
    url = reverse("van:van_status", kwargs={"pk": van.pk})
    client.force_login(world.bob)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code in (302, 404)
    client.force_login(world.alice)
    assert client.get(url).status_code == 200


def test_an_entity_selects_applications_as_backstages_argocd_annotations_do(van_world, svc):
    from van.status.selectors import entity_rows

    world, van, hub, eu, us, app = van_world
    svc.app_update(actor=world.admin, obj=app, component_ref="component:default/payments")
    other = svc.app_create(actor=world.admin, name="payments-web", owner_team=world.payments, namespace="web",
                           repo_url="https://git.example.net/w.git", source_kind="kustomize", path="deploy", tags="payments")
    applications.store_all(van, [application(van.name, a.name, c.name) for a in (app, other) for c in (eu, hub)])

    def chosen(annotations):
        rows, _ = entity_rows(user=world.alice, ref="component:default/payments", annotations=annotations)
        return {r["status"].application for r in rows}

    assert chosen({}) == {f"{app.name}-{eu.name}", f"{app.name}-{hub.name}"}, "without annotations: the linked app's"
    assert chosen({"argocd/app-name": f"{other.name}-{eu.name}"}) == {f"{other.name}-{eu.name}"}
    assert chosen({"argocd/app-name": f"{other.name}-{eu.name}, {app.name}-{hub.name}"}) == {f"{other.name}-{eu.name}", f"{app.name}-{hub.name}"}
    assert chosen({"argocd/app-selector": f"wayline.io/app={other.name}"}) == {f"{other.name}-{eu.name}", f"{other.name}-{hub.name}"}
    assert chosen({"argocd/app-selector": f"wayline.io/app={other.name},wayline.io/cluster={hub.name}"}) == {f"{other.name}-{hub.name}"}
    rows, why = entity_rows(user=world.alice, ref="x", annotations={"argocd/app-selector": "=broken="})
    assert rows == [] and "does not parse" in why
    # restricted like every status row: another team's private app is never selected, even by name
    svc.app_update(actor=world.admin, obj=other, visibility="private", owner_team=world.search)
    assert entity_rows(user=world.alice, ref="x", annotations={"argocd/app-name": f"{other.name}-{eu.name}"})[0] == []


def test_the_component_page_shows_live_status_and_its_panel_polls(van_world, svc, client, settings, tmp_path):
    from catalog import services as catalog_services
    from tests.catalog.conftest import GitRepo, component_yaml

    world, van, hub, eu, us, app = van_world
    settings.CATALOG_ALLOW_LOCAL_GIT = True
    repo = GitRepo(tmp_path / "catalog-repo")
    repo.write({"payments.yaml": component_yaml("payments", "payments")})
    repo.commit()
    location = catalog_services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False)
    catalog_services.location_refresh(actor=None, location_id=location.pk)
    svc.app_update(actor=world.admin, obj=app, component_ref="component:default/payments")
    applications.store_all(van, [application(van.name, app.name, eu.name, health="Progressing")])
    client.force_login(world.alice)
    kwargs = {"kind": "component", "namespace": "default", "name": "payments"}
    page = client.get(reverse("catalog:entity", kwargs=kwargs)).content.decode()
    assert 'id="live-status"' in page and "Progressing" in page and reverse("catalog:entity_status", kwargs=kwargs) in page
    applications.store_all(van, [application(van.name, app.name, eu.name, health="Healthy")])
    panel = client.get(reverse("catalog:entity_status", kwargs=kwargs)).content.decode()
    assert "Healthy" in panel and "<html" not in panel
    missing = client.get(reverse("catalog:entity_status", kwargs={**kwargs, "name": "nope"}))
    assert missing.status_code == 404


def test_a_big_vans_panel_lists_the_least_healthy_first_and_counts_them_all(van_world, svc, client, monkeypatch):
    from van.status import selectors

    world, van, hub, eu, us, app = van_world
    svc.van_update(actor=world.admin, obj=van, edges=[eu, us])
    applications.store_all(van, [application(van.name, app.name, c.name, health=h) for c, h in ((eu, "Healthy"), (hub, "Degraded"), (us, "Healthy"))])
    monkeypatch.setattr(selectors, "VAN_PANEL_ROWS", 2)
    client.force_login(world.alice)
    panel = client.get(reverse("van:van_status", kwargs={"pk": van.pk})).content.decode()
    assert panel.count("<tr>") == 1 + 2 and "The 2 least healthy of 3 Applications" in panel
    assert "2 Healthy" in panel and "1 Degraded" in panel and panel.index("Degraded</span>") < panel.index("Healthy</span></td>")
