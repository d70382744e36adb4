"""The Backstage-compatible catalog REST API, under ``/api/catalog/``.

Tools written for Backstage (``@backstage/catalog-client``, scripts calling
``/entities/by-query``) work against Wayline unchanged. Every read goes through
``catalog.selectors.entity_list`` (so ``restrict``) and every write through the
catalog services; entities are serialised as Backstage serialises them
(``metadata.uid``, ``metadata.etag``, ``relations`` with ``targetRef``).
Errors use Backstage's body: ``{"error": {"name", "message"}, "response": {"statusCode"}}``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.choices import LocationType
from catalog.models import Entity, Location
from catalog.predicates import MAX_NODES, MAX_VALUE, PredicateError, path_refusal, predicate_check, predicate_text
from catalog.refs import EntityRefError, parse_ref
from catalog.sources import LocationUnreadable
from portal.api.authentication import BearerTokenAuthentication, HashedTokenAuthentication

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000

# Backstage field path -> indexed column, compared case-insensitively as Backstage does.
COLUMNS = {
    "kind": "kind",
    "metadata.namespace": "namespace",
    "metadata.name": "name",
    "metadata.title": "title",
    "spec.type": "type",
    "spec.lifecycle": "lifecycle",
}
ORDER_COLUMNS = {**COLUMNS, "metadata.uid": "uid", "spec.owner": "owner", "spec.system": "system"}
MAX_QUERY_DEPTH = 16  # levels of a filter predicate


class BackstageError(Exception):
    def __init__(self, status_code: int, name: str, message: str):
        super().__init__(message)
        self.status_code, self.name, self.message = status_code, name, message


def error_response(status_code: int, name: str, message: str) -> Response:
    return Response({"error": {"name": name, "message": message}, "response": {"statusCode": status_code}},
                    status=status_code)


class BackstageView(APIView):
    authentication_classes = [SessionAuthentication, HashedTokenAuthentication, BearerTokenAuthentication]
    schema = None  # Backstage documents this API itself; keep it out of Wayline's OpenAPI

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Every write here takes a JSON object; a bare list, string or number is the client's mistake, said so.
        if request.method in ("POST", "PUT", "PATCH") and not isinstance(request.data, dict):
            kind = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
                type(request.data), "null")
            raise BackstageError(400, "InputError", f"The request body must be a JSON object, not {kind}")

    def handle_exception(self, exc):
        if isinstance(exc, BackstageError):
            return error_response(exc.status_code, exc.name, exc.message)
        if isinstance(exc, PermissionDenied):
            return error_response(403, "NotAllowedError", str(exc) or "Not allowed")
        response = super().handle_exception(exc)
        if response is not None and response.status_code in (401, 403, 429):
            name = {401: "AuthenticationError", 403: "NotAllowedError", 429: "TooManyRequestsError"}[response.status_code]
            body = error_response(response.status_code, name, str(getattr(exc, "detail", exc)))
            if response.has_header("Retry-After"):
                body["Retry-After"] = response["Retry-After"]
            return body
        return response


# --- filters, fields, serialisation ---


def _json_parts(path: str) -> list[str]:
    """A filter key as JSON path parts; annotation and label keys keep their dots (``backstage.io/x``)."""
    for prefix in ("metadata.annotations.", "metadata.labels."):
        if path.lower().startswith(prefix):
            return [*prefix.rstrip(".").split("."), path[len(prefix):]]
    return path.split(".")


def _json_path(path: str):
    parts = _json_parts(path)
    expression = "document__data"
    for part in parts[:-1]:
        expression = KeyTransform(part, expression)
    return KeyTextTransform(parts[-1], expression)


class _Scope:
    """The caller's visible entities as one subquery, built on first use and shared by every relation condition of a
    request (each would otherwise look the user's groups up again: queries growing with the conditions)."""

    def __init__(self, user):
        self.user, self._visible = user, None

    def visible(self):
        if self._visible is None:
            self._visible = Entity.objects.restrict(self.user, "view").values("pk")
        return self._visible


def _condition(key: str, value: str | None, user, scope: _Scope | None = None) -> Q:
    key = key.strip()
    lowered = key.lower()
    refusal = path_refusal(key)
    if refusal:
        raise BackstageError(400, "InputError", f"{key[:80]}: {refusal}")
    if value is not None and len(value) > MAX_VALUE:
        raise BackstageError(400, "InputError", f"{key[:80]}: a value longer than {MAX_VALUE} characters")
    if lowered in COLUMNS:
        column = COLUMNS[lowered]
        return ~Q(**{column: ""}) if value is None else Q(**{f"{column}__iexact": value})
    if lowered == "metadata.uid":
        return Q() if value is None else Q(uid=value) if _is_uuid(value) else Q(pk__in=[])
    if lowered == "metadata.tags":
        if value is not None and "|" in value:  # the index's separator: no tag holds one
            return _NOTHING
        return ~Q(tag_index="") if value is None else Q(tag_index__contains=f"|{value.lower()}|")
    if lowered.startswith("relations."):
        return selectors.relation_filter_q(key.split(".", 1)[1], value, user=user,
                                           visible=scope.visible() if scope else None)
    if value is None:
        parts = _json_parts(key)
        if len(parts) == 1:
            return Q(document__data__has_key=parts[0])
        alias = _alias("h", key)
        parent = KeyTransform(parts[0], "document__data")
        for part in parts[1:-1]:
            parent = KeyTransform(part, parent)
        return Q(**{f"{alias}__has_key": parts[-1]}), alias, parent  # type: ignore[return-value]
    alias = _alias("f", key)
    return Q(**{f"{alias}__iexact": value}), alias, _json_path(key)  # type: ignore[return-value]


def _alias(prefix: str, key: str) -> str:
    """An annotation name for a filter key: distinct per key and free of ``__`` (which Django reads as a lookup)."""
    return f"_{prefix}{hashlib.sha1(key.encode()).hexdigest()[:16]}"


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value))


def apply_filters(queryset, filters: list[str], user):
    """``filter=kind=component,spec.type=service`` (AND within one, OR across several, as in Backstage).

    ``user``: relation filters count only relations the user may see (``selectors.relation_filter_q``)."""
    if not filters:
        return queryset
    any_of = Q()
    annotations = {}
    scope = _Scope(user)
    for raw in filters:
        by_key: dict[str, Q] = {}
        for part in [p for p in raw.split(",") if p.strip()]:
            key, sep, value = part.partition("=")
            if not key.strip():
                raise BackstageError(400, "InputError", f"Invalid filter {raw!r}: every condition needs a key (key=value or key)")
            result = _condition(key, value.strip() if sep else None, user, scope)
            if isinstance(result, tuple):
                result, alias, expression = result
                annotations[alias] = expression
            # Several values for one key within a filter: any of them (Backstage semantics).
            by_key[key.strip().lower()] = by_key[key.strip().lower()] | result if key.strip().lower() in by_key else result
        all_of = Q()
        for condition in by_key.values():
            all_of &= condition
        any_of |= all_of
    if annotations:
        queryset = queryset.annotate(**annotations)
    return queryset.filter(any_of)


def _leaf(result) -> Q:
    """One ``_condition`` as a self-contained condition: a JSON-path test becomes ``pk IN (...)``, so that ``$not``
    of it also matches entities that lack the path (a plain ``NOT (json = x)`` is NULL there, and drops them)."""
    if isinstance(result, tuple):
        condition, alias, expression = result
        return Q(pk__in=Entity.objects.annotate(**{alias: expression}).filter(condition).values("pk"))
    return result


def _prefix_leaf(path: str, prefix: str, user, scope: _Scope) -> Q:
    lowered = path.strip().lower()
    if lowered in COLUMNS:
        return Q(**{f"{COLUMNS[lowered]}__istartswith": prefix})
    if lowered == "metadata.tags":
        return _NOTHING if "|" in prefix else Q(tag_index__contains=f"|{prefix.lower()}")
    if lowered.startswith("relations."):
        return selectors.relation_filter_q(path.strip().split(".", 1)[1], prefix, user=user, prefix=True,
                                           visible=scope.visible())
    if lowered == "metadata.uid":
        raise PredicateError("metadata.uid: $hasPrefix is not supported on uids; match the whole uid")
    alias = _alias("p", path)
    return Q(pk__in=Entity.objects.annotate(**{alias: _json_path(path.strip())})
             .filter(**{f"{alias}__istartswith": prefix}).values("pk"))


_NOTHING = Q(pk__in=[])


def predicate_q(predicate, user, scope: _Scope | None = None) -> Q:
    """A filter predicate (checked by ``catalog.predicates.predicate_check``) as one SQL condition over entities.

    Paths read as in ``filter=``: the indexed columns, ``metadata.tags``, ``relations.<type>`` (only relations
    ``user`` may see) and any other path in the entity's document. Values compare ignoring case; ``$in`` is any
    of its values, ``$hasPrefix`` a case-insensitive prefix. ``$contains`` is refused (PredicateError): Wayline
    keeps no per-element index of entity arrays."""
    if predicate is None:
        return Q()
    scope = scope or _Scope(user)
    if "$all" in predicate:
        condition = Q()
        for child in predicate["$all"]:
            condition &= predicate_q(child, user, scope)
        return condition
    if "$any" in predicate:
        condition = _NOTHING
        for child in predicate["$any"]:
            condition |= predicate_q(child, user, scope)
        return condition
    if "$not" in predicate:
        inner = predicate_q(predicate["$not"], user, scope)
        return ~inner if inner else _NOTHING
    condition = Q()
    for path, expected in predicate.items():
        if isinstance(expected, dict):
            (operator, argument), = expected.items()
            if operator == "$exists":
                exists = _leaf(_condition(path, None, user, scope))
                # an empty condition is "always": its negation is "never", not another empty condition
                condition &= exists if argument else (~exists if exists else _NOTHING)
            elif operator == "$in":
                any_of = _NOTHING
                for value in argument:
                    any_of |= _leaf(_condition(path, predicate_text(value), user, scope))
                condition &= any_of
            elif operator == "$hasPrefix":
                condition &= _prefix_leaf(path, argument, user, scope)
            else:
                raise PredicateError(f"{path}: {operator} is not supported in entity queries "
                                     "(supported: $exists, $in, $hasPrefix and plain values)")
        else:
            condition &= _leaf(_condition(path, predicate_text(expected), user, scope))
    return condition


MAX_ENTITY_CONDITIONS = 100  # conditions (values of $in included) of one entity predicate: each is SQL


def _checked_predicate(query, where: str = "query", max_nodes: int = MAX_ENTITY_CONDITIONS):
    """``query`` checked where it enters (400 naming where it is wrong)."""
    try:
        predicate_check(query, depth=MAX_QUERY_DEPTH, max_nodes=max_nodes)
    except PredicateError as exc:
        raise BackstageError(400, "InputError", f"{where}: {exc}") from None
    return query


def relations_for(refs: list[str], user) -> dict[str, list[dict]]:
    """Backstage ``relations`` of the given entities, as ``user`` may see them (``selectors.relation_pairs``)."""
    grouped: dict[str, list[dict]] = {}
    for ref, pairs in selectors.relation_pairs(refs, user=user).items():
        items = []
        for relation_type, target in pairs:
            kind, _, rest = target.partition(":")
            namespace, _, name = rest.partition("/")
            items.append({"type": relation_type, "targetRef": target,
                          "target": {"kind": kind, "namespace": namespace, "name": name}})
        grouped[ref] = items
    return grouped


def serialize_entity(entity: Entity, relations: list[dict]) -> dict:
    data = entity.data
    metadata = {**data["metadata"], "uid": str(entity.uid), "etag": entity.etag, "namespace": entity.namespace}
    annotations = dict(metadata.get("annotations") or {})
    annotations.setdefault("backstage.io/managed-by-location", f"url:{entity.location.backstage_target}"
                           if entity.location.type == LocationType.GIT else f"file:{entity.location.backstage_target}")
    annotations.setdefault("backstage.io/managed-by-origin-location", annotations["backstage.io/managed-by-location"])
    if entity.orphaned:
        annotations["backstage.io/orphan"] = "true"
    metadata["annotations"] = annotations
    body = {"apiVersion": data["apiVersion"], "kind": data["kind"], "metadata": metadata}
    if "spec" in data:
        body["spec"] = data["spec"]
    body["relations"] = relations
    return body


def project(entity: dict, fields: list[str]) -> dict:
    """Keep only ``fields`` (dotted paths), as Backstage's ``fields`` parameter does."""
    if not fields:
        return entity
    result: dict = {}
    for path in fields:
        source, target = entity, result
        parts = path.split(".")
        for i, part in enumerate(parts):
            if not isinstance(source, dict) or part not in source:
                break
            if i == len(parts) - 1:
                target[part] = source[part]
            else:
                source = source[part]
                target = target.setdefault(part, {})
    return result


def _fields(request_values: list[str]) -> list[str]:
    return [f.strip() for value in request_values for f in value.split(",") if f.strip()]


def serialize_page(entities: list[Entity], fields: list[str], user) -> list[dict]:
    relations = relations_for([e.ref for e in entities], user) if not fields or any(f.startswith("relations") for f in fields) else {}
    return [project(serialize_entity(e, relations.get(e.ref, [])), fields) for e in entities]


_LOCATION_HEAVY = ("location__fingerprints", "location__last_report")
# What ``serialize_entity`` reads: a page of 100 then loads no source text, search text or timestamps.
_SERIALIZED_FIELDS = ("uid", "ref", "etag", "namespace", "document__data", "orphaned",
                      "location__type", "location__target", "location__branch", "location__path")


def _visible(request):
    return (selectors.entity_list(user=request.user).select_related("location", "document")
            .defer(*_LOCATION_HEAVY, "search_text", "document__source_text"))


def _order(queryset, order_fields: list[str]):
    return queryset.order_by(*_ordering(order_fields))


def _ordering(order_fields: list[str]) -> list[str]:
    ordering = []
    for spec in order_fields:
        field, _, direction = spec.partition(",")
        column = ORDER_COLUMNS.get(field.strip())
        if column is None:
            raise BackstageError(400, "InputError", f"Cannot order by {field!r}; supported: {', '.join(ORDER_COLUMNS)}")
        ordering.append(f"-{column}" if direction.strip().lower() == "desc" else column)
    return [*ordering, "ref"]


MAX_INT = 2 ** 31 - 1  # offsets and limits beyond this are no real page, and beyond 2**63 a database error


def _int(value, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BackstageError(400, "InputError", f"{name} must be an integer") from None
    if number < 0:
        raise BackstageError(400, "InputError", f"{name} must not be negative")
    if number > MAX_INT:
        raise BackstageError(400, "InputError", f"{name} must be at most {MAX_INT}")
    return number


MAX_CURSOR = 65536  # characters of a cursor the client sends back


def _cursor_state(cursor: str) -> dict:
    """The query state a ``cursor`` carries; the client sends it back, so every part is checked."""
    if len(cursor) > MAX_CURSOR:
        raise BackstageError(400, "InputError", "Malformed cursor")
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
    except Exception:  # noqa: BLE001 - bad base64, bad JSON, JSON nested past the recursion limit: the client's mistake
        raise BackstageError(400, "InputError", "Malformed cursor") from None
    lists = ("filter", "order", "term_fields")
    if isinstance(state, dict):
        state.setdefault("term_fields", [])
    if (not isinstance(state, dict)
            or any(not isinstance(state.get(key), list) or not all(isinstance(v, str) for v in state[key]) for key in lists)
            or not isinstance(state.get("term"), str) or isinstance(state.get("offset"), bool)
            or not isinstance(state.get("offset"), int)):
        raise BackstageError(400, "InputError", "Malformed cursor")
    state["offset"] = _int(state["offset"], 0, "cursor offset")
    if "query" in state:  # a cursor of POST /entities/by-query: its predicate is checked as on the first page
        _checked_predicate(state["query"], "cursor query")
    return state


# --- views ---


class EntitiesView(BackstageView):
    """``GET /entities``: the older list endpoint (an array; ``filter``, ``fields``, ``offset``, ``limit``, ``order``)."""

    def get(self, request):
        queryset = apply_filters(_visible(request), request.query_params.getlist("filter"), request.user)
        orders = []
        for order in request.query_params.getlist("order"):
            direction, _, field = order.partition(":")
            orders.append(f"{field},{direction}")
        queryset = _order(queryset, orders)
        offset = _int(request.query_params.get("offset"), 0, "offset")
        limit = request.query_params.get("limit")
        after = request.query_params.get("after")
        if after:
            # Backstage's ``after``: an opaque cursor from the ``Link: <...>; rel="next"`` of the page before.
            state = _after_state(after)
            offset, limit = state["offset"], limit or state["limit"]
        if limit:
            size = min(_int(limit, MAX_LIMIT, "limit"), MAX_LIMIT)
            page = list(queryset[offset : offset + size + 1])
            response = Response(serialize_page(page[:size], _fields(request.query_params.getlist("fields")), request.user))
            if len(page) > size and size:
                query = request.query_params.copy()
                for key in ("offset", "after"):
                    query.pop(key, None)
                query["after"] = _b64({"limit": size, "offset": offset + size})
                response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
            return response
        # Every match, as Backstage answers, up to a bound: beyond it the client is told to page, never cut short.
        most = settings.CATALOG_API_MAX_UNPAGED
        page = list(queryset[offset : offset + most + 1])
        if len(page) > most:
            raise BackstageError(400, "InputError", f"more than {most} entities match; page with limit and offset, "
                                                    "or use /entities/by-query")
        return Response(serialize_page(list(page), _fields(request.query_params.getlist("fields")), request.user))


class EntitiesByQueryView(BackstageView):
    """``GET /entities/by-query``: filtered, ordered, full-text searched, cursor-paginated; ``POST`` (Backstage's
    ``queryEntitiesByPredicate``): the same with a filter predicate in the body (``query``)."""

    def get(self, request):
        params = request.query_params
        if params.get("cursor"):
            state = _cursor_state(params["cursor"])
        else:
            state = {
                "filter": params.getlist("filter"),
                "order": params.getlist("orderField"),
                "term": (params.get("fullTextFilterTerm") or "").strip(),
                "term_fields": _fields(params.getlist("fullTextFilterFields")),
                "offset": _int(params.get("offset"), 0, "offset"),
            }
        limit = min(_int(params.get("limit"), DEFAULT_LIMIT, "limit"), MAX_LIMIT)
        return _entities_page(request, state, limit, _fields(params.getlist("fields")),
                              total=params.get("totalItems") != "exclude")

    def post(self, request):
        body = request.data  # an object: BackstageView.initial
        if body.get("cursor") is not None:
            state = _cursor_state(str(body["cursor"]))
            state.setdefault("query", None)
        else:
            full_text = body.get("fullTextFilter") or {}
            if not isinstance(full_text, dict) or not isinstance(full_text.get("term", ""), str):
                raise BackstageError(400, "InputError", "fullTextFilter must be an object with a string term")
            state = {
                "filter": [],
                "query": _checked_predicate(body.get("query")),
                "order": _order_by(body.get("orderBy")),
                "term": (full_text.get("term") or "").strip(),
                "term_fields": _strings(full_text.get("fields"), "fullTextFilter.fields"),
                "offset": _int(body.get("offset"), 0, "offset"),
            }
        limit = min(_int(body.get("limit"), DEFAULT_LIMIT, "limit"), MAX_LIMIT)
        return _entities_page(request, state, limit, _strings(body.get("fields"), "fields"),
                              total=body.get("totalItems") not in ("exclude", False))


def _strings(value, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BackstageError(400, "InputError", f"{name} must be an array of strings")
    return [v.strip() for v in value if v.strip()]


def _order_by(value) -> list[str]:
    """``orderBy: [{field, order}]`` (or one object) as ``field,order`` specs; the order is checked by ``_ordering``."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    specs = []
    for index, item in enumerate(items):
        if (not isinstance(item, dict) or not isinstance(item.get("field"), str)
                or item.get("order", "asc") not in ("asc", "desc")):
            raise BackstageError(400, "InputError", f"orderBy[{index}] must be {{field, order: asc|desc}}")
        specs.append(f"{item['field']},{item.get('order', 'asc')}")
    return specs


def _entities_page(request, state: dict, limit: int, fields: list[str], *, total: bool) -> Response:
    """One page of ``/entities/by-query`` for ``state`` (filters, predicate, order, full-text term, offset)."""
    queryset = apply_filters(selectors.entity_list(user=request.user), state["filter"], request.user)
    if state.get("query") is not None:
        try:
            queryset = queryset.filter(predicate_q(state["query"], request.user))
        except PredicateError as exc:
            raise BackstageError(400, "InputError", f"query: {exc}") from None
    if state["term"]:
        queryset = _full_text(queryset, state["term"], state.get("term_fields") or [])
    offset = state["offset"]
    # The permission-filtered, ordered query reads only ids (and the total); full rows are then
    # fetched by id, so sorting never drags the large document columns along.
    # Only a full-text term or a predicate forces a scan; with plain filters the page query walks the ref index
    # and stops at LIMIT, so a separate count is cheaper than COUNT(*) OVER () (PostgreSQL, 10k entities,
    # limit 100: 53 -> 40 ms).
    page = selectors.entity_page(queryset, order_by=_ordering(state["order"]), offset=offset, limit=limit,
                                 filtered=bool(state["term"] or state.get("query")))
    ids = [row["pk"] for row in page.rows]
    by_id = Entity.objects.select_related("location", "document").only(*_SERIALIZED_FIELDS).in_bulk(ids)
    rows = [by_id[pk] for pk in ids]
    body = {"items": serialize_page(rows, fields, request.user), "pageInfo": {}}
    if total:
        body["totalItems"] = page.total
    if page.has_next:
        body["pageInfo"]["nextCursor"] = _cursor({**state, "offset": offset + limit})
    if offset > 0:
        body["pageInfo"]["prevCursor"] = _cursor({**state, "offset": max(offset - limit, 0)})
    return Response(body)


_TEXT_COLUMNS = {"metadata.name": "name", "metadata.title": "title", "metadata.description": "description",
                 "kind": "kind", "spec.type": "type", "spec.lifecycle": "lifecycle", "spec.owner": "owner"}


def _full_text(queryset, term: str, fields: list[str]):
    """``fullTextFilterTerm``: the catalog search; with ``fullTextFilterFields``, every word must occur in one
    of those fields (case-insensitive)."""
    if not fields:
        return selectors.entity_search(queryset, term)
    annotations, columns = {}, []
    for field in fields:
        if path_refusal(field):
            raise BackstageError(400, "InputError", f"fullTextFilterFields: {field[:80]}: {path_refusal(field)}")
        if field.lower() in _TEXT_COLUMNS:
            columns.append(_TEXT_COLUMNS[field.lower()])
        elif field.lower() == "metadata.tags":
            columns.append("tag_index")
        else:
            alias = _alias("t", field)
            annotations[alias] = _json_path(field)
            columns.append(alias)
    if annotations:
        queryset = queryset.annotate(**annotations)
    for word in term.split():
        condition = Q()
        for column in columns:
            condition |= Q(**{f"{column}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


def _cursor(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


class EntityByNameView(BackstageView):
    def get(self, request, kind, namespace, name):
        return Response(serialize_page([_named_entity(request, kind, namespace, name)], [], request.user)[0])


def _named_entity(request, kind, namespace, name) -> Entity:
    entity = _visible(request).filter(ref=f"{kind}:{namespace}/{name}".lower()).first()
    if entity is None:
        raise BackstageError(404, "NotFoundError", f"No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'")
    return entity


def location_entity(location: Location) -> dict:
    """The Location entity Backstage keeps for a registered location (``location:default/generated-<sha1>``, named
    from ``<type>:<target>`` as Backstage names it); Wayline keeps the location as a row and writes this on demand."""
    body = location_body(location)
    reference = f"{body['type']}:{body['target']}"
    name = "generated-" + hashlib.sha1(reference.encode()).hexdigest()
    return {"apiVersion": "backstage.io/v1alpha1", "kind": "Location",
            "metadata": {"name": name, "namespace": "default",
                         "annotations": {"backstage.io/managed-by-location": reference,
                                         "backstage.io/managed-by-origin-location": reference}},
            "spec": {"type": body["type"], "target": body["target"]}, "relations": []}


class EntityAncestryView(BackstageView):
    """``GET /entities/by-name/{kind}/{namespace}/{name}/ancestry``: the entity, then the location that supplied it
    (the root), each with the refs of its parents, as Backstage answers."""

    def get(self, request, kind, namespace, name):
        entity = _named_entity(request, kind, namespace, name)
        item = serialize_page([entity], [], request.user)[0]
        location = selectors.location_list(user=request.user).filter(pk=entity.location_id).first()
        if location is None:  # a location the caller may not see is not named: the entity is its own root
            return Response({"rootEntityRef": entity.ref, "items": [{"entity": item, "parentEntityRefs": []}]})
        parent = location_entity(location)
        parent_ref = f"location:default/{parent['metadata']['name']}"
        return Response({"rootEntityRef": parent_ref, "items": [{"entity": item, "parentEntityRefs": [parent_ref]},
                                                                {"entity": parent, "parentEntityRefs": []}]})


class LocationByEntityView(BackstageView):
    """``GET /locations/by-entity/{kind}/{namespace}/{name}``: the location that supplies the entity; 404 when
    either is missing or hidden from the caller."""

    def get(self, request, kind, namespace, name):
        entity = _named_entity(request, kind, namespace, name)
        location = selectors.location_list(user=request.user).filter(pk=entity.location_id).first()
        if location is None:
            raise BackstageError(404, "NotFoundError", f"Found no location for entity {kind}:{namespace}/{name}")
        return Response(location_body(location))


class EntityByUidView(BackstageView):
    def _entity(self, request, uid) -> Entity:
        entity = _visible(request).filter(uid=uid).first() if _is_uuid(uid) else None
        if entity is None:
            raise BackstageError(404, "NotFoundError", f"No entity with uid {uid}")
        return entity

    def get(self, request, uid):
        return Response(serialize_page([self._entity(request, uid)], [], request.user)[0])

    def delete(self, request, uid):
        """Backstage's ``removeEntityByUid``: gone until its location supplies it again (204)."""
        services.entity_delete(actor=request.user, obj=self._entity(request, uid))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EntitiesByRefsView(BackstageView):
    """``POST /entities/by-refs``: ``{"entityRefs": [...], "fields": [...]}`` -> items in the same order (null if absent)."""

    def post(self, request):
        refs = request.data.get("entityRefs")
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise BackstageError(400, "InputError", "entityRefs must be an array of strings")
        keys = []
        for ref in refs:
            try:
                keys.append(parse_ref(ref).key)
            except EntityRefError:
                keys.append(None)
        queryset = apply_filters(_visible(request), request.query_params.getlist("filter"), request.user)
        found = {e.ref: e for e in queryset.filter(ref__in=[k for k in keys if k])}
        fields = _fields(request.data.get("fields") or [])
        serialized = dict(zip(found, serialize_page(list(found.values()), fields, request.user)))
        return Response({"items": [serialized.get(key) if key else None for key in keys]})


class EntityFacetsView(BackstageView):
    """``GET /entity-facets?facet=...&filter=...``; ``POST`` (``getEntityFacetsByPredicate``): ``{facets, query}``."""

    def get(self, request):
        facets = _facets(request.query_params.getlist("facet"))
        queryset = apply_filters(selectors.entity_list(user=request.user), request.query_params.getlist("filter"), request.user)
        return Response({"facets": selectors.entity_facets(queryset, facets)})

    def post(self, request):
        body = request.data  # an object: BackstageView.initial
        facets = _facets(_strings(body.get("facets"), "facets"))
        if not facets:
            raise BackstageError(400, "InputError", "facets must name at least one field")
        query = _checked_predicate(body.get("query"))
        try:
            queryset = selectors.entity_list(user=request.user).filter(predicate_q(query, request.user))
        except PredicateError as exc:
            raise BackstageError(400, "InputError", f"query: {exc}") from None
        return Response({"facets": selectors.entity_facets(queryset, facets)})


MAX_FACETS = 20  # distinct facets in one request: each is a query over every visible entity


def _facets(names: list[str]) -> list[str]:
    distinct = list(dict.fromkeys(names))
    if len(distinct) > MAX_FACETS:
        raise BackstageError(400, "InputError", f"facets: at most {MAX_FACETS} different fields in one request")
    return distinct


_BLOB = re.compile(r"^(?P<repo>.+?)/(?:-/)?(?:blob|tree)/(?P<branch>[^/]+)/(?P<path>.+)$")


def parse_target(location_type: str, target: str) -> dict:
    """A Backstage location (``url`` + blob URL, or ``file`` + path) as Wayline's location fields."""
    if location_type == "file":
        path = Path(target)
        if any(ch in path.name for ch in "*?[") or path.suffix in (".yaml", ".yml"):
            return {"type": LocationType.PATH, "target": str(path.parent), "branch": "", "path": path.name}
        return {"type": LocationType.PATH, "target": target, "branch": "", "path": "catalog-info.yaml"}
    if location_type != "url":
        raise BackstageError(400, "InputError", f"Unsupported location type {location_type!r}; use url or file")
    match = _BLOB.match(target)
    if match:
        branch = "" if match["branch"] == "HEAD" else match["branch"]
        return {"type": LocationType.GIT, "target": match["repo"], "branch": branch, "path": match["path"]}
    return {"type": LocationType.GIT, "target": target, "branch": "", "path": "catalog-info.yaml"}


def location_body(location: Location) -> dict:
    return {"id": str(location.pk), "type": "file" if location.type == LocationType.PATH else "url",
            "target": location.backstage_target}


class LocationsView(BackstageView):
    def get(self, request):
        return Response([{"data": location_body(loc)} for loc in selectors.location_list(user=request.user)])

    def post(self, request):
        location_type = request.data.get("type") or "url"
        target = request.data.get("target")
        if not isinstance(target, str) or not target:
            raise BackstageError(400, "InputError", "target must be a non-empty string")
        if not Location.creatable_by(request.user):
            raise BackstageError(403, "NotAllowedError", "You may not register a location: you edit for no team")
        fields = parse_target(location_type, target)
        team = location_team(request)
        if request.query_params.get("dryRun") == "true":
            return self.dry_run(request, fields, team)
        existing = selectors.location_list(user=request.user).filter(**fields).first()
        if existing is not None:
            raise BackstageError(409, "ConflictError", f"Location {location_type}:{target} already exists")
        try:
            with transaction.atomic():
                location = services.location_register(actor=request.user, owner_team=team, refresh=False, **fields)
        except DjangoValidationError as exc:
            raise BackstageError(400, "InputError", "; ".join(exc.messages)) from None
        # The first read happens inside the request, as Backstage's does: bounded like a dry run.
        report = services.location_refresh(actor=request.user, location_id=location.pk,
                                           git_timeout=settings.CATALOG_DRY_RUN_SECONDS)
        location.refresh_from_db()
        if report.failure:
            raise BackstageError(400, "InputError", report.failure)
        entities = list(_visible(request).filter(location=location))
        return Response({"location": location_body(location), "entities": serialize_page(entities, [], request.user), "exists": False},
                        status=status.HTTP_201_CREATED)

    def dry_run(self, request, fields: dict, team) -> Response:
        """A dry run is checked as the real call (same team, same URL policy), then reads without storing."""
        preview = location_preview(request, fields, team)
        if preview.errors and not preview.entities:
            raise BackstageError(400, "InputError", "; ".join(str(e) for e in preview.errors[:5]))
        return Response({"location": {"id": "", **location_body(preview.location)}, "exists": False,
                         "entities": [{**e.data, "relations": []} for e in preview.entities]},
                        status=status.HTTP_201_CREATED)


def location_team(request):
    """The team a location registered by this request would belong to: ``team`` (body or query) among the teams the
    caller edits for, else the only one; none for a platform admin who names none (400 when it is ambiguous)."""
    from portal.selectors import teams_user_can_edit_for

    slug = request.data.get("team") or request.query_params.get("team")
    teams = teams_user_can_edit_for(user=request.user)
    if slug:
        return teams.filter(slug=slug).first()
    if request.user.is_superuser:
        return None
    only = list(teams[:2])
    if len(only) != 1:
        raise BackstageError(400, "InputError", "Say which team owns the location: add \"team\": \"<slug>\"")
    return only[0]


def location_preview(request, fields: dict, team):
    """What registering ``fields`` for ``team`` would read, without storing it: checked by the service as the
    registration is (a 400 naming what is refused or unreadable)."""
    try:
        return services.location_preview(actor=request.user, owner_team=team, **fields)
    except DjangoValidationError as exc:
        raise BackstageError(400, "InputError", "; ".join(exc.messages)) from None
    except LocationUnreadable as exc:
        raise BackstageError(400, "InputError", str(exc)) from None


class LocationView(BackstageView):
    def _location(self, request, pk) -> Location:
        location = selectors.location_list(user=request.user).filter(pk=pk).first() if str(pk).isdigit() else None
        if location is None:
            raise BackstageError(404, "NotFoundError", f"Found no location with ID {pk}")
        return location

    def get(self, request, pk):
        return Response(location_body(self._location(request, pk)))

    def delete(self, request, pk):
        services.location_delete(actor=request.user, location=self._location(request, pk))  # checks who may
        return Response(status=status.HTTP_204_NO_CONTENT)

    def put(self, request, pk):
        """Backstage's ``updateLocation``: ``{type, target}`` -> the location as it now is (200); its files are read
        again by a refresh queued after commit."""
        location = self._location(request, pk)
        location_type, target = request.data.get("type") or "url", request.data.get("target")
        if not isinstance(location_type, str) or not isinstance(target, str) or not target:
            raise BackstageError(400, "InputError", "target must be a non-empty string (and type a string)")
        fields = parse_target(location_type, target)
        try:
            location = services.location_target_update(actor=request.user, location=location, **fields)
        except DjangoValidationError as exc:
            raise BackstageError(400, "InputError", "; ".join(exc.messages)) from None
        return Response(location_body(location))



class LocationsByQueryView(BackstageView):
    """``POST /locations/by-query`` (Backstage's ``queryLocations``): ``{query, limit}`` or ``{cursor}`` ->
    ``{items, totalItems, pageInfo: {nextCursor}}``, over the locations the caller may see, by ``id``, ``type``
    and ``target`` (filter predicates: ``$all``, ``$any``, ``$not``, ``$exists``, ``$in``, ``$hasPrefix``)."""

    def post(self, request):
        from catalog.predicates import predicate_match

        body = request.data
        if body.get("cursor") is not None:
            state = self._cursor(body["cursor"])
            query, limit, offset = state["query"], state["limit"], state["offset"]
        else:
            query, limit, offset = body.get("query"), _int(body.get("limit"), DEFAULT_LIMIT, "limit"), 0
        if limit < 0 or limit > MAX_LIMIT:
            raise BackstageError(400, "InputError", f"limit must be between 0 and {MAX_LIMIT}")
        _checked_predicate(query, max_nodes=MAX_NODES)  # matched in Python, not SQL: the general bound
        rows = [location_body(loc) for loc in selectors.location_list(user=request.user).select_related(None)
                .order_by("pk").only("pk", "type", "target", "branch", "path")]
        matching = [row for row in rows if query is None or predicate_match(row, query)]
        page = matching[offset:offset + limit]
        info = {}
        if offset + limit < len(matching) and limit:
            info["nextCursor"] = _b64({"query": query, "limit": limit, "offset": offset + limit})
        return Response({"items": page, "totalItems": len(matching), "pageInfo": info})

    @staticmethod
    def _cursor(cursor) -> dict:
        try:
            state = json.loads(base64.urlsafe_b64decode(str(cursor).encode() + b"=" * (-len(str(cursor)) % 4)))
            assert isinstance(state, dict) and set(state) == {"query", "limit", "offset"}
            assert all(isinstance(state[k], int) and not isinstance(state[k], bool) and 0 <= state[k] <= 10**9
                       for k in ("limit", "offset"))
        except Exception:  # noqa: BLE001 - whatever a tampered cursor is, it is the client's mistake
            raise BackstageError(400, "InputError", "Malformed cursor") from None
        return state


def _after_state(after: str) -> dict:
    try:
        state = json.loads(base64.urlsafe_b64decode(after.encode() + b"=" * (-len(after) % 4)))
        assert isinstance(state, dict) and set(state) == {"limit", "offset"}
        assert all(isinstance(state[k], int) and not isinstance(state[k], bool) and 0 <= state[k] <= MAX_INT
                   for k in ("limit", "offset"))
    except Exception:  # noqa: BLE001 - whatever a tampered cursor is, it is the client's mistake
        raise BackstageError(400, "InputError", "Malformed after cursor") from None
    return state


def _b64(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


class RefreshView(BackstageView):
    """``POST /refresh`` ``{"entityRef": ...}``: queue a refresh of the location the entity comes from."""

    def post(self, request):
        try:
            key = parse_ref(str(request.data.get("entityRef") or "")).key
        except EntityRefError as exc:
            raise BackstageError(400, "InputError", str(exc)) from None
        entity = _visible(request).filter(ref=key).first()
        if entity is None:
            raise BackstageError(404, "NotFoundError", f"No entity {key}")
        services.location_refresh_request(actor=request.user, location=entity.location)  # checks who may
        return Response(status=status.HTTP_200_OK)


class ValidateEntityView(BackstageView):
    """``POST /validate-entity``: 200 when valid, else 400 with the same errors as ingestion."""

    def post(self, request):
        entity = request.data.get("entity")
        if not isinstance(entity, dict):
            raise BackstageError(400, "InputError", "entity must be an object")
        errors = services.entity_validate(document=entity)
        if errors:
            return Response({"errors": [{"name": "InputError", "message": str(e), "field": e.field} for e in errors]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({}, status=status.HTTP_200_OK)
