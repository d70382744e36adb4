"""The API reference pages, Swagger UI and Redoc, under the portal's Content-Security-Policy.

drf-spectacular's own templates start both with inline script, load Google fonts and add
inline <style>. Ours run the same start-up code in a <script> carrying the request's nonce
(added to script-src for these two views only), take their page styles from
static/css/api-docs.css and load no fonts from outside. Neither needs 'unsafe-eval'.
"""
from __future__ import annotations

from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# Redoc adds its scrollbar styles (perfect-scrollbar) in a <style> as its bundle loads, before
# it has been given the nonce: these are that element, empty and then filled, for the bundle in
# drf-spectacular-sidecar 2026.10.1. After an upgrade tests/e2e/test_csp_links.py names new ones.
REDOC_STYLE_HASHES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
]


@method_decorator(csp_update({"script-src": [NONCE]}), name="get")
class SwaggerView(SpectacularSwaggerView):
    template_name = "portal/api_docs/swagger_ui.html"


# Redoc styles itself with <style> elements: its ``nonce`` option puts the request's nonce on them.
# Its search index runs in a Worker built from its own bundled code as a blob: URL.
@method_decorator(csp_update({
    "script-src": [NONCE],
    "style-src": [NONCE, *REDOC_STYLE_HASHES],
    "worker-src": [SELF, "blob:"],
}), name="get")
class RedocView(SpectacularRedocView):
    template_name = "portal/api_docs/redoc.html"
