"""What pages read of Grafana: pins on a page with their embed addresses, and which VANs' Grafana a page may use."""
from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from addons import grafana
from addons.models import DashboardPin

KINDS = ("app", "cluster", "van")  # what a dashboard may be pinned to (URL word -> model in van)


def target_model(kind: str):
    from van.models import App, Cluster, Van

    return {"app": App, "cluster": Cluster, "van": Van}[kind]


def target_selector(kind: str):
    from van import selectors

    return {"app": selectors.app_list, "cluster": selectors.cluster_list, "van": selectors.van_list}[kind]


def grafana_vans(*, user, target) -> list:
    """The VANs with a Grafana whose dashboards fit ``target``'s page: the VAN itself, a cluster's VAN, or the VANs an
    app runs in as their hubs report; only those ``user`` may see."""
    from van.models import App, AppStatus, Cluster, Van

    vans = Van.objects.restrict(user, "view").exclude(grafana_url="").exclude(grafana_token="")
    if isinstance(target, Van):
        vans = vans.filter(pk=target.pk)
    elif isinstance(target, Cluster):
        vans = vans.filter(pk=target.van_id)
    elif isinstance(target, App):
        vans = vans.filter(pk__in=AppStatus.objects.filter(app=target, deleted_at__isnull=True).values("van_id"))
    return list(vans.only("pk", "name", "grafana_url").order_by("name"))


def pins_shown(*, user, target, kind: str) -> dict:
    """Context for a page's dashboards: the pins ``user`` may see (their VAN is visible), each with its embed address,
    the VANs one may pin from, and the origins the page's CSP must let it frame. Three queries."""
    from van.models import AppStatus, Van

    pins = list(DashboardPin.objects.filter(target_type=ContentType.objects.get_for_model(target), target_id=target.pk,
                                            van__in=Van.objects.restrict(user, "view").values("pk"))
                .select_related("van").order_by("van__name", "title"))
    clusters_by_van: dict[int, list[str]] = {}
    if kind == "app" and pins:
        for van_id, name in (AppStatus.objects.filter(app=target, deleted_at__isnull=True)
                             .values_list("van_id", "cluster_name").order_by("cluster_name")):
            clusters_by_van.setdefault(van_id, []).append(name)
    shown = []
    for pin in pins:
        if not pin.van.grafana_url:
            continue
        clusters = [target.name] if kind == "cluster" else clusters_by_van.get(pin.van_id, [])
        namespace = target.namespace if kind == "app" else ""
        shown.append({"pin": pin, "src": grafana.embed_url(pin.van, pin.path, clusters=clusters, namespace=namespace)})
    return {"dashboards": shown, "dashboard_kind": kind, "frame_origins": {grafana.origin(d["pin"].van.grafana_url) for d in shown},
            "grafana_vans": grafana_vans(user=user, target=target)}
