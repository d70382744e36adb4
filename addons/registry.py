"""The golden-path add-ons Wayline knows, as declarative definitions.

Each add-on is optional per VAN. ``placement`` says where it runs: on every
cluster of a VAN, or on the hub only.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AddOnDefinition:
    slug: str
    name: str
    summary: str
    placement: str  # "all" clusters of a VAN, or "hub" only
    upstream: str
    default_enabled: bool = True
    provides: tuple[str, ...] = field(default_factory=tuple)


ADDONS: tuple[AddOnDefinition, ...] = (
    AddOnDefinition("prometheus", "Prometheus", "Metrics scraped on every cluster of the VAN.", "all",
                    "prometheus-community/kube-prometheus-stack", provides=("metrics",)),
    AddOnDefinition("grafana", "Grafana", "One Grafana on the hub with every cluster's Prometheus as a data source, embedded in the portal.", "hub",
                    "grafana/grafana", provides=("dashboards",)),
    AddOnDefinition("sealed-secrets", "Sealed Secrets", "Encrypt secrets for git; only the cluster's controller can decrypt them.", "all",
                    "bitnami-labs/sealed-secrets", provides=("secrets",)),
    AddOnDefinition("k8sgpt", "K8sGPT", "Scans clusters and explains problems in plain English; findings are routed to the owning team.", "all",
                    "k8sgpt-ai/k8sgpt-operator", provides=("findings",)),
    AddOnDefinition("argo-workflows", "Argo Events + Workflows", "Event-driven CI/CD pipelines on the hub.", "hub",
                    "argoproj/argo-workflows", provides=("ci",)),
    AddOnDefinition("crossplane", "Crossplane", "Infrastructure as code with continuous drift correction.", "hub",
                    "crossplane/crossplane", default_enabled=False, provides=("infrastructure",)),
)


def addon_get(slug: str) -> AddOnDefinition | None:
    return next((addon for addon in ADDONS if addon.slug == slug), None)
