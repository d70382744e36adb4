"""Plain inputs of the renderer: what a VAN looks like, detached from the database.

Services build these from models; tests and benchmarks build them directly. All
secret material arrives here in plaintext and leaves the renderer only sealed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from portal.gitops.environments import SLUGS
from van.labels import Selector, Tag, short_name

ENVIRONMENTS = SLUGS  # least to most protected
REACHABILITY = ("ingress", "loadbalancer", "nodeport")
SOURCE_KINDS = ("directory", "kustomize", "helm")

# Labels Wayline sets on every cluster Secret; rules and templates read them.
LABEL_SECRET_TYPE = "argocd.argoproj.io/secret-type"
LABEL_VAN = "wayline.io/van"
LABEL_CLUSTER = "wayline.io/cluster"
LABEL_CLUSTER_TOKEN = "wayline.io/cluster-token"
LABEL_ENVIRONMENT = "wayline.io/environment"
LABEL_ROLE = "wayline.io/role"
LABEL_APP = "wayline.io/app"
LABEL_RULE = "wayline.io/rule"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
# On an edge's cluster Secret: the API server's own URL, which ArgoCD no longer dials (it uses the VAN listener).
ANNOTATION_API_URL = "wayline.io/api-url"

# Where every cluster's Kubernetes API answers inside that cluster: what an edge's Connector exposes.
KUBE_API_HOST = "kubernetes.default.svc"
KUBE_API_PORT = 443

# Application names must also fit the 63-character tracking label ArgoCD puts on resources.
APP_TOKEN_LEN = 30
CLUSTER_TOKEN_LEN = 32


def cluster_token(name: str) -> str:
    return short_name(name, CLUSTER_TOKEN_LEN)


def app_token(name: str) -> str:
    return short_name(name, APP_TOKEN_LEN)


def api_routing_key(van: str, cluster: str) -> str:
    """The Skupper routing key under which a cluster's Kubernetes API crosses a VAN; also the hub Service's name.

    The cluster token keeps it readable; the hash of (VAN, cluster) makes it unique per VAN and cluster, which
    joining the two names would not ("a-b" + "c" and "a" + "b-c"). A DNS label of at most 50 characters.
    """
    digest = hashlib.sha256(json.dumps([van, cluster]).encode()).hexdigest()[:8]
    return f"kube-api-{cluster_token(cluster)}-{digest}"


@dataclass(frozen=True)
class EdgeApi:
    """How the hub reaches an edge's Kubernetes API through the VAN (docs/van-control-plane.md)."""

    routing_key: str  # of the edge's Connector and the hub's Listener; also the Listener's host, a Service on the hub
    server: str  # the Listener's in-cluster URL on the hub: where ArgoCD sends the edge's API calls
    server_name: str  # the host of the edge's real API URL, the name its serving certificate is issued for


def edge_api(*, van: str, cluster: str, api_url: str, skupper_namespace: str) -> EdgeApi:
    """Where the hub reaches edge ``cluster`` of ``van``; the renderer and anything dialling edges agree on it."""
    key = api_routing_key(van, cluster)
    return EdgeApi(
        routing_key=key,
        server=f"https://{key}.{skupper_namespace}.svc:{KUBE_API_PORT}",
        server_name=urlsplit(api_url).hostname or "",
    )


@dataclass(frozen=True)
class Credentials:
    """How ArgoCD reaches a cluster: a bearer token, or what a kubeconfig's current context holds."""

    bearer_token: str = ""
    ca_data: str = ""  # base64 PEM, as in kubeconfig certificate-authority-data
    cert_data: str = ""
    key_data: str = ""
    insecure: bool = False

    def argocd_config(self, *, server_name: str = "") -> dict:
        """ArgoCD's cluster ``config``; ``server_name`` is the name to verify the API server's certificate
        against when ArgoCD dials another address (a VAN listener). Insecure credentials verify nothing."""
        tls: dict = {"insecure": self.insecure}
        if server_name and not self.insecure:
            tls["serverName"] = server_name
        if self.ca_data:
            tls["caData"] = self.ca_data
        if self.cert_data:
            tls["certData"] = self.cert_data
        if self.key_data:
            tls["keyData"] = self.key_data
        config: dict = {"tlsClientConfig": tls}
        if self.bearer_token:
            config["bearerToken"] = self.bearer_token
        return config


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    environment: str
    api_url: str
    tags: tuple[Tag, ...] = ()
    credentials: Credentials | None = None
    sealing_cert_pem: str = ""  # the cluster's Sealed Secrets controller certificate
    link_cert_pem: str = ""  # edges: client certificate issued by the VAN's link CA
    link_key_pem: str = ""

    @property
    def token(self) -> str:
        return cluster_token(self.name)


@dataclass(frozen=True)
class EnvironmentOverride:
    version: str = ""
    chart_version: str = ""
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AppSpec:
    name: str
    namespace: str
    source_kind: str  # directory | kustomize | helm
    repo_url: str
    path: str = ""
    revision: str = "HEAD"
    chart: str = ""
    chart_version: str = ""
    values: dict = field(default_factory=dict)
    image: str = ""
    version: str = ""
    tags: tuple[Tag, ...] = ()
    overrides: tuple[tuple[str, EnvironmentOverride], ...] = ()  # (environment, override), sorted

    @property
    def token(self) -> str:
        return app_token(self.name)

    @cached_property
    def tag_set(self) -> frozenset[Tag]:
        return frozenset(self.tags)

    @cached_property
    def tag_keys(self) -> frozenset[str]:
        return frozenset(t.key for t in self.tags)

    def override_for(self, environment: str) -> EnvironmentOverride | None:
        for env, override in self.overrides:
            if env == environment:
                return override
        return None


@dataclass(frozen=True)
class RuleSpec:
    """A distribution rule: apps with these tags go to clusters matching this selector."""

    name: str
    app_tags: tuple[Tag, ...]
    app_match: str = "all"  # all | any
    cluster_selector: Selector = field(default_factory=Selector)
    environments: tuple[str, ...] = ()  # empty: every environment
    sync: str = "automated"  # automated | manual
    prune: bool = False  # an opt-in: automated sync deletes what left the app's source
    self_heal: bool = True
    order: int = 0

    def selects_app(self, app: AppSpec) -> bool:
        if not self.app_tags:
            return False
        have, keys = app.tag_set, app.tag_keys
        # A plain tag in a rule matches an app carrying that key with any value.
        hits = (tag.key in keys if tag.plain else tag in have for tag in self.app_tags)
        return any(hits) if self.app_match == "any" else all(hits)


@dataclass(frozen=True)
class LinkCA:
    cert_pem: str
    key_pem: str


@dataclass(frozen=True)
class VanSpec:
    name: str
    hub: ClusterSpec
    edges: tuple[ClusterSpec, ...] = ()
    apps: tuple[AppSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    repo_url: str = ""
    repo_revision: str = "HEAD"
    reachability: str = "loadbalancer"
    hub_host: str = ""
    inter_router_port: int = 55671
    edge_port: int = 45671
    skupper_namespace: str = "skupper"
    argocd_namespace: str = "argocd"
    project: str = "default"
    link_ca: LinkCA | None = None
    # Whether the hub's own Applications (bootstrap, Skupper sites) delete what left git: off unless the
    # platform opts in (settings.WAYLINE_ARGOCD_PRUNE), so an emptied GitOps repository removes nothing.
    prune: bool = False
    # Slugs of the add-ons turned on for the VAN: while there is one, the hub syncs addons/<van>/ (addons.rendering).
    addons: tuple[str, ...] = ()

    @property
    def clusters(self) -> tuple[ClusterSpec, ...]:
        return (self.hub,) + tuple(self.edges)

    @property
    def root(self) -> str:
        return f"vans/{self.name}"

    def edge_api(self, edge: ClusterSpec) -> EdgeApi:
        return edge_api(van=self.name, cluster=edge.name, api_url=edge.api_url, skupper_namespace=self.skupper_namespace)
