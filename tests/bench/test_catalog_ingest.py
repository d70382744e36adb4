"""Catalog benchmarks: ingest 10,000 entities from one git location, then read them back.

Run: .venv/bin/pytest tests/bench/test_catalog_ingest.py -m bench -s
Targets (issue 4): ingest <= 5 s, unchanged re-run <= 1 s; list page, by-query API and search
< 50 ms server time with a constant number of queries.

Wall-clock and CPU time (this process, plus git subprocesses) are printed; the assertions use wall
time, as the issue states the limits: on PostgreSQL most of the work is the server's, which the CPU
figure of this process does not see. On a machine loaded by other jobs, re-run (and note the load).
Run against PostgreSQL with DATABASE_URL=postgres://.../<your database> (-p no:randomly).
"""
from __future__ import annotations

import os
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.catalog.conftest import GitRepo

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

ENTITIES = 10_000
PER_FILE = 10
TEAMS = 20


def _documents(n_files: int) -> dict[str, str]:
    files: dict[str, str] = {}
    org = []
    for t in range(TEAMS):
        org.append(f"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-{t}\nspec:\n  type: team\n  children: []\n")
    files["org.yaml"] = "---\n".join(org)
    count = TEAMS
    index = 0
    while count < ENTITIES:
        docs = []
        for _ in range(PER_FILE):
            if count >= ENTITIES:
                break
            i = count
            team = f"team-{i % TEAMS}"
            if i % 10 == 0:
                docs.append(
                    f"apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-{i}\n  description: API number {i}\n"
                    f"  tags: [rest, t{i % 50}]\nspec:\n  type: openapi\n  lifecycle: production\n  owner: {team}\n"
                    f"  system: system-{i % 100}\n  definition: |\n    openapi: 3.0.0\n    info: {{title: api {i}, version: '1'}}\n"
                )
            else:
                docs.append(
                    f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: service-{i}\n"
                    f"  title: Service {i}\n  description: Handles part {i} of the shop\n  tags: [python, t{i % 50}]\n"
                    f"  annotations:\n    github.com/project-slug: acme/service-{i}\nspec:\n  type: service\n"
                    f"  lifecycle: {'production' if i % 3 else 'experimental'}\n  owner: {team}\n  system: system-{i % 100}\n"
                    f"  providesApis: [api-{i - i % 10}]\n  dependsOn: [resource:db-{i % 30}]\n"
                )
            count += 1
        files[f"services/s{index:04d}.yaml"] = "---\n".join(docs)
        index += 1
    return files


@pytest.fixture
def big_location(tmp_path):
    from catalog import services

    repo = GitRepo(tmp_path / "bench-catalog")
    repo.write(_documents(ENTITIES // PER_FILE))
    repo.commit("10k entities")
    location = services.location_register(actor=None, type="git", target=repo.url, path="**/*.yaml", refresh=False)
    return repo, location


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@pytest.mark.django_db(transaction=True)  # the refresh commits for real: constraint checks run at COMMIT
def test_ingest_10k_entities(big_location):
    from catalog import services
    from catalog.models import Entity, Relation

    repo, location = big_location
    wall, cpu = time.perf_counter(), _cpu()
    with CaptureQueriesContext(connection) as first_queries:
        report = services.location_refresh(actor=None, location_id=location.pk)
    first_wall, first_cpu = time.perf_counter() - wall, _cpu() - cpu
    assert report.errors == 0, report.error_list[:5]
    assert Entity.objects.count() == ENTITIES
    relations = Relation.objects.count()
    wall, cpu = time.perf_counter(), _cpu()
    with CaptureQueriesContext(connection) as second_queries:
        again = services.location_refresh(actor=None, location_id=location.pk)
    second_wall, second_cpu = time.perf_counter() - wall, _cpu() - cpu
    assert again.unchanged == ENTITIES and again.added == again.updated == 0
    print(f"\n[bench catalog] {connection.vendor}: ingest {ENTITIES} entities ({relations} relation rows): "
          f"{first_wall:.2f} s wall, {first_cpu:.2f} s CPU = {ENTITIES / first_cpu:,.0f} entities/CPU-s, "
          f"{len(first_queries.captured_queries)} queries; unchanged re-run {second_wall:.2f} s wall, "
          f"{second_cpu:.2f} s CPU, {len(second_queries.captured_queries)} queries")
    assert first_wall <= 5.0
    assert second_wall <= 1.0


def _timed(client, url, params, runs=15):
    assert client.get(url, params).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    count = len(queries.captured_queries)  # now: the next request resets the query log
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        client.get(url, params)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), count


def test_reads_with_10k_entities(big_location, client, django_user_model):
    from catalog import services
    from tests.factories import make_team, make_user

    repo, location = big_location
    services.location_refresh(actor=None, location_id=location.pk)
    user = make_user("reader")
    make_team("readers-team", members=[user])
    client.force_login(user)
    cases = [
        ("list page", "/catalog/", {}),
        ("list page filtered", "/catalog/", {"kind": "Component", "lifecycle": "production", "tag": "t7"}),
        ("list page htmx page 40", "/catalog/", {"page": 40, "sort": "owner"}),
        ("search page", "/catalog/", {"q": "part 77"}),
        ("by-query", "/api/catalog/entities/by-query", {"filter": "kind=component,spec.type=service", "limit": 20}),
        ("by-query 100", "/api/catalog/entities/by-query", {"filter": "kind=component", "limit": 100}),
        ("by-query full text", "/api/catalog/entities/by-query", {"fullTextFilterTerm": "service 123"}),
        ("entities API search", "/api/entities/", {"q": "shop part 9"}),
    ]
    print()
    slow = []
    for name, url, params in cases:
        wall, cpu, queries = _timed(client, url, params)
        print(f"[bench catalog] {connection.vendor}: {name}: {wall:.1f} ms wall, {cpu:.1f} ms CPU (medians), {queries} queries")
        if wall >= 50:
            slow.append(f"{name}: {wall:.1f} ms")
    assert not slow, slow  # after every case has been measured and printed
