"""``manage.py demo``: migrate, load demo data, and run the portal with a Celery worker and beat.

Everything runs on the embedded defaults unless the environment says otherwise:
SQLite and a filesystem Celery broker under WAYLINE_DATA_DIR, a local bare git
repository as the GitOps repo. Like ``manage.py gitops_init``, the demo creates that
repository only when nothing is there; one Wayline wrote to that went missing is
not re-created (the command stops and says how to restore it).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

# Order matters: later seeds use what earlier ones made (teams, the GitOps repo, catalog entities).
SEED_MODULES = ("portal.demo", "portal.gitops.demo", "catalog.demo", "van.demo", "addons.demo")


def run_seeds(stdout=None) -> None:
    admin = None
    for module_name in SEED_MODULES:
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        with transaction.atomic():
            result = module.seed(actor=admin)
        admin = admin or result
        if stdout is not None:
            stdout.write(f"  seeded {module_name}")


class Command(BaseCommand):
    help = "Set up demo data and run the portal (web on 127.0.0.1:8000, Celery worker and beat)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port for the web server")
        parser.add_argument("--no-serve", action="store_true", help="only migrate and load demo data")

    def handle(self, *args, addr, no_serve, **options):
        self.stdout.write(f"Data dir: {settings.DATA_DIR}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        try:
            run_seeds(self.stdout)
        except ValidationError as exc:  # e.g. the GitOps repository Wayline wrote to is missing: never re-created here
            raise CommandError(" ".join(exc.messages)) from None
        if no_serve:
            return
        self.serve(addr)

    def serve(self, addr: str) -> None:
        env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"), "WAYLINE_HTTPS": os.environ.get("WAYLINE_HTTPS", "0")}
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        celery_base = [python, "-m", "celery", "-A", "portal"]
        processes = [
            subprocess.Popen(
                [*celery_base, "worker", "-P", "solo", "-c", "1", "-Q", "default,gitops,sync", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
                env=env,
            ),
            subprocess.Popen([*celery_base, "beat", "-l", "INFO", "-s", str(settings.DATA_DIR / "celerybeat-schedule")], env=env),
            subprocess.Popen([python, manage, "runserver", addr, "--noreload"], env=env),
        ]

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)  # `kill` stops the children too, not only this process
        self.stdout.write(self.style.SUCCESS(f"\nWayline is running at http://{addr}/"))
        self.stdout.write("Log in as admin / wayline-demo (platform admin), alice / wayline-demo (Payments member),")
        self.stdout.write("bob / wayline-demo (Search member) or victor / wayline-demo (viewer). Ctrl-C stops everything.\n")
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
