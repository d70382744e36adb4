import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_catalog(settings, tmp_path):
    """The demo teams and users, and the demo catalog ingested from its local git repository."""
    from catalog import demo as catalog_demo
    from portal import demo as portal_demo

    admin = portal_demo.seed()
    catalog_demo.seed(actor=admin)
    return admin


def test_filter_search_and_open_an_entity(page, live_server, demo_catalog, login, shot):
    login(page, "alice", password="wayline-demo")
    page.goto(live_server.url + "/catalog/")
    expect(page.get_by_role("link", name=re.compile("checkout-service"))).to_be_visible()
    shot(page, "catalog-list")

    page.evaluate("window.__marker = 'same-document'")
    page.get_by_label("Kind").select_option("API")
    expect(page.get_by_role("link", name=re.compile("checkout-service"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("checkout-api"))).to_be_visible()
    assert "kind=API" in page.url
    page.get_by_label("Kind").select_option("")
    page.get_by_label("Search").fill("checkout")
    expect(page.get_by_role("link", name=re.compile("^Ledger"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("checkout-service"))).to_be_visible()
    assert page.evaluate("window.__marker") == "same-document"  # htmx swaps, no reload
    shot(page, "catalog-search")

    page.get_by_role("link", name=re.compile("checkout-service")).click()
    expect(page.get_by_role("heading", name=re.compile("Checkout service"))).to_be_visible()
    expect(page.get_by_text("component:default/checkout-service", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Relations")).to_be_visible()
    assert page.locator("svg").count() >= 1  # the drawn relations graph
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    shot(page, "catalog-entity")
