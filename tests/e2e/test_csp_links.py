"""In Chromium: a javascript: link from catalog data never runs, inline script is refused by the
Content-Security-Policy, and everything that should run (htmx, the portal's own script, the Django
admin, Swagger UI, Redoc) runs with no violation at all."""
import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import expect

from tests.security.catalog_links import ingest_linked_entity

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Playwright's init scripts run through DevTools, outside the page's CSP: they can watch it.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.effectiveDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def linked_entity(world, tmp_path):
    return ingest_linked_entity(tmp_path)


@dataclass
class Watch:
    """What the browser reported while a test ran: CSP violations and requests that left the live server."""

    page: object
    console: list = field(default_factory=list)  # CSP messages on the console, over every page loaded
    offsite: list = field(default_factory=list)
    blocked: list = field(default_factory=list)  # requests the browser refused to send because of the CSP

    def violations(self) -> list[str]:
        """The current document's securitypolicyviolation events."""
        return self.page.evaluate("window.__cspViolations")

    def assert_clean(self) -> None:
        assert self.violations() == [] and self.console == [] and self.offsite == []


@pytest.fixture
def watch(page, live_server):
    page.add_init_script(RECORD_VIOLATIONS)
    watch = Watch(page)
    page.on("console", lambda msg: watch.console.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("request", lambda req: watch.offsite.append(req.url)
            if not req.url.startswith((live_server.url, "data:", "blob:")) else None)
    page.on("requestfailed", lambda req: watch.blocked.append(req.url) if req.failure == "csp" else None)
    return watch


def test_javascript_link_is_text_and_never_runs(page, watch, live_server, world, linked_entity, login):
    login(page, "admin")
    page.goto(live_server.url + linked_entity.get_absolute_url())
    expect(page.get_by_role("heading", name=re.compile("linked"))).to_be_visible()
    title = page.title()

    links = page.get_by_role("region", name="Links")
    expect(links.get_by_role("link", name="Docs")).to_have_attribute("href", "https://docs.example.test/linked")
    expect(links.get_by_role("link", name="Mail the team")).to_have_attribute("href", "mailto:team@example.test")
    expect(links.get_by_role("link", name="Runbook")).to_have_count(0)
    expect(links.get_by_role("link", name="Dashboard")).to_have_count(0)
    expect(page.locator('a[href*="script:" i]')).to_have_count(0)
    expect(links.get_by_text("Runbook")).to_be_visible()
    expect(links.get_by_text("javascript:document.title='pwned'")).to_be_visible()
    page.screenshot(path="/tmp/csp_entity.png", full_page=True)

    links.get_by_text("Runbook").click()
    links.get_by_text("javascript:document.title='pwned'").click()
    page.get_by_text("javascript:document.title='pwned-annotation'", exact=True).click()
    page.wait_for_timeout(300)
    assert page.title() == title
    assert page.url == live_server.url + linked_entity.get_absolute_url()
    watch.assert_clean()  # the page itself runs nothing it should not

    # Had the markup been injected after all, the CSP still refuses to run it.
    page.evaluate("""() => {
      const script = document.createElement("script");
      script.textContent = "document.title = 'pwned-inline'";
      document.body.append(script);
      const link = document.createElement("a");
      link.id = "injected-link";
      link.href = "javascript:document.title='pwned-href'";
      link.textContent = "injected link";
      document.body.append(link);
      const button = document.createElement("button");
      button.id = "injected-handler";
      button.setAttribute("onclick", "document.title = 'pwned-handler'");
      button.textContent = "injected handler";
      document.body.append(button);
    }""")
    page.locator("#injected-link").click()
    page.locator("#injected-handler").click()
    page.wait_for_function("window.__cspViolations.length >= 3")
    assert page.title() == title
    assert all(v.startswith("script-src") for v in watch.violations()), watch.violations()


def test_htmx_filters_and_the_portals_script_run_without_violations(page, watch, live_server, world, linked_entity,
                                                                   login):
    from tests.factories import make_team

    make_team("orders", members=[world.alice], actor=world.admin)  # alice is now in two teams: the switcher shows
    login(page, "alice")
    page.goto(live_server.url + "/catalog/")
    expect(page.get_by_role("link", name=re.compile("linked"))).to_be_visible()

    page.evaluate("window.__marker = 'same-document'")
    page.get_by_label("Kind").select_option("API")
    expect(page.get_by_role("link", name=re.compile("linked"))).to_have_count(0)
    assert "kind=API" in page.url
    page.get_by_label("Kind").select_option("")
    page.get_by_label("Search").fill("linked")
    expect(page.get_by_role("link", name=re.compile("linked"))).to_be_visible()
    assert page.evaluate("window.__marker") == "same-document"  # htmx swapped the table, no reload
    assert watch.violations() == []

    switcher = page.get_by_label("Team", exact=True)
    current = switcher.input_value()
    other = "orders" if current != "orders" else "payments"
    with page.expect_navigation():
        switcher.select_option(other)  # static/js/wayline.js submits the form (no inline onchange)
    expect(page.get_by_label("Team", exact=True)).to_have_value(other)
    watch.assert_clean()


def test_confirmation_before_deleting_a_location(page, watch, live_server, world, linked_entity, login):
    login(page, "admin")
    page.goto(live_server.url + linked_entity.location.get_absolute_url())
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Delete").click()
    assert messages == ["Remove this location and all its entities?"]
    expect(page.get_by_role("button", name="Delete")).to_be_visible()
    assert page.url == live_server.url + linked_entity.location.get_absolute_url()
    watch.assert_clean()


def test_django_admin_works_under_the_policy(page, watch, live_server, world, linked_entity, login):
    login(page, "admin")
    page.goto(live_server.url + "/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert watch.violations() == []

    page.goto(live_server.url + "/admin/auth/user/")
    page.locator("#action-toggle").check()  # admin's actions.js selects every row
    expect(page.locator("input.action-select").last).to_be_checked()
    expect(page.locator(".action-counter")).to_contain_text(re.compile(r"(\d+) of \1 selected"))
    assert watch.violations() == []

    page.goto(live_server.url + "/admin/auth/user/add/")
    expect(page.get_by_label("Username")).to_be_visible()
    watch.assert_clean()


def test_swagger_ui_and_redoc_run_under_the_policy(page, watch, live_server, world, login, shot):
    login(page, "admin")
    page.goto(live_server.url + "/api/docs/")
    expect(page.get_by_role("heading", name=re.compile("Wayline API"))).to_be_visible(timeout=15_000)
    page.locator(".opblock-summary", has_text="/api/me/").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    shot(page, "api-docs-swagger")
    assert watch.violations() == [], watch.violations()

    page.goto(live_server.url + "/api/redoc/")
    expect(page.get_by_role("heading", name=re.compile("Wayline API"))).to_be_visible(timeout=15_000)
    page.get_by_placeholder("Search...").fill("entities")  # the search index runs in a blob: worker
    expect(page.get_by_role("search").get_by_role("menuitem", name="entities_list")).to_be_visible()
    shot(page, "api-docs-redoc")
    # Redoc's "API docs by Redocly" badge asks cdn.redoc.ly for its logo: refused, and Redoc hides the image.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert watch.violations() == [f"img-src {logo}"], watch.violations()
    assert watch.offsite == watch.blocked == [logo]  # never sent: nothing left the machine
    assert len(watch.console) == 1 and logo in watch.console[0]
