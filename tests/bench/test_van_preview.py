"""Benchmark: the app editor's preview across many VANs, and the rule editor's preview of a big VAN.

100 VANs x 20 clusters x 10 rules, 2,000 apps (a fifth private): time one app-tag preview (every VAN
evaluated for that app) and one rule preview (every app of one VAN), with their query counts.
Rows are bulk-inserted (the services' link PKI and git commits are not what is measured).

Run: .venv/bin/pytest tests/bench/test_van_preview.py -m bench -s
"""
from __future__ import annotations

import random
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

N_VANS, N_CLUSTERS, N_RULES, N_APPS = 100, 20, 10, 2000
REGIONS = ["eu", "us", "ap"]
TAGS = [f"t{i}" for i in range(40)]


def test_app_and_rule_previews_across_many_vans(world):
    from van import selectors
    from van.models import App, Cluster, DistributionRule, Van

    rng = random.Random(7)
    teams = [world.payments, world.search]
    vans = Van.objects.bulk_create([Van(name=f"van-{v}", owner_team=teams[v % 2], hub_host="h.example.net") for v in range(N_VANS)])
    Cluster.objects.bulk_create([
        Cluster(name=f"c-{v}-{c}", owner_team=van.owner_team, api_url=f"https://c{v}-{c}.example.net", environment=rng.choice(["dev", "prod"]),
                tags=[f"region={rng.choice(REGIONS)}"], van=van, role="hub" if c == 0 else "edge")
        for v, van in enumerate(vans) for c in range(N_CLUSTERS)
    ])
    DistributionRule.objects.bulk_create([
        DistributionRule(van=van, name=f"r{r}", order=r, app_tags=[rng.choice(TAGS)],
                         cluster_selector=f"region={rng.choice(REGIONS)}")
        for van in vans for r in range(N_RULES)
    ])
    App.objects.bulk_create([
        App(name=f"app-{a}", owner_team=teams[a % 2], visibility="private" if a % 5 == 0 else "public", namespace="ns",
            repo_url="https://git.example.net/a.git", path="deploy", tags=rng.sample(TAGS, 3))
        for a in range(N_APPS)
    ])
    app = App.objects.get(name="app-1")
    new_tags = ", ".join(TAGS[:6])

    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        preview = selectors.app_edit_preview(user=world.alice, app=app, data={"tags": new_tags})
    app_seconds = time.perf_counter() - start
    changed = sum(len(row["added"]) + len(row["removed"]) for row in preview["vans"])
    assert preview["vans"] and changed

    van = vans[0]
    data = {"name": "new", "order": "0", "app_tags": TAGS[0], "app_match": "all", "cluster_selector": "", "environments": []}
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as rule_queries:
        rule = selectors.rule_preview(user=world.alice, van=van, rule=None, data=data)
    rule_seconds = time.perf_counter() - start
    assert rule["added"]

    print(f"\nVAN preview bench: {N_VANS} VANs x {N_CLUSTERS} clusters x {N_RULES} rules, {N_APPS} apps")
    print(f"  app tag preview: {app_seconds:.3f} s, {len(queries)} queries, {len(preview['vans'])} VANs shown, "
          f"{changed} Applications added/removed ({N_VANS / app_seconds:.0f} VANs/s)")
    print(f"  rule preview (one VAN, every app): {rule_seconds:.3f} s, {len(rule_queries)} queries, "
          f"{len(rule['added'])} Applications added")
