"""Read selectors for VANs, clusters, apps and distribution rules, and the renderer's inputs.

Placement policy (docs/van-permissions.md): a VAN's rules place only the apps its
owning team may see, public apps and the team's own private apps. ``van_spec``
applies it, so rendering, placement pages and every preview agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet

from portal.models import Visibility
from portal.sealing import SealingError, certificate_load
from van.choices import ClusterRole
from van.labels import LabelError, selector_parse, tags_parse
from van.models import App, AppRelease, Cluster, DistributionRule, Van
from van.rendering import (
    AppSpec, ClusterSpec, EnvironmentOverride, LinkCA, Placement, RuleSpec, VanSpec, placement_compute, placement_diff,
    unmatched_rules,
)
from van.rendering.spec import ENVIRONMENTS
from van.services import credentials_parse, selector_clean, tags_parse as tags_clean


def cluster_list(*, user, filters: dict | None = None) -> QuerySet[Cluster]:
    """Clusters the user may see, each with ``van_visible``: whether ``user`` may see its VAN.

    A cluster in a VAN ``user`` may not see reads as a cluster in no VAN (no name, no role, no
    placements), exactly like a missing VAN.
    """
    from django.db.models import Exists, OuterRef

    return (
        Cluster.objects.restrict(user, "view").select_related("owner_team", "van")
        .annotate(van_visible=Exists(Van.objects.restrict(user, "view").order_by().filter(pk=OuterRef("van_id"))))
        .filter(**(filters or {}))
    )


def van_list(*, user, filters: dict | None = None) -> QuerySet[Van]:
    """VANs the user may see, with their edge counts."""
    return (
        Van.objects.restrict(user, "view").select_related("owner_team", "repo")
        .annotate(edge_count=Count("clusters", distinct=True))
        .filter(**(filters or {}))
        .order_by("name")
    )


def app_list(*, user, filters: dict | None = None) -> QuerySet[App]:
    """Apps the user may see."""
    return App.objects.restrict(user, "view").select_related("owner_team").filter(**(filters or {}))


def rule_list(*, user, filters: dict | None = None) -> QuerySet[DistributionRule]:
    """Distribution rules the user may see."""
    return DistributionRule.objects.restrict(user, "view").select_related("van", "van__owner_team").filter(**(filters or {}))


def app_releases(*, app: App, user) -> QuerySet[AppRelease]:
    """An app's past versions, newest first, with authors and the change sets that carried each.

    Each change set comes with ``van_name`` and ``can_open`` (whether ``user`` may open its diff: the
    VAN team's readers and the environment's approvers). Others see the change sets they may open;
    the app's own team also sees those of other teams' VANs it may see (their names are no secret),
    unlinked: so it learns that its version waits for approval in another team's VAN, and where,
    without reading that VAN's files. Change sets of VANs ``user`` may not see are left out, like
    missing ones.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Exists, OuterRef, Subquery

    from portal.gitops.models import ChangeSet
    from portal.gitops.selectors import changeset_list
    from portal.models.base import granted_q

    openable = changeset_list(user=user).select_related(None).order_by()
    app_team = user.is_superuser or App.objects.filter(granted_q(App, user, "view_app"), pk=app.pk).exists()
    if app_team:
        shown = ChangeSet.objects.filter(owner_type=ContentType.objects.get_for_model(Van),
                                         owner_id__in=Van.objects.restrict(user, "view").values("pk"))
    else:
        shown = openable
    carried = (
        shown.select_related(None)
        .annotate(
            van_name=Subquery(Van.objects.filter(pk=OuterRef("owner_id")).values("name")[:1]),
            can_open=Exists(openable.filter(pk=OuterRef("pk"))),
        )
        .only("pk", "status", "revision", "owner_id")
        .order_by("pk")
    )
    return app.releases.select_related("author", "rollback_of").prefetch_related(Prefetch("changesets", queryset=carried))


def _cluster_spec(cluster: Cluster) -> ClusterSpec:
    return ClusterSpec(
        name=cluster.name,
        environment=cluster.environment,
        api_url=cluster.api_url,
        tags=tuple(tags_parse(cluster.tags)),
        credentials=credentials_parse(cluster.credentials_kind, cluster.credentials) if cluster.credentials else None,
        sealing_cert_pem=cluster.sealing_cert,
        link_cert_pem=cluster.link_cert,
        link_key_pem=cluster.link_key,
    )


def app_spec(app: App) -> AppSpec:
    return AppSpec(
        name=app.name, namespace=app.namespace, source_kind=app.source_kind, repo_url=app.repo_url, path=app.path,
        revision=app.revision or "HEAD", chart=app.chart, chart_version=app.chart_version, values=app.values or {},
        image=app.image, version=app.version, tags=tuple(tags_parse(app.tags)),
        overrides=tuple(sorted(
            (env, EnvironmentOverride(version=o.get("version", ""), chart_version=o.get("chart_version", ""), values=o.get("values") or {}))
            for env, o in (app.overrides or {}).items()
        )),
    )


def rule_spec(rule: DistributionRule) -> RuleSpec:
    return RuleSpec(
        name=rule.name, app_tags=tuple(tags_parse(rule.app_tags)), app_match=rule.app_match,
        cluster_selector=selector_parse(rule.cluster_selector), environments=tuple(rule.environments or ()),
        sync=rule.sync, prune=rule.prune, self_heal=rule.self_heal, order=rule.order,
    )


def _default_repo_coordinates() -> tuple[str, str]:
    """URL and branch of the default GitOps repo, without creating it (reads must not write)."""
    from portal.gitops.models import GitOpsRepo

    repo = GitOpsRepo.objects.filter(is_default=True).only("url", "branch").first()
    return (repo.url, repo.branch) if repo else (settings.WAYLINE_GITOPS_URL, settings.WAYLINE_GITOPS_BRANCH)


def app_placeable(app: App, *, van: Van) -> bool:
    """May ``van``'s rules place ``app``? Only if the VAN's owning team may see it: public, or the team's own."""
    return app.visibility == Visibility.PUBLIC or app.owner_team_id == van.owner_team_id


def placeable_apps(*, van: Van) -> QuerySet[App]:
    """The apps ``van``'s rules may place (the query form of ``app_placeable``)."""
    return App.objects.filter(Q(visibility=Visibility.PUBLIC) | Q(owner_team_id=van.owner_team_id))


def van_spec(*, van: Van, clusters=None, apps=None, rules=None, default_repo: tuple[str, str] | None = None) -> VanSpec:
    """What the renderer needs for ``van`` (the apps it may place: rules pick them by tag). Three queries.

    ``clusters``/``apps``/``rules`` replace the stored ones, for previews of unsaved edits;
    apps the VAN may not place are dropped from ``apps`` too.
    """
    if clusters is None:
        clusters = list(Cluster.objects.filter(van=van))
    hub = next((c for c in clusters if c.role == ClusterRole.HUB), None)
    if hub is None:
        raise ValueError(f"VAN {van.name} has no hub")
    edges = sorted((c for c in clusters if c.role == ClusterRole.EDGE), key=lambda c: c.name)
    apps = list(placeable_apps(van=van)) if apps is None else [a for a in apps if app_placeable(a, van=van)]
    rules = list(DistributionRule.objects.filter(van=van)) if rules is None else rules
    repo_url, repo_branch = (van.repo.url, van.repo.branch) if van.repo_id else (default_repo or _default_repo_coordinates())
    return VanSpec(
        name=van.name, hub=_cluster_spec(hub), edges=tuple(_cluster_spec(c) for c in edges),
        apps=tuple(app_spec(a) for a in apps), rules=tuple(rule_spec(r) for r in rules),
        repo_url=repo_url, repo_revision=repo_branch, reachability=van.reachability, hub_host=van.hub_host,
        inter_router_port=van.inter_router_port, edge_port=van.edge_port, skupper_namespace=van.skupper_namespace,
        argocd_namespace=van.argocd_namespace, link_ca=LinkCA(van.link_ca_cert, van.link_ca_key) if van.link_ca_cert else None,
        prune=bool(getattr(settings, "WAYLINE_ARGOCD_PRUNE", False)),
    )


@dataclass(frozen=True)
class PublishBlocker:
    """One reason a VAN commits nothing yet, and what fixes it (``cluster``: the one to edit; None: the VAN)."""

    kind: str  # no_hub, hub_host, sealing_cert, credentials
    problem: str
    fix: str
    cluster: Cluster | None = None

    def __str__(self) -> str:
        return f"{self.problem}: {self.fix}"


def van_publish_blockers(*, van: Van, clusters=None) -> list[PublishBlocker]:
    """What keeps ``van`` from publishing: until this is empty its saves are kept but nothing is committed.

    The save that clears the last blocker publishes everything at once, whatever the order of the fixes.
    Only the VAN's own settings and clusters are named. ``clusters``: the VAN's clusters, if loaded (else one query).
    """
    clusters = list(Cluster.objects.filter(van=van)) if clusters is None else list(clusters)
    hub = next((c for c in clusters if c.role == ClusterRole.HUB), None)
    edges = sorted((c for c in clusters if c.role == ClusterRole.EDGE), key=lambda c: c.name)
    blockers = []
    if hub is None:
        blockers.append(PublishBlocker("no_hub", f"VAN {van.name} has no hub", "create the VAN again around a hub cluster"))
    if not van.hub_host:
        blockers.append(PublishBlocker(
            "hub_host", f"VAN {van.name} has no hub address",
            "set it on the VAN's edit page (the host name or IP at which edges reach the hub's Skupper router)"))
    for cluster in ([hub] if hub else []) + edges:
        role = "Hub" if cluster is hub else "Edge"
        # The hub seals the ArgoCD cluster Secrets and the link CA; each edge its own link credentials.
        if not cluster.sealing_cert:
            blockers.append(PublishBlocker(
                "sealing_cert", f"{role} {cluster.name} has no Sealed Secrets certificate",
                "add it on the cluster's edit page (kubeseal --fetch-cert prints it)", cluster))
        else:
            try:
                certificate_load(cluster.sealing_cert)
            except SealingError as exc:
                blockers.append(PublishBlocker(
                    "sealing_cert", f"{role} {cluster.name}'s Sealed Secrets certificate is unusable ({exc})",
                    "replace it on the cluster's edit page (kubeseal --fetch-cert prints it)", cluster))
        if cluster is not hub and not cluster.credentials:
            blockers.append(PublishBlocker(
                "credentials", f"Edge {cluster.name} has no credentials",
                "add a bearer token or kubeconfig on the cluster's edit page, so that ArgoCD on the hub can deploy to it",
                cluster))
    return blockers


def publish_blocker_rows(*, user, van: Van) -> list[dict]:
    """The VAN page's "not published yet" list: each blocker with where ``user`` fixes it (the edit page of the
    VAN or cluster if they may change it; else the cluster's page if they may see it; else no link). Three queries."""
    from django.urls import reverse

    blockers = van_publish_blockers(van=van)
    pks = {b.cluster.pk for b in blockers if b.cluster is not None}
    changeable = set(Cluster.objects.restrict(user, "change").filter(pk__in=pks).values_list("pk", flat=True)) if pks else set()
    visible = set(Cluster.objects.restrict(user, "view").filter(pk__in=pks).values_list("pk", flat=True)) if pks else set()
    rows = []
    for blocker in blockers:
        cluster, url, can_fix = blocker.cluster, None, False
        if cluster is None and blocker.kind == "hub_host" and Van.objects.permits(user, "change", van):
            url, can_fix = reverse("van:van_edit", kwargs={"pk": van.pk}), True
        elif cluster is not None and cluster.pk in changeable:
            url, can_fix = reverse("van:cluster_edit", kwargs={"pk": cluster.pk}), True
        elif cluster is not None and cluster.pk in visible:
            url = cluster.get_absolute_url()
        rows.append({"blocker": blocker, "url": url, "can_fix": can_fix})
    return rows


def van_publish_report(*, user, outcomes) -> list[dict]:
    """A save's publish outcomes (``van.services.publish_outcomes``) as ``user`` may read them: VANs they may not
    see are left out, not counted; each change set as it is now (applied, waiting, in conflict). Two queries."""
    from portal.gitops.models import ChangeSet

    visible = set(Van.objects.restrict(user, "view").filter(pk__in=[o.van.pk for o in outcomes]).values_list("pk", flat=True))
    now = ChangeSet.objects.select_related("environment").in_bulk([o.changeset.pk for o in outcomes if o.changeset])
    return [{"van": o.van, "blockers": list(o.blockers), "changeset": now.get(o.changeset.pk) if o.changeset else None}
            for o in outcomes if o.van.pk in visible]


def van_placement(*, van: Van) -> tuple[VanSpec, Placement]:
    spec = van_spec(van=van)
    return spec, placement_compute(spec)


def visible_app_names(*, user, names) -> set[str]:
    """Which of these app names ``user`` may see (a VAN team's private apps are placed, but not shown to others)."""
    return set(App.objects.restrict(user, "view").filter(name__in=list(names)).values_list("name", flat=True))


def placements_of_cluster(*, cluster: Cluster, user=None) -> list[tuple[str, str]]:
    """(app, rule) pairs placed on ``cluster`` by its VAN's rules (only apps ``user`` may see, if given)."""
    if cluster.van_id is None or (user is not None and not Van.objects.permits(user, "view", cluster.van)):
        return []
    _, placement = van_placement(van=cluster.van)
    pairs = sorted((app, clusters[cluster.name]) for app, clusters in placement.by_app.items() if cluster.name in clusters)
    if user is not None:
        visible = visible_app_names(user=user, names={app for app, _ in pairs})
        pairs = [pair for pair in pairs if pair[0] in visible]
    return pairs


def all_placements() -> dict[str, tuple[VanSpec, Placement]]:
    """Placement of every VAN that has a hub, keyed by VAN name; a constant number of queries."""
    vans = list(Van.objects.select_related("repo"))
    clusters, rules = {}, {}
    for cluster in Cluster.objects.filter(van__isnull=False):
        clusters.setdefault(cluster.van_id, []).append(cluster)
    for rule in DistributionRule.objects.all():
        rules.setdefault(rule.van_id, []).append(rule)
    apps = list(App.objects.all())
    default_repo = _default_repo_coordinates() if any(v.repo_id is None for v in vans) else None
    out = {}
    for van in vans:
        if not any(c.role == ClusterRole.HUB for c in clusters.get(van.pk, [])):
            continue
        spec = van_spec(van=van, clusters=clusters.get(van.pk, []), apps=apps, rules=rules.get(van.pk, []), default_repo=default_repo)
        out[van.name] = (spec, placement_compute(spec))
    return out


def _visible_placements(user, placements: dict) -> dict:
    """``placements`` (VAN name -> placement) cut to the VANs ``user`` may see."""
    visible = set(Van.objects.restrict(user, "view").filter(name__in=list(placements)).values_list("name", flat=True))
    return {name: value for name, value in placements.items() if name in visible}


def placements_of_app(*, app_name: str, user=None, placements=None) -> list[dict]:
    """Where an app runs: one row per (VAN, cluster) with the rule and environment (only VANs ``user`` may see, if given)."""
    placements = all_placements() if placements is None else placements
    if user is not None:
        placements = _visible_placements(user, placements)
    rows = []
    for van_name, (spec, placement) in sorted(placements.items()):
        env_of = {c.name: c.environment for c in spec.clusters}
        for cluster, rule in sorted(placement.clusters_of(app_name).items()):
            rows.append({"van": van_name, "cluster": cluster, "rule": rule, "environment": env_of[cluster]})
    return rows


def deployments_of_component(*, user, component_ref: str) -> list[dict]:
    """For the catalog entity page: where the apps linked to this Component run."""
    apps = list(app_list(user=user).filter(component_ref__iexact=component_ref).values_list("name", flat=True))
    if not apps:
        return []
    placements = _visible_placements(user, all_placements())  # one query for every app
    return [row | {"app": name} for name in apps for row in placements_of_app(app_name=name, placements=placements)]


def van_clusters(*, van: Van) -> QuerySet[Cluster]:
    return Cluster.objects.filter(van=van).order_by("role", "name").prefetch_related(Prefetch("owner_team"))


def pending_changes(*, user, van: Van | None, paths: list[str] = ()) -> list:
    """The VAN's changes git does not hold under ``paths`` (relative to its folder; all of it when empty)."""
    from portal.gitops.selectors import changes_not_in_git

    if van is None:
        return []
    root = van.gitops_root()
    return changes_not_in_git(user=user, owner=van, prefixes=[root + p for p in paths] or [root])


def van_changesets(*, van: Van, user, limit: int = 10):
    """The VAN's latest change sets that ``user`` may see (the VAN owns them)."""
    from portal.gitops.selectors import changesets_of_owner

    return changesets_of_owner(user=user, owner=van, limit=limit)


# --- what pages show: matrix, topology, and previews of unsaved edits -----------------------------


def placement_matrix(spec: VanSpec, placement: Placement, *, every_app: bool = False) -> dict:
    """Rows of the apps x clusters placement matrix (only apps some rule selects, unless ``every_app``)."""
    clusters = [c.name for c in spec.clusters]
    rows = []
    for app in sorted(spec.apps, key=lambda a: a.name):
        placed = placement.clusters_of(app.name)
        if every_app or placed or any(r.selects_app(app) for r in spec.rules):
            rows.append({"app": app.name, "cells": [placed.get(c, "") for c in clusters]})
    return {"clusters": clusters, "environments": [c.environment for c in spec.clusters], "rows": rows}


def _fit(name: str, chars: int) -> str:
    """A node label that fits its circle: the name, or its start and an ellipsis (the full name is the node's tooltip)."""
    return name if len(name) <= chars else name[: chars - 1] + "…"


def van_topology(spec: VanSpec) -> dict:
    """Positions for the VAN page's SVG: the hub in the middle, edges on a circle around it."""
    width, height, cx, cy, radius = 640, 380, 320, 190, 150
    edges = []
    count = max(len(spec.edges), 1)
    for index, edge in enumerate(spec.edges):
        angle = -math.pi / 2 + 2 * math.pi * index / count + (math.pi / count if count > 1 else math.pi)
        edges.append({"name": edge.name, "label": _fit(edge.name, 10), "environment": edge.environment, "x": round(cx + radius * math.cos(angle)),
                      "y": round(cy + radius * math.sin(angle)), "tags": [str(t) for t in edge.tags]})
    # Crop to the nodes (hub radius 52, edges 28 plus their labels) so two edges in a row leave no empty band.
    top = max(0, min([cy - 62] + [e["y"] - 40 for e in edges]))
    height = min(height, max([cy + 62] + [e["y"] + 40 for e in edges])) - top
    return {"width": width, "height": height, "top": top, "hub": {"name": spec.hub.name, "label": _fit(spec.hub.name, 11), "environment": spec.hub.environment,
            "x": cx, "y": cy, "tags": [str(t) for t in spec.hub.tags]}, "edges": edges}


def van_overview(*, van: Van, user) -> dict:
    """The VAN page's placement: topology, matrix and rules that place nothing (``no_hub`` without a hub).

    Rows of apps ``user`` may not see (the VAN team's private apps) are counted, not shown.
    """
    try:
        spec, placement = van_placement(van=van)
    except ValueError:
        return {"no_hub": True}
    matrix = placement_matrix(spec, placement)
    visible = visible_app_names(user=user, names={row["app"] for row in matrix["rows"]})
    shown = [row for row in matrix["rows"] if row["app"] in visible]
    matrix |= {"rows": shown, "hidden": len(matrix["rows"]) - len(shown)}
    return {"spec": spec, "topology": van_topology(spec), "matrix": matrix, "unmatched": {f.rule: f for f in unmatched_rules(spec)}}


def rule_placements(*, rule: DistributionRule, user) -> dict:
    """The rule page: the (app, cluster) pairs this rule places (apps ``user`` may see), and why it places nothing if it does not."""
    spec, placement = van_placement(van=rule.van)
    placed = [(app, cluster) for app, clusters in sorted(placement.by_app.items())
              for cluster, name in sorted(clusters.items()) if name == rule.name]
    visible = visible_app_names(user=user, names={app for app, _ in placed})
    return {"placed": [pair for pair in placed if pair[0] in visible], "hidden": sum(app not in visible for app, _ in placed),
            "unmatched": {f.rule: f for f in unmatched_rules(spec)}.get(rule.name)}


def _preview_error(exc: Exception) -> dict:
    return {"error": "; ".join(getattr(exc, "messages", None) or [str(exc)])}


def _protected_names() -> dict[str, str]:
    """Slug -> name of the environments whose changes wait for approval, as the Environment rows say now (one query)."""
    from portal.gitops.models import Environment

    return dict(Environment.objects.filter(requires_approval=True).order_by("order").values_list("slug", "name"))


def _touches_prod(spec: VanSpec, diff, protected: dict[str, str]) -> list[str]:
    """Protected environments whose placements a draft changes (the preview warns that the change will wait)."""
    env_of = {c.name: c.environment for c in spec.clusters}
    touched = {env_of.get(cluster) for _, _, cluster in diff.added + diff.removed}
    return [name for slug, name in protected.items() if slug in touched]


def _withheld_apps(*, user, van: Van, rule: RuleSpec) -> dict:
    """Apps that carry the rule's tags but are private to another team, so the rule does not place them.

    Names only of those ``user`` may see; the others are only counted, so the preview leaks nothing.
    """
    others = App.objects.exclude(Q(visibility=Visibility.PUBLIC) | Q(owner_team_id=van.owner_team_id))
    selected = [a for a in others if rule.selects_app(app_spec(a))]
    if not selected:
        return {"names": [], "hidden": 0}
    visible = set(App.objects.restrict(user, "view").filter(pk__in=[a.pk for a in selected]).values_list("pk", flat=True))
    return {"names": sorted(a.name for a in selected if a.pk in visible), "hidden": sum(a.pk not in visible for a in selected)}


def rule_preview(*, user, van: Van, rule: DistributionRule | None, data: dict | None) -> dict | None:
    """What saving the rule form would change: the placement matrix after the edit and the Applications added/removed.

    ``data`` is the posted form (``environments`` a list); ``rule`` the rule being edited (None: a new one).
    ``withheld`` lists apps the rule's tags select that the VAN may not place (another team's private apps);
    ``blockers`` what keeps the VAN from publishing, so saving would commit nothing yet.
    """
    if data is None:
        return None
    stored = list(van.rules.all())
    try:
        draft = DistributionRule(
            van=van, name=data.get("name") or "draft", order=int(data.get("order") or 0),
            app_tags=tags_clean(data.get("app_tags") or "", field="app_tags"),
            app_match=data.get("app_match") or "all",
            cluster_selector=selector_clean(data.get("cluster_selector") or ""),
            environments=[e for e in (data.get("environments") or []) if e in ENVIRONMENTS],
            sync=data.get("sync") or "automated",
        )
    except (ValidationError, ValueError, LabelError) as exc:
        return _preview_error(exc)
    others = [r for r in stored if rule is None or r.pk != rule.pk]
    clusters, apps = list(Cluster.objects.filter(van=van)), list(placeable_apps(van=van))
    before = van_spec(van=van, clusters=clusters, apps=apps, rules=stored)
    after = van_spec(van=van, clusters=clusters, apps=apps, rules=others + [draft])
    diff = placement_diff(before, after)
    return {"matrix": placement_matrix(after, diff.after), "added": diff.added, "removed": diff.removed,
            "flag": {f.rule: f for f in unmatched_rules(after)}.get(draft.name), "prod": _touches_prod(after, diff, _protected_names()),
            "withheld": _withheld_apps(user=user, van=van, rule=rule_spec(draft)),
            "blockers": van_publish_blockers(van=van, clusters=clusters)}


def cluster_tag_preview(*, cluster: Cluster, raw_tags: str, sealing_cert: str = "", credentials: str = "", user=None) -> dict | None:
    """What saving new tags on a VAN member would change in its VAN (None for a cluster in no VAN, or in one ``user`` may not see).

    ``sealing_cert``/``credentials``: posted with the tags (empty: keep the stored ones); ``blockers`` counts them.
    """
    if cluster.van_id is None or (user is not None and not Van.objects.permits(user, "view", cluster.van)):
        return None
    try:
        tags = tags_clean(raw_tags)
    except ValidationError as exc:
        return _preview_error(exc)
    clusters = list(Cluster.objects.filter(van_id=cluster.van_id))
    draft = next(c for c in clusters if c.pk == cluster.pk)
    fields = {f.attname: getattr(draft, f.attname) for f in Cluster._meta.concrete_fields}
    others = [c for c in clusters if c.pk != cluster.pk]
    edited = others + [Cluster(**{**fields, "tags": tags})]
    posted = Cluster(**{**fields, "sealing_cert": (sealing_cert or "").strip() or draft.sealing_cert,
                        "credentials": (credentials or "").strip() or draft.credentials})
    apps, rules = list(placeable_apps(van=cluster.van)), list(DistributionRule.objects.filter(van_id=cluster.van_id))
    before = van_spec(van=cluster.van, clusters=clusters, apps=apps, rules=rules)
    after = van_spec(van=cluster.van, clusters=edited, apps=apps, rules=rules)
    diff = placement_diff(before, after)
    return {"matrix": placement_matrix(after, diff.after), "added": diff.added, "removed": diff.removed, "flag": None,
            "prod": [name for slug, name in _protected_names().items() if slug == cluster.environment] if diff.added or diff.removed else [],
            "blockers": van_publish_blockers(van=cluster.van, clusters=others + [posted])}


def app_edit_preview(*, user, app: App | None, data: dict) -> dict:
    """What saving the app form would change in every VAN: per VAN, the app's row and the Applications added/removed.

    ``app``: the app being edited, None for a new one (named by the posted ``name``; nothing placed before).
    ``data``: the posted ``tags``, ``visibility`` and ``owner_team`` (a team the user may not edit for is ignored).
    Placement of one app does not depend on the others, so each VAN is evaluated for this app alone.
    VANs the user may not see are only counted. A constant number of queries.
    """
    from portal.selectors import teams_user_can_edit_for

    try:
        tags = tags_clean(data.get("tags") or "")
    except ValidationError as exc:
        return _preview_error(exc)
    if app is None:
        app = App(name=(data.get("name") or "").strip() or "new-app", visibility=Visibility.PUBLIC, tags=[])
    draft = App(**{f.attname: getattr(app, f.attname) for f in App._meta.concrete_fields})
    draft.tags = tags
    if data.get("visibility") in Visibility.values:
        draft.visibility = data["visibility"]
    team = str(data.get("owner_team") or "")
    if team.isdigit() and int(team) != app.owner_team_id and teams_user_can_edit_for(user=user).filter(pk=int(team)).exists():
        draft.owner_team_id = int(team)
    old_spec, new_spec = app_spec(app), app_spec(draft)
    vans = list(Van.objects.select_related("repo"))
    clusters, rules = {}, {}
    for cluster in Cluster.objects.filter(van__isnull=False):
        clusters.setdefault(cluster.van_id, []).append(cluster)
    for rule in DistributionRule.objects.all():
        rules.setdefault(rule.van_id, []).append(rule)
    visible = set(Van.objects.restrict(user, "view").values_list("pk", flat=True))
    default_repo = _default_repo_coordinates() if any(v.repo_id is None for v in vans) else None
    rows, hidden = [], {"vans": 0, "added": 0, "removed": 0}
    protected = _protected_names()
    for van in vans:
        if not any(c.role == ClusterRole.HUB for c in clusters.get(van.pk, [])):
            continue
        common = {"van": van, "clusters": clusters[van.pk], "rules": rules.get(van.pk, []), "default_repo": default_repo}
        before, after = van_spec(apps=[app], **common), van_spec(apps=[draft], **common)
        # VANs whose rules select the app's old or new tags, whether or not the policy lets them place it.
        if not any(r.selects_app(tagged) for r in before.rules for tagged in (old_spec, new_spec)):
            continue
        diff = placement_diff(before, after)
        if van.pk not in visible:
            if diff.added or diff.removed:
                hidden["vans"] += 1
                hidden["added"] += len(diff.added)
                hidden["removed"] += len(diff.removed)
            continue
        matrix = placement_matrix(after, diff.after, every_app=True)
        # An app the policy withholds from this VAN is absent from ``after``: show its row empty.
        matrix["rows"] = matrix["rows"] or [{"app": app.name, "cells": ["" for _ in matrix["clusters"]]}]
        rows.append({"van": van, "matrix": matrix, "added": diff.added, "removed": diff.removed,
                     "prod": _touches_prod(after, diff, protected), "withheld": not after.apps and any(r.selects_app(new_spec) for r in after.rules),
                     "blockers": van_publish_blockers(van=van, clusters=clusters[van.pk])})
    return {"app_name": app.name, "vans": rows, "hidden": hidden}
