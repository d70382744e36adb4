"""What pages read of live status: rows restricted like their app and VAN, running versus desired versions.

A status row is visible to whoever may see both its app and its VAN; anyone else gets nothing, as if
the Application did not exist. The version "in git" for an app on a cluster is the one its
environment's override pins, else the version of the app's newest release that reached that VAN's git
(``desired_version``: what the hub's ArgoCD reads, not a change still waiting for approval); the version "running" is the tag of the app's
image among the images ArgoCD reports for the Application.
"""
from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, When
from django.utils import timezone

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet
from van.models import (
    App,
    AppRelease,
    AppStatus,
    Cluster,
    ClusterConnection,
    Finding,
    Van,
)


def status_list(*, user) -> QuerySet[AppStatus]:
    """Live rows ``user`` may see (Applications that still exist)."""
    return (
        AppStatus.objects.filter(deleted_at__isnull=True, app__in=App.objects.restrict(user, "view").values("pk"),
                                 van__in=Van.objects.restrict(user, "view").values("pk"))
        .select_related("van", "cluster", "app")
        # never decrypt keys and credentials for a status row (nor hold them in memory): pages show names only
        .defer("van__link_ca_key", "van__link_ca_cert", "cluster__credentials", "cluster__link_key", "cluster__link_cert",
               "cluster__sealing_cert")
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


def with_releases(apps: QuerySet) -> QuerySet:
    """``apps`` (or status rows) with their releases and each release's change sets, for ``desired_version`` in a
    constant number of queries."""
    changesets = ChangeSet.objects.only("pk", "owner_type", "owner_id", "status")
    prefix = "app__" if apps.model is AppStatus else ""
    return apps.prefetch_related(Prefetch(f"{prefix}releases", queryset=AppRelease.objects.prefetch_related(
        Prefetch("changesets", queryset=changesets))))


def desired_version(app: App, van_id: int, environment: str) -> tuple[str, ChangeSet | None]:
    """(version in git, the applied change set that wrote it) for ``app`` in ``environment`` of a VAN.

    The newest release that reached the VAN's git: one with an applied change set of that VAN, or one with no change
    set of that VAN at all (it went out with the VAN's own publish, before any upgrade). A release whose change sets
    there are all still waiting, rejected or failed is not in git yet. ``app`` comes from ``with_releases``.
    """
    van_type = ContentType.objects.get_for_model(Van)  # cached after the first call
    override = (app.overrides or {}).get(environment) or {}
    for release in app.releases.all():  # newest first
        mine = [cs for cs in release.changesets.all() if cs.owner_type_id == van_type.pk and cs.owner_id == van_id]
        applied = next((cs for cs in mine if cs.status == ChangeSetStatus.APPLIED), None)
        if applied is not None or not mine:
            return (override.get("version") or release.version), applied
    return (override.get("version") or app.version), None


def _hub_states(van_ids: set[int]) -> dict[int, ClusterConnection]:
    return {c.cluster.van_id: c for c in ClusterConnection.objects.filter(cluster__van_id__in=van_ids, cluster__role="hub").select_related("cluster")}


def live_rows(*, user, app: App | None = None, cluster: Cluster | None = None, van: Van | None = None,
              where: Q | None = None, limit: int | None = None) -> list[dict]:
    """Rows for a status panel: one per Application ``user`` may see, with versions, drift and the hub's state.

    A constant number of queries whatever the number of rows. ``limit``: the least healthy first, at most that many.
    """
    rows = status_list(user=user)
    if limit is not None:
        rows = rows.annotate(settled=Case(When(health_status="Healthy", sync_status="Synced", then=1), default=0)).order_by(
            "settled", "app_name", "cluster_name")
    if where is not None:
        rows = rows.filter(where)
    if app is not None:
        rows = rows.filter(app=app)
    if cluster is not None:
        rows = rows.filter(cluster=cluster)
    if van is not None:
        rows = rows.filter(van=van)
    rows = list(with_releases(rows if limit is None else rows[:limit]))
    openable = set(ChangeSet.objects.restrict(user, "view").filter(
        pk__in={cs.pk for row in rows for r in row.app.releases.all() for cs in r.changesets.all()}).values_list("pk", flat=True))
    hubs = _hub_states({row.van_id for row in rows})
    now = timezone.now()
    out = []
    for row in rows:
        desired, changeset = desired_version(row.app, row.van_id, row.environment)
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


def hub_connection(*, van: Van) -> dict:
    """The hub of ``van`` (the caller may see the VAN) as Wayline last reached it: its name, state, when it last
    answered and the last error; "unknown" until a watcher tried."""
    hub = Cluster.objects.filter(van=van, role="hub").select_related("connection").first()
    connection = getattr(hub, "connection", None) if hub is not None else None
    return {"name": hub.name if hub else "", "has_credentials": bool(hub and hub.credentials),
            "state": connection.state if connection else "unknown", "seen_at": connection.seen_at if connection else None,
            "message": connection.message if connection and connection.state != "reachable" else ""}


def health_counts(*, user, van: Van) -> dict[str, int]:
    """How many of the VAN's Applications ``user`` may see are in each health state (one query)."""
    counts = status_list(user=user).filter(van=van).order_by().values_list("health_status").annotate(n=Count("pk"))
    return dict(sorted(counts))


ARGOCD_APP_NAME, ARGOCD_APP_SELECTOR = "argocd/app-name", "argocd/app-selector"


def entity_rows(*, user, ref: str, annotations: dict) -> tuple[list[dict], str]:
    """Live rows for a catalog entity, and a word on how they were chosen (shown on the page).

    As Backstage's Argo CD plugins choose them: ``argocd/app-name`` (an Application's name; several, comma-separated)
    or ``argocd/app-selector`` (a label selector on the Applications' labels, such as ``wayline.io/app=checkout``);
    without either, the Applications of the apps linked to this Component. A selector that does not parse selects
    nothing and says why. Rows are restricted like every status row (their app and VAN).
    """
    from van.labels import LabelError, selector_parse

    names = [n.strip() for n in str(annotations.get(ARGOCD_APP_NAME) or "").split(",") if n.strip()]
    selector_text = str(annotations.get(ARGOCD_APP_SELECTOR) or "").strip()
    if names:
        return live_rows(user=user, where=Q(application__in=names)), f"Applications named by {ARGOCD_APP_NAME}"
    if selector_text:
        try:
            selector = selector_parse(selector_text, allow_reserved=True)
        except LabelError as exc:
            return [], f"{ARGOCD_APP_SELECTOR} does not parse: {exc}"
        rows = [row for row in live_rows(user=user) if selector.matches(row["status"].labels or {})]
        return rows, f"Applications matching {ARGOCD_APP_SELECTOR} {selector_text}"
    return live_rows(user=user, where=Q(app__component_ref__iexact=ref)), "Applications of the apps linked to this component"


VAN_PANEL_ROWS = 100  # the VAN page lists the least healthy Applications first, at most this many
FINDINGS_SHOWN = 50  # per panel; the newest first, open before resolved
RESOLVED_SHOWN_DAYS = 7  # a resolved finding stays listed (marked resolved) this long


def finding_list(*, user) -> QuerySet[Finding]:
    """Findings ``user`` may see: their VAN and their app are visible; a finding with no app (an object no placed app
    explains, which may belong to anyone's workload) only to whoever may change its VAN."""
    return (
        Finding.objects.filter(van__in=Van.objects.restrict(user, "view").values("pk"))
        .filter(Q(app__in=App.objects.restrict(user, "view").values("pk"))
                | Q(app__isnull=True, van__in=Van.objects.restrict(user, "change").values("pk")))
        .select_related("van", "app", "owner_team")
    )


def findings_shown(*, user, app: App | None = None, cluster: Cluster | None = None, teams=None) -> list[Finding]:
    """A panel's findings: open ones, and those resolved in the last week; for an app, a cluster, or routed to
    ``teams`` (the home page's "findings on your services"). One query."""
    rows = finding_list(user=user).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=timezone.now() - datetime.timedelta(days=RESOLVED_SHOWN_DAYS)))
    if app is not None:
        rows = rows.filter(app=app)
    if cluster is not None:
        rows = rows.filter(cluster=cluster)
    if teams is not None:
        rows = rows.filter(owner_team__in=teams)
    return list(rows.order_by(F("resolved_at").desc(nulls_first=True), "-last_seen", "pk")[:FINDINGS_SHOWN])
