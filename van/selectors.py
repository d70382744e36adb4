"""Read selectors for VANs, clusters, apps and distribution rules, and the renderer's inputs."""
from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from van.choices import ClusterRole
from van.labels import selector_parse, tags_parse
from van.models import App, AppRelease, Cluster, DistributionRule, Van
from van.rendering import AppSpec, ClusterSpec, EnvironmentOverride, LinkCA, Placement, RuleSpec, VanSpec, placement_compute
from van.services import credentials_parse


def cluster_list(*, user, filters: dict | None = None) -> QuerySet[Cluster]:
    """Clusters the user may see."""
    return Cluster.objects.restrict(user, "view").select_related("owner_team", "van").filter(**(filters or {}))


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
    return DistributionRule.objects.restrict(user, "view").select_related("owner_team", "van").filter(**(filters or {}))


def app_releases(*, app: App) -> QuerySet[AppRelease]:
    """An app's past versions, newest first, with authors and their change sets."""
    return app.releases.select_related("author", "rollback_of").prefetch_related("changesets")


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
    from django.conf import settings

    from portal.gitops.models import GitOpsRepo

    repo = GitOpsRepo.objects.filter(is_default=True).only("url", "branch").first()
    return (repo.url, repo.branch) if repo else (settings.WAYLINE_GITOPS_URL, settings.WAYLINE_GITOPS_BRANCH)


def van_spec(*, van: Van, clusters=None, apps=None, rules=None, default_repo: tuple[str, str] | None = None) -> VanSpec:
    """What the renderer needs for ``van`` (all apps: rules pick them by tag). Three queries.

    ``clusters``/``apps``/``rules`` replace the stored ones, for previews of unsaved edits.
    """
    if clusters is None:
        clusters = list(Cluster.objects.filter(van=van))
    hub = next((c for c in clusters if c.role == ClusterRole.HUB), None)
    if hub is None:
        raise ValueError(f"VAN {van.name} has no hub")
    edges = sorted((c for c in clusters if c.role == ClusterRole.EDGE), key=lambda c: c.name)
    apps = list(App.objects.all()) if apps is None else apps
    rules = list(DistributionRule.objects.filter(van=van)) if rules is None else rules
    repo_url, repo_branch = (van.repo.url, van.repo.branch) if van.repo_id else (default_repo or _default_repo_coordinates())
    return VanSpec(
        name=van.name, hub=_cluster_spec(hub), edges=tuple(_cluster_spec(c) for c in edges),
        apps=tuple(app_spec(a) for a in apps), rules=tuple(rule_spec(r) for r in rules),
        repo_url=repo_url, repo_revision=repo_branch, reachability=van.reachability, hub_host=van.hub_host,
        inter_router_port=van.inter_router_port, edge_port=van.edge_port, skupper_namespace=van.skupper_namespace,
        argocd_namespace=van.argocd_namespace, link_ca=LinkCA(van.link_ca_cert, van.link_ca_key) if van.link_ca_cert else None,
    )


def van_placement(*, van: Van) -> tuple[VanSpec, Placement]:
    spec = van_spec(van=van)
    return spec, placement_compute(spec)


def placements_of_cluster(*, cluster: Cluster) -> list[tuple[str, str]]:
    """(app, rule) pairs placed on ``cluster`` by its VAN's rules."""
    if cluster.van_id is None:
        return []
    _, placement = van_placement(van=cluster.van)
    return sorted((app, clusters[cluster.name]) for app, clusters in placement.by_app.items() if cluster.name in clusters)


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


def placements_of_app(*, app_name: str, placements=None) -> list[dict]:
    """Where an app runs: one row per (VAN, cluster) with the rule and environment."""
    placements = all_placements() if placements is None else placements
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
    placements = all_placements()
    return [row | {"app": name} for name in apps for row in placements_of_app(app_name=name, placements=placements)]


def van_clusters(*, van: Van) -> QuerySet[Cluster]:
    return Cluster.objects.filter(van=van).order_by("role", "name").prefetch_related(Prefetch("owner_team"))


def van_changesets(*, van: Van, limit: int = 10):
    """The VAN's latest change sets (their messages start with "VAN <name>:")."""
    from portal.gitops.models import ChangeSet

    return ChangeSet.objects.filter(message__startswith=f"VAN {van.name}:").select_related("environment").order_by("-pk")[:limit]
