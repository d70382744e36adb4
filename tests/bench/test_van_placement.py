"""Benchmark: 500 apps x 2,000 clusters x 100 rules -> placement + every manifest + the ChangeSet (target <= 2 s).

Run: .venv/bin/pytest tests/bench/test_van_placement.py -m bench -s
"""
from __future__ import annotations

import random
import time

import pytest

from portal.sealing import Sealer
from van.labels import selector_parse, tags_parse
from van.rendering import AppSpec, ClusterSpec, Credentials, RuleSpec, VanSpec, appset_plans, placement_compute, van_render
from van.rendering.pki import link_ca_issue, link_client_issue

pytestmark = pytest.mark.bench

N_APPS, N_CLUSTERS, N_RULES = 500, 2000, 100
REGIONS = ["eu", "us", "ap", "sa", "af"]
TIERS = ["gold", "silver", "bronze"]
ENVS = ["dev", "qa", "staging", "prod"]
TEAMS = [f"team{i}" for i in range(50)]


def build_van(cert_pem: str) -> VanSpec:
    rng = random.Random(42)
    ca = link_ca_issue(van_name="bench")
    link_cert, link_key = link_client_issue(ca=ca, edge_name="bench-edge")  # one pair reused: issuing is not what we measure

    def cluster(i):
        tags = [f"region={rng.choice(REGIONS)}", f"tier={rng.choice(TIERS)}"] + (["gpu"] if rng.random() < 0.1 else [])
        return ClusterSpec(name=f"c{i:04d}", environment=rng.choice(ENVS), api_url=f"https://c{i}.example.net:6443",
                           tags=tuple(tags_parse(tags)), credentials=Credentials(bearer_token=f"token-{i}"), sealing_cert_pem=cert_pem,
                           link_cert_pem=link_cert, link_key_pem=link_key)

    hub = ClusterSpec(name="hub", environment="prod", api_url="https://hub", tags=(), sealing_cert_pem=cert_pem)
    edges = tuple(cluster(i) for i in range(N_CLUSTERS - 1))
    apps = tuple(
        AppSpec(name=f"app-{i:03d}", namespace="apps", source_kind="kustomize", repo_url="https://git.example.net/a.git", path=f"apps/{i}",
                image=f"registry.example.net/app-{i}", version="1.0.0",
                tags=tuple(tags_parse([rng.choice(TEAMS), f"tier={rng.choice(TIERS)}"])))
        for i in range(N_APPS)
    )
    selectors = ["region={r}", "region in ({r},{r2})", "tier={t}, !gpu", "gpu", "region!={r}, tier in ({t},gold)"]
    rules = tuple(
        RuleSpec(name=f"rule-{i:03d}", app_tags=tuple(tags_parse(rng.choice(TEAMS))), order=i,
                 cluster_selector=selector_parse(rng.choice(selectors).format(r=rng.choice(REGIONS), r2=rng.choice(REGIONS), t=rng.choice(TIERS))),
                 environments=tuple(rng.sample(ENVS, rng.randint(0, 2))))
        for i in range(N_RULES)
    )
    return VanSpec(name="bench", hub=hub, edges=edges, apps=apps, rules=rules, repo_url="https://git.example.net/gitops.git",
                   hub_host="hub.example.net", link_ca=ca)


@pytest.fixture(scope="module")
def bench_van():
    from tests.van.conftest import controller_key_pair

    return build_van(controller_key_pair("bench")[1])


def test_placement_render_and_changeset(bench_van, db, settings, tmp_path):
    from portal.gitops.services import gitops_repo_init, propose_change, with_generated_header

    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    gitops_repo_init(actor=None)  # the repository exists in steady state; creating it (git init) is not part of an edit
    sealer = Sealer()
    started = time.perf_counter()
    files = van_render(bench_van, sealer=sealer)
    cold = time.perf_counter() - started

    # Steady state: sealed values come from the cache (as they do from the database between edits).
    timings = {}
    t0 = time.perf_counter()
    placement = placement_compute(bench_van)
    timings["placement"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    files = van_render(bench_van, sealer=sealer)
    timings["render"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with_headers = {path: with_generated_header(path, text) for path, text in files.items()}
    changeset = propose_change(owner=None, actor=None, repo=None, files_to_write=with_headers, message="bench", environment="dev")
    timings["changeset"] = time.perf_counter() - t0
    total = sum(timings.values())
    pairs = len(placement.pairs())
    plans = len(appset_plans(bench_van))
    print(f"\nVAN bench: {N_APPS} apps x {N_CLUSTERS} clusters x {N_RULES} rules -> {pairs} placements, "
          f"{plans} ApplicationSets, {len(files)} files, {sealer.sealed_count} sealed values")
    print(f"  cold render (sealing every value): {cold:.2f} s")
    print("  steady state: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()) + f"; total {total:.2f} s "
          f"({len(files) / total:.0f} files/s, {pairs / total:.0f} placements/s)")
    assert changeset.files.count() == len(files)
    assert total <= 2.0, f"placement + render + ChangeSet took {total:.2f} s (> 2 s)"

    # The common edit: one rule's selector changes; only the files that differ go into the ChangeSet.
    from dataclasses import replace

    edited_rule = replace(bench_van.rules[0], cluster_selector=selector_parse("region=eu, tier=gold"))
    edited = replace(bench_van, rules=(edited_rule,) + bench_van.rules[1:])
    t0 = time.perf_counter()
    placement_compute(edited)
    after = {path: with_generated_header(path, text) for path, text in van_render(edited, sealer=sealer).items()}
    changed = {p: t for p, t in after.items() if with_headers.get(p) != t}
    removed = sorted(set(with_headers) - set(after))
    propose_change(owner=None, actor=None, repo=None, files_to_write=changed, files_to_delete=removed, message="edit", environment="dev")
    incremental = time.perf_counter() - t0
    print(f"  one rule edited: {len(changed)} files written, {len(removed)} deleted; placement + render + diff + ChangeSet {incremental:.2f} s")
    assert incremental <= 2.0
