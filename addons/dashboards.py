"""The Grafana add-on's starter dashboards: written here as data, built into Grafana dashboard JSON.

Every dashboard has the ``cluster`` and ``namespace`` template variables Wayline fills in when it embeds one
(``var-cluster``, ``var-namespace``; docs/live-status.md), a stable uid (``wl-<slug>``) so pins survive upgrades,
and panels whose queries name metrics the golden path's own exporters publish (kube-state-metrics, node-exporter
and cAdvisor from the Prometheus add-on; ArgoCD, Sealed Secrets, K8sGPT and Crossplane controllers).

They reach Grafana as ConfigMaps on the hub labelled ``grafana_dashboard: "1"``, which the Grafana chart's
dashboard sidecar loads (``sidecar.dashboards.enabled`` in the add-on's values).
"""
from __future__ import annotations

import json

SCHEMA_VERSION = 39
SIDECAR_LABEL = "grafana_dashboard"

C = 'cluster=~"$cluster"'
CN = 'cluster=~"$cluster", namespace=~"$namespace"'

# slug -> (title, tags, [(panel title, kind, unit, [PromQL, ...]), ...])
STARTERS: dict[str, tuple[str, tuple[str, ...], list[tuple[str, str, str, list[str]]]]] = {
    "cluster-overview": ("Cluster overview", ("kubernetes",), [
        ("Nodes", "stat", "none", [f"count(kube_node_info{{{C}}})"]),
        ("Pods running", "stat", "none", [f'sum(kube_pod_status_phase{{{C}, phase="Running"}})']),
        ("CPU used (cores)", "timeseries", "none", [f"sum(rate(container_cpu_usage_seconds_total{{{C}, container!=\"\"}}[5m]))"]),
        ("Memory used", "timeseries", "bytes", [f"sum(container_memory_working_set_bytes{{{C}, container!=\"\"}})"]),
    ]),
    "nodes": ("Nodes", ("kubernetes", "nodes"), [
        ("CPU busy by node", "timeseries", "percentunit",
         [f'1 - avg by (instance) (rate(node_cpu_seconds_total{{{C}, mode="idle"}}[5m]))']),
        ("Memory available by node", "timeseries", "bytes", [f"node_memory_MemAvailable_bytes{{{C}}}"]),
        ("Disk free by node", "timeseries", "bytes", [f'sum by (instance) (node_filesystem_avail_bytes{{{C}, fstype!~"tmpfs|overlay"}})']),
        ("Nodes not ready", "stat", "none", [f'sum(kube_node_status_condition{{{C}, condition="Ready", status!="true"}})']),
    ]),
    "namespace-workloads": ("Namespace workloads", ("kubernetes", "workloads"), [
        ("Deployments: available / wanted", "timeseries", "none",
         [f"sum by (deployment) (kube_deployment_status_replicas_available{{{CN}}})",
          f"sum by (deployment) (kube_deployment_spec_replicas{{{CN}}})"]),
        ("StatefulSets ready", "timeseries", "none", [f"sum by (statefulset) (kube_statefulset_status_replicas_ready{{{CN}}})"]),
        ("CPU by workload", "timeseries", "none",
         [f'sum by (pod) (rate(container_cpu_usage_seconds_total{{{CN}, container!=""}}[5m]))']),
        ("Memory by workload", "timeseries", "bytes", [f'sum by (pod) (container_memory_working_set_bytes{{{CN}, container!=""}})']),
    ]),
    "pods": ("Pods", ("kubernetes", "pods"), [
        ("Restarts (1h)", "timeseries", "none", [f"sum by (pod) (increase(kube_pod_container_status_restarts_total{{{CN}}}[1h]))"]),
        ("Waiting, by reason", "table", "none", [f"sum by (pod, reason) (kube_pod_container_status_waiting_reason{{{CN}}}) > 0"]),
        ("Not running", "stat", "none", [f'sum(kube_pod_status_phase{{{CN}, phase=~"Pending|Failed|Unknown"}})']),
    ]),
    "argocd": ("ArgoCD", ("gitops", "argocd"), [
        ("Applications by sync status", "timeseries", "none", ["sum by (sync_status) (argocd_app_info)"]),
        ("Applications by health", "timeseries", "none", ["sum by (health_status) (argocd_app_info)"]),
        ("Syncs (1h), by phase", "timeseries", "none", ["sum by (phase) (increase(argocd_app_sync_total[1h]))"]),
        ("Out of sync", "stat", "none", ['sum(argocd_app_info{sync_status="OutOfSync"}) or vector(0)']),
    ]),
    "skupper": ("Skupper (the VAN)", ("van", "skupper"), [
        ("Router pods ready", "stat", "none", [f'sum(kube_pod_container_status_ready{{{C}, container=~"router|skupper-router"}})']),
        ("Traffic out of the router", "timeseries", "Bps",
         [f'sum(rate(container_network_transmit_bytes_total{{{C}, pod=~"skupper-router.*"}}[5m]))']),
        ("Traffic into the router", "timeseries", "Bps",
         [f'sum(rate(container_network_receive_bytes_total{{{C}, pod=~"skupper-router.*"}}[5m]))']),
        ("Router restarts (1h)", "stat", "none",
         [f'sum(increase(kube_pod_container_status_restarts_total{{{C}, pod=~"skupper-router.*"}}[1h]))']),
    ]),
    "k8sgpt": ("K8sGPT findings", ("k8sgpt", "findings"), [
        ("Findings", "stat", "none", ["sum(k8sgpt_number_of_results)"]),
        ("Findings by kind", "timeseries", "none", ["sum by (kind) (k8sgpt_number_of_results_by_type)"]),
        ("Analysis errors (1h)", "timeseries", "none", ["sum(increase(k8sgpt_number_of_failed_backend_ai_calls[1h])) or vector(0)"]),
    ]),
    "sealed-secrets": ("Sealed Secrets", ("secrets",), [
        ("Unseal requests (5m)", "timeseries", "reqps", [f"sum(rate(sealed_secrets_controller_unseal_requests_total{{{C}}}[5m]))"]),
        ("Unseal errors, by reason", "timeseries", "none",
         [f"sum by (reason) (increase(sealed_secrets_controller_unseal_errors_total{{{C}}}[1h]))"]),
        ("Conditions not synced", "stat", "none",
         [f'sum(sealed_secrets_controller_condition_info{{{C}, condition="Synced"}} == 0) or vector(0)']),
    ]),
    "crossplane": ("Crossplane", ("infrastructure", "crossplane"), [
        ("Managed resources", "stat", "none", ["sum(crossplane_managed_resource_exists)"]),
        ("Not ready", "stat", "none", ["sum(crossplane_managed_resource_exists) - sum(crossplane_managed_resource_ready)"]),
        ("Not synced", "stat", "none", ["sum(crossplane_managed_resource_exists) - sum(crossplane_managed_resource_synced)"]),
        ("Ready by kind", "timeseries", "none", ["sum by (gvk) (crossplane_managed_resource_ready)"]),
    ]),
    "app-golden-signals": ("App golden signals", ("apps", "golden-signals"), [
        ("Requests per second", "timeseries", "reqps", [f"sum(rate(http_requests_total{{{CN}}}[5m]))"]),
        ("Errors (5xx share)", "timeseries", "percentunit",
         [f'sum(rate(http_requests_total{{{CN}, code=~"5.."}}[5m])) / sum(rate(http_requests_total{{{CN}}}[5m]))']),
        ("Latency p95", "timeseries", "s",
         [f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{CN}}}[5m])))"]),
        ("Saturation: CPU of the namespace", "timeseries", "none",
         [f'sum(rate(container_cpu_usage_seconds_total{{{CN}, container!=""}}[5m]))']),
    ]),
}


def _variable(name: str, query: str) -> dict:
    return {"name": name, "label": name, "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": query, "refId": f"{name}-values"}, "definition": query, "refresh": 2,
            "includeAll": True, "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
            "sort": 1}


def dashboard(slug: str) -> dict:
    """The Grafana dashboard JSON of one starter (a model Grafana imports as it is)."""
    title, tags, panels = STARTERS[slug]
    built = []
    for index, (panel_title, kind, unit, queries) in enumerate(panels):
        width = 12 if kind != "stat" else 6
        built.append({
            "id": index + 1, "type": kind, "title": panel_title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"x": (index * width) % 24, "y": (index * width) // 24 * 8, "w": width, "h": 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
            "targets": [{"refId": chr(ord("A") + n), "expr": expr, "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                        for n, expr in enumerate(queries)],
        })
    return {
        "uid": f"wl-{slug}", "title": title, "tags": ["wayline", *tags], "editable": False, "schemaVersion": SCHEMA_VERSION,
        "version": 1, "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "timezone": "browser",
        "templating": {"list": [
            {"name": "datasource", "label": "data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1},
            _variable("cluster", "label_values(up, cluster)"),
            _variable("namespace", 'label_values(kube_namespace_status_phase{cluster=~"$cluster"}, namespace)'),
        ]},
        "annotations": {"list": []},
        "panels": built,
    }


def dashboard_configmaps(*, namespace: str) -> dict[str, dict]:
    """One ConfigMap per starter dashboard (file name -> object), for the Grafana chart's dashboard sidecar."""
    out = {}
    for slug in STARTERS:
        out[f"dashboards/{slug}.yaml"] = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"wayline-dashboard-{slug}", "namespace": namespace,
                         "labels": {SIDECAR_LABEL: "1", "app.kubernetes.io/managed-by": "wayline"}},
            "data": {f"{slug}.json": json.dumps(dashboard(slug), indent=2, sort_keys=True)},
        }
    return out
