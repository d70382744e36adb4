"""A VAN hub's Grafana, read through its HTTP API with the VAN's service-account token.

Only two calls: ``GET /api/search?type=dash-db`` (dashboards, with uid, title, url path, tags and folder) and the
same filtered by uid to check a pin. TLS is verified, every call has a timeout, and any failure is a
``GrafanaError`` whose message says what to fix, never the token. Embedding happens in the user's browser (an iframe
in kiosk mode): ``embed_url`` builds that address with ``var-cluster`` / ``var-namespace`` filled in.
"""
from __future__ import annotations

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
