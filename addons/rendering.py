"""An add-on of a VAN as GitOps files: one ApplicationSet per source, under the installation's own root.

The same machinery as apps: a cluster generator on the ArgoCD cluster Secrets the VAN renders (their labels say the
VAN, the role and the cluster's tags), one Application per cluster placed, the source pinned, values inline. The
VAN's hub picks the add-ons up through ``vans/<van>/hub/addons.yaml`` (an Application syncing ``addons/<van>/``),
which the VAN renders while it has an add-on turned on.
"""
from __future__ import annotations

import json

from addons.registry import AddOnDefinition, Source
from van.labels import Requirement, Selector, tag_parse
from van.rendering.placement import cluster_labels
from van.rendering.render import APPSET_SYNC_POLICY, _label_template, _literal, dump
from van.rendering.spec import (
    LABEL_CLUSTER, LABEL_CLUSTER_TOKEN, LABEL_ENVIRONMENT, LABEL_MANAGED_BY, LABEL_ROLE, LABEL_VAN, ClusterSpec, VanSpec,
    api_routing_key,
)

LABEL_ADDON = "wayline.io/addon"
ARGOCD_FOLDER = "argocd"  # an add-on's ApplicationSets, the only folder the hub itself syncs


def addons_root(van: str) -> str:
    return f"addons/{van}"


def placement_selector(van: VanSpec, definition: AddOnDefinition) -> Selector:
    """The clusters of ``van`` the add-on goes to, as a selector on their ArgoCD cluster Secrets."""
    requirements = [Requirement(LABEL_VAN, "In", (van.name,))]
    if definition.placement == "hub":
        requirements.append(Requirement(LABEL_ROLE, "In", ("hub",)))
    elif definition.placement == "tagged":
        for text in definition.tags:
            tag = tag_parse(text)
            requirements.append(Requirement(tag.key, "In", (tag.value,)) if tag.value else Requirement(tag.key, "Exists"))
    return Selector(tuple(requirements))


def placed_clusters(van: VanSpec, definition: AddOnDefinition) -> list[ClusterSpec]:
    selector = placement_selector(van, definition)
    return [c for c in van.clusters if selector.matches(cluster_labels(van, c))]


def _merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _source(definition: AddOnDefinition, source: Source, settings: dict, extra: dict | None = None) -> dict:
    values = _merged(definition.values_for(source, settings), (extra or {}).get(source.name, {}))
    if source.kind == "helm":
        out: dict = {"repoURL": _literal(source.repo_url), "chart": _literal(source.chart),
                     "targetRevision": _literal(source.version), "helm": {"releaseName": source.name}}
        if values:
            out["helm"]["valuesObject"] = _literal(values)
        return out
    out = {"repoURL": _literal(source.repo_url), "path": _literal(source.path), "targetRevision": _literal(source.version)}
    if values:  # a chart kept in git
        out["helm"] = {"releaseName": source.name, "valuesObject": _literal(values)}
    return out


def _applicationset(van: VanSpec, *, name: str, labels: dict, generator: dict, app_name: str, app_labels: dict,
                    source: dict, destination: dict, sync_policy: dict) -> dict:
    """The envelope every add-on ApplicationSet shares: Go templates that fail on a missing key, the VAN's
    ApplicationSet sync policy, one Application per generated item in the VAN's project."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": van.argocd_namespace, "labels": labels},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [generator],
            "syncPolicy": dict(APPSET_SYNC_POLICY),
            "template": {
                "metadata": {"name": app_name, "labels": app_labels},
                "spec": {"project": van.project, "source": source, "destination": destination, "syncPolicy": sync_policy},
            },
        },
    }


def _placed(van: VanSpec, definition: AddOnDefinition) -> dict:
    """A cluster generator: the clusters ``definition`` is placed on."""
    return {"clusters": {"selector": placement_selector(van, definition).to_k8s()}}


def _folders(van: VanSpec, glob: str) -> dict:
    """A git directory generator: one item per folder of the VAN's repository matching ``glob``."""
    return {"git": {"repoURL": _literal(van.repo_url), "revision": _literal(van.repo_revision), "directories": [{"path": glob}]}}


def _repo(van: VanSpec, path: str) -> dict:
    """A source: ``path`` of the VAN's own repository, at its branch."""
    return {"repoURL": _literal(van.repo_url), "targetRevision": _literal(van.repo_revision), "path": path}


def _automated(prune: bool, *options: str) -> dict:
    policy: dict = {"automated": {"prune": prune, "selfHeal": True, "allowEmpty": False}}
    return policy | ({"syncOptions": list(options)} if options else {})


def addon_applicationset(van: VanSpec, definition: AddOnDefinition, source: Source, settings: dict,
                         extra: dict | None = None) -> dict:
    identity = {LABEL_VAN: van.name, LABEL_ADDON: definition.slug, LABEL_MANAGED_BY: "wayline"}
    # Dots separate the parts of every name: VAN names, slugs and source names are DNS labels (no dots), so two
    # different (VAN, add-on, source) never share an ApplicationSet or Application name.
    name = definition.slug if len(definition.sources) == 1 else f"{definition.slug}.{source.name}"
    return _applicationset(
        van, name=f"addon.{van.name}.{name}", labels=dict(identity), generator=_placed(van, definition),
        app_name=f"{name}.{_label_template(LABEL_CLUSTER_TOKEN)}",
        app_labels=identity | {LABEL_CLUSTER: _label_template(LABEL_CLUSTER), LABEL_ENVIRONMENT: _label_template(LABEL_ENVIRONMENT)},
        source=_source(definition, source, settings, extra),
        destination={"server": "{{.server}}", "namespace": definition.namespace},
        # Never prune on its own: an add-on's CRDs hold the cluster's data (sealed keys, claims).
        sync_policy=_automated(False, "CreateNamespace=true", "ServerSideApply=true"))


def addon_objects(van: VanSpec, definition: AddOnDefinition, settings: dict, extra: dict | None = None) -> dict[str, dict]:
    """Every object of one add-on of ``van``, by repository path (under ``addons/<van>/<slug>/``); ``extra``:
    values Wayline computes from the VAN (source name -> values), over the definition's and the settings'."""
    root = f"{addons_root(van.name)}/{definition.slug}"
    return {f"{root}/{ARGOCD_FOLDER}/{source.name}.yaml": addon_applicationset(van, definition, source, settings, extra)
            for source in definition.sources}


def addon_render(van: VanSpec, definition: AddOnDefinition, settings: dict, extra: dict | None = None) -> dict[str, str]:
    return {path: dump(obj) for path, obj in sorted(addon_objects(van, definition, settings, extra).items())}


def addons_application(van: VanSpec) -> dict:
    """The hub's ApplicationSet for the VAN's add-ons (rendered by the VAN while an add-on is on): one Application
    per add-on, syncing only that add-on's ``argocd/`` folder (its ApplicationSets) to the hub. What the add-on
    keeps beside it (sealed Secrets, dashboards, VAN listeners) reaches its clusters through those ApplicationSets
    alone, so nothing meant for an edge is ever applied on the hub."""
    slug = "{{index .path.segments 2}}"
    return _applicationset(
        van, name=f"wayline-addons.{van.name}", labels={LABEL_VAN: van.name, LABEL_MANAGED_BY: "wayline"},
        generator=_folders(van, f"{addons_root(van.name)}/*/{ARGOCD_FOLDER}"), app_name=f"addons.{van.name}.{slug}",
        app_labels={LABEL_VAN: van.name, LABEL_ADDON: slug}, source=_repo(van, "{{.path.path}}"),
        destination={"server": "https://kubernetes.default.svc", "namespace": van.argocd_namespace},
        sync_policy=_automated(van.prune))


def sealed_secrets_applicationset(van: VanSpec, root: str) -> dict:
    """Syncs the sealed Secrets committed for each cluster (``<root>secrets/<cluster>/``) to that cluster."""
    return per_cluster_folders_applicationset(van, slug="sealed-secrets", part="data", folder=f"{root}secrets")


def per_cluster_folders_applicationset(van: VanSpec, *, slug: str, part: str, folder: str,
                                       namespace: str | None = None) -> dict:
    """Syncs each ``<folder>/<cluster>/`` to that cluster: a git directory generator, so only clusters with a
    folder get an Application; the folder's name is the cluster's name as ArgoCD knows it (the ``name`` of its
    cluster Secret). ``namespace``: the destination for objects that name none."""
    cluster = "{{.path.basename}}"
    return _applicationset(
        van, name=f"addon.{van.name}.{slug}.{part}", labels={LABEL_VAN: van.name, LABEL_ADDON: slug, LABEL_MANAGED_BY: "wayline"},
        generator=_folders(van, f"{folder}/*"), app_name=f"{van.name}.{slug}.{part}.{cluster}",
        app_labels={LABEL_VAN: van.name, LABEL_ADDON: slug, LABEL_CLUSTER: cluster}, source=_repo(van, "{{.path.path}}"),
        destination={"name": cluster} | ({"namespace": namespace} if namespace else {}), sync_policy=_automated(False))


def local_applicationset(van: VanSpec, definition: AddOnDefinition, part: str, path: str) -> dict:
    """An ApplicationSet syncing a folder Wayline renders (``path``, under the add-on's root) to the clusters the
    add-on is placed on, into its namespace: the add-on's own objects beside its chart (dashboards, resources)."""
    identity = {LABEL_VAN: van.name, LABEL_ADDON: definition.slug, LABEL_MANAGED_BY: "wayline"}
    return _applicationset(
        van, name=f"addon.{van.name}.{definition.slug}.{part}", labels=dict(identity), generator=_placed(van, definition),
        app_name=f"{definition.slug}.{part}.{_label_template(LABEL_CLUSTER_TOKEN)}",
        app_labels=identity | {LABEL_CLUSTER: _label_template(LABEL_CLUSTER)}, source=_repo(van, path),
        destination={"server": "{{.server}}", "namespace": definition.namespace},
        sync_policy=_automated(van.prune, "CreateNamespace=true"))


# --- Prometheus over the VAN: the hub's Grafana reads every edge's Prometheus through a Skupper listener ----------

PROMETHEUS_PORT = 9090


def prometheus_routing_key(van: str, cluster: str) -> str:
    return api_routing_key(van, cluster).replace("kube-api-", "prometheus-", 1)


def prometheus_service(definition: AddOnDefinition) -> str:
    """The Prometheus Service the kube-prometheus-stack chart makes (``<release>-prometheus``), as a host name."""
    return f"{definition.sources[0].name}-prometheus.{definition.namespace}.svc.cluster.local"


def prometheus_van_objects(van: VanSpec, definition: AddOnDefinition) -> dict[str, dict]:
    """Per edge running Prometheus: a Connector on the edge offering its Prometheus to the VAN, and a Listener on
    the hub that makes it a Service there (``<key>.<skupper namespace>.svc:9090``). Folder per cluster (``van/<cluster>/``)."""
    out: dict[str, dict] = {}
    placed = {c.name for c in placed_clusters(van, definition)}
    if van.hub.name not in placed:
        return out
    for edge in van.edges:
        if edge.name not in placed:
            continue
        key = prometheus_routing_key(van.name, edge.name)
        labels = {LABEL_VAN: van.name, LABEL_ADDON: definition.slug, LABEL_CLUSTER: edge.name}
        out[f"van/{edge.name}/{key}.yaml"] = {
            "apiVersion": "skupper.io/v2alpha1", "kind": "Connector",
            "metadata": {"name": key, "namespace": van.skupper_namespace, "labels": labels},
            "spec": {"routingKey": key, "host": prometheus_service(definition), "port": PROMETHEUS_PORT},
        }
        out[f"van/{van.hub.name}/{key}.yaml"] = {
            "apiVersion": "skupper.io/v2alpha1", "kind": "Listener",
            "metadata": {"name": key, "namespace": van.skupper_namespace, "labels": labels},
            "spec": {"routingKey": key, "host": key, "port": PROMETHEUS_PORT},
        }
    return out


def grafana_datasources(van: VanSpec, prometheus: AddOnDefinition) -> dict:
    """Grafana's provisioned data sources: one Prometheus per cluster running it, the hub's in-cluster, each
    edge's through its VAN listener on the hub (Grafana's chart: ``datasources."datasources.yaml"``)."""
    placed = {c.name for c in placed_clusters(van, prometheus)}
    sources = []
    for cluster in van.clusters:
        if cluster.name not in placed:
            continue
        if cluster.name == van.hub.name:
            url = f"http://{prometheus_service(prometheus)}:{PROMETHEUS_PORT}"
        else:
            url = f"http://{prometheus_routing_key(van.name, cluster.name)}.{van.skupper_namespace}.svc.cluster.local:{PROMETHEUS_PORT}"
        sources.append({"name": f"prometheus-{cluster.name}", "uid": f"prom-{cluster.token}"[:40], "type": "prometheus",
                        "access": "proxy", "url": url, "isDefault": cluster.name == van.hub.name,
                        "jsonData": {"timeInterval": "30s"}})
    return {"datasources.yaml": {"apiVersion": 1, "datasources": sources}} if sources else {}


# --- K8sGPT: one analyser per cluster, on the hub, reading its cluster through the VAN ----------------------------

K8SGPT_API_KEY_SECRET, K8SGPT_API_KEY = "k8sgpt-ai", "api-key"


def k8sgpt_namespace(cluster: str) -> str:
    return f"k8sgpt-{cluster}"[:63].rstrip("-")


def edge_kubeconfig(van: VanSpec, edge: ClusterSpec) -> str:
    """A kubeconfig reaching ``edge``'s API at its VAN listener on the hub, verifying the edge API server's own name,
    with the edge's credentials (what ArgoCD's cluster Secret holds, in kubeconfig form)."""
    api = van.edge_api(edge)
    creds = edge.credentials
    cluster: dict = {"server": api.server}
    if creds.insecure:
        cluster["insecure-skip-tls-verify"] = True
    else:
        cluster["tls-server-name"] = api.server_name
        if creds.ca_data:
            cluster["certificate-authority-data"] = creds.ca_data
    user: dict = {}
    if creds.bearer_token:
        user["token"] = creds.bearer_token
    if creds.cert_data and creds.key_data:
        user |= {"client-certificate-data": creds.cert_data, "client-key-data": creds.key_data}
    config = {"apiVersion": "v1", "kind": "Config", "current-context": edge.name,
              "clusters": [{"name": edge.name, "cluster": cluster}], "users": [{"name": edge.name, "user": user}],
              "contexts": [{"name": edge.name, "context": {"cluster": edge.name, "user": edge.name}}]}
    return json.dumps(config, sort_keys=True)


def k8sgpt_objects(van: VanSpec, settings: dict, *, sealer) -> dict[str, dict]:
    """Per cluster of the VAN, on the hub: its namespace, its K8sGPT analyser and (for an edge) the kubeconfig it
    reads the edge with, sealed for the hub's controller. File names under the add-on's ``analysers/``."""
    from van.rendering.render import _cert

    out: dict[str, dict] = {}
    ai: dict = {"enabled": True, "backend": settings["backend"], "model": settings["model"],
                "anonymized": bool(settings.get("anonymize", True))}
    if settings.get("base_url"):
        ai["baseUrl"] = settings["base_url"]
    if settings["backend"] == "openai":
        ai["secret"] = {"name": K8SGPT_API_KEY_SECRET, "key": K8SGPT_API_KEY}
    for cluster in van.clusters:
        namespace = k8sgpt_namespace(cluster.name)
        labels = {LABEL_VAN: van.name, LABEL_ADDON: "k8sgpt", LABEL_CLUSTER: cluster.name, LABEL_MANAGED_BY: "wayline"}
        out[f"analysers/{cluster.name}/namespace.yaml"] = {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}
        spec: dict = {"ai": dict(ai), "version": settings["analyser_version"], "noCache": False}
        if cluster.name != van.hub.name:
            if cluster.credentials is None:
                continue  # no way to read it: the VAN's own render says so (an edge needs credentials)
            sealed = sealer.sealed_secret(
                _cert(van.hub, purpose=f"the K8sGPT kubeconfig of cluster {cluster.name!r}"), name="kubeconfig",
                namespace=namespace, data={"kubeconfig": edge_kubeconfig(van, cluster)}, labels=labels)
            out[f"analysers/{cluster.name}/kubeconfig.yaml"] = sealed
            spec["kubeconfig"] = {"name": "kubeconfig", "key": "kubeconfig"}
        out[f"analysers/{cluster.name}/k8sgpt.yaml"] = {
            "apiVersion": "core.k8sgpt.ai/v1alpha1", "kind": "K8sGPT",
            "metadata": {"name": "k8sgpt", "namespace": namespace, "labels": labels}, "spec": spec}
    return out


# --- Crossplane: infrastructure claims, reconciled on the hub by provider-terraform ------------------------------

CLAIMS_ROOT = "claims"


def claim_workspace(*, van: str, name: str, environment: str, node_count: int, node_size: str, module: str) -> dict:
    """The provider-terraform Workspace of one claim: the ops' pinned module with the claim's values. Crossplane
    applies it and keeps applying it, so a change made in a cloud console is reverted. Deleting the claim orphans
    the infrastructure (never destroys it unasked)."""
    return {
        "apiVersion": "tf.upbound.io/v1beta1", "kind": "Workspace",
        "metadata": {"name": f"{van}.{name}", "labels": {LABEL_VAN: van, LABEL_ADDON: "crossplane", LABEL_MANAGED_BY: "wayline",
                                                         LABEL_ENVIRONMENT: environment}},
        "spec": {
            "deletionPolicy": "Orphan",
            "providerConfigRef": {"name": "default"},
            "forProvider": {"source": "Remote", "module": module,
                            "vars": [{"key": "name", "value": name}, {"key": "node_count", "value": str(node_count)},
                                     {"key": "node_size", "value": node_size}]},
        },
    }


def hub_folders_applicationset(van: VanSpec, *, slug: str, part: str, root: str, kind: str, prune: bool) -> dict:
    """On the hub: one Application per folder ``<root>/<van>/<name>/`` that an owner of its own commits (a claim, an
    app's CI pipeline), applied by ``slug``'s add-on; each object in it names its namespace."""
    return _applicationset(
        van, name=f"addon.{van.name}.{slug}.{part}",
        labels={LABEL_VAN: van.name, LABEL_ADDON: slug, LABEL_MANAGED_BY: "wayline"},
        generator=_folders(van, f"{root}/{van.name}/*"), app_name=f"{van.name}.{kind}.{{{{.path.basename}}}}",
        app_labels={LABEL_VAN: van.name, LABEL_ADDON: slug}, source=_repo(van, "{{.path.path}}"),
        destination={"server": "https://kubernetes.default.svc"}, sync_policy=_automated(prune))


def claims_applicationset(van: VanSpec) -> dict:
    """On the hub (where Crossplane runs): one Application per claim folder ``claims/<van>/<name>/``."""
    return hub_folders_applicationset(van, slug="crossplane", part="claims", root=CLAIMS_ROOT, kind="claim", prune=False)
