"""Catalog benchmarks: ingest 10,000 and 100,000 entities from one git location (and 100 locations of 1,000),
refresh it unchanged and with one file changed, then read them back.

Run: .venv/bin/pytest tests/bench/test_catalog_ingest.py -m bench -s -p no:randomly
     (one size: -k 10k or -k 100k; the 100,000-entity run takes a few minutes, most of it writing the git repo)
Targets (issue 17): 100,000 entities: ingest <= 20 s to a fully related catalog, peak memory <= 1 GB, unchanged
refresh <= 2 s, one changed file <= 1 s; 10,000: ingest <= 2 s, unchanged refresh <= 0.3 s; at both sizes the
list page, by-query with a filter, full-text search, facets and by-refs of 100 refs < 50 ms with a constant number
of queries.

Wall-clock and CPU time (this process, plus git subprocesses and forked parsers) are printed; the assertions use
wall time, as the issue states the limits: on PostgreSQL most of the work is the server's, which the CPU figure of
this process does not see. Peak memory is the largest resident set of this process and of any child (forked
parsers, git) since the process started: run one size per process (-k) for a clean figure. On a machine loaded by
other jobs, re-run (and note the load). Run against PostgreSQL with DATABASE_URL=postgres://.../<your database>.
"""
from __future__ import annotations

import os
import resource
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.catalog.conftest import GitRepo

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SIZES = [int(n) for n in os.environ.get("WAYLINE_BENCH_SIZES", "10000,100000").split(",")]
PER_FILE = 10
TEAMS = 20
# size -> (ingest, unchanged refresh, one changed file) limits in seconds
LIMITS = {10_000: (2.0, 0.3, 1.0), 100_000: (20.0, 2.0, 1.0)}
MEMORY_LIMIT_MB = 1024


def _documents(entities: int, *, prefix: str = "", org: bool = True) -> dict[str, str]:
    files: dict[str, str] = {}
    if org:
        files["org.yaml"] = "---\n".join(
            f"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-{t}\nspec:\n  type: team\n  children: []\n"
            for t in range(TEAMS))
    count = TEAMS if org else 0
    index = 0
    while count < entities:
        docs = []
        for _ in range(PER_FILE):
            if count >= entities:
                break
            i = count
            team = f"team-{i % TEAMS}"
            name = f"{prefix}{i}"
            if i % 10 == 0:
                docs.append(
                    f"apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-{name}\n  description: API number {i}\n"
                    f"  tags: [rest, t{i % 50}]\nspec:\n  type: openapi\n  lifecycle: production\n  owner: {team}\n"
                    f"  system: system-{i % 100}\n  definition: |\n    openapi: 3.0.0\n    info: {{title: api {i}, version: '1'}}\n"
                )
            else:
                docs.append(
                    f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: service-{name}\n"
                    f"  title: Service {i}\n  description: Handles part {i} of the shop\n  tags: [python, t{i % 50}]\n"
                    f"  annotations:\n    github.com/project-slug: acme/service-{name}\nspec:\n  type: service\n"
                    f"  lifecycle: {'production' if i % 3 else 'experimental'}\n  owner: {team}\n  system: system-{i % 100}\n"
                    f"  providesApis: [api-{prefix}{i - i % 10}]\n  dependsOn: [resource:db-{i % 30}]\n"
                )
            count += 1
        files[f"services/{index // 1000:03d}/s{index:05d}.yaml"] = "---\n".join(docs)
        index += 1
    return files


@pytest.fixture(params=SIZES, ids=lambda n: f"{n // 1000}k")
def size(request) -> int:
    return request.param


@pytest.fixture
def big_location(tmp_path, size):
    from catalog import services

    repo = GitRepo(tmp_path / "bench-catalog")
    repo.write(_documents(size))
    repo.commit(f"{size} entities")
    location = services.location_register(actor=None, type="git", target=repo.url, path="**/*.yaml", refresh=False)
    return repo, location


def _peak_mb() -> float:
    """The largest resident set so far of this process and of any waited-for child, in MB (Linux: ru_maxrss in KB)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@pytest.mark.django_db(transaction=True)  # the refresh commits for real: constraint checks run at COMMIT
def test_ingest(big_location, size):
    from catalog import services
    from catalog.models import Entity, Relation

    repo, location = big_location
    ingest_limit, unchanged_limit, one_file_limit = LIMITS.get(size, LIMITS[100_000])
    wall, cpu = time.perf_counter(), _cpu()
    with CaptureQueriesContext(connection) as first_queries:
        report = services.location_refresh(actor=None, location_id=location.pk)
    first_wall, first_cpu = time.perf_counter() - wall, _cpu() - cpu
    peak = _peak_mb()
    assert report.errors == 0, report.error_list[:5]
    assert Entity.objects.count() == size
    relations = Relation.objects.count()
    wall, cpu = time.perf_counter(), _cpu()
    with CaptureQueriesContext(connection) as second_queries:
        again = services.location_refresh(actor=None, location_id=location.pk)
    second_wall, second_cpu = time.perf_counter() - wall, _cpu() - cpu
    assert again.unchanged == size and again.added == again.updated == 0

    # One changed file: only it is parsed, validated and written; the change is visible when the refresh returns.
    index = (51 - TEAMS) // PER_FILE  # the file that holds service-51
    changed = f"services/{index // 1000:03d}/s{index:05d}.yaml"
    text = (repo.path / changed).read_text()
    repo.write({changed: text.replace("Handles part 51 of the shop", "Handles part 51, changed")})
    repo.commit("one file")
    wall = time.perf_counter()
    one = services.location_refresh(actor=None, location_id=location.pk)
    one_wall = time.perf_counter() - wall
    assert one.updated == 1 and one.unchanged == size - 1, one.as_dict()
    assert Entity.objects.get(name="service-51").data["metadata"]["description"] == "Handles part 51, changed"
    print(f"\n[bench catalog] {connection.vendor} {size:,}: ingest ({relations:,} relation rows): "
          f"{first_wall:.2f} s wall, {first_cpu:.2f} s CPU, {len(first_queries.captured_queries)} queries, "
          f"peak memory {peak:.0f} MB; unchanged refresh {second_wall:.2f} s wall, {second_cpu:.2f} s CPU, "
          f"{len(second_queries.captured_queries)} queries; one changed file {one_wall:.2f} s wall")
    missed = [f"{name} {value:.2f} > {limit}" for name, value, limit in (
        ("ingest s", first_wall, ingest_limit), ("unchanged s", second_wall, unchanged_limit),
        ("one file s", one_wall, one_file_limit), ("peak MB", peak, MEMORY_LIMIT_MB)) if value > limit]
    assert not missed, missed


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(100_000 not in SIZES, reason="WAYLINE_BENCH_SIZES leaves out 100,000")
def test_ingest_100_locations_of_1000(tmp_path):
    from catalog import services
    from catalog.models import Entity

    locations = []
    for n in range(100):
        repo = GitRepo(tmp_path / f"repo-{n}")
        repo.write(_documents(1000, prefix=f"l{n}-", org=n == 0))
        repo.commit("1,000 entities")
        locations.append(services.location_register(actor=None, type="git", target=repo.url, path="**/*.yaml",
                                                     refresh=False))
    wall = time.perf_counter()
    for location in locations:
        assert services.location_refresh(actor=None, location_id=location.pk).errors == 0
    ingest = time.perf_counter() - wall
    assert Entity.objects.count() == 100 * 1000
    wall = time.perf_counter()
    for location in locations:
        services.location_refresh(actor=None, location_id=location.pk)
    unchanged = time.perf_counter() - wall
    print(f"\n[bench catalog] {connection.vendor}: 100 locations x 1,000 entities: ingest {ingest:.2f} s, "
          f"unchanged refresh of all {unchanged:.2f} s, peak memory {_peak_mb():.0f} MB")
    assert ingest <= 20.0 and unchanged <= 2.0 * 10  # 100 refreshes, each a git fetch of its own repository


def _timed(client, url, params, runs=15, method="get"):
    def call():
        if method == "post":
            return client.post(url, params, content_type="application/json")
        return client.get(url, params)

    from catalog import readcache

    assert call().status_code == 200
    readcache.changed()  # the first read after a write counts: its queries are the bound, its time printed
    with CaptureQueriesContext(connection) as queries:
        wall = time.perf_counter()
        assert call().status_code == 200
        cold = (time.perf_counter() - wall) * 1000
    count = len(queries.captured_queries)  # now: the next request resets the query log
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), count, cold


def test_reads(big_location, size, client, django_user_model):
    from catalog import services
    from tests.factories import make_team, make_user

    repo, location = big_location
    services.location_refresh(actor=None, location_id=location.pk)
    user = make_user("reader")
    make_team("readers-team", members=[user])
    client.force_login(user)
    refs = [f"component:default/service-{i}" for i in range(TEAMS + 1, size, size // 100)][:100]
    post = {"by-refs 100": ("/api/catalog/entities/by-refs", {"entityRefs": refs, "fields": ["metadata.name"]}),
            "by-query predicate": ("/api/catalog/entities/by-query",
                                   {"query": {"$all": [{"kind": "component"}, {"spec.lifecycle": {"$in": ["experimental"]}},
                                                       {"metadata.tags": "t7"}]}, "limit": 20}),
            "facets predicate": ("/api/catalog/entity-facets", {"facets": ["spec.lifecycle"], "query": {"kind": "api"}})}
    cases = [
        ("list page", "/catalog/", {}),
        ("list page filtered", "/catalog/", {"kind": "Component", "lifecycle": "production", "tag": "t7"}),
        ("list page htmx page 40", "/catalog/", {"page": 40, "sort": "owner"}),
        ("search page", "/catalog/", {"q": "part 77"}),
        ("by-query", "/api/catalog/entities/by-query", {"filter": "kind=component,spec.type=service", "limit": 20}),
        ("by-query 100", "/api/catalog/entities/by-query", {"filter": "kind=component", "limit": 100}),
        ("by-query full text", "/api/catalog/entities/by-query", {"fullTextFilterTerm": "service 123"}),
        ("by-query full text on name", "/api/catalog/entities/by-query",
         {"fullTextFilterTerm": "service-1234", "fullTextFilterFields": "metadata.name"}),
        ("facets", "/api/catalog/entity-facets", {"facet": ["kind", "spec.lifecycle"]}),
        ("entities API search", "/api/entities/", {"q": "shop part 9"}),
        *[(name, url, body) for name, (url, body) in post.items()],
    ]
    print()
    slow = []
    for name, url, params in cases:
        wall, cpu, queries, cold = _timed(client, url, params, method="post" if name in post else "get")
        print(f"[bench catalog] {connection.vendor} {size:,}: {name}: {wall:.1f} ms wall, {cpu:.1f} ms CPU (medians), "
              f"{queries} queries; first read after a write (counts not kept) {cold:.1f} ms")
        if wall >= 50:
            slow.append(f"{name}: {wall:.1f} ms")
    assert not slow, slow  # after every case has been measured and printed
