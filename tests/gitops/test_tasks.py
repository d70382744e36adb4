"""With a worker running, a Dev change reaches the target branch within seconds; a Prod change only after approval.

The worker is a real Celery worker consuming the configured broker (filesystem, or
Redis in CI). It runs in this process (celery.contrib.testing) because the test
database is in-memory SQLite unless DATABASE_URL points to PostgreSQL; the
multi-process runs are the benchmarks in tests/bench/test_gitops_stress.py.
"""
from __future__ import annotations

import time

import pytest

from portal.gitops.choices import ChangeSetStatus
from tests.polling import wait_for



@pytest.fixture
def running_worker():
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["gitops"]):
            yield app
    finally:
        app.conf.task_always_eager = previous


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_dev_change_lands_within_seconds_and_prod_waits_for_approval(running_worker, repo, bare, people):
    from portal.gitops.models import ChangeSet
    from portal.gitops.services import changeset_approve, propose_change

    started = time.monotonic()
    dev = propose_change(owner=None, environment="dev", actor=people.alice, repo=repo, files_to_write={"envs/dev/web.yaml": "image: web:2\n"},
                         message="Dev rollout")
    prod = propose_change(owner=None, actor=people.alice, repo=repo, files_to_write={"envs/prod/web.yaml": "image: web:2\n"},
                          message="Prod rollout", environment="prod")
    landed = wait_for(lambda: bare.read("envs/dev/web.yaml") is not None)
    print(f"dev change on main after {landed - started:.2f}s")
    assert landed - started < 10
    wait_for(lambda: ChangeSet.objects.get(pk=prod.pk).status == ChangeSetStatus.AWAITING_APPROVAL)
    assert bare.read("envs/prod/web.yaml") is None
    assert f"wayline/change-{prod.pk}" in bare.branches()
    assert ChangeSet.objects.get(pk=dev.pk).status == ChangeSetStatus.APPLIED

    changeset_approve(actor=people.bob, changeset=ChangeSet.objects.get(pk=prod.pk), comment="go")
    wait_for(lambda: bare.read("envs/prod/web.yaml") is not None)
    wait_for(lambda: ChangeSet.objects.get(pk=prod.pk).status == ChangeSetStatus.APPLIED)
    assert "Approved-by: Bob <bob@example.com>" in bare.log()[0][4]


def test_polling_raises_what_the_predicate_raises_and_times_out():
    from django.db.utils import OperationalError

    def broken():
        raise OperationalError("no such table: gitops_changeset")

    answers = iter([False, True])
    wait_for(lambda: next(answers), timeout=5, interval=0.01)
    with pytest.raises(OperationalError, match="no such table"):
        wait_for(broken, timeout=5, interval=0.01)
    with pytest.raises(AssertionError, match="timed out"):
        wait_for(lambda: False, timeout=0.05, interval=0.01)


@pytest.mark.django_db
def test_the_sqlite_test_database_is_a_wal_file_so_a_worker_thread_never_locks_a_reader():
    """The flaky "database table is locked" came from Django's shared-cache in-memory test database."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert connection.settings_dict["NAME"].endswith("test.sqlite3")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


@pytest.mark.django_db
def test_sweep_requeues_a_change_whose_task_was_lost(repo, bare, people):
    """A killed worker on a broker without redelivery loses its message; the periodic sweep finds the row."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.gitops.models import ChangeSet
    from portal.gitops.services import propose_change
    from portal.gitops.tasks import sweep

    cs = propose_change(owner=None, environment="dev", actor=people.alice, repo=repo, files_to_write={"lost.yaml": "l\n"}, message="lost task")
    # The test transaction never commits, so on_commit never enqueued it: the same state as a lost message.
    ChangeSet.objects.filter(pk=cs.pk).update(updated=timezone.now() - timedelta(minutes=5))
    sweep.delay(stale_seconds=60)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED and bare.trailer_count(cs.pk) == 1


def test_approval_branches_of_final_changes_are_pruned(repo, bare, people, propose):
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet
    from portal.gitops.tasks import prune_branches

    waiting = propose(actor=people.alice, repo=repo, files_to_write={"envs/prod/a.yaml": "a\n"}, message="a", environment="prod")
    gone = propose(actor=people.alice, repo=repo, files_to_write={"envs/prod/b.yaml": "b\n"}, message="b", environment="prod")
    assert {waiting.approval_branch, gone.approval_branch} <= set(bare.branches())
    # Withdrawn while its branch was being pushed: the branch stays behind until the sweep.
    ChangeSet.objects.filter(pk=gone.pk).update(status=ChangeSetStatus.WITHDRAWN)
    assert prune_branches(repo.pk) == 1
    assert gone.approval_branch not in bare.branches() and waiting.approval_branch in bare.branches()
    assert prune_branches(repo.pk) == 0
