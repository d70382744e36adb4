"""An add-on of a VAN as GitOps files: one ApplicationSet per source, under the installation's own root.

The same machinery as apps: a cluster generator on the ArgoCD cluster Secrets the VAN renders (their labels say the
VAN, the role and the cluster's tags), one Application per cluster placed, the source pinned, values inline. The
VAN's hub picks the add-ons up through ``vans/<van>/hub/addons.yaml`` (an Application syncing ``addons/<van>/``),
which the VAN renders while it has an add-on turned on.
"""
from __future__ import annotations

from addons.registry import AddOnDefinition, Source
from van.labels import Requirement, Selector, tag_parse
from van.rendering.placement import cluster_labels
from van.rendering.render import APPSET_SYNC_POLICY, _label_template, _literal, dump
from van.rendering.spec import (
    LABEL_CLUSTER, LABEL_CLUSTER_TOKEN, LABEL_ENVIRONMENT, LABEL_MANAGED_BY, LABEL_ROLE, LABEL_VAN, ClusterSpec, VanSpec,
)

LABEL_ADDON = "wayline.io/addon"


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


def _source(definition: AddOnDefinition, source: Source, settings: dict) -> dict:
    values = definition.values_for(source, settings)
    if source.kind == "helm":
        out: dict = {"repoURL": source.repo_url, "chart": source.chart, "targetRevision": source.version,
                     "helm": {"releaseName": source.name}}
        if values:
            out["helm"]["valuesObject"] = _literal(values)
        return out
    out = {"repoURL": source.repo_url, "path": source.path, "targetRevision": source.version}
    if values:  # a chart kept in git
        out["helm"] = {"releaseName": source.name, "valuesObject": _literal(values)}
    return out


def addon_applicationset(van: VanSpec, definition: AddOnDefinition, source: Source, settings: dict) -> dict:
    identity = {LABEL_VAN: van.name, LABEL_ADDON: definition.slug, LABEL_MANAGED_BY: "wayline"}
    name = definition.slug if len(definition.sources) == 1 else f"{definition.slug}-{source.name}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"addon-{van.name}-{name}"[:253], "namespace": van.argocd_namespace, "labels": dict(identity)},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": placement_selector(van, definition).to_k8s()}}],
            "syncPolicy": dict(APPSET_SYNC_POLICY),
            "template": {
                "metadata": {
                    "name": f"{name[:40]}-{_label_template(LABEL_CLUSTER_TOKEN)}",
                    "labels": identity | {LABEL_CLUSTER: _label_template(LABEL_CLUSTER),
                                          LABEL_ENVIRONMENT: _label_template(LABEL_ENVIRONMENT)},
                },
                "spec": {
                    "project": van.project,
                    "source": _source(definition, source, settings),
                    "destination": {"server": "{{.server}}", "namespace": definition.namespace},
                    # Never prune on its own: an add-on's CRDs hold the cluster's data (sealed keys, claims).
                    "syncPolicy": {"automated": {"prune": False, "selfHeal": True, "allowEmpty": False},
                                   "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"]},
                },
            },
        },
    }


def addon_objects(van: VanSpec, definition: AddOnDefinition, settings: dict) -> dict[str, dict]:
    """Every object of one add-on of ``van``, by repository path (under ``addons/<van>/<slug>/``)."""
    root = f"{addons_root(van.name)}/{definition.slug}"
    return {f"{root}/{source.name}.yaml": addon_applicationset(van, definition, source, settings) for source in definition.sources}


def addon_render(van: VanSpec, definition: AddOnDefinition, settings: dict) -> dict[str, str]:
    return {path: dump(obj) for path, obj in sorted(addon_objects(van, definition, settings).items())}


def addons_application(van: VanSpec) -> dict:
    """The hub's Application that syncs the VAN's add-ons folder (rendered by the VAN while an add-on is on)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"wayline-addons-{van.name}", "namespace": van.argocd_namespace,
                     "labels": {LABEL_VAN: van.name, LABEL_MANAGED_BY: "wayline"}},
        "spec": {
            "project": van.project,
            "source": {"repoURL": van.repo_url, "path": addons_root(van.name), "targetRevision": van.repo_revision,
                       "directory": {"recurse": True}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": van.argocd_namespace},
            "syncPolicy": {"automated": {"prune": van.prune, "selfHeal": True, "allowEmpty": False}},
        },
    }


def sealed_secrets_applicationset(van: VanSpec, root: str) -> dict:
    """Syncs the sealed Secrets committed for each cluster (``<root>secrets/<cluster>/``) to that cluster: a git
    directory generator, so only clusters with a Secret get an Application; the folder's name is the cluster's name
    as ArgoCD knows it (the ``name`` of its cluster Secret)."""
    folder = f"{root}secrets"
    cluster = "{{.path.basename}}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"addon-{van.name}-sealed-secrets-data"[:253], "namespace": van.argocd_namespace,
                     "labels": {LABEL_VAN: van.name, LABEL_ADDON: "sealed-secrets", LABEL_MANAGED_BY: "wayline"}},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"git": {"repoURL": _literal(van.repo_url), "revision": _literal(van.repo_revision),
                                    "directories": [{"path": f"{folder}/*"}]}}],
            "syncPolicy": dict(APPSET_SYNC_POLICY),
            "template": {
                "metadata": {"name": f"sealed-{cluster}",
                             "labels": {LABEL_VAN: van.name, LABEL_ADDON: "sealed-secrets", LABEL_CLUSTER: cluster}},
                "spec": {
                    "project": van.project,
                    "source": {"repoURL": _literal(van.repo_url), "targetRevision": _literal(van.repo_revision),
                               "path": "{{.path.path}}"},
                    "destination": {"name": cluster},
                    "syncPolicy": {"automated": {"prune": False, "selfHeal": True, "allowEmpty": False}},
                },
            },
        },
    }


def local_applicationset(van: VanSpec, definition: AddOnDefinition, part: str, path: str) -> dict:
    """An ApplicationSet syncing a folder Wayline renders (``path``, under the add-on's root) to the clusters the
    add-on is placed on, into its namespace: the add-on's own objects beside its chart (dashboards, resources)."""
    identity = {LABEL_VAN: van.name, LABEL_ADDON: definition.slug, LABEL_MANAGED_BY: "wayline"}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"addon-{van.name}-{definition.slug}-{part}"[:253], "namespace": van.argocd_namespace,
                     "labels": dict(identity)},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": placement_selector(van, definition).to_k8s()}}],
            "syncPolicy": dict(APPSET_SYNC_POLICY),
            "template": {
                "metadata": {"name": f"{definition.slug[:30]}-{part[:10]}-{_label_template(LABEL_CLUSTER_TOKEN)}",
                             "labels": identity | {LABEL_CLUSTER: _label_template(LABEL_CLUSTER)}},
                "spec": {
                    "project": van.project,
                    "source": {"repoURL": _literal(van.repo_url), "targetRevision": _literal(van.repo_revision), "path": path},
                    "destination": {"server": "{{.server}}", "namespace": definition.namespace},
                    "syncPolicy": {"automated": {"prune": van.prune, "selfHeal": True, "allowEmpty": False},
                                   "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }
