"""``manage.py demo``: migrate, load demo data, and run the portal with a Celery worker and beat.

Everything runs on the embedded defaults unless the environment says otherwise:
SQLite and a filesystem Celery broker under WAYLINE_DATA_DIR, a local bare git
repository as the GitOps repo. Like ``manage.py gitops_init``, the demo creates that
repository only when nothing is there; one Wayline wrote to that went missing is
not re-created (the command stops and says how to restore it).

The portal is served as in production: ``DEBUG`` off (no tracebacks or URL lists
on error pages), gunicorn, static files from WhiteNoise. Plain HTTP, since the
demo has no certificate.
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
from django.test.utils import override_settings

# Order matters: later seeds use what earlier ones made (teams, the GitOps repo, catalog entities).
SEED_MODULES = ("portal.demo", "portal.gitops.demo", "catalog.demo", "van.demo", "addons.demo")
DEFAULT_ADDR = "127.0.0.1:8000"
ANY_ADDRESS = {"0.0.0.0", "::", "[::]"}
DEMO_VANS = ("demo", "search-lab")  # the VANs whose hubs the demo plays
DEMO_GRAFANA_NETWORK = "127.0.0.1/32"


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


def addr_parse(addr: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a bare port (on 127.0.0.1), as runserver takes them."""
    host, _, port = addr.rpartition(":")
    host = host or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--addr {addr!r}: give host:port, such as 127.0.0.1:8000 or 0.0.0.0:8080.")
    return host, int(port)


def serve_env(addr: str) -> dict[str, str]:
    """The environment of the demo's processes: DEBUG off unless asked, plain HTTP, and a host list that accepts
    the address served (any name when bound to every interface: the demo cannot know which one is used)."""
    host, _ = addr_parse(addr)
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
    hosts += ["*"] if host in ANY_ADDRESS else [host]
    return {
        **os.environ,
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "0"),
        "WAYLINE_HTTPS": os.environ.get("WAYLINE_HTTPS", "0"),
        "ALLOWED_HOSTS": ",".join(dict.fromkeys(hosts)),
        # the demo hub's fake Grafana listens on loopback, which Wayline refuses unless an admin allows it
        "WAYLINE_GRAFANA_ALLOWED_NETWORKS": os.environ.get("WAYLINE_GRAFANA_ALLOWED_NETWORKS", DEMO_GRAFANA_NETWORK),
        "WAYLINE_PUBLIC_URL": os.environ.get("WAYLINE_PUBLIC_URL") or url_of(addr),
    }


def serve_commands(addr: str) -> list[list[str]]:
    """The web server (gunicorn, as in production), one Celery worker for every queue, beat, and the hub watcher."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "portal"]
    return [
        [*celery, "worker", "-P", "solo", "-c", "1", "-Q", "default,gitops,sync", "--without-gossip", "--without-mingle",
         "-l", "INFO"],
        [*celery, "beat", "-l", "INFO", "-s", str(settings.DATA_DIR / "celerybeat-schedule")],
        [python, str(settings.BASE_DIR / "manage.py"), "status_watch", "--tick", "2", "--lease-seconds", "10", "--watch-seconds", "15"],
        [python, "-m", "gunicorn", "portal.wsgi", "--bind", addr, "--workers", "2", "--graceful-timeout", "5",
         *_gunicorn_no_control_socket()],
    ]


def _gunicorn_no_control_socket() -> list[str]:
    """Newer gunicorn opens a control socket in ~/.gunicorn; the demo needs none (and two demos would share it)."""
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


def url_of(addr: str) -> str:
    """The address to open in a browser (a loopback one when bound to every interface)."""
    host, port = addr_parse(addr)
    return f"http://{'127.0.0.1' if host in ANY_ADDRESS else host}:{port}/"


class Command(BaseCommand):
    help = (f"Set up demo data and run the portal (gunicorn on --addr, default {DEFAULT_ADDR}, DEBUG off; a Celery worker "
            "and beat). The data lives in WAYLINE_DATA_DIR (default ./var).")

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=DEFAULT_ADDR,
                            help="host:port to serve on, e.g. 127.0.0.1:8080, or 0.0.0.0:8000 for every interface")
        parser.add_argument("--no-serve", action="store_true", help="only migrate, load demo data and print the logins")

    def handle(self, *args, addr, no_serve, **options):
        addr_parse(addr)  # a bad address fails before anything is done
        self.stdout.write(f"Data dir: {settings.DATA_DIR}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        try:
            # the demo knows the address it serves: where its CI pipeline's last step would call it
            with override_settings(WAYLINE_PUBLIC_URL=settings.WAYLINE_PUBLIC_URL or url_of(addr)):
                run_seeds(self.stdout)
        except ValidationError as exc:  # e.g. the GitOps repository Wayline wrote to is missing: never re-created here
            raise CommandError(" ".join(exc.messages)) from None
        if no_serve:
            self.logins_write()
            return
        self.serve(addr)

    def logins_write(self) -> None:
        from portal.demo import DEMO_PASSWORD, demo_logins

        self.stdout.write(f"Log in with password {DEMO_PASSWORD} as:")
        for username, role in demo_logins():
            self.stdout.write(f"  {username:<8} {role}")
        self.stdout.write("The README's \"Quick tour\" walks through the demo in ten steps.")

    def hubs_start(self):
        """The demo VANs' hubs: fake API servers with an ArgoCD stand-in (``tests/kube/demo_hub.py``), so live status
        moves without a cluster. Part of the test harness: a checkout without ``tests/`` serves no live status."""
        if importlib.util.find_spec("tests") is None or importlib.util.find_spec("tests.kube.demo_hub") is None:
            self.stdout.write("No demo hubs (tests/kube/demo_hub.py is not here): pages show no live status.")
            return None
        from django.contrib.auth import get_user_model

        from tests.kube.demo_hub import DemoHubs
        from van.models import Van

        if not settings.WAYLINE_GRAFANA_ALLOWED_NETWORKS:  # as serve_env() gives the web processes
            settings.WAYLINE_GRAFANA_ALLOWED_NETWORKS = [DEMO_GRAFANA_NETWORK]
        admin = get_user_model().objects.filter(username="admin").first()
        names = list(Van.objects.filter(name__in=DEMO_VANS).values_list("name", flat=True))
        hubs = DemoHubs(names).start(actor=admin)
        self.stdout.write(f"Demo hubs (fake Kubernetes API servers with ArgoCD and K8sGPT stand-ins; a fake Grafana on the demo hub) for: {', '.join(names)}.")
        return hubs

    def serve(self, addr: str) -> None:
        env = serve_env(addr)
        hubs = self.hubs_start()
        processes = [subprocess.Popen(command, env=env, cwd=settings.BASE_DIR) for command in serve_commands(addr)]

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)  # `kill` stops the children too, not only this process
        debug = env["DJANGO_DEBUG"].strip().lower() in {"1", "true", "yes", "on"}  # as portal.settings reads it
        self.stdout.write(self.style.SUCCESS(f"\nWayline is running at {url_of(addr)} (DEBUG {'on' if debug else 'off'})."))
        self.logins_write()
        self.stdout.write("Ctrl-C stops the web server, the worker, beat, the hub watcher and the demo hubs.\n")
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
            if hubs is not None:
                hubs.stop()
