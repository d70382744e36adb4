"""Browser test: a VAN whose clusters lack certificates says why it is not published; adding them, hub first, publishes it."""
from __future__ import annotations

import pytest

from tests.van.conftest import EDGE_TOKEN, controller_key_pair

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_van_page_lists_blockers_and_the_last_certificate_publishes(page, live_server, world, settings, tmp_path, login, shot):
    from playwright.sync_api import expect

    from portal.gitops.services import DEFAULT_ENVIRONMENTS, environments_ensure, gitops_repo_init
    from van import services

    environments_ensure(DEFAULT_ENVIRONMENTS)
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    gitops_repo_init(actor=None)
    admin, team = world.admin, world.payments
    hub = services.cluster_create(actor=admin, name="eu-hub", api_url="https://eu-hub.example.net:6443", owner_team=team,
                                  environment="dev", provider="onprem", tags="region=eu")
    edge = services.cluster_create(actor=admin, name="eu-edge", api_url="https://eu-edge.example.net:6443", owner_team=team,
                                   environment="dev", provider="eks", tags="region=eu", credentials_kind="token", credentials=EDGE_TOKEN)
    van = services.van_create(actor=admin, name="lab", owner_team=team, hub=hub, edges=[edge], hub_host="hub.example.net")

    login(page, "alice")
    page.goto(f"{live_server.url}{van.get_absolute_url()}")
    box = page.locator("#publish-blockers")
    expect(box.get_by_role("heading", name="Not published yet because")).to_be_visible()
    expect(box).to_contain_text("Hub eu-hub has no Sealed Secrets certificate")
    expect(box).to_contain_text("Edge eu-edge has no Sealed Secrets certificate")
    shot(page, "van-publish-blockers")

    for name, link in (("eu-hub", "Edit eu-hub"), ("eu-edge", "Edit eu-edge")):
        page.goto(f"{live_server.url}{van.get_absolute_url()}")
        page.locator("#publish-blockers").get_by_role("link", name=link).click()
        page.locator("#id_sealing_cert").fill(controller_key_pair(f"sealed-secrets-{name}")[1])
        page.get_by_role("button", name="Save").click()
        if name == "eu-hub":
            expect(page.locator(".messages")).to_contain_text("nothing was committed for VAN lab")
            expect(page.locator(".messages")).to_contain_text("Edge eu-edge has no Sealed Secrets certificate")
            shot(page, "van-publish-blockers-after-hub")
    expect(page.locator(".messages")).to_contain_text("for VAN lab")
    expect(page.locator(".messages")).not_to_contain_text("nothing was committed")
    page.goto(f"{live_server.url}{van.get_absolute_url()}")
    expect(page.locator("#publish-blockers")).to_have_count(0)
