"""JSON request bodies, bounded in depth.

Python's decoder recurses once per level: a body of 100,000 ``[`` raised
``RecursionError`` from every DRF endpoint (a 500), and data nested a few
hundred levels deep, once decoded, could still exhaust the stack of the code
that walks it. No request Wayline takes needs more than ``MAX_DEPTH`` levels.
"""
from __future__ import annotations

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64


def loads(data):
    """``json.loads`` that raises ``ValueError`` (not ``RecursionError``) for a document nested too deeply."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if not within_depth(value):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def within_depth(value, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` (decoded JSON) nests at most ``limit`` arrays and objects deep; walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return False
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body nested deeper than ``MAX_DEPTH`` is a 400 naming the limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            value = super().parse(stream, media_type, parser_context)
        except RecursionError:
            value = None
        else:
            if within_depth(value):
                return value
        raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
