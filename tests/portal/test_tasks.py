"""Celery round trip through a real worker process and the configured broker (filesystem or Redis)."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_process():
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0", "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-P", "solo", "-c", "1", "-Q", "default,gitops,sync",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.celery_worker
def test_ping_round_trip_through_real_worker(worker_process, settings):
    from portal.celery import app
    from portal.tasks import ping

    token = uuid.uuid4().hex
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        result = ping.apply_async(args=[token])
        try:
            value = result.get(timeout=90)
        except Exception:
            worker_process.terminate()
            raise AssertionError("worker never answered:\n" + (worker_process.communicate(timeout=20)[0] or ""))
    finally:
        app.conf.task_always_eager = previous
    assert value["token"] == token
    assert value["pid"] == worker_process.pid  # ran in the worker, not in this test process
    print(f"broker={settings.CELERY_BROKER_URL.split('://')[0]} worker_pid={value['pid']}")


def test_every_task_has_limits_celery_accepts_and_every_schedule_entry_names_one():
    """Celery refuses to send a task whose soft time limit (or the global default) is above its hard limit:
    beat then logs an error every minute and the periodic work never runs."""
    from portal.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert "catalog.tasks.locations_refresh_due" in ours and "portal.gitops.sweep" in ours
    refused = [name for name, task in ours.items()
               if not task.time_limit or (task.soft_time_limit and task.soft_time_limit > task.time_limit)]
    assert not refused, refused
    # The schedule as beat builds it: in a fresh process (here the app was finalized before the apps' tasks loaded).
    beat = subprocess.run(
        [sys.executable, "-c", "from portal.celery import app; app.loader.import_default_modules(); app.finalize(); "
                               "print(' '.join(sorted(entry['task'] for entry in app.conf.beat_schedule.values())))"],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}, capture_output=True, text=True,
        timeout=60,
    )
    scheduled = set(beat.stdout.split())
    assert {"catalog.tasks.locations_refresh_due", "portal.gitops.sweep"} <= scheduled <= set(ours), beat.stderr
