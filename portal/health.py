"""Liveness of the parts a Wayline process needs: database, broker, GitOps repo."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from portal.logging import redact


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return Check("database", True, connection.vendor)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return Check("database", False, redact(str(exc)))


def check_broker() -> Check:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return Check("broker", True, conn.transport_cls if isinstance(conn.transport_cls, str) else "ok")
    except Exception as exc:  # noqa: BLE001
        return Check("broker", False, redact(str(exc)))


def check_gitops() -> Check:
    import git

    url = settings.WAYLINE_GITOPS_URL
    try:
        git.cmd.Git().ls_remote("--heads", url, kill_after_timeout=10)
        return Check("gitops", True, "reachable")
    except Exception as exc:  # noqa: BLE001
        return Check("gitops", False, redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__)


def run_checks() -> list[Check]:
    return [check_database(), check_broker(), check_gitops()]
