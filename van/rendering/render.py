"""Render a VAN into the files Wayline commits to its GitOps repo.

Layout under ``vans/<van>/``:

- ``bootstrap.yaml``: the one Application ops apply on the hub by hand; it syncs ``hub/``.
- ``hub/skupper-sites.yaml``: ApplicationSet that syncs ``clusters/<cluster>/skupper`` to every cluster of the VAN.
- ``hub/clusters/<cluster>.yaml``: the ArgoCD cluster Secret, sealed for the hub's controller; its server is the
  in-cluster API (hub) or the edge's VAN listener on the hub, never the edge's own address.
- ``hub/applicationsets/<rule>/<app>[.<envs>].yaml``: one ApplicationSet per distribution rule and app.
- ``clusters/<cluster>/skupper/``: Site (every cluster); link CA issuer and ``kube-api-<edge>.yaml``, one Listener
  per edge (hub); Link, its sealed credentials and ``kube-api.yaml``, the Connector exposing the edge's own
  Kubernetes API (edges). An edge's folder is applied once on the edge by hand to bring its link up; ArgoCD
  manages it through the VAN after that (docs/van-control-plane.md).

Everything is a pure function of the :class:`VanSpec` and the sealer's cache, so
re-rendering an unchanged VAN gives byte-identical files.

Nothing fails open: a value that does not pass the validator it passed on entry stops the render with an
error naming its object and field, and what Wayline renders never deletes a workload because git lost a
file. ApplicationSets keep their Applications when a generator stops producing them (``create-update``)
and keep the workloads when an Application goes (``preserveResourcesOnDeletion``); automated sync prunes
only for a rule that asks for it, and never down to nothing (``allowEmpty: false``).
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache

from django.core.exceptions import ValidationError

from portal.sealing import Sealer, certificate_load
from portal.validators import (
    dns_label_validator, git_branch_validator, git_remote_url_validator, git_revision_validator, git_url_validator,
    helm_chart_validator, helm_repo_url_validator, helm_values_validator, host_validator, image_reference_validator,
    kubernetes_api_url_validator, repo_path_validator, version_validator,
)
from van.rendering.placement import AppSetPlan, appset_plans, cluster_labels
from van.rendering.spec import (
    ANNOTATION_API_URL,
    KUBE_API_HOST,
    KUBE_API_PORT,
    LABEL_APP,
    LABEL_CLUSTER,
    LABEL_CLUSTER_TOKEN,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_RULE,
    LABEL_VAN,
    AppSpec,
    ClusterSpec,
    VanSpec,
)

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@-]*$")
# YAML 1.1 words a plain scalar would turn into booleans or null.
_RESERVED_WORDS = frozenset("y n yes no on off true false null".split())
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
LINK_CA_SECRET = "wayline-link-ca"
LINK_ACCESS = {"ingress": "ingress", "loadbalancer": "loadbalancer", "nodeport": "nodeport"}
# How an ApplicationSet relates to its Applications: never deletes one, never takes workloads with one.
APPSET_SYNC_POLICY = {"applicationsSync": "create-update", "preserveResourcesOnDeletion": True}


class RenderError(ValueError):
    """The VAN cannot be rendered as configured; the message names the object and field."""


@lru_cache(maxsize=65536)
def _string(value: str) -> str:
    if _PLAIN.match(value) and value.lower() not in _RESERVED_WORDS:
        return value
    # A JSON string is a valid YAML double-quoted scalar (same escapes), so nothing is reinterpreted.
    return json.dumps(value)


def _scalar(value) -> str:
    if value.__class__ is str:
        return _string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        text = repr(value)
        # YAML 1.1 reads 1e-05 as a string: its floats need a '.' in the mantissa.
        return text.replace("e", ".0e", 1) if "e" in text and "." not in text else text
    if isinstance(value, str):
        return _string(str(value))
    raise TypeError(f"cannot render {type(value).__name__} {value!r} as YAML")


def _emit(node, indent: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and value:
                out.append(f"{indent}{_scalar(key)}:\n")
                _emit(value, indent + "  ", out)
            elif isinstance(value, list) and value:
                out.append(f"{indent}{_scalar(key)}:\n")
                _emit(value, indent, out)
            else:
                out.append(f"{indent}{_scalar(key)}: {_inline(value)}\n")
    else:
        for item in node:
            if isinstance(item, dict) and item:
                first = len(out)
                _emit(item, indent + "  ", out)
                out[first] = f"{indent}- {out[first][len(indent) + 2:]}"
            elif isinstance(item, list) and item:
                out.append(f"{indent}-\n")
                _emit(item, indent + "  ", out)
            else:
                out.append(f"{indent}- {_inline(item)}\n")


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(obj: dict) -> str:
    """Block-style YAML for the plain data the renderer builds (dicts, lists, strings, ints, booleans).

    PyYAML's representer dominated rendering time for large VANs; this emitter
    quotes every string that a YAML parser could read as anything but itself.
    """
    out: list[str] = []
    _emit(obj, "", out)
    return "".join(out)


def _label_template(key: str) -> str:
    return '{{index .metadata.labels "%s"}}' % key


def _refuse_invalid(owner: str, field: str, value, validator) -> None:
    try:
        validator(value)
    except ValidationError as exc:
        raise RenderError(f"{owner}: field {field} is refused: {exc.messages[0]}") from None


def app_check(app: AppSpec) -> None:
    """Raise :class:`RenderError` naming the app and field if a value would reach a manifest unvalidated
    (a row written around the services); the same validators as the app's model fields."""
    owner = f"app {app.name!r}"
    helm = app.source_kind == "helm"
    checks = [
        ("name", app.name, dns_label_validator),
        ("namespace", app.namespace, dns_label_validator),
        ("repo_url", app.repo_url, helm_repo_url_validator if helm else git_remote_url_validator),
        ("values", app.values, helm_values_validator),
    ]
    if helm:
        checks.append(("chart", app.chart, helm_chart_validator))
    else:
        checks += [("path", app.path or ".", repo_path_validator), ("revision", app.revision or "HEAD", git_revision_validator)]
    if app.image:
        checks.append(("image", app.image, image_reference_validator))
    for field, value in (("version", app.version), ("chart_version", app.chart_version)):
        if value:
            checks.append((field, value, version_validator))
    for env, override in app.overrides:
        for field, value in (("version", override.version), ("chart_version", override.chart_version)):
            if value:
                checks.append((f"overrides.{env}.{field}", value, version_validator))
        checks.append((f"overrides.{env}.values", override.values, helm_values_validator))
    for field, value, validator in checks:
        _refuse_invalid(owner, field, value, validator)


def van_check(van: VanSpec) -> None:
    """Raise :class:`RenderError` naming the object and field for a VAN or cluster value no validator passed."""
    owner = f"VAN {van.name!r}"
    # The GitOps repository is an admin's setting: the GitOps settings' own validators apply.
    _refuse_invalid(owner, "repo (URL)", van.repo_url, git_url_validator)
    if van.repo_revision != "HEAD":
        _refuse_invalid(owner, "repo (branch)", van.repo_revision, git_branch_validator)
    for field in ("argocd_namespace", "skupper_namespace"):
        _refuse_invalid(owner, field, getattr(van, field), dns_label_validator)
    if van.hub_host:
        _refuse_invalid(owner, "hub_host", van.hub_host, host_validator)
    for cluster in van.clusters:
        _refuse_invalid(f"cluster {cluster.name!r}", "name", cluster.name, dns_label_validator)
        if cluster.name != van.hub.name:
            _refuse_invalid(f"cluster {cluster.name!r}", "api_url", cluster.api_url, kubernetes_api_url_validator)


_TEMPLATE_OPEN = re.compile(r"\{\{")


def _literal(value):
    """``value`` as the ApplicationSet controller's Go templating will leave it: every '{{' in a string or key
    becomes an action printing '{{', so text users typed (Helm values may hold tpl strings) is never run."""
    if isinstance(value, str):
        return _TEMPLATE_OPEN.sub('{{"{{"}}', value) if "{{" in value else value
    if isinstance(value, dict):
        return {_literal(k): _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


def _source(plan: AppSetPlan) -> dict:
    app, settings = plan.app, plan.settings
    if app.source_kind == "helm":
        values = dict(settings["values"])
        if app.image:
            image = dict(values.get("image") or {})
            image.update({"repository": app.image, "tag": settings["version"]} if settings["version"] else {"repository": app.image})
            values["image"] = image
        source: dict = {"repoURL": app.repo_url, "chart": app.chart, "targetRevision": settings["chart_version"] or "*"}
        if values:
            source["helm"] = {"releaseName": app.name, "valuesObject": _literal(values)}
        return source
    source = {"repoURL": app.repo_url, "path": app.path or ".", "targetRevision": app.revision or "HEAD"}
    if app.source_kind == "kustomize":
        if app.image and settings["version"]:
            source["kustomize"] = {"images": [f"{app.image}:{settings['version']}"]}
    elif settings["version"] and not app.image:
        # Plain YAML has no image field to set: the version pins the git revision.
        source["targetRevision"] = settings["version"]
    return source


def applicationset(van: VanSpec, plan: AppSetPlan) -> dict:
    """The ApplicationSet for one plan: cluster generators with label selectors, one Application per cluster."""
    rule = plan.rule
    sync_policy: dict = {"syncOptions": ["CreateNamespace=true"]}
    if rule.sync == "automated":
        sync_policy = {"automated": {"prune": rule.prune, "selfHeal": rule.self_heal, "allowEmpty": False}, **sync_policy}
    identity = {
        LABEL_VAN: van.name,
        LABEL_APP: plan.app.name,
        LABEL_RULE: rule.name,
        LABEL_CLUSTER: _label_template(LABEL_CLUSTER),
        LABEL_ENVIRONMENT: _label_template(LABEL_ENVIRONMENT),
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {
            "name": plan.name,
            "namespace": van.argocd_namespace,
            "labels": {LABEL_VAN: van.name, LABEL_APP: plan.app.name, LABEL_RULE: rule.name, LABEL_MANAGED_BY: "wayline"},
        },
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": selector.to_k8s()}} for selector in plan.generators],
            "syncPolicy": dict(APPSET_SYNC_POLICY),
            "template": {
                "metadata": {
                    "name": f"{plan.app.token}-{_label_template(LABEL_CLUSTER_TOKEN)}",
                    "labels": dict(identity),
                    "annotations": dict(identity),
                },
                "spec": {
                    "project": van.project,
                    "source": _source(plan),
                    "destination": {"server": "{{.server}}", "namespace": plan.app.namespace},
                    "syncPolicy": sync_policy,
                },
            },
        },
    }


def _cert(cluster: ClusterSpec, *, purpose: str):
    if not cluster.sealing_cert_pem:
        raise RenderError(f"cluster {cluster.name!r}: field sealing_cert is empty; {purpose} cannot be sealed")
    return certificate_load(cluster.sealing_cert_pem)


def cluster_secret(van: VanSpec, cluster: ClusterSpec, sealer: Sealer) -> dict:
    """The ArgoCD cluster Secret (tags as labels), sealed for the hub's controller in strict scope.

    The hub is its own in-cluster API. An edge is reached at its Listener on the hub, through the VAN, and its
    certificate is verified against the host of its real API URL (``tlsClientConfig.serverName``), which the
    Secret keeps in an annotation.
    """
    annotations = {"wayline.io/managed": "true"}
    if cluster.name == van.hub.name:
        server, config = IN_CLUSTER_SERVER, {"tlsClientConfig": {"insecure": False}}
    else:
        if cluster.credentials is None:
            raise RenderError(f"cluster {cluster.name!r}: credentials are required for an edge (bearer token or kubeconfig)")
        api = van.edge_api(cluster)
        server, config = api.server, cluster.credentials.argocd_config(server_name=api.server_name)
        annotations[ANNOTATION_API_URL] = cluster.api_url
    return sealer.sealed_secret(
        _cert(van.hub, purpose=f"the ArgoCD Secret of cluster {cluster.name!r}"),
        name=f"cluster-{cluster.name}",
        namespace=van.argocd_namespace,
        data={"name": cluster.name, "server": server, "config": json.dumps(config, sort_keys=True)},
        labels=cluster_labels(van, cluster),
        annotations=annotations,
    )


def skupper_site(van: VanSpec, cluster: ClusterSpec) -> dict:
    spec: dict = {}
    if cluster.name == van.hub.name:
        spec = {"linkAccess": LINK_ACCESS[van.reachability], "defaultIssuer": LINK_CA_SECRET}
    return {
        "apiVersion": "skupper.io/v2alpha1",
        "kind": "Site",
        "metadata": {"name": cluster.name, "namespace": van.skupper_namespace, "labels": {LABEL_VAN: van.name}},
        "spec": spec,
    }


def skupper_link(van: VanSpec, edge: ClusterSpec) -> dict:
    if not van.hub_host:
        raise RenderError(f"VAN {van.name!r}: field hub_host is empty; edges need the hub's address to link")
    return {
        "apiVersion": "skupper.io/v2alpha1",
        "kind": "Link",
        "metadata": {"name": f"to-{van.hub.name}", "namespace": van.skupper_namespace, "labels": {LABEL_VAN: van.name}},
        "spec": {
            "endpoints": [
                {"name": "inter-router", "host": van.hub_host, "port": str(van.inter_router_port)},
                {"name": "edge", "host": van.hub_host, "port": str(van.edge_port)},
            ],
            "tlsCredentials": f"wayline-link-{van.name}",
            "cost": 1,
        },
    }


def kube_api_connector(van: VanSpec, edge: ClusterSpec) -> dict:
    """On the edge: its own Kubernetes API, offered to the VAN under the edge's routing key.

    The router passes TCP through, so TLS runs end to end between ArgoCD and the API server.
    """
    key = van.edge_api(edge).routing_key
    return {
        "apiVersion": "skupper.io/v2alpha1",
        "kind": "Connector",
        "metadata": {"name": key, "namespace": van.skupper_namespace, "labels": {LABEL_VAN: van.name, LABEL_CLUSTER: edge.name}},
        "spec": {"routingKey": key, "host": KUBE_API_HOST, "port": KUBE_API_PORT},
    }


def kube_api_listener(van: VanSpec, edge: ClusterSpec) -> dict:
    """On the hub: the Service (named by the routing key) whose connections reach the edge's Connector."""
    key = van.edge_api(edge).routing_key
    return {
        "apiVersion": "skupper.io/v2alpha1",
        "kind": "Listener",
        "metadata": {"name": key, "namespace": van.skupper_namespace, "labels": {LABEL_VAN: van.name, LABEL_CLUSTER: edge.name}},
        "spec": {"routingKey": key, "host": key, "port": KUBE_API_PORT},
    }


def _skupper_files(van: VanSpec, cluster: ClusterSpec, sealer: Sealer) -> dict[str, dict]:
    base = f"{van.root}/clusters/{cluster.name}/skupper"
    files = {f"{base}/site.yaml": skupper_site(van, cluster)}
    if van.link_ca is None:
        raise RenderError(f"VAN {van.name!r}: no link CA issued yet")
    if cluster.name == van.hub.name:
        files[f"{base}/link-ca.yaml"] = sealer.sealed_secret(
            _cert(cluster, purpose="the link CA"),
            name=LINK_CA_SECRET,
            namespace=van.skupper_namespace,
            secret_type="kubernetes.io/tls",
            data={"tls.crt": van.link_ca.cert_pem, "tls.key": van.link_ca.key_pem, "ca.crt": van.link_ca.cert_pem},
            labels={LABEL_VAN: van.name},
        )
        for edge in van.edges:
            files[f"{base}/kube-api-{edge.name}.yaml"] = kube_api_listener(van, edge)
    else:
        if not cluster.link_cert_pem or not cluster.link_key_pem:
            raise RenderError(f"edge {cluster.name!r}: no link client certificate issued yet")
        files[f"{base}/link.yaml"] = skupper_link(van, cluster)
        files[f"{base}/link-credentials.yaml"] = sealer.sealed_secret(
            _cert(cluster, purpose="the link credentials"),
            name=f"wayline-link-{van.name}",
            namespace=van.skupper_namespace,
            secret_type="kubernetes.io/tls",
            data={"tls.crt": cluster.link_cert_pem, "tls.key": cluster.link_key_pem, "ca.crt": van.link_ca.cert_pem},
            labels={LABEL_VAN: van.name},
        )
        files[f"{base}/kube-api.yaml"] = kube_api_connector(van, cluster)
    return files


def _bootstrap(van: VanSpec) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"wayline-van-{van.name}", "namespace": van.argocd_namespace, "labels": {LABEL_VAN: van.name, LABEL_MANAGED_BY: "wayline"}},
        "spec": {
            "project": van.project,
            "source": {"repoURL": van.repo_url, "path": f"{van.root}/hub", "targetRevision": van.repo_revision, "directory": {"recurse": True}},
            "destination": {"server": IN_CLUSTER_SERVER, "namespace": van.argocd_namespace},
            "syncPolicy": {"automated": {"prune": van.prune, "selfHeal": True, "allowEmpty": False}},
        },
    }


def _skupper_appset(van: VanSpec) -> dict:
    cluster = _label_template(LABEL_CLUSTER)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"wayline-skupper-{van.name}", "namespace": van.argocd_namespace, "labels": {LABEL_VAN: van.name, LABEL_MANAGED_BY: "wayline"}},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": {"matchLabels": {LABEL_VAN: van.name}}}}],
            "syncPolicy": dict(APPSET_SYNC_POLICY),
            "template": {
                "metadata": {
                    "name": f"skupper-{_label_template(LABEL_CLUSTER_TOKEN)}",
                    "labels": {LABEL_VAN: van.name, LABEL_CLUSTER: cluster},
                },
                "spec": {
                    "project": van.project,
                    "source": {"repoURL": _literal(van.repo_url), "path": f"{van.root}/clusters/{cluster}/skupper",
                               "targetRevision": _literal(van.repo_revision)},
                    "destination": {"server": "{{.server}}", "namespace": van.skupper_namespace},
                    "syncPolicy": {"automated": {"prune": van.prune, "selfHeal": True, "allowEmpty": False},
                                   "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }


def van_objects(van: VanSpec, *, sealer: Sealer) -> dict[str, dict]:
    """Every object Wayline commits for the VAN, by repository path."""
    if not van.repo_url:
        raise RenderError(f"VAN {van.name!r}: field repo is empty")
    if van.reachability not in LINK_ACCESS:
        raise RenderError(f"VAN {van.name!r}: field reachability {van.reachability!r} is not one of {', '.join(LINK_ACCESS)}")
    names = [c.name for c in van.clusters]
    if len(set(names)) != len(names):
        raise RenderError(f"VAN {van.name!r}: a cluster appears twice (hub and edge, or two edges)")
    van_check(van)
    plans = appset_plans(van)
    for app in {plan.app.name: plan.app for plan in plans}.values():
        app_check(app)
    files: dict[str, dict] = {
        f"{van.root}/bootstrap.yaml": _bootstrap(van),
        f"{van.root}/hub/skupper-sites.yaml": _skupper_appset(van),
    }
    for cluster in van.clusters:
        files[f"{van.root}/hub/clusters/{cluster.name}.yaml"] = cluster_secret(van, cluster, sealer)
        files.update(_skupper_files(van, cluster, sealer))
    for plan in plans:
        files[f"{van.root}/hub/{plan.path}"] = applicationset(van, plan)
    if van.addons:
        from addons.rendering import addons_application

        files[f"{van.root}/hub/addons.yaml"] = addons_application(van)
    return files


def van_render(van: VanSpec, *, sealer: Sealer) -> dict[str, str]:
    """Every file Wayline commits for the VAN: repository path -> YAML text."""
    return {path: dump(obj) for path, obj in sorted(van_objects(van, sealer=sealer).items())}
