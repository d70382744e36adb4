"""Browser test: an app page's live status follows the hub as its ArgoCD reports, through the real watcher.

The demo's data and its hub (a fake Kubernetes API server with ArgoCD's stand-in, ``tests/kube/demo_hub.py``), stepped
by the test so each state is seen: a rollout Progressing, then Healthy without reloading the page (htmx polls the
panel), then an approved Prod upgrade that a manual-sync rule leaves OutOfSync, flagged as drift.
"""
from __future__ import annotations

import io
import random
import re
import threading

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_app_page_follows_its_rollouts_and_flags_drift(page, live_server, settings, tmp_path, shot):
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    from portal.demo import DEMO_PASSWORD
    from portal.gitops import services as gitops
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet
    from tests.kube.demo_hub import DemoHub
    from van.models import App, Van
    from van.status.watcher import HubWatcher

    settings.DATA_DIR = tmp_path
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    call_command("demo", "--no-serve", stdout=io.StringIO())
    User = get_user_model()
    hub = DemoHub("demo", rng=random.Random(3)).start(actor=User.objects.get(username="admin"))
    watcher = HubWatcher(Van.objects.get(name="demo").pk, watch_seconds=5, backoff_base=0.1, backoff_cap=0.5)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        hub.step()  # every Application appears, rolling out
        app = App.objects.get(name="payment-gateway")
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/apps/{app.pk}/")
        panel = page.locator("#live-status")
        dev_row = panel.locator("tr", has_text="dev-eu")
        expect(dev_row.locator(".badge.health-progressing")).to_have_text("Progressing", timeout=15_000)
        shot(page, "live-status-progressing")
        url_before = page.url
        for _ in range(8):
            hub.step()
        expect(dev_row.locator(".badge.health-healthy")).to_have_text("Healthy", timeout=15_000)  # polled, not reloaded
        assert page.url == url_before
        expect(panel.locator("tr", has_text="prod-eu")).to_contain_text("1.9.3")
        assert panel.locator(".badge", has_text="drift").count() == 0

        waiting = ChangeSet.objects.get(status=ChangeSetStatus.AWAITING_APPROVAL, message__contains="payment-gateway")
        gitops.changeset_approve(actor=User.objects.get(username="pat"), changeset=waiting, revision=waiting.revision)
        for _ in range(8):
            hub.step()
        prod_row = panel.locator("tr", has_text="prod-eu")
        expect(prod_row.locator(".badge.status-outofsync")).to_have_text("OutOfSync", timeout=15_000)
        expect(prod_row.locator(".badge", has_text="drift")).to_be_visible()
        expect(prod_row).to_contain_text(re.compile(r"1\.9\.3.*1\.10\.0", re.S))
        expect(dev_row).to_contain_text("1.10.0")
        shot(page, "live-status-drift")

        # K8sGPT's stand-in has found an Ingress of payment-gateway wanting a TLS secret: alice's home lists it
        page.goto(f"{live_server.url}/")
        expect(page.locator("#findings")).to_contain_text("payment-gateway-tls", timeout=20_000)
        expect(page.locator("#findings")).to_contain_text("Findings on your services")
        shot(page, "findings-home")
    finally:
        watcher.stop.set()
        thread.join(timeout=10)
        hub.stop()
