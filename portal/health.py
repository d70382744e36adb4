"""Liveness of the parts a Wayline process needs: database, broker, GitOps repositories.

``/healthz`` is public: a failing check names what failed (a repository's path or URL
without credentials) but never shows a credential or git's raw output.
"""
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
    setup: bool = False  # failing because a one-time setup step has not run yet (a fresh data dir), not broken


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        tables = set(connection.introspection.table_names())
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return Check("database", False, redact(str(exc)))
    if "django_migrations" not in tables or "gitops_gitopsrepo" not in tables:
        return Check("database", False, "not set up yet: run manage.py migrate (or manage.py demo)", setup=True)
    return Check("database", True, connection.vendor)


def check_broker() -> Check:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return Check("broker", True, conn.transport_cls if isinstance(conn.transport_cls, str) else "ok")
    except Exception as exc:  # noqa: BLE001
        return Check("broker", False, redact(str(exc)))


def check_gitops() -> Check:
    """The default repository answers and is the one Wayline wrote to (its branch holds the last head Wayline
    confirmed), and the engine has found no other registered repository unavailable."""
    from django.db import DatabaseError

    from portal.gitops.engine import credentials_for
    from portal.gitops.gitrepo import Credentials, RepoUnavailable, display_url, is_local_url, local_path, probe
    from portal.gitops.models import GitOpsRepo

    try:
        default = GitOpsRepo.objects.filter(is_default=True).first()
        others = GitOpsRepo.objects.exclude(unavailable_reason="").exclude(pk=getattr(default, "pk", None))
        others = list(others.values_list("name", "url"))
    except DatabaseError:  # the database check says so; the repository is still worth checking
        default, others = None, []
    if default is None and is_local_url(settings.WAYLINE_GITOPS_URL) and not local_path(settings.WAYLINE_GITOPS_URL).exists():
        # Never set up (no row, nothing at the path): a fresh data directory, not a repository that went away.
        return Check("gitops", False, "not set up yet: run manage.py gitops_init (or manage.py demo)", setup=True)
    problems = []
    try:
        if default is not None:
            probe(credentials_for(default), default.branch, default.known_head)
        else:
            probe(Credentials(url=settings.WAYLINE_GITOPS_URL), settings.WAYLINE_GITOPS_BRANCH)
    except RepoUnavailable as exc:
        problems.append(exc.summary)
    except Exception as exc:  # noqa: BLE001 - git itself could not run: say so, and what kind of failure
        problems.append(f"the GitOps repository could not be checked ({type(exc).__name__})")
    for name, url in others:
        problems.append(f"the GitOps repository {name} ({display_url(url)}) is unavailable; its page says why")
    if problems:
        return Check("gitops", False, "; ".join(problems))
    return Check("gitops", True, "reachable")


def run_checks() -> list[Check]:
    return [check_database(), check_broker(), check_gitops()]
