"""Browser: a Prod change waits, an approver approves it in the queue, and it shows merged in the history."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _login(page, live_server, username, password="pw-Wayline-123"):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_prod_change_is_approved_in_the_browser_and_merged(page, live_server, repo, bare, people):
    from portal.gitops.services import propose_change

    cs = propose_change(actor=people.alice, repo=repo, files_to_write={"envs/prod/checkout.yaml": "replicas: 6\n"},
                        message="Scale checkout to 6 in prod", environment="prod")
    # on_commit ran the apply (eager in tests): the change waits on its branch, not on main.
    assert bare.read("envs/prod/checkout.yaml") is None

    _login(page, live_server, "alice")
    page.goto(f"{live_server.url}/gitops/changes/{cs.pk}/")
    expect(page.get_by_role("status").filter(has_text="Awaiting approval")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and merge")).to_have_count(0)  # not for your own change
    _shot(page, "gitops-change-awaiting-approval")
    page.get_by_role("button", name="Log out").click()

    _login(page, live_server, "bob")
    page.goto(f"{live_server.url}/gitops/approvals/")
    card = page.get_by_role("region", name=re.compile("Scale checkout to 6 in prod"))
    expect(card).to_be_visible()
    expect(card.locator(".diff-add", has_text="+replicas: 6")).to_be_visible()
    _shot(page, "gitops-approval-queue")
    card.get_by_label("Comment").fill("Capacity for the sale")
    card.get_by_role("button", name="Approve and merge").click()
    page.wait_for_url(re.compile(rf"/gitops/changes/{cs.pk}/$"))
    expect(page.locator(f"#changeset-status-{cs.pk}")).to_contain_text("Applied", timeout=15000)
    _shot(page, "gitops-change-applied")

    page.get_by_role("link", name=repo.name).first.click()
    history = page.get_by_role("region", name="History")
    entry = history.get_by_role("listitem").filter(has_text="Scale checkout to 6 in prod")
    expect(entry).to_contain_text("approved by Bob <bob@example.com>")
    expect(entry).to_contain_text("by Alice <alice@example.com>, committed by Wayline")
    _shot(page, "gitops-history-merged")
    assert "replicas: 6" in bare.read("envs/prod/checkout.yaml")
