"""Background work of the catalog: refreshing locations, once or on a schedule."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.celery import app

logger = logging.getLogger(__name__)

LOCK_SECONDS = 900


@shared_task(name="catalog.tasks.location_refresh", acks_late=True, time_limit=900, soft_time_limit=840,
             autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def location_refresh_task(location_id: int, full: bool = False) -> dict:
    """Refresh one location (``full``: reprocess unchanged files too). Idempotent; a second run for the
    same location while one runs is skipped."""
    from catalog import services
    from catalog.models import Location

    # The lock is a row update in the shared database, so it holds across workers and machines;
    # a lock older than LOCK_SECONDS belongs to a worker that died and is taken over.
    now = timezone.now()
    acquired = Location.objects.filter(pk=location_id).filter(
        Q(refresh_started__isnull=True) | Q(refresh_started__lt=now - timedelta(seconds=LOCK_SECONDS))
    ).update(refresh_started=now)
    if not acquired:
        logger.info("location %s is being refreshed already (or was deleted)", location_id)
        return {"skipped": True}
    try:
        return services.location_refresh(actor=None, location_id=location_id, full=full).as_dict()
    finally:
        Location.objects.filter(pk=location_id).update(refresh_started=None)


@shared_task(name="catalog.tasks.locations_refresh_due", acks_late=True, soft_time_limit=110, time_limit=120)
def locations_refresh_due() -> int:
    """Queue a refresh for every location not refreshed within ``CATALOG_REFRESH_INTERVAL`` seconds."""
    from catalog.models import Location

    interval = getattr(settings, "CATALOG_REFRESH_INTERVAL", 300)
    due = Location.objects.filter(
        Q(last_refreshed__isnull=True) | Q(last_refreshed__lt=timezone.now() - timedelta(seconds=interval))
    ).values_list("pk", flat=True)
    count = 0
    for location_id in due:
        transaction.on_commit(lambda location_id=location_id: location_refresh_task.delay(location_id))
        count += 1
    return count


@shared_task(name="catalog.scaffolder.run", acks_late=True, time_limit=1800, soft_time_limit=1740)
def scaffolder_run_task(run_id: int) -> str:
    """Execute or resume one scaffolder run. Idempotent: completed steps are checkpoints, and a run another worker
    holds (its lease fresh) is left to it."""
    from catalog.scaffolder.runs import run_execute

    return run_execute(run_id)


@shared_task(name="catalog.scaffolder.runs_due", acks_late=True, soft_time_limit=50, time_limit=60)
def scaffolder_runs_due(stale_seconds: float = 60) -> int:
    """Queue again the runs whose message was lost or whose worker died (its lease expired)."""
    from catalog.scaffolder.runs import runs_due

    due = runs_due(stale_seconds=stale_seconds)
    for run_id in due:
        scaffolder_run_task.delay(run_id)
    return len(due)


@app.on_after_finalize.connect
def _schedule(sender, **kwargs):
    sender.add_periodic_task(60.0, scaffolder_runs_due.s(), name="catalog: resume lost or abandoned scaffolder runs")
    # Declared in code: every minute, look for locations whose refresh interval has passed.
    sender.add_periodic_task(60.0, locations_refresh_due.s(), name="catalog: refresh due locations")
