"""Every response carries a Content-Security-Policy that allows no inline script, no inline style and no eval.

Only the two API reference pages run inline script, each allowed by its request's nonce.
"""
import re

import pytest
from django.template.loader import render_to_string
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils.html import escapejs

from portal.views.api_docs import REDOC_STYLE_HASHES
from tests.security.catalog_links import ingest_linked_entity

API_DOCS = ("/api/docs/", "/api/redoc/")


@pytest.fixture
def linked_entity(db, tmp_path):
    return ingest_linked_entity(tmp_path)


def page_routes(patterns=None, prefix="/"):
    """Every route in the URL conf that takes no parameters (``path()`` routes without ``<...>``)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if not isinstance(entry.pattern, RoutePattern) or "<" in str(entry.pattern):
            continue
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from page_routes(entry.url_patterns, route)
        else:
            yield route


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.wsgi_request.path} ({response.status_code}) has no Content-Security-Policy"
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_strict(response) -> dict[str, list[str]]:
    """The policy forbids inline script and style, eval, plugins, <base> and framing; returns it parsed."""
    policy = directives(response)
    path = response.wsgi_request.path
    for name in ("script-src", "style-src"):
        assert policy[name][0] == "'self'", (path, name, policy[name])
        assert all(value == "'self'" or value.startswith(("'nonce-", "'sha256-")) for value in policy[name]), (
            path, name, policy[name])
    for name, values in policy.items():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*"} & set(values), (path, name, values)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    return policy


def assert_no_inline_code(response, nonce: str | None = None) -> None:
    """The HTML has no inline handler, style attribute or javascript: URL, and no inline script or <style>
    unless it carries ``nonce``."""
    html = response.content.decode()
    path = response.wsgi_request.path
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", html), (path, "inline event handler")
    assert not re.search(r"<[a-zA-Z][^>]*\sstyle\s*=", html), (path, "style attribute")
    javascript_url = r"""(href|src|action)\s*=\s*["']?\s*javascript:"""
    assert not re.search(javascript_url, html, re.IGNORECASE), (path, "javascript: URL")
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        if tag.startswith("<script") and ("src=" in tag or 'type="application/json"' in tag):
            continue
        assert nonce and f'nonce="{nonce}"' in tag, (path, tag)


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


def test_every_parameterless_page_has_a_strict_policy(admin_client):
    # /healthz is answered by the first middleware, before any other runs: JSON for probes, no page.
    routes = sorted(set(page_routes()) - {"/healthz"})
    assert {"/", "/catalog/", "/vans/", "/admin/", "/login/", *API_DOCS} <= set(routes)
    for route in routes:
        response = admin_client.get(route)
        assert response.status_code < 500, (route, response.status_code)
        policy = assert_strict(response)
        if route not in API_DOCS:
            assert policy["script-src"] == ["'self'"], (route, policy["script-src"])
            assert policy["style-src"] == ["'self'"], (route, policy["style-src"])
            if response.headers.get("Content-Type", "").startswith("text/html"):
                assert_no_inline_code(response)


@pytest.mark.parametrize("page", [
    "home", "catalog", "entity", "location", "van list", "admin index", "admin entities", "login", "not found",
])
def test_representative_pages_have_a_strict_policy(client, world, linked_entity, page):
    if page != "login":
        client.force_login(world.admin)
    url = {
        "home": "/", "catalog": "/catalog/", "entity": linked_entity.get_absolute_url(),
        "location": linked_entity.location.get_absolute_url(), "van list": "/vans/", "admin index": "/admin/",
        "admin entities": "/admin/catalog/entity/", "login": "/login/", "not found": "/no-such-page/",
    }[page]
    response = client.get(url)
    assert response.status_code == (404 if page == "not found" else 200)
    policy = assert_strict(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert_no_inline_code(response)


def test_htmx_partials_have_a_strict_policy(admin_client, linked_entity):
    response = admin_client.get("/catalog/?kind=Component", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert assert_strict(response)["script-src"] == ["'self'"]
    assert_no_inline_code(response)


def test_htmx_runs_no_eval_and_adds_no_style(admin_client):
    html = admin_client.get("/").content.decode()
    config = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", html).group(1)
    assert config.replace(" ", "") == '{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'
    assert "hx-on" not in html


@pytest.mark.parametrize("url", API_DOCS)
def test_api_docs_run_their_inline_script_by_nonce(admin_client, url):
    first, second = admin_client.get(url), admin_client.get(url)
    policy = assert_strict(first)
    nonce = policy["script-src"][1].removeprefix("'nonce-").removesuffix("'")
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert assert_strict(second)["script-src"] != policy["script-src"]  # a new nonce per response
    assert_no_inline_code(first, nonce=nonce)
    html = first.content.decode()
    assert re.search(rf'<script nonce="{re.escape(nonce)}">', html)
    assert "googleapis" not in html and "gstatic" not in html
    if url == "/api/redoc/":
        # Redoc's <style> elements carry the nonce, except one added as its bundle loads (allowed by hash);
        # its search runs in a blob: worker.
        assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'", *REDOC_STYLE_HASHES]
        assert f'nonce: "{escapejs(nonce)}"' in html
        assert policy["worker-src"] == ["'self'", "blob:"]
    else:
        assert policy["style-src"] == ["'self'"]
        assert "worker-src" not in policy


def test_server_error_page_has_no_inline_style():
    html = render_to_string("500.html")
    assert "style=" not in html and "<style" not in html and "<script" not in html
