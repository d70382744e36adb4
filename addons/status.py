"""What a VAN's hub reports about its add-ons: their ArgoCD Applications and the Crossplane Workspaces of its claims.

Read by the hub watcher (``van.status.watcher``) with the official client, once per watch (a minute at most behind),
as it reads K8sGPT's Results. Objects are taken apart defensively: a malformed one is logged and skipped, and
nothing a hub reports names an object outside its own VAN (rows are keyed by the VAN being watched, and a
Workspace is matched to a claim of that VAN by its name ``<van>.<claim>`` and its ``wayline.io/van`` label).
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from addons.models import AddonStatus, InfraClaim
from addons.rendering import LABEL_ADDON
from van.models import HealthStatus, SyncStatus
from van.rendering.spec import LABEL_CLUSTER, LABEL_VAN

logger = logging.getLogger(__name__)

APPLICATIONS = ("argoproj.io", "v1alpha1", "applications")
WORKSPACES = ("tf.upbound.io", "v1beta1", "workspaces")
WORST_HEALTH = ("Missing", "Degraded", "Unknown", "Progressing", "Suspended", "Healthy")  # worst first
WORST_SYNC = ("OutOfSync", "Unknown", "Synced")


def applications_selector(van) -> str:
    return f"{LABEL_VAN}={van.name},{LABEL_ADDON}"


def workspaces_selector(van) -> str:
    return f"{LABEL_VAN}={van.name},{LABEL_ADDON}=crossplane"


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _metadata(obj) -> tuple[str, dict]:
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        raise ValueError("no metadata")
    name, labels = obj["metadata"].get("name"), obj["metadata"].get("labels") or {}
    if not isinstance(name, str) or not name or not isinstance(labels, dict):
        raise ValueError("no metadata.name or labels")
    return name, labels


def parse_application(obj) -> dict:
    name, labels = _metadata(obj)
    if not isinstance(labels.get(LABEL_ADDON), str) or not labels[LABEL_ADDON]:
        raise ValueError(f"Application {name!r}: no {LABEL_ADDON} label")
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    sync = status.get("sync") if isinstance(status.get("sync"), dict) else {}
    health = status.get("health") if isinstance(status.get("health"), dict) else {}
    operation = status.get("operationState") if isinstance(status.get("operationState"), dict) else {}
    return {
        "application": name[:253], "slug": _text(labels[LABEL_ADDON], 63), "cluster_name": _text(labels.get(LABEL_CLUSTER), 63),
        "sync_status": sync.get("status") if sync.get("status") in SyncStatus.values else SyncStatus.UNKNOWN,
        "health_status": health.get("status") if health.get("status") in HealthStatus.values else HealthStatus.UNKNOWN,
        "message": _text(health.get("message") or operation.get("message"), 2000),
    }


def store_applications(van, objects: list, *, now: datetime | None = None) -> tuple[int, int]:
    """A full list of the hub's add-on Applications: upsert each, mark those not listed deleted. (stored, skipped)."""
    now = now or timezone.now()
    parsed, skipped = {}, 0
    for obj in objects:
        try:
            fields = parse_application(obj)
        except ValueError as exc:
            skipped += 1
            logger.warning("VAN %s: skipped an add-on Application the hub listed: %s", van.name, exc)
            continue
        parsed[fields["application"]] = fields
    with transaction.atomic():
        existing = {row.application: row for row in AddonStatus.objects.filter(van=van)}
        new, updated = [], []
        for name, fields in parsed.items():
            row = existing.get(name) or AddonStatus(van=van, application=name)
            for key, value in fields.items():
                setattr(row, key, value)
            row.observed_at, row.deleted_at = now, None
            (updated if row.pk else new).append(row)
        AddonStatus.objects.bulk_create(new, batch_size=500)
        if updated:
            AddonStatus.objects.bulk_update(updated, ["slug", "cluster_name", "sync_status", "health_status", "message",
                                                      "observed_at", "deleted_at"], batch_size=500)
        gone = set(existing) - set(parsed)
        if gone:
            AddonStatus.objects.filter(van=van, application__in=gone, deleted_at__isnull=True).update(deleted_at=now)
    return len(parsed), skipped


def _condition(conditions, kind: str) -> tuple[bool | None, str]:
    for c in conditions if isinstance(conditions, list) else []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c.get("status") == "True", _text(c.get("message"), 1000)
    return None, ""


def _output(outputs: dict, key: str):
    value = outputs.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    if key == "node_count":
        try:
            return int(value)
        except ValueError:
            return None
    return value[:40] if isinstance(value, str) else str(value)


def parse_workspace(van, obj) -> tuple[str, dict]:
    """(claim name, observed values) of one Workspace of ``van``'s claims; ValueError when it is not one."""
    name, labels = _metadata(obj)
    prefix = f"{van.name}."
    if labels.get(LABEL_VAN) != van.name or not name.startswith(prefix):
        raise ValueError(f"Workspace {name!r} is not one of VAN {van.name}'s claims")
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    at_provider = status.get("atProvider") if isinstance(status.get("atProvider"), dict) else {}
    outputs = at_provider.get("outputs") if isinstance(at_provider.get("outputs"), dict) else {}
    ready, ready_message = _condition(status.get("conditions"), "Ready")
    synced, synced_message = _condition(status.get("conditions"), "Synced")
    return name[len(prefix):], {"node_count": _output(outputs, "node_count"), "node_size": _output(outputs, "node_size"),
                                "ready": ready, "synced": synced, "message": synced_message or ready_message}


def store_workspaces(van, objects: list, *, now: datetime | None = None) -> tuple[int, int]:
    """What the hub reports of the VAN's claims: observed values for each claim found, "missing" for a claim whose
    Workspace the hub no longer has (after it had one). (stored, skipped)."""
    now = now or timezone.now()
    seen, skipped = {}, 0
    for obj in objects:
        try:
            claim, observed = parse_workspace(van, obj)
        except ValueError as exc:
            skipped += 1
            logger.warning("VAN %s: skipped a Workspace the hub listed: %s", van.name, exc)
            continue
        seen[claim] = observed
    with transaction.atomic():
        claims = list(InfraClaim.objects.select_for_update().filter(van=van))
        changed = []
        for claim in claims:
            if claim.name in seen:
                claim.observed, claim.observed_at = seen[claim.name], now
                changed.append(claim)
            elif claim.observed_at is not None and not claim.observed.get("missing"):
                claim.observed, claim.observed_at = {"missing": True}, now
                changed.append(claim)
        if changed:
            InfraClaim.objects.bulk_update(changed, ["observed", "observed_at"])
    return len(seen), skipped


def cell_status(rows) -> dict | None:
    """The worst health and sync of an add-on's Applications on one cluster, for a matrix cell (None: none reported)."""
    live = [r for r in rows if r.deleted_at is None]
    if not live:
        return None
    health = min((r.health_status for r in live), key=lambda h: WORST_HEALTH.index(h) if h in WORST_HEALTH else 2)
    sync = min((r.sync_status for r in live), key=lambda s: WORST_SYNC.index(s) if s in WORST_SYNC else 1)
    message = next((r.message for r in live if r.health_status == health and r.message), "")
    return {"health": health, "sync": sync, "message": message, "observed_at": max(r.observed_at for r in live)}
