"""Read selectors of the catalog. Every one starts from ``restrict``."""
from __future__ import annotations

from django.db import connection
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery

from catalog.models import Entity, Location, LocationError, Relation

LIST_FIELDS = (
    "pk", "uid", "ref", "kind", "namespace", "name", "title", "description", "type", "lifecycle", "owner", "system",
    "tags", "visibility", "orphaned", "location_id", "owner_team_id",
)


def entity_list(*, user, filters: dict | None = None) -> QuerySet[Entity]:
    """Entities the user may see (full rows)."""
    return Entity.objects.restrict(user, "view").filter(**(filters or {}))


def entity_list_light(*, user, filters: dict | None = None) -> QuerySet[Entity]:
    """Entities the user may see, without the large document columns (for lists)."""
    return entity_list(user=user, filters=filters).defer("data", "source_text", "search_text")


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


def entity_relations(*, user, entity: Entity) -> list[Relation]:
    """Relations of ``entity`` (both directions are rows), with ``target_exists`` and the target's pk/title.

    One query, whatever the number of relations.
    """
    visible = Entity.objects.restrict(user, "view")
    target = visible.filter(ref=OuterRef("target_ref"))
    return list(
        Relation.objects.filter(source_ref=entity.ref)
        .annotate(
            target_exists=Exists(Entity.objects.filter(ref=OuterRef("target_ref"))),
            target_kind=Subquery(target.values("kind")[:1]),
            target_namespace=Subquery(target.values("namespace")[:1]),
            target_name=Subquery(target.values("name")[:1]),
            target_title=Subquery(target.values("title")[:1]),
        )
        .order_by("type", "target_ref")
        .distinct()
    )


def relation_list(*, user, filters: dict | None = None) -> QuerySet[Relation]:
    """Relations whose originating entity the user may see."""
    visible = Entity.objects.restrict(user, "view").values("pk")
    return Relation.objects.filter(originating__in=visible).filter(**(filters or {})).order_by("pk")


def location_list(*, user, filters: dict | None = None) -> QuerySet[Location]:
    return (
        Location.objects.restrict(user, "view")
        .filter(**(filters or {}))
        .select_related("owner_team")
        .annotate(entity_count=Count("entities", distinct=True), error_count=Count("errors", distinct=True))
    )


def location_errors(*, location: Location) -> QuerySet[LocationError]:
    """Errors of a location the caller already fetched through ``location_list``."""
    return LocationError.objects.filter(location=location).order_by("path", "doc_index", "pk")


def entity_facets(queryset: QuerySet[Entity], facets: list[str]) -> dict[str, list[dict]]:
    """Counts per value of each facet (``kind``, ``spec.type``, ``metadata.tags``, ...): one query per facet."""
    result: dict[str, list[dict]] = {}
    for facet in facets:
        column = FACET_COLUMNS.get(facet)
        if column == "tags":
            counts: dict[str, int] = {}
            for tags in queryset.values_list("tags", flat=True):
                for tag in tags or []:
                    counts[tag] = counts.get(tag, 0) + 1
            result[facet] = [{"value": v, "count": c} for v, c in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]
        elif column:
            rows = (
                queryset.exclude(**{column: ""}).order_by().values(column).annotate(count=Count("pk"))
                .order_by("-count", column)
            )
            result[facet] = [{"value": row[column], "count": row["count"]} for row in rows]
        else:
            result[facet] = []
    return result


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
