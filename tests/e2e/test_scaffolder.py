"""The golden path in a browser: pick a template, fill its pages (see an error, fix it), watch the run, open the new
component and the change set that deploys it."""
from __future__ import annotations

import re
import shutil

import pytest

from catalog.demo import GOLDEN_PATHS
from tests.van.conftest import controller_key_pair

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scaffold_world(world, tmp_path, settings):
    """The golden paths registered for payments, and a payments VAN whose rule places payments-tagged apps."""
    from catalog import services as catalog_services
    from portal.gitops.services import DEFAULT_ENVIRONMENTS, environments_ensure, gitops_repo_init
    from tests.catalog.conftest import GitRepo
    from van import services

    settings.CATALOG_ALLOW_LOCAL_GIT = True
    settings.SCAFFOLDER_REPOS_DIR = tmp_path / "repos"
    settings.SCAFFOLDER_WORKSPACES_DIR = tmp_path / "workspaces"
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    settings.WAYLINE_PUBLIC_URL = "https://wayline.example.net"  # as the demo gives it: the CI pipeline calls it
    gitops_repo_init(actor=None)
    environments_ensure(DEFAULT_ENVIRONMENTS)
    repo = GitRepo(tmp_path / "golden")
    shutil.copytree(GOLDEN_PATHS, repo.path, dirs_exist_ok=True)
    repo.commit()
    location = catalog_services.location_register(actor=None, type="git", target=repo.url, owner_team=world.payments,
                                                  refresh=False)
    assert catalog_services.location_refresh(actor=None, location_id=location.pk).errors == 0
    admin, team = world.admin, world.payments
    hub = services.cluster_create(actor=admin, name="hub", api_url="https://hub.example.net:6443", owner_team=team,
                                  environment="dev", provider="eks", tags="region=eu",
                                  sealing_cert=controller_key_pair("hub")[1])
    edge = services.cluster_create(actor=admin, name="edge-eu", api_url="https://edge-eu.example.net:6443", owner_team=team,
                                   environment="dev", provider="eks", tags="region=eu",
                                   sealing_cert=controller_key_pair("edge")[1], credentials_kind="token",
                                   credentials="tok-edge")
    van = services.van_create(actor=admin, name="payments-net", owner_team=team, hub=hub, edges=[edge],
                              hub_host="skupper.example.net")
    services.rule_create(actor=admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    return world


def test_pick_a_template_fill_the_form_watch_the_run_and_open_the_component_and_its_change(
        page, live_server, scaffold_world, login, shot):
    from playwright.sync_api import expect

    url = live_server.url
    login(page, "alice")
    page.goto(f"{url}/create/")
    page.get_by_role("link", name=re.compile("Python web service")).first.click()
    page.get_by_role("link", name="Use this template").click()
    expect(page.get_by_role("heading", name=re.compile("About the service"))).to_be_visible()
    page.get_by_label("Name").fill("Shop API")  # not a name: capitals and a space
    page.get_by_label("Owner").select_option("group:default/payments")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".field-error").first).to_contain_text("does not match")
    shot(page, "scaffolder-form-error")
    page.get_by_label("Name").fill("shop-api")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name=re.compile("Where it runs"))).to_be_visible()
    page.get_by_label("Kubernetes namespace").fill("payments")
    page.get_by_label("Image").fill("registry.example.net/payments/shop-api")
    page.get_by_label("Placement tags").fill("payments")
    shot(page, "scaffolder-form-page-2")
    page.get_by_role("button", name="Preview").click()  # a dry run under the form: nothing is written
    preview = page.locator("#preview")
    expect(preview).to_contain_text("catalog-info.yaml")
    expect(preview).to_contain_text("deploy/deployment.yaml")
    expect(preview).to_contain_text("would propose a change set")
    expect(preview).to_contain_text("would set up the CI pipeline of shop-api on VAN payments-net")
    shot(page, "scaffolder-preview")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/create/runs/[0-9a-f-]{36}/$"))
    expect(page.locator(".run-steps .badge").last).to_have_text("completed", timeout=20000)
    expect(page.locator(".run-log")).to_contain_text("created the repository payments/shop-api")
    expect(page.locator(".run-log")).to_contain_text("proposed change set #")
    expect(page.locator(".run-log")).to_contain_text("set up the CI pipeline of shop-api on VAN payments-net")
    shot(page, "scaffolder-run")
    run_url = page.url
    page.get_by_role("link", name="Open in the catalog").click()
    expect(page.get_by_role("heading", name=re.compile("shop-api"))).to_be_visible()
    shot(page, "scaffolder-component")
    page.goto(f"{url}/create/runs/")
    expect(page.get_by_role("link", name="Python web service")).to_be_visible()
    page.goto(run_url)
    page.get_by_role("link", name=re.compile(r"Change set #\d+")).click()
    expect(page.locator("body")).to_contain_text("shop-api")
    expect(page.locator("body")).to_contain_text("alice")
    shot(page, "scaffolder-change")
