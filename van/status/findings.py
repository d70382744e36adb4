"""K8sGPT findings: the hub's ``results.core.k8sgpt.ai``, one row per Result, routed to the team that owns the object.

K8sGPT reaches every cluster of a VAN the way ArgoCD does, through the VAN: on the hub, one ``K8sGPT`` resource per
cluster in a namespace of its own, ``k8sgpt-<cluster>``, whose kubeconfig points at that cluster's listener. Its
Results land in that namespace, so Wayline reads findings from the hub alone and knows each one's cluster by the
namespace (a ``wayline.io/cluster`` label, when present, says the same). A Result about a cluster that is not in the
VAN is skipped and logged, like a malformed one.

Routing (what "findings on your services" means) looks only at the apps the VAN's rules place on the finding's
cluster: the Result's ``backstage.io/kubernetes-id`` label picks the one whose catalog component declares that id
(Backstage's Kubernetes plugin matches the same annotation); otherwise the object's namespace picks the app placed
there (when several share it, the one whose name starts the object's name); the app's catalog component's owner (or
the app's own team) gets it. Routing decides whose home page shows a finding; who may see it is decided as for status
rows: whoever may see its VAN and its app; a finding with no app, only whoever may change the VAN.
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from van.models import Cluster, Finding, Van

logger = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "core.k8sgpt.ai", "v1alpha1", "results"
NAMESPACE_PREFIX = "k8sgpt-"
KUBERNETES_ID = "backstage.io/kubernetes-id"
LABEL_CLUSTER = "wayline.io/cluster"


class Malformed(ValueError):
    """Not a Result Wayline can place: skipped and logged, the others are stored."""


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def parse(obj) -> dict:
    """The fields of one Result (a dict as the API returns it); ``Malformed`` when it cannot be placed."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict) or not isinstance(obj.get("spec"), dict):
        raise Malformed("not a Result object (no metadata or spec)")
    metadata, spec = obj["metadata"], obj["spec"]
    name, namespace = metadata.get("name"), metadata.get("namespace") or ""
    if not isinstance(name, str) or not name:
        raise Malformed("no metadata.name")
    if not isinstance(namespace, str):
        raise Malformed(f"Result {name}: metadata.namespace is not a string")
    if not isinstance(spec.get("error") or [], list):
        raise Malformed(f"Result {namespace}/{name}: spec.error is not a list")
    labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
    cluster = _text(labels.get(LABEL_CLUSTER), 63) or (namespace[len(NAMESPACE_PREFIX):] if namespace.startswith(NAMESPACE_PREFIX) else "")
    if not cluster:
        raise Malformed(f"Result {namespace}/{name}: not in a k8sgpt-<cluster> namespace and no {LABEL_CLUSTER} label")
    errors = [_text(e.get("text"), 2000) for e in (spec.get("error") or []) if isinstance(e, dict) and isinstance(e.get("text"), str)]
    return {
        "result": f"{namespace}/{name}"[:253],
        "cluster_name": cluster,
        "kind": _text(spec.get("kind"), 63),
        "object_name": _text(spec.get("name"), 253),
        "parent_object": _text(spec.get("parentObject"), 253),
        "errors": errors[:20],
        "details": _text(spec.get("details"), 10_000),
        "kubernetes_id": _text(labels.get(KUBERNETES_ID), 253),
    }


def route(van: Van, rows: list[dict]) -> None:
    """Set ``app_id`` and ``owner_team_id`` on each row (a constant number of queries).

    Only apps the VAN's rules place on the finding's cluster are candidates (a Result cannot attach itself to an app
    the VAN does not deploy there). The ``backstage.io/kubernetes-id`` label picks, among those, the app whose catalog
    component declares that id; it never reaches beyond them. Otherwise the object's namespace picks (``_app_of``).
    """
    from catalog.models import Entity
    from van.models import App
    from van.status.applications import placed_pairs

    pairs = placed_pairs(van)
    apps = {a.name: a for a in App.objects.filter(name__in={a for a, _ in pairs}).only("pk", "name", "namespace", "component_ref", "owner_team_id")}
    on_cluster: dict[str, list] = {}
    for app_name, cluster_name in pairs:
        app = apps.get(app_name)
        if app is not None:
            on_cluster.setdefault(cluster_name, []).append((app.pk, app.name, app.component_ref.lower(), app.owner_team_id, app.namespace))
    refs = {c[2] for candidates in on_cluster.values() for c in candidates if c[2]}
    components = list(Entity.objects.filter(ref__in=refs).select_related("document").only("ref", "owner_team_id", "document__data")) if refs else []
    component_team = {e.ref: e.owner_team_id for e in components}
    declares = {e.ref: str(((e.data.get("metadata") or {}).get("annotations") or {}).get(KUBERNETES_ID) or "") for e in components}
    for row in rows:
        namespace, _, name = row["object_name"].partition("/")
        candidates = on_cluster.get(row["cluster_name"], [])
        by_id = [c for c in candidates if row["kubernetes_id"] and c[2] and declares.get(c[2]) == row["kubernetes_id"]]
        if len(by_id) == 1:
            app_id, _, component, app_team, _ = by_id[0]
            row["app_id"], row["owner_team_id"] = app_id, component_team.get(component) or app_team
            continue
        in_namespace = [c[:4] for c in candidates if c[4] == namespace]
        row["app_id"], row["owner_team_id"] = _app_of(in_namespace, name, row["parent_object"], component_team)


def _app_of(candidates: list, name: str, parent: str, component_team: dict) -> tuple[int | None, int | None]:
    """(app, team) of an object among the apps placed in its namespace: the one whose name starts the object's (or
    its parent's) name, the longest such; the only one; or, when several share the namespace and none is named, no
    app and their team if they all have the same one."""
    def team(component, app_team):
        return component_team.get(component) or app_team

    parent_name = parent.rpartition("/")[2]
    named = [c for c in candidates if any(n == c[1] or n.startswith(c[1] + "-") for n in (name, parent_name) if n)]
    if named:
        app_id, _, component, app_team = max(named, key=lambda c: len(c[1]))
        return app_id, team(component, app_team)
    if len(candidates) == 1:
        app_id, _, component, app_team = candidates[0]
        return app_id, team(component, app_team)
    teams = {team(component, app_team) for _, _, component, app_team in candidates}
    return None, (teams.pop() if len(teams) == 1 else None)


_COPIED = ("cluster_name", "kind", "object_name", "parent_object", "errors", "details", "kubernetes_id", "app_id", "owner_team_id")


def store_all(van: Van, objects: list, *, now: datetime | None = None) -> tuple[int, int]:
    """Every Result the hub lists now: upsert, route, and resolve the findings it no longer lists.

    Returns (stored, skipped); malformed Results and Results about clusters outside the VAN are skipped and logged.
    """
    now = now or timezone.now()
    clusters = dict(Cluster.objects.filter(van=van).values_list("name", "pk"))
    rows, skipped = {}, 0
    for obj in objects:
        try:
            row = parse(obj)
            if row["cluster_name"] not in clusters:
                raise Malformed(f"Result {row['result']}: cluster {row['cluster_name']!r} is not in VAN {van.name}")
        except Malformed as exc:
            skipped += 1
            logger.warning("VAN %s: skipped a K8sGPT Result: %s", van.name, exc)
            continue
        rows[row["result"]] = row
    route(van, list(rows.values()))
    with transaction.atomic():
        existing = {f.result: f for f in Finding.objects.filter(van=van)}
        new, updated = [], []
        for name, row in rows.items():
            finding = existing.get(name)
            if finding is None:
                finding = Finding(van=van, result=name, first_seen=now)
                new.append(finding)
            else:
                updated.append(finding)
                if finding.resolved_at is not None:  # it came back: a new occurrence
                    finding.first_seen, finding.resolved_at = now, None
            for field in _COPIED:
                setattr(finding, field, row[field])
            finding.cluster_id, finding.last_seen = clusters[row["cluster_name"]], now
        Finding.objects.bulk_create(new, batch_size=500)
        if updated:
            Finding.objects.bulk_update(updated, [*_COPIED, "cluster", "first_seen", "last_seen", "resolved_at"], batch_size=500)
        gone = [name for name, f in existing.items() if name not in rows and f.resolved_at is None]
        if gone:
            Finding.objects.filter(van=van, result__in=gone).update(resolved_at=now)
    return len(rows), skipped
