"""Polling for tests that run a Celery worker beside them (celery.contrib.testing.worker, in a thread)."""
from __future__ import annotations

import time

from django.db.utils import OperationalError


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1) -> float:
    """Call ``predicate`` until it returns true and return ``time.monotonic()`` then; fail after ``timeout`` seconds.

    On SQLite the test database is in memory with a shared cache, which the worker
    thread shares. Shared-cache SQLite locks tables and has no busy wait: a read
    of a table the worker is writing raises OperationalError "database table is
    locked: ..." at once, whatever the connection's timeout. Such a poll counts
    as "not yet"; any other error is raised.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return time.monotonic()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s")
