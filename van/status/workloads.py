"""Workloads of a catalog entity, read live from the clusters its apps run on, as Backstage's Kubernetes plugin lists them.

Backstage picks an entity's objects by ``backstage.io/kubernetes-label-selector`` (a label selector), else by
``backstage.io/kubernetes-id`` (the selector ``backstage.io/kubernetes-id=<id>``), optionally within
``backstage.io/kubernetes-namespace``. Wayline picks the same objects, with two bounds that catalog data cannot widen:

- **where**: only the clusters the reader's visible apps linked to this Component are placed on, and on each only
  the app's own namespace. A selector in a catalog file therefore never lists another team's pods from a namespace
  its app does not deploy into; a ``kubernetes-namespace`` naming another namespace reads nothing there and says so.
- **how**: a hub is read directly; an edge through its VAN listener on the hub, with the edge's credentials and its
  API server's name verified (``van.rendering.spec.edge_api``), exactly as ArgoCD reaches it. Wayline never dials
  an edge.

Reads run in parallel with the access layer's timeouts and are kept ``WAYLINE_WORKLOADS_CACHE_SECONDS`` per
(cluster, namespace, selector), so a page polled by many readers asks each cluster at most that often.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from portal.kube import Endpoint, Workload, classify, workloads
from van.status.endpoints import cluster_endpoint
from van.labels import LabelError, selector_parse
from van.models import App, Cluster

KUBERNETES_ID = "backstage.io/kubernetes-id"
LABEL_SELECTOR = "backstage.io/kubernetes-label-selector"
KUBERNETES_NAMESPACE = "backstage.io/kubernetes-namespace"
SELECTOR_MAX = 500  # characters of a selector from catalog data
TARGETS_MAX = 20  # (cluster, namespace) pairs read for one entity; the page says when there were more


def wants_workloads(annotations: dict) -> bool:
    """Whether the entity asks for the Kubernetes view at all (as in Backstage: only with one of its annotations)."""
    return bool({KUBERNETES_ID, LABEL_SELECTOR} & set(annotations))


def selector_of(annotations: dict) -> tuple[str, str]:
    """(selector, "") from the entity's annotations in Kubernetes syntax, or ("", why there is none)."""
    text = annotations.get(LABEL_SELECTOR)
    source = LABEL_SELECTOR
    if text is None:
        kubernetes_id = annotations.get(KUBERNETES_ID)
        if kubernetes_id is None:
            return "", f"the entity has neither {KUBERNETES_ID} nor {LABEL_SELECTOR}"
        text, source = f"{KUBERNETES_ID}={kubernetes_id}", KUBERNETES_ID
    if not isinstance(text, str) or not text.strip():
        return "", f"{source} is empty: it would select every object, so nothing is read"
    if len(text) > SELECTOR_MAX:
        return "", f"{source} is longer than {SELECTOR_MAX} characters"
    try:
        selector = selector_parse(text, allow_reserved=True)
    except LabelError as exc:
        return "", f"{source} does not parse: {exc}"
    return ",".join(str(r) for r in selector.requirements), ""


@dataclass
class Target:
    """One (cluster, namespace) read for an entity, and what came back."""

    van: str
    cluster: str
    namespace: str
    apps: list[str] = field(default_factory=list)
    items: list[Workload] = field(default_factory=list)
    more: bool = False
    state: str = "reachable"
    error: str = ""


def _read(endpoint: Endpoint | None, problem: str, namespace: str, selector: str, key: str) -> tuple[list, bool, str, str]:
    """(items, more, state, error) for one target, from the cache when it was read in the last few seconds."""
    if endpoint is None:
        return [], False, "unknown", problem
    seconds = float(getattr(settings, "WAYLINE_WORKLOADS_CACHE_SECONDS", 10))
    if seconds > 0 and (hit := cache.get(key)) is not None:
        return hit
    try:
        items, more = workloads(endpoint, namespace=namespace, selector=selector)
        result = (items, more, "reachable", "")
    except Exception as exc:  # noqa: BLE001 - every failure is a state the page shows
        state, message = classify(exc)
        result = ([], False, state, message)
    if seconds > 0:
        cache.set(key, result, seconds)
    return result


def entity_workloads(*, user, ref: str, annotations: dict) -> dict:
    """The entity page's Workloads panel: per (cluster, namespace) its apps run in, the objects the entity's
    annotations select, or the state of that cluster. A constant number of queries; the API calls run in parallel."""
    from van.selectors import deployments_of_component

    selector, why = selector_of(annotations)
    out: dict = {"selector": selector, "why": why, "targets": [], "skipped": [], "more_targets": 0}
    if not selector:
        return out
    wanted_namespace = annotations.get(KUBERNETES_NAMESPACE)
    placed = deployments_of_component(user=user, component_ref=ref)
    namespaces = dict(App.objects.filter(name__in={row["app"] for row in placed}).values_list("name", "namespace"))
    targets: dict[tuple[str, str, str], Target] = {}
    for row in placed:
        namespace = namespaces.get(row["app"], "")
        if wanted_namespace is not None and wanted_namespace != namespace:
            out["skipped"].append((row["app"], row["cluster"], namespace))
            continue
        target = targets.setdefault((row["van"], row["cluster"], namespace), Target(row["van"], row["cluster"], namespace))
        target.apps.append(row["app"])
    chosen = sorted(targets.values(), key=lambda t: (t.van, t.cluster, t.namespace))
    out["more_targets"] = max(0, len(chosen) - TARGETS_MAX)
    chosen = chosen[:TARGETS_MAX]
    clusters = {(c.van.name, c.name): c for c in Cluster.objects.filter(
        van__name__in={t.van for t in chosen}, name__in={t.cluster for t in chosen}).select_related("van")}
    jobs = []
    for target in chosen:
        cluster = clusters.get((target.van, target.cluster))
        endpoint, problem = None, ""
        try:
            endpoint = cluster_endpoint(cluster) if cluster is not None else None
        except ValueError as exc:
            problem = str(exc)
        if cluster is None:
            problem = f"cluster {target.cluster!r} is gone"
        # the key names the address and a digest of the credentials: new credentials are never answered from the cache
        secret = hashlib.sha256(repr((endpoint.server, endpoint.token, endpoint.ca_data, endpoint.cert_data)).encode()).hexdigest() \
            if endpoint else ""
        key = "workloads:" + hashlib.sha256(repr((target.van, target.cluster, target.namespace, selector, secret)).encode()).hexdigest()
        jobs.append((target, endpoint, problem, key))
    if jobs:
        with ThreadPoolExecutor(max_workers=min(8, len(jobs)), thread_name_prefix="workloads") as pool:
            results = list(pool.map(lambda job: _read(job[1], job[2], job[0].namespace, selector, job[3]), jobs))
        for (target, *_), (items, more, state, error) in zip(jobs, results):
            target.items, target.more, target.state, target.error = items, more, state, error
    out["targets"] = chosen
    return out
