"""K8sGPT Result objects as a hub holds them, shaped like the upstream CRD (checked in tests)."""
from __future__ import annotations


def result(cluster: str, kind: str, namespace: str, name: str, *, errors=("Back-off pulling image",), details: str = "",
           parent: str = "", kubernetes_id: str = "", result_name: str = "") -> dict:
    """The Result K8sGPT writes on the hub about ``kind`` ``namespace/name`` on ``cluster`` (its K8sGPT resource lives
    in the hub's ``k8sgpt-<cluster>`` namespace)."""
    labels = {"k8sgpts.k8sgpt.ai/name": f"k8sgpt-{cluster}", "k8sgpts.k8sgpt.ai/backend": "localai"}
    if kubernetes_id:
        labels["backstage.io/kubernetes-id"] = kubernetes_id
    return {
        "apiVersion": "core.k8sgpt.ai/v1alpha1",
        "kind": "Result",
        "metadata": {"name": result_name or f"{namespace}{name}".replace("-", ""), "namespace": f"k8sgpt-{cluster}", "labels": labels},
        "spec": {
            "autoRemediationStatus": {},
            "backend": "localai",
            "details": details,
            "error": [{"text": text, "sensitive": []} for text in errors],
            "kind": kind,
            "name": f"{namespace}/{name}",
            "parentObject": parent,
        },
        "status": {"lifecycle": "historical"},
    }
