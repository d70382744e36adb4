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

pytestmark = pytest.mark.django_db

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
    applications.store_all(van, [application(van.name, app.name, eu.name)])
    client.force_login(world.alice)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(4):
        svc.app_version_set(actor=world.alice, app=app, version=f"1.{i + 1}.0")
    applications.store_all(van, [application(van.name, app.name, c.name) for c in (eu, hub, us)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    assert body.count("<tr>") == 1 + 3  # the header and one row per Application
