"""Counts over the catalog, kept between requests until the catalog changes.

At 100,000 entities a page's rows take a few milliseconds, but its total (``COUNT(*)``), the facets
(``GROUP BY``) and the list page's dropdown values scan every row the reader may see, through the permission
condition: 30-100 ms each. The answers change only when the catalog does, so they are kept in the shared cache
under a key made of

- the catalog's *generation*: a random token replaced by every write to entities, their relations, documents
  and grants (``changed``), so nothing is invalidated piecemeal and nothing kept survives a write;
- the SQL of the query with its parameters: the permission condition in it names the reader's id and groups,
  so each scope of visibility has its own entries, and a reader never gets a count made for another; a
  membership that changes changes the SQL.

``changed`` replaces the generation at once (readers in the writing transaction see their own writes) and
again after the transaction commits: a reader in another process that counted between the two, over rows
not yet committed, stored its answer under a generation nobody asks for any more. Entries also expire after
``TTL`` seconds from when they were counted, a bound on staleness should a write bypass ``changed``: one that
deletes rows one by one outside the services (``post_delete`` is not watched, it would stop Django deleting a
location's entities in bulk), a queryset ``update``, guardian's ``remove_perm`` or a bulk ``assign_perm``. The
project's own writes go through the services. They live in their own cache (``caches["catalog"]``): any reader
makes entries, one per distinct query, and must not push throttle histories out.
"""
from __future__ import annotations

import hashlib
import uuid
from typing import Callable, TypeVar

from django.core.cache import caches
from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import QuerySet
from django.utils.connection import ConnectionProxy

GENERATION_KEY = "catalog:generation"
cache = ConnectionProxy(caches, "catalog")  # apart from throttle histories (portal/settings.py); one per thread
TTL = 300  # seconds

T = TypeVar("T")


def generation() -> str:
    token = cache.get(GENERATION_KEY)
    if token is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)  # one writer wins; the others read its token
        token = cache.get(GENERATION_KEY) or "unkept"
    return token


def changed() -> None:
    """The catalog changed (call inside the writing transaction): every kept answer is dropped, now and at commit."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    transaction.on_commit(lambda: cache.set(GENERATION_KEY, uuid.uuid4().hex, None))


def key(name: str, queryset: QuerySet) -> str | None:
    """The cache key of answer ``name`` over ``queryset`` in the current generation (None: a query that matches
    nothing by construction, which is not worth keeping)."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return None
    digest = hashlib.sha256(f"{name}\0{sql}\0{params!r}".encode()).hexdigest()
    return f"catalog:read:{generation()}:{digest}"


def get(entry: str | None):
    """The answer kept under ``entry`` (from ``key``), or None."""
    return cache.get(entry) if entry else None


def put(entry: str | None, value) -> None:
    """Keep ``value`` under ``entry``: only an answer just counted (put again on every hit, a stale answer read
    every few minutes would never expire)."""
    if entry:
        cache.set(entry, value, TTL)


def kept(name: str, queryset: QuerySet, compute: Callable[[], T]) -> T:
    """``compute()``'s answer for ``name`` over ``queryset``, computed once per generation and scope."""
    entry = key(name, queryset)
    value = get(entry)
    if value is None:
        value = compute()
        put(entry, value)
    return value
