"""Browser test: build a VAN in the UI, write a rule, preview it, commit, and find the files in the GitOps history."""
from __future__ import annotations

import re
import subprocess

import pytest

from tests.van.conftest import controller_key_pair

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
def test_create_van_rule_preview_commit_and_history(page, live_server, world, settings, tmp_path, shot):
    from playwright.sync_api import expect

    from portal.gitops.services import DEFAULT_ENVIRONMENTS, environments_ensure

    environments_ensure(DEFAULT_ENVIRONMENTS)
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    from portal.gitops.services import gitops_repo_init

    gitops_repo_init(actor=None)  # explicit setup: nothing creates the repository on first use
    hub_cert, edge_cert = controller_key_pair("hub")[1], controller_key_pair("edge")[1]
    url = live_server.url

    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw-Wayline-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")

    def add_cluster(name, env, tags, cert, token=""):
        page.goto(f"{url}/clusters/add/")
        page.locator("#id_name").fill(name)
        page.locator("#id_environment").select_option(env)
        page.locator("#id_api_url").fill(f"https://{name}.example.net:6443")
        page.locator("#id_tags").fill(tags)
        if token:
            page.locator("#id_credentials_kind").select_option("token")
            page.locator("#id_credentials").fill(token)
        page.locator("#id_sealing_cert").fill(cert)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name=re.compile(name))).to_be_visible()

    add_cluster("hub", "dev", "region=eu", hub_cert)
    add_cluster("edge-eu", "dev", "region=eu, gpu", edge_cert, token="edge-eu-token-secret-1")
    add_cluster("edge-us", "dev", "region=us", edge_cert, token="edge-us-token-secret-2")
    shot(page, "van-cluster")
    assert "edge-us-token-secret-2" not in page.content()

    page.goto(f"{url}/vans/add/")
    page.locator("#id_name").fill("payments-net")
    page.locator("#id_hub").select_option(label="hub")
    page.get_by_label("edge-eu").check()
    page.get_by_label("edge-us").check()
    page.locator("#id_hub_host").fill("skupper.hub.example.net")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("payments-net"))).to_be_visible()
    expect(page.locator("svg.topology .node.edge")).to_have_count(2)

    page.goto(f"{url}/apps/add/")
    page.locator("#id_name").fill("checkout")
    page.locator("#id_source_kind").select_option("kustomize")
    page.locator("#id_repo_url").fill("https://git.example.net/checkout.git")
    page.locator("#id_path").fill("deploy")
    page.locator("#id_namespace").fill("payments")
    page.locator("#id_image").fill("registry.example.net/checkout")
    page.locator("#id_version").fill("1.2.3")
    page.locator("#id_tags").fill("payments")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("checkout"))).to_be_visible()

    page.goto(f"{url}/vans/")
    page.get_by_role("link", name="payments-net").click()
    page.get_by_role("link", name="Add rule").click()
    page.locator("#id_name").fill("payments-eu")
    page.locator("#id_app_tags").fill("payments")
    page.locator("#id_cluster_selector").fill("region=mars")
    expect(page.locator("#rule-preview")).to_contain_text("matches nothing")
    page.locator("#id_cluster_selector").fill("region=eu")
    expect(page.locator("#rule-preview")).to_contain_text("Applications added (2)")
    expect(page.locator("#rule-preview")).to_contain_text("checkout-edge-eu")
    shot(page, "van-rule-preview")
    page.get_by_role("button", name="Save and commit").click()
    expect(page.get_by_role("heading", name=re.compile("payments-eu"))).to_be_visible()

    page.get_by_role("link", name="payments-net").click()
    expect(page.locator("table.matrix")).to_contain_text("payments-eu")
    shot(page, "van-topology")
    page.locator("#changes-h + table a").first.click()
    expect(page.get_by_text("vans/payments-net/hub/applicationsets/payments-eu/checkout.yaml", exact=True)).to_be_visible()
    shot(page, "van-changeset")

    log = subprocess.run(["git", "log", "--name-only", "--format=%s", "main"], cwd=tmp_path / "gitops.git",
                         capture_output=True, text=True, check=True).stdout
    assert "vans/payments-net/hub/applicationsets/payments-eu/checkout.yaml" in log
    assert "vans/payments-net/clusters/edge-us/skupper/link-credentials.yaml" in log
    assert "edge-us-token-secret-2" not in subprocess.run(["git", "log", "-p", "main"], cwd=tmp_path / "gitops.git",
                                                          capture_output=True, text=True).stdout

    # Edit the VAN: a new hub address and one edge fewer; the topology follows.
    page.goto(f"{url}/vans/")
    page.get_by_role("link", name="payments-net").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.locator("#id_hub")).to_have_value(re.compile(r"\d+"))
    expect(page.locator("#id_edges")).not_to_contain_text("hub")  # the hub is no edge choice
    page.locator("#id_hub_host").fill("not a host!")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error")).to_contain_text("Enter a host name")
    shot(page, "van-edit-error")
    page.locator("#id_hub_host").fill("skupper2.hub.example.net")
    page.get_by_label("edge-us").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("payments-net"))).to_be_visible()
    expect(page.locator("svg.topology .node.edge")).to_have_count(1)
