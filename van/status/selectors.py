"""What pages read of live status: rows restricted like their app and VAN, running versus desired versions.

A status row is visible to whoever may see both its app and its VAN; anyone else gets nothing, as if
the Application did not exist. The version "in git" for an app on a cluster is the one its
environment's override pins, else the version of the app's latest release whose change set for that
VAN has been applied (what the hub's ArgoCD reads); the version "running" is the tag of the app's
image among the images ArgoCD reports for the Application.
"""
from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet
from van.models import App, AppRelease, AppStatus, Cluster, ClusterConnection, Van


def status_list(*, user) -> QuerySet[AppStatus]:
    """Live rows ``user`` may see (Applications that still exist)."""
    return (
        AppStatus.objects.filter(deleted_at__isnull=True, app__in=App.objects.restrict(user, "view").values("pk"),
                                 van__in=Van.objects.restrict(user, "view").values("pk"))
        .select_related("van", "cluster", "app")
        .order_by("van__name", "app_name", "cluster_name")
    )


def image_tag(images: list[str], repository: str) -> str:
    """The tag ``repository`` runs with among ``images`` ("" when it is not among them)."""
    if not repository:
        return ""
    for image in images:
        name, _, digest = image.partition("@")
        if ":" in name.rsplit("/", 1)[-1]:
            repo, tag = name.rsplit(":", 1)
        else:
            repo, tag = name, "latest"
        if repo == repository:
            return tag if not digest or tag != "latest" else digest
    return ""


def _desired(app: App, van_id: int, environment: str, van_type: ContentType) -> tuple[str, ChangeSet | None]:
    """(version in git, the applied change set that wrote it) for ``app`` in ``environment`` of a VAN."""
    override = (app.overrides or {}).get(environment) or {}
    for release in app.releases.all():  # newest first, prefetched with their applied change sets
        for cs in release.changesets.all():
            if cs.owner_type_id == van_type.pk and cs.owner_id == van_id:
                return (override.get("version") or release.version), cs
    return (override.get("version") or app.version), None


def _hub_states(van_ids: set[int]) -> dict[int, ClusterConnection]:
    return {c.cluster.van_id: c for c in ClusterConnection.objects.filter(cluster__van_id__in=van_ids, cluster__role="hub").select_related("cluster")}


def live_rows(*, user, app: App | None = None, cluster: Cluster | None = None, van: Van | None = None) -> list[dict]:
    """Rows for a status panel: one per Application ``user`` may see, with versions, drift and the hub's state.

    A constant number of queries whatever the number of rows.
    """
    rows = status_list(user=user)
    if app is not None:
        rows = rows.filter(app=app)
    if cluster is not None:
        rows = rows.filter(cluster=cluster)
    if van is not None:
        rows = rows.filter(van=van)
    applied = ChangeSet.objects.filter(status=ChangeSetStatus.APPLIED).only("pk", "owner_type", "owner_id", "status")
    rows = list(rows.prefetch_related(Prefetch("app__releases", queryset=AppRelease.objects.prefetch_related(
        Prefetch("changesets", queryset=applied)))))
    van_type = ContentType.objects.get_for_model(Van)
    openable = set(ChangeSet.objects.restrict(user, "view").filter(
        pk__in={cs.pk for row in rows for r in row.app.releases.all() for cs in r.changesets.all()}).values_list("pk", flat=True))
    hubs = _hub_states({row.van_id for row in rows})
    now = timezone.now()
    out = []
    for row in rows:
        desired, changeset = _desired(row.app, row.van_id, row.environment, van_type)
        running = image_tag(row.images, row.app.image)
        hub = hubs.get(row.van_id)
        out.append({
            "status": row, "desired": desired, "running": running,
            "drift": bool(running and desired and running != desired),
            "changeset": changeset, "can_open": changeset is not None and changeset.pk in openable,
            "hub_state": hub.state if hub else "unknown", "hub_seen": hub.seen_at if hub else None,
            "stale": hub is not None and hub.state != "reachable",
            "age": (now - row.observed_at) if row.observed_at else None,
        })
    return out


def health_summary(rows: list[dict]) -> dict[str, int]:
    """How many Applications are in each health state (for a VAN's summary)."""
    summary: dict[str, int] = {}
    for row in rows:
        summary[row["status"].health_status] = summary.get(row["status"].health_status, 0) + 1
    return dict(sorted(summary.items()))
