"""Browser test (issue 5): propose a Prod change, log in as an approver, approve, see it merged in the repo history."""
from __future__ import annotations

import re
import subprocess

import pytest

from tests.van.conftest import controller_key_pair

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def git(repo, *args) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def _prod_world(world, tmp_path, settings):
    """A VAN whose app runs on a Prod edge, set up through the services while Prod needs no approval yet."""
    from portal.gitops.models import Environment
    from portal.gitops.services import DEFAULT_ENVIRONMENTS, environments_ensure
    from van import services

    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    from portal.gitops.services import gitops_repo_init

    gitops_repo_init(actor=None)  # explicit setup: nothing creates the repository on first use
    environments_ensure(DEFAULT_ENVIRONMENTS)
    Environment.objects.filter(slug="prod").update(requires_approval=False)
    hub_cert, edge_cert = controller_key_pair("hub")[1], controller_key_pair("edge")[1]
    admin, team = world.admin, world.payments

    def cluster(name, env, cert):
        return services.cluster_create(actor=admin, name=name, api_url=f"https://{name}.example.net:6443", owner_team=team,
                                       environment=env, provider="eks", tags="region=eu", sealing_cert=cert,
                                       credentials_kind="token" if name != "hub" else "", credentials="" if name == "hub" else f"tok-{name}")

    hub, edge = cluster("hub", "dev", hub_cert), cluster("edge-prod", "prod", edge_cert)
    van = services.van_create(actor=admin, name="payments-net", owner_team=team, hub=hub, edges=[edge], hub_host="skupper.example.net")
    app = services.app_create(actor=admin, name="checkout", owner_team=team, namespace="payments", repo_url="https://git.example.net/c.git",
                              source_kind="kustomize", path="deploy", image="registry.example.net/checkout", version="1.2.3", tags="payments")
    services.rule_create(actor=admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    # From now on Prod changes wait for a member of the search team (bob); alice (payments) proposes.
    Environment.objects.filter(slug="prod").update(requires_approval=True, approver_team=world.search)
    return app


def test_prod_upgrade_waits_for_an_approver_then_merges_with_approved_by(page, live_server, world, settings, tmp_path, login, shot):
    from playwright.sync_api import expect

    from portal.gitops.models import ChangeSet, GitOpsRepo

    app = _prod_world(world, tmp_path, settings)
    bare, url = tmp_path / "gitops.git", live_server.url
    manifest = "vans/payments-net/hub/applicationsets/payments-eu/checkout.yaml"
    assert "1.2.3" in git(bare, "show", f"main:{manifest}")

    # alice upgrades checkout from its page: one change set, for Prod, waiting for approval.
    login(page, "alice")
    page.goto(f"{url}{app.get_absolute_url()}")
    page.locator("#id_version").fill("1.3.0")
    page.get_by_role("button", name="Set version").click()
    expect(page.locator(".messages")).to_contain_text("1 change set(s) proposed")
    expect(page.locator("#history-h + table")).to_contain_text("awaiting approval")
    expect(page.locator(".props .badge.warn")).to_contain_text("pending: #")  # the version is not in git yet
    shot(page, "gitops-app-upgrade")
    page.locator("#history-h + table a").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"Change #\d+"))).to_contain_text("Awaiting approval")
    expect(page.get_by_text("requires approval")).to_be_visible()
    expect(page.get_by_role("heading", name="Your decision")).to_have_count(0)  # nobody approves their own change
    shot(page, "gitops-awaiting-approval")
    changeset = ChangeSet.objects.get(message__contains="upgrade checkout to 1.3.0")
    assert changeset.environment.slug == "prod" and changeset.author_name == "Alice"
    assert "1.3.0" not in git(bare, "show", f"main:{manifest}")  # the target branch does not have it
    assert "1.3.0" in git(bare, "show", f"{changeset.approval_branch}:{manifest}")
    page.goto(f"{url}/gitops/approvals/")
    expect(page.get_by_text("Nothing is waiting for you.")).to_be_visible()

    # bob, a member of the Prod approver team, approves from the queue.
    page.context.clear_cookies()
    login(page, "bob")
    page.goto(f"{url}/gitops/approvals/")
    card = page.locator("section.card", has=page.get_by_role("link", name=f"#{changeset.pk}"))
    expect(card).to_contain_text("upgrade checkout to 1.3.0")
    expect(card).to_contain_text("1.3.0")  # the diff
    card.get_by_label("Comment").fill("Checked the release notes.")
    expect(page.get_by_role("button", name="Approve ticked")).to_be_visible()  # several at once, from the same queue
    shot(page, "gitops-approval-queue")
    card.get_by_role("button", name="Approve and merge").click()

    page.goto(f"{url}{changeset.get_absolute_url()}")
    expect(page.locator(f"#changeset-status-{changeset.pk}")).to_contain_text("Applied", timeout=15000)
    expect(page.get_by_text("Checked the release notes.")).to_be_visible()
    shot(page, "gitops-applied")

    # The repository history lists the merge, authored by alice, approved by bob.
    repo = GitOpsRepo.objects.get(is_default=True)
    page.goto(f"{url}{repo.get_absolute_url()}?path={manifest}")
    entry = page.locator("ol.commit-list > li", has_text="upgrade checkout to 1.3.0").first
    expect(entry).to_contain_text("by Alice")
    expect(entry).to_contain_text(re.compile("approved by .*Bob"))
    shot(page, "gitops-history")

    assert "1.3.0" in git(bare, "show", f"main:{manifest}")
    log = git(bare, "log", "-1", "--format=%an%n%B", "main", "--", manifest)
    assert log.startswith("Alice\n") and re.search(r"^Approved-by: Bob <bob@example.com>$", log, re.M), log
