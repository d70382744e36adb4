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
        if not pin.van.grafana_url or grafana.origin(pin.van.grafana_url) != pin.origin:
            continue  # the VAN's Grafana moved since: pin again from the new one
        clusters = [target.name] if kind == "cluster" else clusters_by_van.get(pin.van_id, [])
        namespace = target.namespace if kind == "app" else ""
        shown.append({"pin": pin, "src": grafana.embed_url(pin.van, pin.path, clusters=clusters, namespace=namespace)})
    return {"dashboards": shown, "dashboard_kind": kind, "frame_origins": {grafana.origin(d["pin"].van.grafana_url) for d in shown},
            "grafana_vans": grafana_vans(user=user, target=target)}


DASHBOARD_SELECTOR, OVERVIEW_DASHBOARD = "grafana/dashboard-selector", "grafana/overview-dashboard"


def entity_grafana_vans(*, user, ref: str) -> list:
    """The VANs with a Grafana where the apps linked to catalog entity ``ref`` run (as their hubs report), visible to
    ``user``: the Grafana instances Backstage's plugin would be configured with for this entity."""
    from van.models import App, AppStatus, Van

    apps = App.objects.restrict(user, "view").filter(component_ref__iexact=ref).values("pk")
    return list(Van.objects.restrict(user, "view").exclude(grafana_url="").exclude(grafana_token="")
                .filter(pk__in=AppStatus.objects.filter(app__in=apps, deleted_at__isnull=True).values("van_id"))
                .only("pk", "name", "grafana_url").order_by("name"))


def overview_embed(annotations: dict, vans: list) -> str:
    """``grafana/overview-dashboard`` as an embeddable address (kiosk), when it is a dashboard of one of ``vans``'
    Grafana; "" otherwise (a page never frames an origin it was not configured with)."""
    url = str(annotations.get(OVERVIEW_DASHBOARD) or "").strip()
    if not url.startswith(("https://", "http://")):
        return ""
    origins = {grafana.origin(v.grafana_url) for v in vans}
    if grafana.origin(url) not in origins or any(c in url for c in "\"'<> "):
        return ""
    return url + ("&" if "?" in url else "?") + "kiosk"


def entity_dashboards(*, user, ref: str, annotations: dict) -> dict:
    """The dashboards Backstage's Grafana plugin would list for the entity: those of its VANs' Grafana matching
    ``grafana/dashboard-selector`` (a message when it does not parse, or when a Grafana does not answer)."""
    vans = entity_grafana_vans(user=user, ref=ref)
    selector_text = str(annotations.get(DASHBOARD_SELECTOR) or "").strip()
    found, errors = [], []
    if selector_text and vans:
        try:
            predicate = grafana.selector_parse(selector_text)
        except grafana.SelectorError as exc:
            return {"entity_dashboards": [], "dashboard_errors": [str(exc)], "selector": selector_text}
        for van in vans:
            try:
                found += [(van, d, grafana.embed_url(van, d.path)) for d in grafana.dashboards(van) if predicate(d)]
            except grafana.GrafanaError as exc:
                errors.append(str(exc))
    return {"entity_dashboards": found, "dashboard_errors": errors, "selector": selector_text}


# --- add-ons of VANs ------------------------------------------------------------------------------------------------


def installation_list(*, user):
    """Add-on installations ``user`` may see (those of the VANs they see)."""
    from addons.models import AddonInstallation

    return AddonInstallation.objects.restrict(user, "view").select_related("van", "van__repo")


def van_addon_matrix(*, van) -> dict:
    """The VAN's add-on page: per add-on (every definition, in order) its installation and, per cluster of the
    VAN, whether it runs there (when on). A constant number of queries."""
    from addons.models import AddonInstallation
    from addons.registry import definitions
    from addons.rendering import placed_clusters
    from van.selectors import van_spec

    from addons.models import AddonStatus
    from addons.status import cell_status

    installations = {i.slug: i for i in AddonInstallation.objects.filter(van=van)}
    try:
        spec = van_spec(van=van, apps=[], rules=[])
        clusters = [c.name for c in spec.clusters]
    except ValueError:
        spec, clusters = None, []
    # What the hub reports, per (add-on, cluster); what the hub runs for the add-on itself is the hub's column.
    hub = spec.hub.name if spec is not None else ""
    reported: dict = {}
    for status in AddonStatus.objects.filter(van=van, deleted_at__isnull=True):
        reported.setdefault((status.slug, status.cluster_name or hub), []).append(status)
    rows = []
    known = definitions()
    for slug, definition in known.items():
        installation = installations.get(slug)
        placed = {c.name for c in placed_clusters(spec, definition)} if spec is not None else set()
        problem = ""
        if installation is not None and installation.enabled:
            errors = definition.settings_clean(installation.settings)[1]
            if errors:
                problem = "Its stored settings are no longer valid, so its files are left as they are: " + "; ".join(
                    f"{name}: {message}" for name, message in errors.items()) + ". Save its settings again."
        rows.append({"definition": definition, "installation": installation, "problem": problem,
                     "cells": [(name, name in placed, cell_status(reported.get((slug, name), ()))) for name in clusters]})
    broken = [i for slug, i in sorted(installations.items()) if slug not in known]
    return {"clusters": clusters, "rows": rows, "broken": broken}


def custom_addon_list(*, user):
    """The tools ops added, as ``user`` may read them (every signed-in user)."""
    from addons.models import CustomAddon

    return CustomAddon.objects.restrict(user, "view")


def pipeline_list(*, user):
    """The CI pipelines of apps ``user`` may see, on VANs ``user`` may see (a pipeline names its VAN)."""
    from addons.models import CiPipeline
    from van.models import Van

    return (CiPipeline.objects.restrict(user, "view").filter(van__in=Van.objects.restrict(user, "view").values("pk"))
            .select_related("app", "van"))


def claim_list(*, user):
    """Infrastructure claims of the VANs ``user`` may see."""
    from addons.models import InfraClaim

    return InfraClaim.objects.restrict(user, "view").select_related("van", "van__repo")


def sealed_secret_list(*, user):
    """Secrets sealed for the VANs ``user`` may see (key names, never values)."""
    from addons.models import SealedSecretRecord

    return SealedSecretRecord.objects.restrict(user, "view").select_related("installation", "installation__van")
