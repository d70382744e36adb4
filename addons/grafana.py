"""A VAN hub's Grafana, read through its HTTP API with the VAN's service-account token.

Only two calls: ``GET /api/search?type=dash-db`` (dashboards, with uid, title, url path, tags and folder) and the
same filtered by uid to check a pin. TLS is verified, every call has a timeout, and any failure is a
``GrafanaError`` whose message says what to fix, never the token. Embedding happens in the user's browser (an iframe
in kiosk mode): ``embed_url`` builds that address with ``var-cluster`` / ``var-namespace`` filled in.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings

TIMEOUT = (3.05, 10)  # connect, read (seconds)


class GrafanaError(Exception):
    """Grafana could not be read; the message is for the page (no token, no response body)."""


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    path: str  # /d/<uid>/<slug>, as Grafana gives it
    tags: tuple[str, ...] = ()
    folder: str = ""


def configured(van) -> bool:
    return bool(van.grafana_url and van.grafana_token)


def origin(url: str) -> str:
    """scheme://host[:port] of ``url`` (what a page's frame-src must allow)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


MAX_BODY = 2 * 1024 * 1024  # bytes of a search answer read at most
DEADLINE = 15.0  # seconds for one call, however slowly the answer drips


def host_refusal(url: str) -> str:
    """Why Wayline's server may not call ``url`` ('' if it may): public addresses only, unless the network is in
    WAYLINE_GRAFANA_ALLOWED_NETWORKS (``portal.netpolicy``). Checked when the URL is saved and before every call."""
    from portal.netpolicy import not_public

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return "it is not a URL"
    return not_public(host, getattr(settings, "WAYLINE_GRAFANA_ALLOWED_NETWORKS", []))


def token_problem(token: str) -> str:
    """Why ``token`` cannot be a Grafana token ('' if it can): printable ASCII, no spaces, at most 500 characters."""
    if len(token) > 500:
        return "it is longer than 500 characters"
    if not all(33 <= ord(c) <= 126 for c in token):
        return "it has spaces or characters a token does not have (printable ASCII only)"
    return ""


def _get(van, path: str, params: dict) -> list:
    if not configured(van):
        raise GrafanaError(f"VAN {van.name} has no Grafana: set its URL and a service-account token first.")
    refused = host_refusal(van.grafana_url)
    if refused:
        raise GrafanaError(f"Grafana at {van.grafana_url} is refused: {refused}.")
    if token_problem(van.grafana_token):
        raise GrafanaError(f"VAN {van.name}'s Grafana token is not a token Grafana gives: set it again.")
    url = van.grafana_url.rstrip("/") + path
    try:
        with requests.get(url, params=params, timeout=getattr(settings, "WAYLINE_GRAFANA_TIMEOUT", TIMEOUT), stream=True,
                          headers={"Authorization": f"Bearer {van.grafana_token}", "Accept": "application/json"},
                          allow_redirects=False, verify=getattr(settings, "WAYLINE_GRAFANA_CA_BUNDLE", True)) as response:
            status = response.status_code
            body, started = b"", time.monotonic()
            if status == 200:
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > MAX_BODY or time.monotonic() - started > DEADLINE:
                        raise GrafanaError(f"Grafana at {van.grafana_url} sent too much, or too slowly.")
    except requests.exceptions.SSLError:
        raise GrafanaError(f"Grafana at {van.grafana_url}: its TLS certificate could not be verified.") from None
    except requests.exceptions.RequestException:
        raise GrafanaError(f"Grafana at {van.grafana_url} did not answer (refused, timed out or not found).") from None
    if status in (401, 403):
        raise GrafanaError(f"Grafana at {van.grafana_url} refused the token ({status}): "
                           "give the VAN a service-account token with the Viewer role.")
    if status != 200:
        raise GrafanaError(f"Grafana at {van.grafana_url} answered {status} to {path}: is this Grafana's URL?")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise GrafanaError(f"Grafana at {van.grafana_url} did not answer with JSON: is this Grafana's URL?") from None
    if not isinstance(data, list):
        raise GrafanaError(f"Grafana at {van.grafana_url} gave an answer that is not a dashboard list.")
    return data[:5000]


def _dashboard(item) -> Dashboard | None:
    if not isinstance(item, dict) or item.get("type", "dash-db") != "dash-db":
        return None
    uid, title, path = item.get("uid"), item.get("title"), item.get("url")
    if not all(isinstance(v, str) and v for v in (uid, title, path)) or not path.startswith("/"):
        return None
    tags = tuple(t for t in item.get("tags") or [] if isinstance(t, str)) if isinstance(item.get("tags"), list) else ()
    return Dashboard(uid=uid[:100], title=title[:200], path=path[:500], tags=tags[:20],
                     folder=item.get("folderTitle") if isinstance(item.get("folderTitle"), str) else "")


def dashboards(van, *, query: str = "") -> list[Dashboard]:
    """The dashboards the VAN's token may read, by title."""
    params = {"type": "dash-db", "limit": 500}
    if query:
        params["query"] = query[:100]
    found = [d for d in map(_dashboard, _get(van, "/api/search", params)) if d is not None]
    return sorted(found, key=lambda d: (d.folder.lower(), d.title.lower()))


def dashboard(van, uid: str) -> Dashboard | None:
    """The dashboard ``uid`` if the VAN's Grafana has it (what a pin is checked against)."""
    return next((d for d in map(_dashboard, _get(van, "/api/search", {"type": "dash-db", "dashboardUIDs": uid})) if d and d.uid == uid), None)


def embed_url(van, path: str, *, clusters=(), namespace: str = "") -> str:
    """The address an iframe shows: the dashboard in kiosk mode with its cluster and namespace variables set."""
    params = [("orgId", "1"), ("kiosk", "")] + [("var-cluster", c) for c in clusters]
    if namespace:
        params.append(("var-namespace", namespace))
    return f"{van.grafana_url.rstrip('/')}{path}?{urlencode(params)}"


# --- Backstage's grafana/dashboard-selector ----------------------------------------------------------------------

class SelectorError(ValueError):
    """A ``grafana/dashboard-selector`` that does not parse; the message says where."""


_TOKEN = re.compile(r"\s*(?:(\(|\)|&&|\|\||==|!=|@>)|'([^']*)'|\"([^\"]*)\"|([A-Za-z_][A-Za-z0-9_.:/-]*))")
_FIELDS = {"title": "title", "tags": "tags", "folderTitle": "folder", "folder": "folder", "uid": "uid", "url": "path"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SelectorError(f"grafana/dashboard-selector: cannot read {text[pos:pos + 20]!r} (at character {pos + 1})")
        op, single, double, word = m.groups()
        out.append(("op", op) if op else ("str", single if single is not None else double) if word is None else ("word", word))
        pos = m.end()
    return out


MAX_SELECTOR = 500  # characters
MAX_DEPTH = 10  # nested parentheses


def selector_parse(text: str):
    """A predicate over ``Dashboard`` from Backstage's ``grafana/dashboard-selector``: comparisons ``field == 'v'``,
    ``field != 'v'``, ``tags @> 'v'`` (title, tags, folderTitle, uid, url) joined by ``&&``, ``||`` and parentheses;
    a selector with no operator at all is a tag (the plugin's older form). At most 500 characters and 10 levels of
    parentheses (catalog data: bounded so it cannot exhaust the stack)."""
    text = (text or "").strip()
    if not text:
        raise SelectorError("grafana/dashboard-selector is empty")
    if len(text) > MAX_SELECTOR:
        raise SelectorError(f"grafana/dashboard-selector is longer than {MAX_SELECTOR} characters")
    tokens = _tokens(text)
    if all(kind != "op" for kind, _ in tokens):  # the older form: a tag
        tag = text.strip("'\"")
        return lambda d: tag in d.tags
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else ("end", "")

    def take():
        nonlocal pos
        token = peek()
        pos += 1
        return token

    # A tree of ("any", [...]), ("all", [...]) and ("cmp", field, op, value): evaluated without recursion per term.
    def expr(depth):
        terms = [term(depth)]
        while peek() == ("op", "||"):
            take()
            terms.append(term(depth))
        return terms[0] if len(terms) == 1 else ("any", terms)

    def term(depth):
        factors = [factor(depth)]
        while peek() == ("op", "&&"):
            take()
            factors.append(factor(depth))
        return factors[0] if len(factors) == 1 else ("all", factors)

    def factor(depth):
        if peek() == ("op", "("):
            if depth >= MAX_DEPTH:
                raise SelectorError(f"grafana/dashboard-selector nests more than {MAX_DEPTH} parentheses")
            take()
            inner = expr(depth + 1)
            if take() != ("op", ")"):
                raise SelectorError("grafana/dashboard-selector: a '(' is not closed")
            return inner
        kind, field = take()
        if kind != "word" or field not in _FIELDS:
            raise SelectorError(f"grafana/dashboard-selector: expected one of {', '.join(_FIELDS)}, found {field!r}")
        kind, op = take()
        if kind != "op" or op not in ("==", "!=", "@>"):
            raise SelectorError(f"grafana/dashboard-selector: expected ==, != or @> after {field}")
        kind, value = take()
        if kind not in ("str", "word"):
            raise SelectorError(f"grafana/dashboard-selector: expected a quoted value after {field} {op}")
        return ("cmp", _FIELDS[field], op, value)

    tree = expr(0)
    if pos != len(tokens):
        raise SelectorError(f"grafana/dashboard-selector: unexpected {tokens[pos][1]!r}")
    return lambda d: _holds(tree, d)


def _compare(attr: str, op: str, value: str, d: Dashboard) -> bool:
    got = getattr(d, attr)
    if op == "@>":
        return value in got if attr == "tags" else value in str(got)
    if attr == "tags":  # a list equals one value when that is its only tag
        return (got == (value,)) if op == "==" else (value not in got)
    return (got == value) if op == "==" else (got != value)


def _holds(node, d: Dashboard) -> bool:
    kind = node[0]
    if kind == "cmp":
        return _compare(node[1], node[2], node[3], d)
    results = (_holds(child, d) for child in node[1])  # depth is bounded by MAX_DEPTH
    return any(results) if kind == "any" else all(results)
