"""Catalog URLs become links only when they are http, https or mailto; anything else is text."""
import re

import pytest

from portal.templatetags.links import link_href, link_or_text
from tests.security.catalog_links import ingest_linked_entity


@pytest.fixture
def linked_entity(db, tmp_path):
    return ingest_linked_entity(tmp_path)


@pytest.mark.parametrize("url", [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x00javascript:alert(1)",
    "\x01 javascript:alert(1)",
    "java\nscript:alert(1)",
    "java\tscript:alert(1)",
    "java\rscript:alert(1)",
    "javascript\t:alert(1)",
    "javascript:alert(1)\n",
    "java\x00script:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://files.example.test/",
    "/catalog/",
    "relative/path",
    "//evil.example.test/",
    "?q=1",
    "#top",
    "https:example.test",
    "http://",
    "mailto:",
    "http://[::1",
    "",
    None,
    42,
])
def test_link_href_refuses_everything_but_web_and_mail_links(url):
    assert link_href(url) == ""


@pytest.mark.parametrize(("url", "href"), [
    ("https://docs.example.test/a?b=1#c", "https://docs.example.test/a?b=1#c"),
    ("HTTPS://docs.example.test/", "HTTPS://docs.example.test/"),
    ("http://intranet.example.test:8080/", "http://intranet.example.test:8080/"),
    ("mailto:team@example.test", "mailto:team@example.test"),
    ("  https://docs.example.test/\n", "https://docs.example.test/"),
    ("https://docs.exa\tmple.test/", "https://docs.example.test/"),
])
def test_link_href_keeps_web_and_mail_links_as_the_browser_reads_them(url, href):
    assert link_href(url) == href


def test_link_or_text():
    assert link_or_text("https://x.example.test/?a=1&b=2", "Docs") == (
        '<a href="https://x.example.test/?a=1&amp;b=2" rel="noopener noreferrer">Docs</a>')
    assert link_or_text("https://x.example.test/") == (
        '<a href="https://x.example.test/" rel="noopener noreferrer">https://x.example.test/</a>')
    assert link_or_text("javascript:alert('<b>')", "Runbook") == (
        "Runbook <code>javascript:alert(&#x27;&lt;b&gt;&#x27;)</code>")
    assert link_or_text("javascript:alert(1)") == "javascript:alert(1)"
    assert link_or_text("https://x.example.test/", "<img src=x onerror=alert(1)>") == (
        '<a href="https://x.example.test/" rel="noopener noreferrer">&lt;img src=x onerror=alert(1)&gt;</a>')


def test_entity_page_links_only_web_and_mail_urls(client, world, linked_entity):
    client.force_login(world.admin)
    html = client.get(linked_entity.get_absolute_url()).content.decode()
    hrefs = re.findall(r'href="([^"]*)"', html)

    assert "https://docs.example.test/linked" in hrefs
    assert "mailto:team@example.test" in hrefs
    assert "https://git.example.test/linked" in hrefs  # backstage.io/view-url
    assert "https://git.example.test/linked/tree/main/" in hrefs  # the url: target of backstage.io/source-location
    assert not [href for href in hrefs if "script" in href.lower()]
    assert "Runbook <code>javascript:document.title=&#x27;pwned&#x27;</code>" in html
    assert "Dashboard <code>java\tscript:" in html
    assert "<dd>javascript:document.title=&#x27;pwned-annotation&#x27;</dd>" in html


def test_relation_graph_links_only_to_entity_pages(client, world, tmp_path):
    """The graph's nodes link to pages whose URLs Wayline builds, whatever the catalog names them."""
    from catalog import services
    from tests.catalog.conftest import GitRepo

    repo = GitRepo(tmp_path / "graph-catalog")
    repo.write({"catalog-info.yaml": (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: shop}\n"
        "spec: {type: service, lifecycle: production, owner: payments, dependsOn: ['component:default/cart']}\n"
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: cart}\n"
        "spec: {type: service, lifecycle: production, owner: payments}\n"
    )})
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    client.force_login(world.admin)

    html = client.get("/catalog/component/default/shop/").content.decode()
    svg = re.search(r"<svg[^>]*relation-graph.*?</svg>", html, re.DOTALL).group(0)
    assert re.findall(r'href="([^"]*)"', svg) == ["/catalog/component/default/cart/"]
    assert "<style" not in svg


def test_api_returns_catalog_urls_as_data_and_its_html_view_links_none_of_script(client, world, linked_entity):
    client.force_login(world.admin)
    url = f"/api/entities/{linked_entity.uid}/"
    data = client.get(url, HTTP_ACCEPT="application/json").json()
    assert "javascript:document.title='pwned'" in str(data)  # the API hands back what the catalog said

    html = client.get(url, HTTP_ACCEPT="text/html").content.decode()  # DRF's browsable API
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert "https://docs.example.test/linked" in hrefs
    assert not [href for href in hrefs if "script" in href.lower()]
