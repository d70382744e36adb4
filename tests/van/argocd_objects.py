"""ArgoCD Application objects as a hub reports them, shaped like the upstream CRD (checked in tests)."""
from __future__ import annotations

LABELS = ("wayline.io/van", "wayline.io/app", "wayline.io/cluster", "wayline.io/rule", "wayline.io/environment")


def application(van: str, app: str, cluster: str, *, sync: str = "Synced", health: str = "Healthy", image: str = "",
                revision: str = "0123456789abcdef0123456789abcdef01234567", rule: str = "payments", environment: str = "dev",
                namespace: str = "argocd", phase: str = "Succeeded", message: str = "", health_message: str = "") -> dict:
    """One Application Wayline's ApplicationSet template would generate, with a status block."""
    status: dict = {
        "sync": {"status": sync, "revision": revision,
                 "comparedTo": {"source": {"repoURL": "https://git.example.net/gitops.git", "path": f"apps/{app}"},
                                "destination": {"server": "https://kubernetes.default.svc", "namespace": app}}},
        "health": {"status": health, **({"message": health_message} if health_message else {})},
        "summary": {"images": [image] if image else []},
        "operationState": {"phase": phase, "message": message or "successfully synced", "startedAt": "2026-12-01T10:00:00Z",
                           "operation": {"sync": {"revision": revision}}},
        "conditions": [],
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"{app}-{cluster}", "namespace": namespace,
            "labels": dict(zip(LABELS, (van, app, cluster, rule, environment))),
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.net/apps.git", "path": "deploy", "targetRevision": "HEAD"},
            "destination": {"server": f"https://{cluster}.example.net:6443", "namespace": app},
        },
        "status": status,
    }
