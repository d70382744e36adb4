"""The relations graph of an entity, drawn server-side as SVG (no JavaScript, no vendored library).

The entity sits in the middle and its neighbours on a circle around it; each
edge is labelled with the relation type. A neighbour that does not exist is
drawn dashed and labelled "missing". Its styles are in static/css/wayline.css
(``.relation-graph``): the Content-Security-Policy allows no inline <style>.
Nodes link only to entity pages, whose URLs Wayline builds itself.
"""
from __future__ import annotations

import math

from django.utils.html import escape

WIDTH, HEIGHT = 760, 520
NODE_W, NODE_H = 170, 40
MAX_NEIGHBOURS = 24


def _label(ref: str) -> tuple[str, str]:
    kind, _, rest = ref.partition(":")
    return kind, rest.removeprefix("default/")


def relation_graph_svg(entity, relations) -> str:
    """``relations``: rows from ``selectors.entity_relations`` (type, target_ref, target_exists, target_url)."""
    neighbours: dict[str, dict] = {}
    for relation in relations:
        node = neighbours.setdefault(
            relation.target_ref, {"types": [], "exists": relation.target_exists, "url": getattr(relation, "target_url", "")}
        )
        node["types"].append(relation.type)
    items = list(neighbours.items())[:MAX_NEIGHBOURS]
    cx, cy = WIDTH / 2, HEIGHT / 2
    radius_x, radius_y = WIDTH / 2 - NODE_W / 2 - 10, HEIGHT / 2 - NODE_H / 2 - 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="relation-graph" '
        f'aria-labelledby="graph-title"><title id="graph-title">Relations of {escape(entity.ref)}</title>',
    ]
    positions = []
    for i, _ in enumerate(items):
        angle = 2 * math.pi * i / max(len(items), 1) - math.pi / 2
        positions.append((cx + radius_x * math.cos(angle), cy + radius_y * math.sin(angle)))
    for (ref, node), (x, y) in zip(items, positions):
        parts.append(f'<line class="e" x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}"/>')
        mx, my = (cx + x) / 2, (cy + y) / 2
        parts.append(f'<text class="el" x="{mx:.1f}" y="{my:.1f}" text-anchor="middle">{escape(", ".join(node["types"]))}</text>')
    parts.append(_node(cx, cy, entity.ref, css="n self", url=""))
    for (ref, node), (x, y) in zip(items, positions):
        parts.append(_node(x, y, ref, css="n" if node["exists"] else "n missing", url=node["url"],
                           missing=not node["exists"]))
    if len(neighbours) > MAX_NEIGHBOURS:
        parts.append(f'<text class="el" x="10" y="{HEIGHT - 10}">+{len(neighbours) - MAX_NEIGHBOURS} more (see the list)</text>')
    parts.append("</svg>")
    return "".join(parts)


def _node(x: float, y: float, ref: str, *, css: str, url: str, missing: bool = False) -> str:
    kind, name = _label(ref)
    if len(name) > 24:
        name = name[:23] + "…"
    kind_text = f"{kind} (missing)" if missing else kind
    body = (
        f'<g class="{css}"><rect x="{x - NODE_W / 2:.1f}" y="{y - NODE_H / 2:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
        f'<text class="k" x="{x:.1f}" y="{y - 5:.1f}" text-anchor="middle">{escape(kind_text)}</text>'
        f'<text x="{x:.1f}" y="{y + 11:.1f}" text-anchor="middle">{escape(name)}</text></g>'
    )
    return f'<a href="{escape(url)}">{body}</a>' if url else body
