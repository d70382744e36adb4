"""The refresh task through a real Celery worker (in-process, over the configured broker)."""
from __future__ import annotations

import pytest

from catalog import services
from catalog.models import Entity, Location
from catalog.tasks import location_refresh_task, locations_refresh_due
from tests.catalog.conftest import component_yaml
from tests.polling import wait_for


@pytest.fixture
def live_worker(transactional_db):
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10,
                          queues=["default", "sync"]) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = previous


@pytest.mark.celery_worker
def test_register_queues_a_refresh_that_a_worker_runs(live_worker, git_repo):
    git_repo.write({"a.yaml": component_yaml("from-worker", "payments")})
    git_repo.commit()
    location = services.location_register(actor=None, type="git", target=git_repo.url, path="*.yaml")
    wait_for(lambda: Entity.objects.filter(name="from-worker").exists(), timeout=60, interval=0.2)
    assert Entity.objects.filter(name="from-worker", location=location).exists()
    # The entities are written before the worker lets go of the location (its lock is cleared last).
    wait_for(lambda: Location.objects.filter(pk=location.pk, refresh_started__isnull=True).exists(), timeout=30)
    location.refresh_from_db()
    assert location.status == "ok" and location.refresh_started is None


@pytest.mark.django_db
def test_refresh_task_skips_while_another_refresh_holds_the_lock(git_repo):
    from django.utils import timezone

    git_repo.write({"a.yaml": component_yaml("locked", "payments")})
    git_repo.commit()
    location = services.location_register(actor=None, type="git", target=git_repo.url, path="*.yaml", refresh=False)
    Location.objects.filter(pk=location.pk).update(refresh_started=timezone.now())
    assert location_refresh_task.apply(args=[location.pk]).get() == {"skipped": True}
    assert not Entity.objects.filter(name="locked").exists()
    Location.objects.filter(pk=location.pk).update(refresh_started=timezone.now() - timezone.timedelta(hours=1))
    assert location_refresh_task.apply(args=[location.pk]).get()["added"] == 1  # a stale lock is taken over


@pytest.mark.django_db
def test_due_locations_are_queued(git_repo, django_capture_on_commit_callbacks, settings):
    settings.CATALOG_REFRESH_INTERVAL = 300
    git_repo.write({"a.yaml": component_yaml("due", "payments")})
    git_repo.commit()
    location = services.location_register(actor=None, type="git", target=git_repo.url, path="*.yaml", refresh=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert locations_refresh_due.apply().get() == 1
    assert Entity.objects.filter(name="due").exists()
    location.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert locations_refresh_due.apply().get() == 0  # refreshed just now: not due
