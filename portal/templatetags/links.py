"""Links from catalog data: only http, https and mailto URLs become links, anything else stays text.

Catalog YAML is written by anyone who can push to a registered repository, so a
``javascript:`` (or ``data:``, ``vbscript:``) URL in ``metadata.links`` must not
become something an admin can click.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html

register = template.Library()

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# What a browser drops before it reads a URL (WHATWG URL parser): C0 controls and spaces at either
# end, and tabs and newlines anywhere, so "java\tscript:" is checked as the browser will read it.
_ENDS = "".join(chr(c) for c in range(0x21))
_TABS_AND_NEWLINES = str.maketrans("", "", "\t\n\r")


def link_href(value) -> str:
    """``value`` as an href if it is an absolute http, https or mailto URL, else ``''``.

    Relative URLs are refused too: a catalog author's relative link would point into Wayline itself.
    """
    if not isinstance(value, str):
        return ""
    url = value.strip(_ENDS).translate(_TABS_AND_NEWLINES)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return ""
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        return ""
    if scheme == "mailto" and not parts.path:
        return ""
    if scheme != "mailto" and not parts.netloc:
        return ""
    return url


register.filter("link_href", link_href)


@register.filter
def link_or_text(url, text=None):
    """An ``<a>`` to ``url`` (shown as ``text``, default the URL) if it is a web or mail link; otherwise the text.

    A refused URL is shown after its text, so a reader sees what the catalog said.
    """
    href = link_href(url)
    if href:
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', href, text or url)
    if not text or text == url:
        return format_html("{}", url)
    return format_html("{} <code>{}</code>", text, url)
