"""One VAN's hub, watched: list the Applications, then watch them from the list's resourceVersion.

- A watch that ends (its timeout, a dropped connection) resumes from the last resourceVersion seen,
  including those of BOOKMARK events.
- ``410 Gone`` (the hub compacted past that version) relists, then watches again.
- Any other failure records the hub's state (``portal.kube.classify``: unreachable, unauthorized,
  unknown) and tries again after a backoff that doubles up to a cap, with jitter so that many
  watchers do not reconnect in step. Credentials are read again before each attempt.
- A malformed object or event is logged and skipped; the sync goes on.
"""
from __future__ import annotations

import logging
import random
import threading
import time

from django.db import close_old_connections
from django.utils import timezone
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from portal.kube import ClusterState, Endpoint, classify, connect, timeouts
from van.models import Cluster, ClusterConnection, Van
from van.status import applications, findings
from van.status.applications import GROUP, PLURAL, VERSION, Malformed
from van.status.endpoints import cluster_endpoint

logger = logging.getLogger(__name__)


def hub_endpoint(van: Van) -> tuple[Cluster, Endpoint]:
    """The hub of ``van`` and how to reach its API; ``ValueError`` naming what is missing."""
    hub = Cluster.objects.filter(van=van, role="hub").select_related("van").first()
    if hub is None:
        raise ValueError(f"VAN {van.name!r} has no hub")
    if not hub.credentials:
        raise ValueError(f"hub {hub.name!r} has no credentials: Wayline cannot read its ArgoCD")
    return hub, cluster_endpoint(hub)


def connection_record(cluster: Cluster, state: str, message: str = "") -> None:
    """What the last attempt to reach ``cluster`` found (``seen_at`` moves only when it answered)."""
    now = timezone.now()
    fields = {"state": state, "message": message[:500], "checked_at": now}
    if state == ClusterState.REACHABLE:
        fields["seen_at"] = now
    else:
        fields["error_at"] = now
    ClusterConnection.objects.update_or_create(cluster=cluster, defaults=fields)


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before attempt ``attempt`` (1, 2, ...): doubling from ``base`` up to ``cap``, times 0.5–1.5."""
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


class HubWatcher:
    """Keeps the status rows of one VAN in step with its hub until ``stop`` is set."""

    def __init__(self, van_id: int, *, stop: threading.Event | None = None, watch_seconds: int = 60,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, page_size: int = 500, seen_every: float = 10.0):
        self.van_id = van_id
        self.stop = stop or threading.Event()
        self.watch_seconds = watch_seconds
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.page_size = page_size
        self.seen_every = seen_every
        self.resource_version: str | None = None
        self.placed = applications.PlacedPairs()
        self.relists = 0
        self.skipped = 0  # malformed events and objects skipped (logged each time)
        self._seen_recorded = 0.0

    # --- one pass ----------------------------------------------------------------------------------

    def _relist(self, api: k8s.CustomObjectsApi, van: Van) -> str:
        items, token, version = [], None, ""
        while True:
            page = api.list_namespaced_custom_object(
                GROUP, VERSION, van.argocd_namespace, PLURAL, label_selector=applications.selector(van),
                limit=self.page_size, _continue=token, _request_timeout=timeouts())
            metadata = page.get("metadata") or {}
            version = version or str(metadata.get("resourceVersion") or "")
            items.extend(page.get("items") or [])
            token = metadata.get("continue")
            if not token:
                break
        stored, skipped = applications.store_all(van, items)
        self.relists += 1
        logger.info("VAN %s: listed %d Applications on the hub (%d skipped) at resourceVersion %s", van.name, stored, skipped, version)
        return version

    def _findings(self, api: k8s.CustomObjectsApi, van: Van) -> None:
        """List the hub's K8sGPT Results (every namespace) and store them as findings: once per watch, so a finding
        shows, or is resolved, within ``watch_seconds``. A hub without K8sGPT (no such resource, 404) has none."""
        try:
            page = api.list_cluster_custom_object(findings.GROUP, findings.VERSION, findings.PLURAL, _request_timeout=timeouts())
        except k8s.ApiException as exc:
            if exc.status in (403, 404):
                logger.info("VAN %s: no K8sGPT Results readable on the hub (%s)", van.name, exc.status)
                return
            raise
        stored, skipped = findings.store_all(van, page.get("items") or [])
        logger.debug("VAN %s: %d K8sGPT findings (%d skipped)", van.name, stored, skipped)

    def _addons(self, api: k8s.CustomObjectsApi, van: Van) -> None:
        """The VAN's add-on Applications (for the add-on matrix) and its claims' Crossplane Workspaces (observed
        values), listed once per watch like the findings. A hub without Crossplane's Terraform provider has none."""
        from addons import status

        group, version, plural = status.APPLICATIONS
        page = api.list_namespaced_custom_object(group, version, van.argocd_namespace, plural,
                                                 label_selector=status.applications_selector(van), _request_timeout=timeouts())
        status.store_applications(van, page.get("items") or [])
        try:
            page = api.list_cluster_custom_object(*status.WORKSPACES, label_selector=status.workspaces_selector(van),
                                                  _request_timeout=timeouts())
        except k8s.ApiException as exc:
            if exc.status in (403, 404):
                logger.info("VAN %s: no Crossplane Workspaces readable on the hub (%s)", van.name, exc.status)
                return
            raise
        status.store_workspaces(van, page.get("items") or [])

    def _seen(self, hub: Cluster) -> None:
        if time.monotonic() - self._seen_recorded >= self.seen_every:
            connection_record(hub, ClusterState.REACHABLE)
            self._seen_recorded = time.monotonic()

    def _handle(self, van: Van, event) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("raw_object"), dict):
            self.skipped += 1
            logger.warning("VAN %s: skipped a watch event that is not JSON or has no object", van.name)
            return
        kind, obj = event.get("type"), event["raw_object"]
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "") if isinstance(obj.get("metadata"), dict) else ""
        if kind == "BOOKMARK":
            self.resource_version = version or self.resource_version
            return
        try:
            fields = applications.parse(obj)
        except Malformed as exc:
            self.skipped += 1
            logger.warning("VAN %s: skipped a %s event: %s", van.name, kind, exc)
        else:
            if kind == "DELETED":
                applications.mark_deleted(van, fields["application"])
            elif kind in ("ADDED", "MODIFIED"):
                applications.store_one(van, fields, placed=self.placed.get(van, fields))
        if version:
            self.resource_version = version

    def _watch(self, api: k8s.CustomObjectsApi, van: Van, hub: Cluster) -> None:
        stream = k8s_watch.Watch()
        connect_seconds, _ = timeouts()
        try:
            for event in stream.stream(
                api.list_namespaced_custom_object, GROUP, VERSION, van.argocd_namespace, PLURAL,
                label_selector=applications.selector(van), resource_version=self.resource_version,
                allow_watch_bookmarks=True, timeout_seconds=self.watch_seconds,
                _request_timeout=(connect_seconds, self.watch_seconds + 10),
            ):
                self._handle(van, event)
                self._seen(hub)
                if self.stop.is_set():
                    stream.stop()
                    break
        except (KeyError, TypeError, AttributeError) as exc:  # an event the client could not take apart
            self.skipped += 1
            logger.warning("VAN %s: a malformed watch event ended the stream (%s); resuming", van.name, type(exc).__name__)

    def run_once(self) -> None:
        """Connect, list if there is no resourceVersion to resume from, then watch until the stream ends."""
        van = Van.objects.get(pk=self.van_id)
        hub, endpoint = hub_endpoint(van)
        try:
            with connect(endpoint) as client:
                api = k8s.CustomObjectsApi(client)
                if self.resource_version is None:
                    self.resource_version = self._relist(api, van)
                connection_record(hub, ClusterState.REACHABLE)
                self._findings(api, van)
                self._addons(api, van)
                self._seen_recorded = time.monotonic()
                self._watch(api, van, hub)
        except k8s.ApiException as exc:
            if exc.status == 410:
                logger.info("VAN %s: resourceVersion %s is gone on the hub; listing again", van.name, self.resource_version)
                self.resource_version = None
                return
            raise

    # --- the loop ----------------------------------------------------------------------------------

    def run(self) -> None:
        attempt = 0
        try:
            while not self.stop.is_set():
                try:
                    self.run_once()
                    attempt = 0
                except Van.DoesNotExist:
                    return
                except Exception as exc:  # noqa: BLE001 - every failure becomes a state, then a retry
                    attempt += 1
                    state, message = classify(exc)
                    logger.warning("VAN %s: hub watch failed (%s: %s); attempt %d", self.van_id, state, message, attempt)
                    self._record_failure(state, message)
                    self.stop.wait(backoff(attempt, base=self.backoff_base, cap=self.backoff_cap))
                finally:
                    close_old_connections()
        finally:
            close_old_connections()

    def _record_failure(self, state: str, message: str) -> None:
        hub = Cluster.objects.filter(van_id=self.van_id, role="hub").first()
        if hub is not None:
            connection_record(hub, state, message)
