"""ArgoCD Applications as status rows: parse what the hub reports, store it, keep a short history."""
from __future__ import annotations

import logging
import time
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from van.models import (
    App,
    AppStatus,
    AppStatusChange,
    Cluster,
    HealthStatus,
    SyncStatus,
    Van,
)
from van.rendering.spec import (
    LABEL_APP,
    LABEL_CLUSTER,
    LABEL_ENVIRONMENT,
    LABEL_RULE,
    LABEL_VAN,
)

logger = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
HISTORY = 20  # transitions kept per Application


class Malformed(ValueError):
    """An object that is not an Application Wayline can map: skipped and logged, the sync goes on."""


def selector(van: Van) -> str:
    """The label selector of the Applications Wayline's ApplicationSets generate for ``van``."""
    return f"{LABEL_VAN}={van.name},{LABEL_APP},{LABEL_CLUSTER}"


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def parse(obj) -> dict:
    """The status fields of one Application object (a dict as the API returns it); ``Malformed`` if it is not one."""
    if not isinstance(obj, dict):
        raise Malformed(f"not an object: {type(obj).__name__}")
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise Malformed("no metadata.name")
    labels = metadata.get("labels") or {}
    if not isinstance(labels, dict) or not labels.get(LABEL_APP) or not labels.get(LABEL_CLUSTER):
        raise Malformed(f"Application {metadata['name']!r}: no {LABEL_APP} / {LABEL_CLUSTER} labels")
    status = obj.get("status")
    status = {} if status is None else status
    if not isinstance(status, dict):
        raise Malformed(f"Application {metadata['name']!r}: status is not an object")
    sync = status.get("sync") if isinstance(status.get("sync"), dict) else {}
    health = status.get("health") if isinstance(status.get("health"), dict) else {}
    summary = status.get("summary") if isinstance(status.get("summary"), dict) else {}
    operation = status.get("operationState") if isinstance(status.get("operationState"), dict) else {}
    revision = sync.get("revision")
    if not revision and isinstance(sync.get("revisions"), list) and sync["revisions"]:
        revision = sync["revisions"][0]
    images = [i for i in (summary.get("images") or []) if isinstance(i, str)][:50] if isinstance(summary.get("images"), list) else []
    conditions = [
        {"type": _text(c.get("type"), 100), "message": _text(c.get("message"), 1000), "lastTransitionTime": _text(c.get("lastTransitionTime"), 40)}
        for c in (status.get("conditions") or []) if isinstance(c, dict)
    ][:20] if isinstance(status.get("conditions"), list) else []
    sync_status = sync.get("status") if sync.get("status") in SyncStatus.values else SyncStatus.UNKNOWN
    health_status = health.get("status") if health.get("status") in HealthStatus.values else HealthStatus.UNKNOWN
    return {
        "application": metadata["name"][:253],
        "app_name": _text(labels.get(LABEL_APP), 63),
        "cluster_name": _text(labels.get(LABEL_CLUSTER), 63),
        "rule": _text(labels.get(LABEL_RULE), 63),
        "environment": _text(labels.get(LABEL_ENVIRONMENT), 63),
        "sync_status": sync_status,
        "health_status": health_status,
        "health_message": _text(health.get("message"), 2000),
        "revision": _text(revision, 200),
        "images": images,
        "operation_phase": _text(operation.get("phase"), 32),
        "operation_message": _text(operation.get("message"), 2000),
        "conditions": conditions,
        "labels": {k[:317]: v[:63] for k, v in list(labels.items())[:64] if isinstance(k, str) and isinstance(v, str)},
        "resource_version": _text(metadata.get("resourceVersion"), 64),
    }


_COPIED = ("app_name", "cluster_name", "rule", "environment", "sync_status", "health_status", "health_message", "revision",
           "images", "operation_phase", "operation_message", "conditions", "labels", "resource_version")


def placed_pairs(van: Van) -> frozenset[tuple[str, str]]:
    """(app, cluster) names the VAN's rules place now. An Application's labels map it to an app only when its VAN
    places that app on that cluster: a hub cannot attach status (or findings) to an app its VAN does not deploy."""
    from van.rendering.placement import placement_compute
    from van.selectors import van_spec

    try:
        return frozenset(placement_compute(van_spec(van=van)).pairs())
    except ValueError:  # no hub: nothing is placed
        return frozenset()


class PlacedPairs:
    """The VAN's placed pairs for a stream of events: computed again after ``seconds``, or at once when an event names
    a pair not among them (a rule or app just added), so a new placement is never missed and a removed one is kept
    at most ``seconds``."""

    def __init__(self, seconds: float = 5.0):
        self.seconds = seconds
        self.pairs: frozenset | None = None
        self.at = 0.0

    def get(self, van: Van, fields: dict) -> frozenset:
        now = time.monotonic()
        if self.pairs is None or now - self.at > self.seconds or (fields["app_name"], fields["cluster_name"]) not in self.pairs:
            self.pairs, self.at = placed_pairs(van), now
        return self.pairs


def _targets(van: Van, rows: list[dict], placed: frozenset | None = None) -> tuple[dict, dict]:
    """(app pk by (app, cluster) name, cluster pk by name) for ``rows``: only apps placed there, only the VAN's clusters.
    ``placed``: the VAN's placed pairs, if the caller keeps them (else computed)."""
    placed = placed_pairs(van) if placed is None else placed
    wanted = {(r["app_name"], r["cluster_name"]) for r in rows} & placed
    pks = dict(App.objects.filter(name__in={a for a, _ in wanted}).values_list("name", "pk")) if wanted else {}
    apps = {(a, c): pks[a] for a, c in wanted if a in pks}
    clusters = {c.name: c.pk for c in Cluster.objects.filter(van=van, name__in={r["cluster_name"] for r in rows}).only("pk", "name")}
    return apps, clusters


def store_one(van: Van, fields: dict, *, now: datetime | None = None, placed: frozenset | None = None) -> AppStatus:
    """Create or update the row of one Application; a sync or health change adds to its history. ``placed``: the VAN's
    placed pairs as the watcher keeps them (``PlacedPairs``), so an event does not recompute the placement."""
    now = now or timezone.now()
    apps, clusters = _targets(van, [fields], placed)
    with transaction.atomic():
        row = AppStatus.objects.select_for_update().filter(van=van, application=fields["application"]).first()
        created = row is None
        if created:
            row = AppStatus(van=van, application=fields["application"], changed_at=now)
        changed = created or (row.sync_status, row.health_status) != (fields["sync_status"], fields["health_status"])
        for name in _COPIED:
            setattr(row, name, fields[name])
        row.app_id, row.cluster_id = apps.get((fields["app_name"], fields["cluster_name"])), clusters.get(fields["cluster_name"])
        row.observed_at, row.deleted_at = now, None
        if changed:
            row.changed_at = now
        row.save()
        if changed:
            AppStatusChange.objects.create(status=row, at=now, sync_status=row.sync_status, health_status=row.health_status,
                                           message=row.health_message or row.operation_message)
            keep = AppStatusChange.objects.filter(status=row).values_list("pk", flat=True)[:HISTORY]
            AppStatusChange.objects.filter(status=row).exclude(pk__in=list(keep)).delete()
    return row


def mark_deleted(van: Van, application: str, *, now: datetime | None = None) -> None:
    """The Application went away (its app no longer placed there, or deleted by hand)."""
    AppStatus.objects.filter(van=van, application=application, deleted_at__isnull=True).update(deleted_at=now or timezone.now())


def store_all(van: Van, objects: list, *, now: datetime | None = None) -> tuple[int, int]:
    """A full list from the hub: upsert every Application in a few bulk queries, mark the ones not listed
    deleted. Returns (stored, skipped); malformed objects are logged and skipped."""
    now = now or timezone.now()
    parsed: dict[str, dict] = {}
    skipped = 0
    for obj in objects:
        try:
            fields = parse(obj)
        except Malformed as exc:
            skipped += 1
            logger.warning("VAN %s: skipped an Application the hub listed: %s", van.name, exc)
            continue
        parsed[fields["application"]] = fields
    apps, clusters = _targets(van, list(parsed.values()))
    with transaction.atomic():
        existing = {row.application: row for row in AppStatus.objects.filter(van=van)}
        new, updated, changes = [], [], []
        for name, fields in parsed.items():
            row = existing.get(name)
            if row is None:
                row = AppStatus(van=van, application=name, changed_at=now, observed_at=now)
                for field in _COPIED:
                    setattr(row, field, fields[field])
                row.app_id, row.cluster_id = apps.get((fields["app_name"], fields["cluster_name"])), clusters.get(fields["cluster_name"])
                new.append(row)
                continue
            changed = (row.sync_status, row.health_status) != (fields["sync_status"], fields["health_status"])
            for field in _COPIED:
                setattr(row, field, fields[field])
            row.app_id, row.cluster_id = apps.get((fields["app_name"], fields["cluster_name"])), clusters.get(fields["cluster_name"])
            row.observed_at, row.deleted_at = now, None
            if changed:
                row.changed_at = now
                changes.append(row)
            updated.append(row)
        AppStatus.objects.bulk_create(new, batch_size=500)
        if updated:
            AppStatus.objects.bulk_update(updated, [*_COPIED, "app", "cluster", "observed_at", "deleted_at", "changed_at"], batch_size=500)
        created = list(AppStatus.objects.filter(van=van, application__in=[r.application for r in new])) if new else []
        AppStatusChange.objects.bulk_create(
            [AppStatusChange(status=row, at=now, sync_status=row.sync_status, health_status=row.health_status,
                             message=row.health_message or row.operation_message) for row in [*created, *changes]],
            batch_size=500,
        )
        gone = set(existing) - set(parsed)
        if gone:
            AppStatus.objects.filter(van=van, application__in=gone, deleted_at__isnull=True).update(deleted_at=now)
    return len(parsed), skipped
