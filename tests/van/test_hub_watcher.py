"""The hub watcher against a fake Kubernetes API server over real HTTPS, through the official client.

List, watch updates and deletions, 410 Gone and a relist, a hub going away and coming back, a
revoked token, malformed objects, and a killed watcher process whose hub another one takes over.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from portal.kube import ClusterState
from portal.models import Lease
from tests.kube.apiserver import FakeKubeAPI
from tests.polling import wait_for
from tests.van.argocd_objects import application
from van.models import AppStatus, ClusterConnection
from van.status.supervisor import Supervisor, lease_name
from van.status.watcher import HubWatcher

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("place_payments_everywhere")]

TOKEN = "hub-reader-token"


def kubeconfig(server: str, ca_data: str, token: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Config
        current-context: hub
        contexts: [{{name: hub, context: {{cluster: hub, user: reader}}}}]
        clusters: [{{name: hub, cluster: {{server: "{server}", certificate-authority-data: {ca_data}}}}}]
        users: [{{name: reader, user: {{token: {token}}}}}]
        """)


@pytest.fixture
def hub_api():
    api = FakeKubeAPI(tokens=(TOKEN,), bookmark_seconds=0.3).start()
    yield api
    api.stop()


@pytest.fixture
def watched(van_world, svc, hub_api):
    """The demo VAN whose hub is the fake API server, readable with a token and the server's CA."""
    world, van, hub, eu, _us, app = van_world
    svc.cluster_update(actor=world.admin, obj=hub, api_url=hub_api.url, credentials_kind="kubeconfig",
                       credentials=kubeconfig(hub_api.url, hub_api.ca_data, TOKEN))
    return world, van, hub, eu, app


def _app_object(van, app, cluster, **kw):
    return application(van.name, app.name, cluster.name, **kw)


@pytest.fixture
def running(watched):
    """A watcher thread on the demo VAN (short watches and backoff, so tests see every path in seconds)."""
    _world, van, _hub, _eu, _app = watched
    watcher = HubWatcher(van.pk, watch_seconds=2, backoff_base=0.1, backoff_cap=0.5, seen_every=0.2)
    thread = threading.Thread(target=watcher.run, daemon=True)
    started = []

    def start():
        thread.start()
        started.append(thread)
        return watcher

    yield start
    watcher.stop.set()
    if started:
        thread.join(timeout=10)
        assert not thread.is_alive()


def _row(van, app, cluster):
    return AppStatus.objects.filter(van=van, application=f"{app.name}-{cluster.name}").first()


def _state(hub):
    conn = ClusterConnection.objects.filter(cluster=hub).first()
    return conn.state if conn else None


def test_lists_then_follows_updates_and_deletions(watched, hub_api, running):
    _world, van, hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu, health="Progressing", sync="OutOfSync"))
    hub_api.put(_app_object(van, app, hub))
    hub_api.put(application("other-van", "x", "y"))  # another VAN's: not selected
    hub_api.put({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                 "metadata": {"name": "hand-made", "namespace": "argocd"}, "spec": {}})  # no Wayline labels
    watcher = running()
    wait_for(lambda: AppStatus.objects.filter(van=van).count() == 2, timeout=10)
    assert _row(van, app, eu).health_status == "Progressing" and _row(van, app, eu).app == app
    assert _state(hub) == ClusterState.REACHABLE
    assert any("labelSelector" in q and "wayline.io/van=demo" in q["labelSelector"] for _, _, q in hub_api.requests)
    hub_api.put(_app_object(van, app, eu, health="Healthy", sync="Synced", image="registry.example.net/payments-api:1.0.0"))
    wait_for(lambda: _row(van, app, eu).health_status == "Healthy", timeout=5)
    row = _row(van, app, eu)
    assert row.sync_status == "Synced" and row.images == ["registry.example.net/payments-api:1.0.0"]
    assert [c.health_status for c in row.changes.all()][:2] == ["Healthy", "Progressing"]
    hub_api.delete("argoproj.io/v1alpha1", "applications", "argocd", f"{app.name}-{hub.name}")
    wait_for(lambda: _row(van, app, hub).deleted_at is not None, timeout=5)
    assert watcher.relists == 1


def test_410_gone_relists_and_catches_up_with_what_changed_meanwhile(watched, hub_api, running):
    _world, van, hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu, health="Progressing"))
    watcher = running()
    wait_for(lambda: _row(van, app, eu) is not None, timeout=10)
    hub_api.compact()
    hub_api.drop_watches()  # the watch resumes from a version the hub no longer has
    hub_api.put(_app_object(van, app, hub, health="Degraded"))
    hub_api.compact()
    wait_for(lambda: watcher.relists >= 2, timeout=10)
    wait_for(lambda: _row(van, app, hub) is not None and _row(van, app, hub).health_status == "Degraded", timeout=10)
    hub_api.put(_app_object(van, app, eu, health="Healthy"))
    wait_for(lambda: _row(van, app, eu).health_status == "Healthy", timeout=5)


def test_a_hub_that_goes_away_is_unreachable_and_recovers_without_a_restart(watched, hub_api, running):
    _world, van, hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu, health="Progressing"))
    running()
    wait_for(lambda: _state(hub) == ClusterState.REACHABLE, timeout=10)
    seen = ClusterConnection.objects.get(cluster=hub).seen_at
    hub_api.stop()
    wait_for(lambda: _state(hub) == ClusterState.UNREACHABLE, timeout=10)
    conn = ClusterConnection.objects.get(cluster=hub)
    assert conn.seen_at >= seen and conn.error_at is not None and "token" not in conn.message.lower()
    assert _row(van, app, eu).health_status == "Progressing"  # what it last reported stays
    hub_api.put(_app_object(van, app, eu, health="Healthy"))  # changed while Wayline could not see
    hub_api.restart()
    wait_for(lambda: _state(hub) == ClusterState.REACHABLE, timeout=15)
    wait_for(lambda: _row(van, app, eu).health_status == "Healthy", timeout=10)


def test_a_revoked_token_is_unauthorized_and_a_restored_one_recovers(watched, hub_api, running):
    _world, van, hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu))
    running()
    wait_for(lambda: _state(hub) == ClusterState.REACHABLE, timeout=10)
    hub_api.revoke(TOKEN)
    hub_api.drop_watches()
    wait_for(lambda: _state(hub) == ClusterState.UNAUTHORIZED, timeout=10)
    assert TOKEN not in ClusterConnection.objects.get(cluster=hub).message
    hub_api.allow(TOKEN)
    wait_for(lambda: _state(hub) == ClusterState.REACHABLE, timeout=10)


def test_malformed_objects_and_events_are_skipped_and_the_sync_goes_on(watched, hub_api, running):
    _world, van, _hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu, health="Progressing"))
    watcher = running()
    wait_for(lambda: _row(van, app, eu) is not None, timeout=10)
    wait_for(lambda: hub_api.watching > 0, timeout=10)  # raw lines go to open watches only
    hub_api.inject_raw("this is not JSON")
    hub_api.inject_raw('{"type": "MODIFIED"}')
    hub_api.inject_raw('{"type": "MODIFIED", "object": {"kind": "Application", "metadata": {"name": "x", "resourceVersion": "1"}}}')
    hub_api.put(_app_object(van, app, eu, health="Healthy"))
    wait_for(lambda: _row(van, app, eu).health_status == "Healthy", timeout=10)
    assert watcher.skipped >= 1, "the malformed lines were read and skipped, and the sync went on"


@pytest.mark.skipif(connection.vendor == "sqlite", reason="a second process on the SQLite test file misses this "
                    "process's writes late in the full suite (under investigation); runs on PostgreSQL in CI")
def test_a_killed_watcher_process_hands_its_hub_to_another_within_seconds(watched, hub_api):
    """A real ``status_watch`` process takes the hub's lease; SIGKILL it and a supervisor here takes over."""
    from portal import crypto
    from van import services

    world, van, hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu, health="Progressing"))
    # The other process decrypts the hub's credentials with the key it is given: the one this process encrypts with
    # now (earlier tests may have left a key of theirs in this process's cache, which the other could not know).
    crypto._fernets.cache_clear()
    key = (crypto.configured_keys() or [crypto.derived_key()])[0]
    services.cluster_update(actor=world.admin, obj=hub, credentials_kind="kubeconfig",
                            credentials=kubeconfig(hub_api.url, hub_api.ca_data, TOKEN))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", "DATABASE_URL": _database_url(),
           "WAYLINE_DATA_DIR": str(settings.DATA_DIR), "WAYLINE_ENCRYPTION_KEY": key}
    env.pop("WAYLINE_ENCRYPTION_KEY_FILE", None)
    log = open(os.path.join(settings.DATA_DIR, f"status-watch-{os.getpid()}.log"), "w+")
    process = subprocess.Popen([sys.executable, "manage.py", "status_watch", "--lease-seconds", "2", "--tick", "0.3", "--watch-seconds", "2"],
                               cwd=settings.BASE_DIR, env=env, stdout=log, stderr=log, start_new_session=True)

    def said() -> str:
        log.flush()
        log.seek(0)
        return log.read()[-3000:]

    try:
        wait_for(lambda: Lease.holder_of(lease_name(van.pk)) != "", timeout=30)
        first = Lease.holder_of(lease_name(van.pk))
        try:
            wait_for(lambda: _row(van, app, eu) is not None, timeout=30)
        except AssertionError:
            raise AssertionError(f"the status_watch process stored nothing; it said:\n{said()}") from None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        killed_at = time.monotonic()
        supervisor = Supervisor(holder="takeover", lease_seconds=2, tick=0.3, watcher_options={"watch_seconds": 2, "backoff_base": 0.1})
        thread = threading.Thread(target=supervisor.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: Lease.holder_of(lease_name(van.pk)) == "takeover", timeout=10)
            assert time.monotonic() - killed_at < 5 and first != "takeover"
            hub_api.put(_app_object(van, app, eu, health="Healthy"))
            wait_for(lambda: _row(van, app, eu).health_status == "Healthy", timeout=10)
        finally:
            supervisor.stop.set()
            thread.join(timeout=15)
        assert Lease.holder_of(lease_name(van.pk)) == ""  # a clean stop hands the lease back
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_two_supervisors_run_one_watcher_per_hub(watched, hub_api):
    _world, van, _hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu))
    a = Supervisor(holder="a", lease_seconds=3, tick=0.2, watcher_options={"watch_seconds": 2})
    b = Supervisor(holder="b", lease_seconds=3, tick=0.2, watcher_options={"watch_seconds": 2})
    threads = [threading.Thread(target=s.run, daemon=True) for s in (a, b)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: _row(van, app, eu) is not None, timeout=10)
        time.sleep(1)
        assert len(a.running) + len(b.running) == 1
    finally:
        for s in (a, b):
            s.stop.set()
        for thread in threads:
            thread.join(timeout=15)


def _database_url() -> str:
    """The test database, as a URL another process can open (the same file or PostgreSQL database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    auth = f"{user}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def test_the_hubs_k8sgpt_results_become_findings_and_resolve_when_gone(running, watched, hub_api):
    from tests.van.k8sgpt_objects import result
    from van.models import Finding

    world, van, hub, eu, app = watched
    hub_api.put(_app_object(van, app, eu))
    hub_api.put(result(eu.name, "Pod", "payments", "api-7d9", errors=("Back-off pulling image",)))
    running()
    wait_for(lambda: Finding.objects.filter(object_name="payments/api-7d9", resolved_at__isnull=True).exists())
    finding = Finding.objects.get()
    assert finding.app == app and finding.owner_team == world.payments
    hub_api.delete("core.k8sgpt.ai/v1alpha1", "results", f"k8sgpt-{eu.name}", finding.result.split("/", 1)[1])
    wait_for(lambda: Finding.objects.filter(resolved_at__isnull=False).exists(), timeout=20)
