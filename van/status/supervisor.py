"""One watcher per hub across every process and machine: a lease per VAN in the database.

Each ``status_watch`` process runs a ``Supervisor``. Every ``tick`` seconds it renews the leases of
the watchers it runs (a watcher whose lease is lost is stopped), and takes the lease of any VAN
with a hub that nobody holds, starting a watcher thread for it. A process that dies stops renewing;
its leases expire after ``lease_seconds`` and the next tick of another process takes them over.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from django.db import close_old_connections

from portal.models import Lease
from van.models import Cluster
from van.status.watcher import HubWatcher

logger = logging.getLogger(__name__)


def lease_name(van_id: int) -> str:
    return f"van-status:{van_id}"


class Supervisor:
    def __init__(self, *, holder: str | None = None, lease_seconds: float = 15.0, tick: float = 3.0, watcher_options: dict | None = None):
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds, self.tick = lease_seconds, tick
        self.watcher_options = watcher_options or {}
        self.stop = threading.Event()
        self.running: dict[int, tuple[HubWatcher, threading.Thread]] = {}

    def _watched_vans(self) -> list[int]:
        """VANs whose hub has credentials: the ones Wayline can read."""
        return list(Cluster.objects.filter(role="hub").exclude(credentials="").values_list("van_id", flat=True))

    def step(self) -> None:
        """Renew, reap and take leases once."""
        for van_id, (watcher, thread) in list(self.running.items()):
            if not thread.is_alive() or not Lease.acquire(lease_name(van_id), self.holder, self.lease_seconds):
                watcher.stop.set()
                if not thread.is_alive():
                    del self.running[van_id]
                    Lease.release(lease_name(van_id), self.holder)
        wanted = set(self._watched_vans())
        for van_id in list(self.running):
            if van_id not in wanted:
                self.running[van_id][0].stop.set()
        for van_id in sorted(wanted - set(self.running)):
            if Lease.acquire(lease_name(van_id), self.holder, self.lease_seconds):
                watcher = HubWatcher(van_id, **self.watcher_options)
                thread = threading.Thread(target=watcher.run, name=f"hub-watch-{van_id}", daemon=True)
                self.running[van_id] = (watcher, thread)
                thread.start()
                logger.info("%s watches the hub of VAN %s", self.holder, van_id)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.step()
                except Exception:  # noqa: BLE001 - the supervisor outlives a database hiccup
                    logger.exception("status supervisor step failed")
                finally:
                    close_old_connections()
                self.stop.wait(self.tick)
        finally:
            self.shutdown(release=True)

    def shutdown(self, *, release: bool) -> None:
        """Stop every watcher; ``release``: hand the leases back at once (a clean stop) instead of letting them expire."""
        self.stop.set()
        for van_id, (watcher, thread) in list(self.running.items()):
            watcher.stop.set()
            thread.join(timeout=self.watcher_options.get("watch_seconds", 60) + 15)
            if release:
                Lease.release(lease_name(van_id), self.holder)
        self.running.clear()
        close_old_connections()
