"""Worker liveness: each Celery worker writes a heartbeat row every few seconds.

``celery inspect ping`` needs remote control, which is off on the filesystem broker,
so pages read liveness from the database instead (``selectors.workers_alive``). The
thread starts when the worker is ready (``tasks._heartbeat_start``, Celery's
``worker_ready`` signal) and its row is removed when the worker shuts down; a worker
that is killed simply stops beating and counts as gone after ``ALIVE_SECONDS``.
"""
from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
ALIVE_SECONDS = 35.0  # three missed beats and a bit


class Heartbeat(threading.Thread):
    """Records ``hostname`` as alive every ``interval`` seconds until stopped."""

    def __init__(self, hostname: str, queues: list[str], interval: float = HEARTBEAT_SECONDS):
        super().__init__(name=f"wayline-heartbeat-{hostname}", daemon=True)
        self.hostname = hostname
        self.queues = queues
        self.interval = interval
        self._stopped = threading.Event()

    def beat(self) -> None:
        from portal.gitops.services import worker_heartbeat_record

        close_old_connections()
        try:
            worker_heartbeat_record(hostname=self.hostname, queues=self.queues)
        except Exception:  # a missed beat must never stop the worker
            logger.warning("worker %s: could not record its heartbeat", self.hostname, exc_info=True)
        finally:
            connection.close()

    def run(self) -> None:
        while not self._stopped.is_set():
            self.beat()
            self._stopped.wait(self.interval)

    def stop(self) -> None:
        from portal.gitops.services import worker_heartbeat_forget

        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=self.interval + 5)
        try:
            worker_heartbeat_forget(hostname=self.hostname)
        except Exception:  # shutting down: the row simply goes stale
            logger.warning("worker %s: could not remove its heartbeat", self.hostname, exc_info=True)


_running: dict[str, Heartbeat] = {}


def heartbeat_start(hostname: str, queues: list[str]) -> Heartbeat:
    heartbeat = _running.get(hostname)
    if heartbeat is None or not heartbeat.is_alive():
        heartbeat = _running[hostname] = Heartbeat(hostname, queues)
        heartbeat.start()
    return heartbeat


def heartbeat_stop(hostname: str) -> None:
    heartbeat = _running.pop(hostname, None)
    if heartbeat is not None:
        heartbeat.stop()
