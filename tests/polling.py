"""Polling for tests that run a Celery worker beside them (celery.contrib.testing.worker, in a thread)."""
from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1) -> float:
    """Call ``predicate`` until it returns true and return ``time.monotonic()`` then; fail after ``timeout`` seconds.

    Any error the predicate raises is raised: on SQLite the test database is a WAL file
    (``portal.settings_test``), so a read never meets a lock the worker thread holds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s")
