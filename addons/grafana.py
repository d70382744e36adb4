"""A VAN hub's Grafana, read through its HTTP API with the VAN's service-account token.

Only two calls: ``GET /api/search?type=dash-db`` (dashboards, with uid, title, url path, tags and folder) and the
same filtered by uid to check a pin. TLS is verified, every call has a timeout, and any failure is a
``GrafanaError`` whose message says what to fix, never the token. Embedding happens in the user's browser (an iframe
in kiosk mode): ``embed_url`` builds that address with ``var-cluster`` / ``var-namespace`` filled in.
"""
from __future__ import annotations

import re
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


def _get(van, path: str, params: dict) -> list:
    if not configured(van):
        raise GrafanaError(f"VAN {van.name} has no Grafana: set its URL and a service-account token first.")
    url = van.grafana_url.rstrip("/") + path
    try:
        response = requests.get(url, params=params, timeout=getattr(settings, "WAYLINE_GRAFANA_TIMEOUT", TIMEOUT),
                                headers={"Authorization": f"Bearer {van.grafana_token}", "Accept": "application/json"},
                                allow_redirects=False, verify=getattr(settings, "WAYLINE_GRAFANA_CA_BUNDLE", True))
    except requests.exceptions.SSLError:
        raise GrafanaError(f"Grafana at {van.grafana_url}: its TLS certificate could not be verified.") from None
    except requests.exceptions.RequestException:
        raise GrafanaError(f"Grafana at {van.grafana_url} did not answer (refused, timed out or not found).") from None
    if response.status_code in (401, 403):
        raise GrafanaError(f"Grafana at {van.grafana_url} refused the token ({response.status_code}): "
                           "give the VAN a service-account token with the Viewer role.")
    if response.status_code != 200:
        raise GrafanaError(f"Grafana at {van.grafana_url} answered {response.status_code} to {path}: is this Grafana's URL?")
    try:
        data = response.json()
    except ValueError:
        raise GrafanaError(f"Grafana at {van.grafana_url} did not answer with JSON: is this Grafana's URL?") from None
    if not isinstance(data, list):
        raise GrafanaError(f"Grafana at {van.grafana_url} gave an answer that is not a dashboard list.")
    return data


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


def selector_parse(text: str):
    """A predicate over ``Dashboard`` from Backstage's ``grafana/dashboard-selector``: comparisons ``field == 'v'``,
    ``field != 'v'``, ``tags @> 'v'`` (title, tags, folderTitle, uid, url) joined by ``&&``, ``||`` and parentheses;
    a selector with no operator at all is a tag (the plugin's older form)."""
    text = (text or "").strip()
    if not text:
        raise SelectorError("grafana/dashboard-selector is empty")
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

    def expr():
        left = term()
        while peek() == ("op", "||"):
            take()
            right, prev = term(), left
            left = (lambda a, b: lambda d: a(d) or b(d))(prev, right)
        return left

    def term():
        left = factor()
        while peek() == ("op", "&&"):
            take()
            right, prev = factor(), left
            left = (lambda a, b: lambda d: a(d) and b(d))(prev, right)
        return left

    def factor():
        if peek() == ("op", "("):
            take()
            inner = expr()
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
        attr = _FIELDS[field]
        if op == "@>":
            return lambda d: value in (getattr(d, attr) if attr == "tags" else str(getattr(d, attr)))
        if op == "==":
            return lambda d: (value in d.tags and len(d.tags) == 1) if attr == "tags" else getattr(d, attr) == value
        return lambda d: (value not in d.tags) if attr == "tags" else getattr(d, attr) != value

    predicate = expr()
    if pos != len(tokens):
        raise SelectorError(f"grafana/dashboard-selector: unexpected {tokens[pos][1]!r}")
    return predicate
