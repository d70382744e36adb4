"""The demo's hubs: a fake Kubernetes API server per VAN, and a stand-in for ArgoCD that rolls out what git says.

``manage.py demo`` runs these beside the portal so that live status moves without a cluster. They live with the
test harness because they are the test harness: the same ``FakeKubeAPI`` the hub watcher's tests use, over HTTPS
with a CA of its own and a bearer token, read by the real ``status_watch`` process through the official client.

The stand-in plays ArgoCD on each hub, every ``tick`` seconds:

- every (app, cluster) the VAN's rules place has an Application, labelled as Wayline's ApplicationSet template
  labels it; a pair no longer placed loses its Application;
- an Application whose version in git (the latest release applied to this VAN, or the environment's pin) differs
  from the one running goes OutOfSync; under an automated rule it then syncs, Progressing, and becomes Healthy on
  the new image a few ticks later; under a manual rule it stays OutOfSync, running the old version, until synced;
- ``STUCK`` pairs never finish their rollout: Degraded, the old image running, a pull error as the message;
- K8sGPT's stand-in reports ``FINDINGS`` a few ticks after their app lands on their cluster.

Nothing here is product code: the portal reads these hubs exactly as it reads real ones.
"""
from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
from dataclasses import dataclass, field

from django.db import close_old_connections

from tests.kube.apiserver import FakeKubeAPI

logger = logging.getLogger(__name__)

APPLICATION = ("argoproj.io/v1alpha1", "applications")
# (app, cluster): (the version left running, why the rollout does not finish)
STUCK = {
    ("search-indexer", "dev-us"): ("3.0.2", 'Back-off pulling image "{image}:{version}": manifest unknown'),
}
# What K8sGPT finds, and after how many ticks: (app, cluster, kind, name in the app's namespace, errors, explanation)
FINDINGS = [
    ("search-indexer", "dev-us", "Pod", "search-indexer-6f8b9c-x2x7q",
     ['Back-off pulling image "{image}:3.1.0": manifest unknown'],
     "The pod cannot start because the image tag 3.1.0 does not exist in the registry. Push the image, or set the "
     "app back to a version that exists (3.0.2 runs now).", 3),
    ("payment-gateway", "dev-eu", "Ingress", "payment-gateway",
     ["Ingress uses the secret payments/payment-gateway-tls as a TLS certificate which does not exist."],
     "The Ingress refers to a TLS secret that is not in the namespace, so HTTPS requests get the default certificate. "
     "Create the secret (as a SealedSecret) or fix the name.", 5),
]
PROGRESS_TICKS = (2, 6)  # a rollout stays Progressing for this many ticks (a random number in the range)


def kubeconfig(server: str, ca_data: str, token: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: hub\n"
        "contexts: [{name: hub, context: {cluster: hub, user: reader}}]\n"
        f'clusters: [{{name: hub, cluster: {{server: "{server}", certificate-authority-data: {ca_data}}}}}]\n'
        f"users: [{{name: reader, user: {{token: {token}}}}}]\n"
    )


@dataclass
class Rollout:
    """What ArgoCD on the hub is doing for one Application."""

    running: str  # the version the cluster runs
    target: str  # the version in git
    progress: int = 0  # ticks left Progressing (0: settled)
    stuck: str = ""  # a message: the rollout never finishes
    held: dict = field(default_factory=dict)  # the Application the hub holds now (put again only when it changes)


class DemoHub:
    """One VAN's hub: its API server, the credentials Wayline reads it with, and ArgoCD's stand-in."""

    def __init__(self, van_name: str, *, rng: random.Random | None = None):
        self.van_name = van_name
        self.token = secrets.token_urlsafe(24)
        self.api = FakeKubeAPI(tokens=(self.token,), bookmark_seconds=5.0)
        self.rollouts: dict[str, Rollout] = {}
        self.rng = rng or random.Random()
        self.ticks = 0
        self.found: set[tuple[str, str]] = set()

    def start(self, *, actor) -> DemoHub:
        """Listen, and give the VAN's hub this server's address and a kubeconfig to read it (through the services
        layer, as an ops user would; the hub's own manifests do not change, so nothing is committed)."""
        from van import services
        from van.models import Cluster

        self.api.start()
        hub = Cluster.objects.get(van__name=self.van_name, role="hub")
        services.cluster_update(actor=actor, obj=hub, api_url=self.api.url, credentials_kind="kubeconfig",
                                credentials=kubeconfig(self.api.url, self.api.ca_data, self.token))
        return self

    def stop(self) -> None:
        self.api.stop()

    # --- ArgoCD's stand-in ---------------------------------------------------------------------------

    def wanted(self) -> dict[str, dict]:
        """Application name -> what it deploys: every placed (app, cluster), with its version in git."""
        from van.models import App, Van
        from van.rendering.placement import application_name, placement_compute
        from van.selectors import van_spec
        from van.status.selectors import desired_version, with_releases

        van = Van.objects.get(name=self.van_name)
        spec = van_spec(van=van)
        placement = placement_compute(spec)
        apps = {a.name: a for a in with_releases(App.objects.filter(name__in=list(placement.by_app)))}
        clusters = {c.name: c for c in spec.clusters}
        rules = {r.name: r for r in spec.rules}
        out = {}
        for app_spec in spec.apps:
            for cluster_name, rule_name in placement.clusters_of(app_spec.name).items():
                cluster, app = clusters[cluster_name], apps.get(app_spec.name)
                version = desired_version(app, van.pk, cluster.environment)[0] if app else app_spec.version
                out[application_name(app_spec, cluster)] = {
                    "app": app_spec, "cluster": cluster, "rule": rule_name, "version": version,
                    "manual": rules[rule_name].sync == "manual", "namespace": spec.argocd_namespace,
                }
        return out

    def step(self) -> None:
        """One tick of ArgoCD: new Applications, rollouts moving on, Applications of pairs no longer placed gone."""
        wanted = self.wanted()
        for name, want in wanted.items():
            rollout = self.rollouts.get(name)
            key = (want["app"].name, want["cluster"].name)
            if rollout is None:  # first sight: the version in git is rolling out (or, when stuck, the old one runs)
                old, why = STUCK.get(key, ("", ""))
                rollout = Rollout(running=old or want["version"], target=want["version"],
                                  progress=self.rng.randint(*PROGRESS_TICKS), stuck=why)
            elif rollout.target != want["version"]:
                rollout.target, rollout.progress = want["version"], (0 if want["manual"] else self.rng.randint(*PROGRESS_TICKS))
            elif rollout.progress > 0:
                rollout.progress -= 1
                if rollout.progress == 0 and not rollout.stuck:
                    rollout.running = rollout.target
            self.rollouts[name] = rollout
            obj = self.application(name, want, rollout)
            if obj != rollout.held:
                self.api.put(obj)
                rollout.held = obj
        for name in set(self.rollouts) - set(wanted):
            namespace = self.rollouts.pop(name).held["metadata"]["namespace"]
            try:
                self.api.delete(*APPLICATION, namespace, name)
            except KeyError:
                pass
        self.ticks += 1
        self.k8sgpt(wanted)

    def k8sgpt(self, wanted: dict[str, dict]) -> None:
        """K8sGPT's stand-in: each of ``FINDINGS`` appears once its app has run on its cluster for a few ticks, as a
        Result in the hub's ``k8sgpt-<cluster>`` namespace (where Wayline's K8sGPT resource for that cluster writes)."""
        placed = {(w["app"].name, w["cluster"].name): w for w in wanted.values()}
        for app, cluster, kind, name, errors, details, after in FINDINGS:
            want = placed.get((app, cluster))
            if want is None or (app, cluster) in self.found or self.ticks < after:
                continue
            namespace = want["app"].namespace
            self.api.put({
                "apiVersion": "core.k8sgpt.ai/v1alpha1", "kind": "Result",
                "metadata": {"name": f"{namespace}{name}".replace("-", ""), "namespace": f"k8sgpt-{cluster}",
                             "labels": {"k8sgpts.k8sgpt.ai/name": f"k8sgpt-{cluster}", "k8sgpts.k8sgpt.ai/backend": "localai"}},
                "spec": {"autoRemediationStatus": {}, "backend": "localai", "details": details,
                         "error": [{"text": e.format(image=want["app"].image), "sensitive": []} for e in errors],
                         "kind": kind, "name": f"{namespace}/{name}", "parentObject": ""},
                "status": {"lifecycle": "historical"},
            })
            self.found.add((app, cluster))

    def application(self, name: str, want: dict, rollout: Rollout) -> dict:
        """The Application as ArgoCD reports it for ``rollout``."""
        app, cluster = want["app"], want["cluster"]
        image = app.image
        in_sync = rollout.target == rollout.running or rollout.progress > 0 or bool(rollout.stuck)
        if rollout.stuck:
            health, message = "Degraded", rollout.stuck.format(image=image, version=rollout.target)
        elif rollout.progress > 0:
            health, message = "Progressing", f"Waiting for rollout to finish: 1 of 2 updated replicas are available ({rollout.target})"
        else:
            health, message = "Healthy", ""
        sync = "Synced" if in_sync else "OutOfSync"
        revision = hashlib.sha1(f"{app.name}@{rollout.target}".encode()).hexdigest()  # a stand-in commit of git's state
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": name, "namespace": want["namespace"],
                "labels": {"wayline.io/van": self.van_name, "wayline.io/app": app.name, "wayline.io/cluster": cluster.name,
                           "wayline.io/rule": want["rule"], "wayline.io/environment": cluster.environment},
            },
            "spec": {
                "project": "default",
                "source": {"repoURL": app.repo_url, "path": app.path or ".", "targetRevision": app.revision},
                "destination": {"name": cluster.name, "namespace": app.namespace},
            },
            "status": {
                "sync": {"status": sync, "revision": revision},
                "health": {"status": health, **({"message": message} if message else {})},
                "summary": {"images": [f"{image}:{rollout.running}"] if image and rollout.running else []},
                "operationState": {
                    "phase": "Running" if health == "Progressing" else ("Failed" if rollout.stuck else "Succeeded"),
                    "message": message or "successfully synced (all tasks run)",
                    "startedAt": "2026-12-01T09:00:00Z",
                    "operation": {"sync": {"revision": revision}},
                },
            },
        }


# Dashboards the demo pins from the demo VAN's Grafana: (uid, what it is pinned to: ("van"|"app"|"cluster", name))
DEMO_PINS = [("wl-argocd", ("van", "demo")), ("wl-namespace", ("app", "checkout-service")), ("wl-cluster", ("cluster", "prod-eu"))]


class DemoHubs:
    """Every demo VAN's hub, and one thread that ticks their ArgoCD stand-ins until stopped; the ``demo`` VAN's hub
    also runs a fake Grafana (``tests/grafana/fake.py``), with three dashboards pinned."""

    def __init__(self, van_names, *, tick: float = 2.0):
        self.hubs = [DemoHub(name) for name in van_names]
        self.tick = tick
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo-hubs", daemon=True)
        self.grafana = None

    def start(self, *, actor) -> DemoHubs:
        for hub in self.hubs:
            hub.start(actor=actor)
        if any(hub.van_name == "demo" for hub in self.hubs):
            self.grafana_start(actor=actor)
        close_old_connections()
        self.thread.start()
        return self

    def grafana_start(self, *, actor) -> None:
        from addons import services as addons_services
        from tests.grafana.fake import FakeGrafana
        from van.models import App, Cluster, Van

        self.grafana = FakeGrafana(token=secrets.token_urlsafe(24)).start()
        van = Van.objects.get(name="demo")
        addons_services.van_grafana_set(actor=actor, van=van, url=self.grafana.url, token=self.grafana.token)
        targets = {"van": Van.objects.filter(name="demo"), "app": App.objects.all(), "cluster": Cluster.objects.filter(van=van)}
        for uid, (kind, name) in DEMO_PINS:
            target = targets[kind].filter(name=name).first()
            if target is not None:
                addons_services.dashboard_pin(actor=actor, van=van, target=target, uid=uid)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            for hub in self.hubs:
                try:
                    hub.step()
                except Exception:
                    logger.exception("demo hub %s: step failed", hub.van_name)
                finally:
                    close_old_connections()
            self.stop_event.wait(self.tick)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)
        for hub in self.hubs:
            hub.stop()
        if self.grafana is not None:
            self.grafana.stop()
