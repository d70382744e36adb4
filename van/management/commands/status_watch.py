"""Watch every VAN hub's ArgoCD Applications and keep their status in the database.

Run one or more of these (on any machines sharing the database): a lease per VAN makes sure that
exactly one of them watches each hub, and another takes over within seconds when one dies.
"""
import logging
import signal

from django.core.management.base import BaseCommand

from van.status.supervisor import Supervisor


class Command(BaseCommand):
    help = "Watch the ArgoCD Applications of every VAN hub that has credentials (one watcher per hub across processes)."

    def add_arguments(self, parser):
        parser.add_argument("--lease-seconds", type=float, default=15.0, help="How long a lease lasts unless renewed (default 15).")
        parser.add_argument("--tick", type=float, default=3.0, help="Seconds between lease renewals and takeovers (default 3).")
        parser.add_argument("--watch-seconds", type=int, default=60, help="Length of one watch request before it is resumed (default 60).")

    def handle(self, *args, lease_seconds, tick, watch_seconds, **options):
        logging.getLogger("van.status").setLevel(logging.INFO)
        supervisor = Supervisor(lease_seconds=lease_seconds, tick=tick, watcher_options={"watch_seconds": watch_seconds})
        signal.signal(signal.SIGTERM, lambda *_: supervisor.stop.set())
        self.stdout.write(f"status watcher {supervisor.holder}: lease {lease_seconds:g}s, tick {tick:g}s")
        try:
            supervisor.run()
        except KeyboardInterrupt:
            supervisor.shutdown(release=True)
