"""The demo's hubs, read by the real watcher through the official client: the story live status tells in the demo.

Every placed (app, cluster) gets an Application that rolls out to the version in git (Progressing, then Healthy); a
stuck rollout shows as Degraded with a version drift; a Prod upgrade approved under a manual-sync rule leaves the
Application OutOfSync, the old version running against the new one in git, with the change set that set it.
"""
from __future__ import annotations

import io
import random
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet
from tests.kube.demo_hub import DemoHub
from tests.polling import wait_for
from van.models import AppStatus
from van.rendering.placement import placement_compute
from van.selectors import van_spec
from van.status.selectors import live_rows
from van.status.watcher import HubWatcher

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    call_command("demo", "--no-serve", stdout=io.StringIO())
    return get_user_model().objects.get(username="admin")


@pytest.fixture
def hub(demo):
    """The demo VAN's hub, played by a fake API server and ArgoCD's stand-in, and a watcher reading it."""
    from van.models import Van

    played = DemoHub("demo", rng=random.Random(7)).start(actor=demo)
    watcher = HubWatcher(Van.objects.get(name="demo").pk, watch_seconds=2, backoff_base=0.1, backoff_cap=0.5)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    yield played
    watcher.stop.set()
    thread.join(timeout=10)
    played.stop()


def _rows(admin, app_name):
    return {row["status"].cluster_name: row for row in live_rows(user=admin) if row["status"].app_name == app_name}


def _settle(hub, ticks=8):
    for _ in range(ticks):
        hub.step()


def test_every_placed_pair_rolls_out_to_the_version_in_git(demo, hub):
    from van.models import Van

    spec = van_spec(van=Van.objects.get(name="demo"))
    placed = placement_compute(spec).pairs()
    hub.step()
    wait_for(lambda: AppStatus.objects.filter(van__name="demo").count() == len(placed))
    first = {(s.app_name, s.cluster_name): s.health_status for s in AppStatus.objects.filter(van__name="demo")}
    assert set(first) == placed
    assert set(first.values()) == {"Progressing", "Degraded"}, "a new rollout progresses (the stuck one is Degraded)"

    _settle(hub)
    wait_for(lambda: set(AppStatus.objects.filter(van__name="demo").values_list("health_status", flat=True)) == {"Healthy", "Degraded"})
    checkout = _rows(demo, "checkout-service")
    assert checkout and all(r["status"].health_status == "Healthy" and r["status"].sync_status == "Synced" for r in checkout.values())
    assert checkout["prod-eu"]["running"] == "2.4.0" and checkout["dev-eu"]["running"] == "2.4.1", "the Prod pin runs in Prod"
    assert not any(r["drift"] for r in checkout.values())
    history = list(AppStatus.objects.get(app_name="checkout-service", cluster_name="dev-eu").changes.values_list("health_status", flat=True))
    assert set(history) == {"Progressing", "Healthy"}


def test_a_stuck_rollout_is_degraded_with_its_drift(demo, hub):
    _settle(hub)
    wait_for(lambda: AppStatus.objects.filter(app_name="search-indexer", cluster_name="dev-us", health_status="Degraded").exists())
    row = _rows(demo, "search-indexer")["dev-us"]
    assert (row["running"], row["desired"], row["drift"]) == ("3.0.2", "3.1.0", True)
    assert "Back-off pulling image" in row["status"].health_message


def test_an_approved_prod_upgrade_waits_out_of_sync_under_a_manual_rule(demo, hub):
    _settle(hub)
    wait_for(lambda: _rows(demo, "payment-gateway").get("prod-eu") and _rows(demo, "payment-gateway")["prod-eu"]["running"] == "1.9.3")
    waiting = ChangeSet.objects.get(status=ChangeSetStatus.AWAITING_APPROVAL, message__contains="payment-gateway")
    from portal.gitops import services as gitops

    gitops.changeset_approve(actor=get_user_model().objects.get(username="pat"), changeset=waiting, revision=waiting.revision)
    waiting.refresh_from_db()
    assert waiting.status == ChangeSetStatus.APPLIED, waiting.error
    _settle(hub, ticks=3)

    def out_of_sync():
        row = _rows(demo, "payment-gateway").get("prod-eu")
        return row and row["status"].sync_status == "OutOfSync"

    wait_for(out_of_sync)
    row = _rows(demo, "payment-gateway")["prod-eu"]
    assert (row["running"], row["desired"], row["drift"]) == ("1.9.3", "1.10.0", True)
    assert row["changeset"].pk == waiting.pk


def test_k8sgpt_findings_appear_and_reach_the_owning_teams(demo, hub):
    from portal.selectors import teams_of_user
    from van.models import Finding
    from van.status.selectors import findings_shown

    _settle(hub)
    wait_for(lambda: Finding.objects.count() == 2, timeout=30)
    bob, alice = (get_user_model().objects.get(username=u) for u in ("bob", "alice"))
    (indexer,) = findings_shown(user=bob, teams=teams_of_user(user=bob))
    assert indexer.app.name == "search-indexer" and indexer.cluster_name == "dev-us" and "manifest unknown" in indexer.errors[0]
    (ingress,) = findings_shown(user=alice, teams=teams_of_user(user=alice))
    assert ingress.kind == "Ingress" and ingress.app.name == "payment-gateway" and ingress.owner_team.slug == "payments"
