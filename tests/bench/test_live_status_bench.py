"""Benchmark: live status from one hub, through the real ``kubernetes`` client over HTTPS (``FakeKubeAPI``).

Targets (from the issue):
- initial sync of 10,000 Applications from one hub stored in <= 10 s;
- 1,000 watch events a minute sustained, every page reflecting each event within 5 s;
- the watcher's memory flat over the events (reported here over 1,000 paced events and a 1,000-event burst, not
  over 30 minutes, and not asserted: a few minutes cannot show a slow leak, only a fast one).

What is measured:
1. 10,000 Applications (100 apps x 100 clusters) are put into the fake hub; a ``HubWatcher`` thread is started
   and the clock runs until all 10,000 ``AppStatus`` rows are in the database (connect + paged list + ``store_all``).
   The apps and clusters exist (bulk-inserted) and a rule places every app on every cluster, so every row maps to
   its app and cluster and shows on pages. One event's ``store_one`` and a VAN page's ``live_rows`` are timed too.
2. With the watcher running, 1,000 MODIFIED events are put over 60 s (one every 60 ms), each on a different
   Application and each changing its health (the write path that also records history). Per event: the time from
   just before ``put()`` until ``live_rows`` -- what every status page reads -- shows the new health at that
   event's resourceVersion. The pages themselves re-fetch every 5 s (htmx), which comes on top of this.
3. Memory: RSS (every 10 s) and the interpreter's allocated blocks over the paced minute; then a 1,000-event burst,
   250 at a time, each lot as soon as the last is stored: the events a minute the watcher can take at most, and RSS
   and allocated blocks again. Every figure is printed before any target is checked, so one run reports them all.

Run: .venv/bin/python -m pytest tests/bench/test_live_status_bench.py -m bench -s -p no:cacheprovider -o addopts=""
(LIVE_STATUS_PROFILE=1 also prints where a 10,000-row VAN page's time goes, from a second read under cProfile.)
"""
from __future__ import annotations

import cProfile
import gc
import io
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import threading
import time

import pytest
from django.db import connection
from django.db.models import Q

from tests.kube.apiserver import FakeKubeAPI
from tests.polling import wait_for
from tests.van.argocd_objects import application
from tests.van.conftest import edge_keys, gitops, hub_keys, svc, van_world  # noqa: F401 - fixtures used below
from tests.van.test_hub_watcher import TOKEN, kubeconfig
from van.models import App, AppStatus, Cluster, DistributionRule
from van.status import applications
from van.status.selectors import VAN_PANEL_ROWS, health_counts, live_rows
from van.status.watcher import HubWatcher

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

N_APPS, N_CLUSTERS = 100, 100  # 10,000 Applications
INITIAL_TARGET_S = 10.0
EVENTS, EVENT_PERIOD_S = 1000, 0.060  # 1,000 events over 60 s
LATENCY_TARGET_S = 5.0
BURST = 1000
HEALTHS = ("Progressing", "Degraded", "Healthy")


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@pytest.fixture
def hub_api():
    # history bounds what the fake server keeps of past events (1,000 to 2,064): its own memory goes up and down
    # about a level, so the process's RSS over the events is mostly the watcher's. The watcher is never that far
    # behind (the bursts below come in chunks of 250), so a resumed watch does not meet 410.
    api = FakeKubeAPI(tokens=(TOKEN,), bookmark_seconds=1.0, history=1000).start()
    yield api
    api.stop()


class TimedWatcher(HubWatcher):
    """The real watcher, noting when its first list started and ended."""

    list_started = list_ended = None

    def _relist(self, api, van):
        if self.list_started is None:
            self.list_started = time.perf_counter()
        version = super()._relist(api, van)
        if self.list_ended is None:
            self.list_ended = time.perf_counter()
        return version


def test_live_status_sync_at_ten_thousand_applications(van_world, svc, hub_api, monkeypatch):  # noqa: F811
    world, van, hub, _eu, _us, _app = van_world
    admin = world.admin
    svc.cluster_update(actor=admin, obj=hub, api_url=hub_api.url, credentials_kind="kubeconfig",
                       credentials=kubeconfig(hub_api.url, hub_api.ca_data, TOKEN))
    # The VAN places every app on every cluster (an Application maps to an app only where its VAN places it), so all
    # 10,000 rows are mapped and on pages. Rows are bulk-inserted: the services' PKI and commits are not measured.
    app_names = [f"app-{a:03d}" for a in range(N_APPS)]
    App.objects.bulk_create([
        App(name=name, owner_team=world.payments, namespace=name, repo_url="https://git.example.net/apps.git", path=f"apps/{name}",
            image=f"registry.example.net/{name}", version="1.0.0", tags=["bench"])
        for name in app_names
    ])
    cluster_names = [f"c{c:03d}" for c in range(N_CLUSTERS)]
    Cluster.objects.bulk_create([
        Cluster(name=name, owner_team=world.payments, api_url=f"https://{name}.example.net:6443", environment="dev", tags=[],
                van=van, role="edge")
        for name in cluster_names
    ])
    DistributionRule.objects.create(van=van, name="bench-everywhere", order=0, app_tags=["bench"], cluster_selector="")
    objects = {}
    for cluster in cluster_names:
        for name in app_names:
            obj = application(van.name, name, cluster, health="Healthy", image=f"registry.example.net/{name}:1.0.0")
            objects[obj["metadata"]["name"]] = obj
    t0 = time.perf_counter()
    for obj in objects.values():
        hub_api.put(obj)
    put_seconds = time.perf_counter() - t0
    names = list(objects)  # distinct Applications, each modified at most once per phase below
    db = connection.settings_dict
    print(f"\n[bench live-status] machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{connection.vendor} {sqlite3.sqlite_version if connection.vendor == 'sqlite' else ''} "
          f"({db['TEST'].get('NAME') or db['NAME']}), load average {os.getloadavg()[0]:.1f}, "
          "kubernetes client via HTTPS to FakeKubeAPI on 127.0.0.1")
    print(f"[bench live-status] {len(objects)} Applications put into the fake hub in {put_seconds:.1f} s (setup, not timed)")

    # --- 1. initial list + store ----------------------------------------------------------------------------
    store_seconds = []
    real_store_all = applications.store_all

    def timed_store_all(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real_store_all(*args, **kwargs)
        finally:
            store_seconds.append(time.perf_counter() - started)

    monkeypatch.setattr(applications, "store_all", timed_store_all)
    watcher = TimedWatcher(van.pk, watch_seconds=30)
    thread = threading.Thread(target=watcher.run, name="bench-hub-watcher", daemon=True)
    started = time.perf_counter()
    thread.start()
    try:
        wait_for(lambda: AppStatus.objects.filter(van=van).count() == len(objects), timeout=120, interval=0.05)
        initial = time.perf_counter() - started
        wait_for(lambda: watcher.list_ended is not None, timeout=10, interval=0.01)  # rows are visible just before _relist returns
        list_http = (watcher.list_ended - watcher.list_started) - store_seconds[0]
        print(f"[bench live-status] initial sync: {len(objects)} Applications stored in {initial:.2f} s "
              f"(target <= {INITIAL_TARGET_S:.0f} s): connect {watcher.list_started - started:.2f} s, "
              f"list over HTTPS ({len(objects) // watcher.page_size} pages) {list_http:.2f} s, store_all {store_seconds[0]:.2f} s")
        missed = []  # targets not met, asserted once every figure is printed
        if initial > INITIAL_TARGET_S:
            missed.append(f"initial sync took {initial:.2f} s (> {INITIAL_TARGET_S:.0f} s)")
        mapped = AppStatus.objects.filter(van=van, app__isnull=False, cluster__isnull=False).count()
        assert mapped == len(objects), f"only {mapped} rows mapped to their app and cluster"

        # What one event costs the watcher, measured here on an Application the events below leave alone.
        spare = objects[names[-1]]
        costs = []
        for health in ("Progressing", "Healthy", "Progressing"):
            fields = applications.parse({**spare, "status": {**spare["status"], "health": {"status": health}}})
            t0 = time.perf_counter()
            applications.store_one(van, fields)
            costs.append(time.perf_counter() - t0)
        placed = ""
        if hasattr(applications, "placed_pairs"):
            t0 = time.perf_counter()
            pairs = applications.placed_pairs(van)
            placed = f", of which placed_pairs {(time.perf_counter() - t0) * 1000:.0f} ms ({len(pairs)} placements)"
        print(f"[bench live-status] store_one (one event, health changed): {statistics.median(costs) * 1000:.0f} ms median of 3"
              f"{placed}; the paced events leave {EVENT_PERIOD_S * 1000:.0f} ms each")

        t0 = time.perf_counter()
        van_panel = live_rows(user=admin, van=van, limit=VAN_PANEL_ROWS)
        counts = health_counts(user=admin, van=van)
        van_panel_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        every_row = live_rows(user=admin, van=van)
        every_row_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        app_page = live_rows(user=admin, app=App.objects.get(name=app_names[0]))
        app_page_s = time.perf_counter() - t0
        print(f"[bench live-status] page reads: VAN panel ({len(van_panel)} least healthy rows and counts of "
              f"{sum(counts.values())}) in {van_panel_s:.3f} s; app page {len(app_page)} rows in {app_page_s:.3f} s; "
              f"every row of the VAN at once (no page asks for that) {len(every_row)} in {every_row_s:.2f} s")
        if os.environ.get("LIVE_STATUS_PROFILE"):  # where a VAN page's time goes (a second read, under cProfile)
            profile = cProfile.Profile()
            profile.runcall(live_rows, user=admin, van=van)
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
            print(out.getvalue())
        wait_for(lambda: watcher.resource_version is not None and watcher.relists == 1, timeout=10)

        # --- 2. 1,000 events over a minute ----------------------------------------------------------------
        gc.collect()
        rss_before, blocks_before = _rss_mb(), sys.getallocatedblocks()
        rss_samples = [rss_before]
        sent: list[tuple[str, str, int, float]] = []  # (application, health, resourceVersion, monotonic before put)

        def produce(batch: list[str], period: float, offset: int):
            begin = time.monotonic()
            for i, name in enumerate(batch):
                if period:
                    delay = begin + i * period - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                health = HEALTHS[(offset + i) % 2]  # every event changes health (they all start Healthy)
                obj = application(van.name, objects[name]["metadata"]["labels"]["wayline.io/app"],
                                  objects[name]["metadata"]["labels"]["wayline.io/cluster"], health=health,
                                  image=objects[name]["status"]["summary"]["images"][0])
                at = time.monotonic()
                rv = int(hub_api.put(obj)["metadata"]["resourceVersion"])
                sent.append((name, health, rv, at))

        producer = threading.Thread(target=produce, args=(names[:EVENTS], EVENT_PERIOD_S, 0), name="bench-events")
        phase_start = time.monotonic()
        producer.start()
        latencies: dict[int, float] = {}
        checked = 0
        next_rss = phase_start + 10
        deadline = phase_start + EVENTS * EVENT_PERIOD_S + 60
        while len(latencies) < EVENTS and time.monotonic() < deadline:
            pending = {i: sent[i] for i in range(checked, len(sent)) if i not in latencies}
            if pending:
                by_name = {name: (i, health, rv, at) for i, (name, health, rv, at) in pending.items()}
                rows = live_rows(user=admin, where=Q(application__in=list(by_name)))
                now = time.monotonic()
                for row in rows:
                    status = row["status"]
                    i, health, rv, at = by_name[status.application]
                    if status.health_status == health and int(status.resource_version or 0) >= rv:
                        latencies[i] = now - at
                while checked < len(sent) and checked in latencies:
                    checked += 1
            if time.monotonic() >= next_rss:
                rss_samples.append(_rss_mb())
                next_rss += 10
            time.sleep(0.05)
        producer.join()
        phase = time.monotonic() - phase_start
        gc.collect()
        rss_after, blocks_after = _rss_mb(), sys.getallocatedblocks()
        rss_samples.append(rss_after)
        values = list(latencies.values())
        assert len(sent) == EVENTS
        print(f"[bench live-status] events: {EVENTS} MODIFIED over {sent[-1][3] - sent[0][3]:.1f} s "
              f"({EVENTS / (sent[-1][3] - sent[0][3]) * 60:.0f}/min), {len(values)} seen on pages, phase {phase:.1f} s")
        if values:
            print(f"[bench live-status] put -> live_rows latency: median {statistics.median(values) * 1000:.0f} ms, "
                  f"p95 {_pct(values, 0.95) * 1000:.0f} ms, p99 {_pct(values, 0.99) * 1000:.0f} ms, "
                  f"max {max(values) * 1000:.0f} ms (target max <= {LATENCY_TARGET_S:.0f} s; pages poll every 5 s on top)")
        print("[bench live-status] RSS over the paced events (every 10 s): "
              + " -> ".join(f"{v:.0f}" for v in rss_samples) + f" MB (growth {rss_after - rss_before:+.1f} MB); "
              f"allocated blocks {blocks_before} -> {blocks_after} ({(blocks_after - blocks_before) / EVENTS:+.1f} per event)")
        if len(values) < EVENTS:
            missed.append(f"only {len(values)} of {EVENTS} events reached the pages within 60 s of the last")
        if values and max(values) > LATENCY_TARGET_S:
            missed.append(f"an event took {max(values):.2f} s to reach the pages (> {LATENCY_TARGET_S:.0f} s)")

        # --- 3. a burst: the watcher's capacity, and memory -----------------------------------------------
        def burst(batch: list[str], offset: int, chunk: int = 250) -> float:
            """Put ``batch`` as fast as the watcher takes it: ``chunk`` events at once, the next when those are stored
            (so the watcher is never more than ``chunk`` behind the fake server's kept history)."""
            begin = time.monotonic()
            for start in range(0, len(batch), chunk):
                sent.clear()
                produce(batch[start:start + chunk], 0, offset + start)
                want = {name: rv for name, _h, rv, _a in sent}

                def applied(want=want):
                    rows = AppStatus.objects.filter(van=van, application__in=list(want)).values_list("application", "resource_version")
                    return all(int(v or 0) >= want[a] for a, v in rows)

                wait_for(applied, timeout=120, interval=0.05)
            return time.monotonic() - begin

        # Memory over a burst, after the paced minute as warm-up: no tracemalloc (tracing every allocation slowed the
        # whole process so much that the watcher did not store 250 events in 120 s), so RSS and the interpreter's
        # allocated blocks, each after a full collection.
        blocks_before_burst, rss_before_burst = sys.getallocatedblocks(), rss_after
        burst_s = burst(names[EVENTS:EVENTS + BURST], 1)
        gc.collect()
        blocks_after_burst, rss_after_burst = sys.getallocatedblocks(), _rss_mb()
        print(f"[bench live-status] burst: {BURST} events put 250 at a time, each lot as soon as the last was stored, "
              f"in {burst_s:.1f} s: the watcher stores {BURST / burst_s:.1f} events/s ({BURST / burst_s * 60:.0f}/min)")
        print(f"[bench live-status] memory over the burst: RSS {rss_before_burst:.1f} -> {rss_after_burst:.1f} MB "
              f"({rss_after_burst - rss_before_burst:+.1f} MB), allocated blocks {blocks_before_burst} -> {blocks_after_burst} "
              f"({(blocks_after_burst - blocks_before_burst) / BURST:+.1f} per event; the fake server keeps 1,000 to 2,064 past "
              "events of its own, so some drift either way is the server's)")
        assert watcher.relists == 1, "the watcher relisted during the events (a 410 or an error)"
        assert not missed, "; ".join(missed)
    finally:
        watcher.stop.set()
        thread.join(timeout=45)
    assert not thread.is_alive()
