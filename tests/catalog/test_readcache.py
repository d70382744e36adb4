"""Counts kept between requests (``catalog.readcache``): fewer queries for a repeated read, the same answers, one
scope per reader, and every write drops them."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import readcache, services
from catalog.models import Entity
from portal.models import MembershipRole
from portal.services import team_membership_remove, team_membership_set
from tests.catalog.conftest import GitRepo, component_yaml

pytestmark = pytest.mark.django_db

BY_QUERY = "/api/catalog/entities/by-query?filter=kind=component&limit=1"
FULL_TEXT = "/api/catalog/entities/by-query?fullTextFilterTerm=the&limit=1"
FACETS = "/api/catalog/entity-facets?facet=kind&facet=metadata.tags&facet=spec.lifecycle"


def client_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def total(user, url=BY_QUERY) -> int:
    return client_for(user).get(url).json()["totalItems"]


def kinds(user) -> dict[str, int]:
    return {row["value"]: row["count"] for row in client_for(user).get(FACETS).json()["facets"]["kind"]}


@pytest.mark.parametrize("url", [BY_QUERY, FULL_TEXT, FACETS, "/api/entities/?kind=Component", "/catalog/"])
def test_a_repeated_read_finds_its_counts_kept_and_answers_the_same(world, catalog, client, url):
    client.force_login(world.alice)
    client.get(url)
    readcache.changed()
    with CaptureQueriesContext(connection) as cold:
        first = client.get(url)
    with CaptureQueriesContext(connection) as warm:
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert _stable(first.content) == _stable(second.content)

    def counts(queries):
        return [q["sql"] for q in queries.captured_queries
                if 'FROM "catalog_entity"' in q["sql"] and ("COUNT(" in q["sql"].upper() or "DISTINCT" in q["sql"])]

    assert counts(cold) and not counts(warm)  # totals, facets and dropdowns: none counted again
    assert len(warm.captured_queries) <= len(cold.captured_queries)


def _stable(content: bytes) -> bytes:
    """A page without its per-request tokens (CSRF, the CSP nonce): long runs of letters and digits."""
    import re

    return re.sub(rb"[A-Za-z0-9+/_-]{24,}", b"", content)


def test_each_reader_counts_in_his_own_scope(world, catalog):
    checkout = Entity.objects.get(name="checkout")
    services.entity_settings_update(actor=world.alice, obj=checkout, visibility="private")
    seen_by_alice, seen_by_bob = total(world.alice), total(world.bob)
    assert seen_by_alice == seen_by_bob + 1  # the same query, kept for alice first: bob's count is his own
    assert kinds(world.alice)["Component"] == kinds(world.bob)["Component"] + 1
    assert total(world.bob) == seen_by_bob and total(world.alice) == seen_by_alice  # now both kept
    # A membership changes the reader's scope: the count follows at once, in and out.
    team_membership_set(actor=world.admin, team=world.payments, user=world.bob, role=MembershipRole.MEMBER)
    assert total(world.bob) == seen_by_alice
    team_membership_remove(actor=world.admin, team=world.payments, user=world.bob)
    assert total(world.bob) == seen_by_bob
    assert kinds(world.bob)["Component"] == kinds(world.alice)["Component"] - 1


def test_every_write_to_the_catalog_drops_the_kept_counts(world, catalog, tmp_path):
    before = total(world.bob)
    checkout = Entity.objects.get(name="checkout")
    services.entity_settings_update(actor=world.alice, obj=checkout, visibility="private")
    assert total(world.bob) == before - 1
    services.entity_settings_update(actor=world.alice, obj=checkout, visibility="public")
    assert total(world.bob) == before

    repo = GitRepo(tmp_path / "more")
    repo.write({f"c{i}.yaml": component_yaml(f"more-{i}", "payments") for i in range(3)})
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    assert total(world.bob) == before + 3
    repo.write({"c3.yaml": component_yaml("more-3", "payments")})
    repo.commit()
    services.location_refresh(actor=None, location_id=location.pk)
    assert total(world.bob) == before + 4

    services.entity_delete(actor=world.admin, obj=Entity.objects.get(name="more-0"))
    assert total(world.bob) == before + 3
    services.location_delete(actor=world.admin, location=location)
    assert total(world.bob) == before


def test_an_unchanged_refresh_keeps_the_counts(world, catalog):
    total(world.bob)
    kept = readcache.generation()
    services.location_refresh(actor=None, location_id=catalog.pk)
    assert readcache.generation() == kept
    with CaptureQueriesContext(connection) as warm:
        total(world.bob)
    assert not [q for q in warm.captured_queries if "COUNT(" in q["sql"].upper()]


def test_the_generation_changes_again_when_the_write_commits(django_capture_on_commit_callbacks):
    """A reader elsewhere may count between the write and its commit, over rows not yet committed: what it kept
    is under a generation that nobody asks for once the write commits."""
    with django_capture_on_commit_callbacks(execute=True):
        readcache.changed()
        during = readcache.generation()
    assert readcache.generation() != during


@pytest.mark.parametrize("order_by", [["name", "ref"], ["-name", "ref"], ["-kind", "-ref"]])
def test_a_page_read_with_its_total_kept_has_the_same_rows_in_the_same_order(world, catalog, order_by):
    from catalog import selectors

    queryset = selectors.entity_list(user=world.alice)  # read as a search would be (filtered)
    readcache.changed()
    cold = selectors.entity_page(queryset, order_by=order_by, offset=0, limit=50, fields=("ref",), filtered=True)
    warm = selectors.entity_page(queryset, order_by=order_by, offset=0, limit=50, fields=("ref",), filtered=True)
    assert len(cold.rows) > 3 and cold.total == warm.total == len(cold.rows)  # the page holds every match
    assert cold.rows == warm.rows
    second = selectors.entity_page(queryset, order_by=order_by, offset=2, limit=2, fields=("ref",), filtered=True)
    assert second.rows == cold.rows[2:4]


def test_a_full_text_filter_on_the_name_can_use_the_trigram_index(world, catalog):
    """Migration 0010's index is on the very expression Django writes for ``name__icontains``: otherwise
    PostgreSQL reads the whole table for ``fullTextFilterFields=metadata.name`` (100,000 entities: 76 -> 37 ms)."""
    from catalog.api.backstage import _full_text

    if connection.vendor != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's; SQLite scans")
    queryset = _full_text(Entity.objects.all(), "check", ["metadata.name"])
    assert list(queryset.values_list("name", flat=True)) == ["checkout"]
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small: make the planner show what it can use
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_entity_name_trgm" in plan, plan


def test_a_kept_total_expires_after_the_ttl_however_often_it_is_read(world, catalog, monkeypatch):
    """The expiry bounds a write that bypasses ``changed`` (here a queryset ``update``): a total is kept from when it
    was counted, not from when it was last read (putting it back on every hit kept a stale total for ever)."""
    import time

    monkeypatch.setattr(readcache, "TTL", 2)
    before = total(world.bob)
    counted = time.monotonic()
    Entity.objects.filter(name="checkout").update(visibility="private")  # no signal, no service: not announced
    time.sleep(1.2)
    assert total(world.bob) == before  # kept, and read again within the TTL
    time.sleep(max(0.0, counted + 2.5 - time.monotonic()))
    assert total(world.bob) == before - 1  # counted again: the TTL since it was counted has passed


def test_readers_entries_live_apart_from_throttle_histories_and_unknown_facets_make_none(world, catalog):
    """Any reader makes entries, one per distinct query: in the throttle histories' cache, culling past its
    MAX_ENTRIES would push those out. A facet nothing counts is answered without an entry."""
    from django.core.cache import cache, caches
    from django.core.cache.backends.filebased import FileBasedCache

    junk = "&".join(f"facet=junk{i}" for i in range(20))
    if not isinstance(caches["catalog"], FileBasedCache):  # Redis: a key prefix of its own, and no culling
        assert caches["catalog"].key_prefix == "catalog" and cache.key_prefix != "catalog"
        assert client_for(world.bob).get(f"/api/catalog/entity-facets?{junk}").json()["facets"]["junk3"] == []
        return
    assert caches["catalog"]._dir != cache._dir
    kept_before = len(caches["catalog"]._list_cache_files())
    throttle_before = len(cache._list_cache_files())
    assert client_for(world.bob).get(f"/api/catalog/entity-facets?{junk}").json()["facets"]["junk3"] == []
    assert len(caches["catalog"]._list_cache_files()) - kept_before <= 1  # the generation at most
    total(world.bob)
    assert len(caches["catalog"]._list_cache_files()) > kept_before
    assert len(cache._list_cache_files()) - throttle_before <= 2  # the throttle's own entries, no counts
