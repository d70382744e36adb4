"""Read selectors of the catalog. Every one starts from ``restrict``."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, Func, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce

from catalog import readcache
from catalog.models import Entity, Location, LocationError, Relation
from catalog.relations import CANONICAL, REVERSE
from portal.models import Visibility

LIST_FIELDS = (
    "pk", "uid", "ref", "kind", "namespace", "name", "title", "description", "type", "lifecycle", "owner", "system",
    "tags", "visibility", "orphaned", "location_id", "owner_team_id",
)


def entity_list(*, user, filters: dict | None = None) -> QuerySet[Entity]:
    """Entities the user may see (full rows)."""
    return Entity.objects.restrict(user, "view").filter(**(filters or {}))


def entity_list_light(*, user, filters: dict | None = None) -> QuerySet[Entity]:
    """Entities the user may see, without the search text (for lists; documents live in ``EntityDocument``)."""
    return entity_list(user=user, filters=filters).defer("search_text")


@dataclass
class EntityPage:
    """One page of an ordered, restricted entity queryset, with the total, from a single query."""

    rows: list
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.limit > 0 and self.offset + len(self.rows) < self.total  # a page of 0 leads nowhere

    @property
    def number(self) -> int:
        return self.offset // self.limit + 1

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def entity_page(queryset: QuerySet[Entity], *, order_by: list[str], offset: int, limit: int,
                fields: tuple[str, ...] = ("pk",), filtered: bool = False) -> EntityPage:
    """Rows ``offset .. offset+limit`` of ``queryset`` (as dicts of ``fields``) and the total count: two queries.

    Only ``fields`` are read, so ordering never drags the large document
    columns along.

    A ``filtered`` query (filters or search beyond the permission check)
    counts in the page query itself (``COUNT(*) OVER ()``, one query): such a
    query scans the table anyway, and the separate ``COUNT(*)`` was a second
    full scan (10k entities, PostgreSQL: filtered list page 53-61 -> 44-52 ms;
    SQLite, same process A/B: filtered list 62 -> 50, entities API search
    77 -> 60, by-query full text 56 -> 37 ms). Unfiltered, the page walks the
    name index and the count stays a query of its own.

    The total is kept until the catalog changes (``catalog.readcache``): then
    the page alone is read, one query.
    """
    entry = readcache.key("count", queryset)
    total = readcache.get(entry)
    if filtered and total is None:
        rows = list(queryset.annotate(_total=Window(Count("pk"))).order_by(*order_by)
                    .values(*fields, "_total")[offset: offset + limit]) if limit else []
        if rows:
            total = rows[0]["_total"]
            for row in rows:
                del row["_total"]
        else:
            total = queryset.count() if offset or not limit else 0
    else:
        # The kept total says how far an index walk in page order would read before LIMIT: past half the matches,
        # it would look up most of the table row by row, and reading it once and sorting what matched is cheaper.
        ordering = _unindexed(order_by) if filtered and (offset + limit) * 2 > total else order_by
        rows = list(queryset.order_by(*ordering).values(*fields)[offset: offset + limit]) if limit else []
        if total is None:
            total = queryset.count()
        else:
            return EntityPage(rows=rows, total=total, offset=offset, limit=limit)  # kept: not put again
    readcache.put(entry, total)
    return EntityPage(rows=rows, total=total, offset=offset, limit=limit)


def _unindexed(order_by: list[str]) -> list:
    """``order_by`` that SQLite cannot walk an index for (``+column``, a no-op), so that it reads the table once
    and sorts what matched, as it does for ``COUNT(*) OVER ()``. For a search that matches a few rows, walking the
    ref index looked up every row of the table before it knew there was no more (100,000 entities, full text on
    ``metadata.name``, 11 matches, same process: 66-88 -> 51-54 ms); for one that matches many, the walk stops
    early and wins (``part 77``: 31 against 50 ms). PostgreSQL chooses by its statistics."""
    if connection.vendor != "sqlite":
        return order_by
    return [OrderBy(Func(F(name.removeprefix("-")), template="+%(expressions)s"), descending=name.startswith("-"))
            for name in order_by]


def entity_search(queryset: QuerySet[Entity], term: str) -> QuerySet[Entity]:
    """Full-text search over name, title, description and tags.

    PostgreSQL: ``to_tsvector`` full-text search (every word must match, with
    prefix matching on the last one). Other databases: every word must occur
    in the lower-cased search text.
    """
    words = [word for word in term.lower().split() if word]
    if not words:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        query = " & ".join(f"{_ts_word(word)}:*" for word in words if _ts_word(word))
        if query:
            return queryset.annotate(_search=SearchVector("search_text", config="simple")).filter(
                _search=SearchQuery(query, search_type="raw", config="simple")
            )
    for word in words:
        queryset = queryset.filter(search_text__contains=word)
    return queryset


def _ts_word(word: str) -> str:
    return "".join(ch for ch in word if ch.isalnum() or ch in "-_")


@dataclass
class RelationView:
    """One relation of an entity as pages show it (either direction of a stored row)."""

    type: str
    target_ref: str
    target_exists: bool = False
    target_kind: str = ""
    target_namespace: str = ""
    target_name: str = ""
    target_title: str = ""
    target_url: str = ""


def relation_pairs(refs: list[str], *, user=None) -> dict[str, list[tuple[str, str]]]:
    """``{ref: [(type, target_ref), ...]}`` for the given entity refs, both directions.

    A relation is stored once (from the entity whose spec states it); the
    reverse direction (``ownerOf`` for ``ownedBy``) is read from the same row.
    With ``user``, a reverse relation shows only when ``user`` may see the entity that
    states it: its name is that entity's to show (one more query). A relation the entity
    states itself names only what its own document says.
    """
    wanted = set(refs)
    pairs: dict[str, set[tuple[str, str]]] = {ref: set() for ref in refs}
    rows = list(Relation.objects.filter(Q(source_ref__in=refs) | Q(target_ref__in=refs)).values_list(
        "source_ref", "type", "target_ref"
    ))
    stated_by_others = {source for source, _, target in rows if target in wanted and source not in wanted}
    if user is not None and stated_by_others:
        seen = set(Entity.objects.restrict(user, "view").filter(ref__in=stated_by_others).values_list("ref", flat=True))
    else:
        seen = stated_by_others
    for source, relation_type, target in rows:
        if source in wanted:
            pairs[source].add((relation_type, target))
        if target in wanted and (source in wanted or source in seen):
            pairs[target].add((REVERSE.get(relation_type, relation_type), source))
    return {ref: sorted(items) for ref, items in pairs.items()}


def entity_relations(*, user, entity: Entity) -> list[RelationView]:
    """Relations of ``entity`` in both directions, each saying whether its target exists.

    Three queries whatever the number of relations. A target the user may not see
    is shown exactly as a missing one, so pages never tell the two apart.
    """
    pairs = relation_pairs([entity.ref], user=user)[entity.ref]
    targets = sorted({target for _, target in pairs})
    visible = {
        row["ref"]: row
        for row in Entity.objects.restrict(user, "view").filter(ref__in=targets).values(
            "ref", "kind", "namespace", "name", "title"
        )
    }
    views = []
    for relation_type, target in pairs:
        row = visible.get(target, {})
        views.append(RelationView(
            type=relation_type, target_ref=target, target_exists=target in visible,
            target_kind=row.get("kind", ""), target_namespace=row.get("namespace", ""),
            target_name=row.get("name", ""), target_title=row.get("title", ""),
        ))
    return views


def relation_list(*, user, filters: dict | None = None) -> list[dict]:
    """Relations (both directions) of the entities the user may see; ``filters``: source_ref, type, target_ref.

    Without ``source_ref`` this reads every relation: callers paginate the result.
    """
    filters = filters or {}
    source, relation_type, target = (filters.get(k) for k in ("source_ref", "type", "target_ref"))
    visible = Entity.objects.restrict(user, "view").values("pk")
    forward = Relation.objects.filter(originating__in=visible)
    backward = Relation.objects.filter(originating__in=visible)
    if source:
        forward, backward = forward.filter(source_ref=source.lower()), backward.filter(target_ref=source.lower())
    if target:
        forward, backward = forward.filter(target_ref=target.lower()), backward.filter(source_ref=target.lower())
    if relation_type:
        canonical = CANONICAL.get(relation_type.lower(), relation_type)
        forward = forward.filter(type=canonical)
        backward = backward.filter(type=REVERSE.get(canonical, canonical))
    rows = {(s, t, o) for s, t, o in forward.values_list("source_ref", "type", "target_ref")}
    rows |= {(o, REVERSE.get(t, t), s) for s, t, o in backward.values_list("source_ref", "type", "target_ref")}
    return [{"source_ref": s, "type": t, "target_ref": o} for s, t, o in sorted(rows)]


def relation_filter_q(relation_type: str, target: str | None, *, user, prefix: bool = False, visible=None) -> Q:
    """Entities that have relation ``relation_type`` (to ``target``; with ``prefix``, to a ref starting with it),
    read from either stored direction.

    The reverse direction is a relation another entity states: it counts only when ``user`` may
    see that entity, so a filter never answers for an entity the user may not see.
    """
    canonical = CANONICAL.get(relation_type.lower(), relation_type)
    forward = Relation.objects.filter(type=canonical)
    # ``visible``: the user's visible entities as a subquery, when the caller builds it once for many conditions
    visible = Entity.objects.restrict(user, "view").values("pk") if visible is None else visible
    backward = Relation.objects.filter(type=REVERSE.get(canonical, canonical), originating__in=visible)
    if target is not None:
        lookup = "startswith" if prefix else "exact"
        forward = forward.filter(**{f"target_ref__{lookup}": target.lower()})
        backward = backward.filter(**{f"source_ref__{lookup}": target.lower()})
    return Q(ref__in=forward.values("source_ref")) | Q(ref__in=backward.values("target_ref"))


def location_list(*, user, filters: dict | None = None) -> QuerySet[Location]:
    return (
        Location.objects.restrict(user, "view")
        .filter(**(filters or {}))
        .defer("fingerprints")
        .select_related("owner_team")
        # Subqueries, not joins: a join of entities x errors would multiply rows for big locations.
        .annotate(entity_count=_count(Entity), error_count=_count(LocationError))
        .order_by("target", "path", "pk")
    )


def _count(model):
    rows = model.objects.filter(location=OuterRef("pk")).order_by().values("location").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows[:1]), 0)


def location_errors(*, user, location: Location) -> QuerySet[LocationError]:
    """Errors of a location the caller already fetched through ``location_list``.

    An error about an entity its team made private is shown only to those who may see that entity
    (a public location's broken file must not name it).
    """
    hidden = (Entity.objects.filter(location=location).exclude(visibility=Visibility.PUBLIC)
              .exclude(pk__in=Entity.objects.restrict(user, "view").values("pk")).values("ref"))
    return LocationError.objects.filter(location=location).exclude(entity_ref__in=hidden).order_by("path", "doc_index", "pk")


def entity_facets(queryset: QuerySet[Entity], facets: list[str]) -> dict[str, list[dict]]:
    """Counts per value of each facet (``kind``, ``spec.type``, ``metadata.tags``, ...): one query per facet, kept
    until the catalog changes (``catalog.readcache``)."""
    return {facet: readcache.kept(f"facet {facet}", queryset, lambda facet=facet: _facet(queryset, facet))
            if facet in FACET_COLUMNS else []  # a facet nothing counts is not kept either
            for facet in dict.fromkeys(facets)}  # a facet asked twice is counted once


def _facet(queryset: QuerySet[Entity], facet: str) -> list[dict]:
    column = FACET_COLUMNS.get(facet)
    if column == "tags":
        counts: dict[str, int] = {}
        for tags in queryset.values_list("tags", flat=True):
            for tag in tags or []:
                counts[tag] = counts.get(tag, 0) + 1
        return [{"value": v, "count": c} for v, c in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]
    if column:
        rows = (queryset.exclude(**{column: ""}).order_by().values(column).annotate(count=Count("pk"))
                .order_by("-count", column))
        return [{"value": row[column], "count": row["count"]} for row in rows]
    return []


FACET_COLUMNS = {
    "kind": "kind",
    "metadata.namespace": "namespace",
    "metadata.name": "name",
    "spec.type": "type",
    "spec.lifecycle": "lifecycle",
    "spec.owner": "owner",
    "spec.system": "system",
    "spec.domain": "domain",
    "metadata.tags": "tags",
    "relations.ownedBy": "owner",
    "relations.partOf": "system",
}
