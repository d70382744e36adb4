"""A Grafana HTTP API in the test process (and the demo's): search with a bearer token, and dashboard pages to embed.

Speaks what Wayline calls: ``GET /api/search`` (``type``, ``query``, ``dashboardUIDs``, ``limit``; 401 JSON without
the right token), ``GET /api/health``, and ``GET /d/<uid>/<slug>`` as a small HTML page that shows the dashboard's
title and the variables it was given, so a browser test can see what an iframe loaded. ``requests`` records the
paths and Authorization headers asked for.
"""
from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STARTER = [  # uid, title, folder, tags
    ("wl-cluster", "Cluster overview", "Wayline", ["cluster"]),
    ("wl-namespace", "Namespace workloads", "Wayline", ["namespace", "workloads"]),
    ("wl-argocd", "ArgoCD", "Wayline", ["argocd"]),
    ("wl-golden", "Golden signals", "Wayline", ["app"]),
]


class FakeGrafana:
    def __init__(self, *, token: str = "grafana-token", dashboards=STARTER):
        self.token = token
        self.dashboards = [{"uid": uid, "title": title, "folderTitle": folder, "tags": list(tags), "type": "dash-db",
                            "url": f"/d/{uid}/{title.lower().replace(' ', '-')}"} for uid, title, folder, tags in dashboards]
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeGrafana:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def _send(self, code: int, body: str, content_type: str = "application/json"):
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                query = parse_qs(url.query, keep_blank_values=True)
                fake.requests.append((self.path, self.headers.get("Authorization", "")))
                if url.path == "/api/health":
                    return self._send(200, json.dumps({"database": "ok", "version": "11.0.0"}))
                if url.path == "/api/search":
                    if self.headers.get("Authorization") != f"Bearer {fake.token}":
                        return self._send(401, json.dumps({"message": "Unauthorized"}))
                    found = fake.dashboards
                    if query.get("query"):
                        found = [d for d in found if query["query"][0].lower() in d["title"].lower()]
                    if query.get("dashboardUIDs"):
                        found = [d for d in found if d["uid"] in query["dashboardUIDs"]]
                    return self._send(200, json.dumps(found))
                dashboard = next((d for d in fake.dashboards if url.path == d["url"]), None)
                if dashboard is not None:  # what an iframe shows: the title and the variables it was given
                    variables = ", ".join(f"{k}={v}" for k, values in sorted(query.items()) if k.startswith("var-") for v in values)
                    return self._send(200, f"<!doctype html><title>{html.escape(dashboard['title'])}</title>"
                                           f"<h1>{html.escape(dashboard['title'])}</h1><p id='vars'>{html.escape(variables)}</p>"
                                           f"<p id='kiosk'>{'kiosk' if 'kiosk' in query else 'full'}</p>", "text/html")
                return self._send(404, json.dumps({"message": "Not found"}))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
