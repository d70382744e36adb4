import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_login_dashboard_every_top_level_page_and_logout(page, live_server, world, login, shot):
    make_cluster(world.payments, name="eu-edge-1", tags="region=eu, gpu")
    shot_login = live_server.url + "/login/"
    page.goto(shot_login)
    expect(page.get_by_role("heading", name="Sign in to Wayline")).to_be_visible()
    shot(page, "login")
    login(page, "alice")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    expect(page.get_by_label("Team", exact=True)).to_have_value("payments")
    shot(page, "dashboard")

    nav = page.get_by_role("navigation", name="Main")
    labels = [link.inner_text() for link in nav.get_by_role("link").all()]
    assert {"Catalog", "Create", "VANs", "Clusters", "Apps", "Add-ons"} <= set(labels), labels
    for label in labels:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state()
        current = page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True)
        expect(current).to_have_attribute("aria-current", "page")
        assert "Server Error" not in page.content()
        shot(page, "page-" + label.lower().replace(" ", "-"))

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(live_server.url + "/clusters/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))


def test_cluster_list_filters_with_htmx_without_reload(page, live_server, world, login, shot):
    make_cluster(world.payments, name="gpu-edge", tags="gpu")
    make_cluster(world.payments, name="plain-edge")
    login(page, "alice")
    page.goto(live_server.url + "/clusters/")
    page.evaluate("window.__marker = 'same-document'")
    page.get_by_label("Tag").fill("gpu")
    page.get_by_label("Tag").press("Enter")
    expect(page.get_by_role("link", name="plain-edge")).to_have_count(0)
    expect(page.get_by_role("link", name="gpu-edge")).to_be_visible()
    assert page.evaluate("window.__marker") == "same-document"  # swapped by htmx, no full reload
    assert "tag=gpu" in page.url  # hx-push-url keeps the view linkable
    shot(page, "clusters-filtered")


def test_member_cannot_open_other_teams_private_cluster(page, live_server, world, login, shot):
    hidden = make_cluster(world.search, name="search-private", visibility="private")
    login(page, "alice")
    response = page.goto(f"{live_server.url}/clusters/{hidden.pk}/")
    assert response.status == 404
    assert "search-private" not in page.content()
    shot(page, "forbidden-private-cluster")
    page.goto(live_server.url + "/clusters/")
    expect(page.get_by_text("search-private")).to_have_count(0)


def test_create_cluster_form_errors_then_success(page, live_server, world, login, shot):
    login(page, "alice")
    page.goto(live_server.url + "/clusters/add/")
    page.get_by_label("Name").fill("Bad Name")
    page.get_by_label("API server URL").fill("https://edge.example.test:6443")
    page.get_by_label("Tags").fill("region=eu")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="DNS label")).to_be_visible()
    shot(page, "cluster-form-error")
    page.get_by_label("Name").fill("edge-new")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("edge-new"))).to_be_visible()
    shot(page, "cluster-detail")
