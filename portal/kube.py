"""The Kubernetes access layer: the only module that talks to a Kubernetes API.

Everything goes through the official ``kubernetes`` client, one ``ApiClient`` per cluster built from
its stored (encrypted) credentials, with TLS verification on unless the credentials themselves say
``insecure-skip-tls-verify``, and a connect and a read timeout on every call. ``classify`` is the one
place that turns what a call raised into a cluster state; its message never holds a credential.

Credentials reach the client as files only where the client insists on files (a CA bundle, a client
certificate and key): they are written to a private temporary directory (mode 0700, files 0600) for
as long as the client lives and removed when it is closed.
"""
from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.db import models
from kubernetes import client as k8s


class ClusterState(models.TextChoices):
    """What Wayline last found when it talked to a cluster's API."""

    REACHABLE = "reachable", "Reachable"
    UNAUTHORIZED = "unauthorized", "Unauthorized"
    UNREACHABLE = "unreachable", "Unreachable"
    UNKNOWN = "unknown", "Unknown"


@dataclass(frozen=True)
class Endpoint:
    """Where a cluster's API answers and how to authenticate: what the client is built from.

    ``server_name``: the TLS server name to verify, when the address (a VAN listener) differs from
    the name on the API server's certificate. Its ``repr`` names the server only.
    """

    server: str
    token: str = ""
    ca_data: str = ""  # base64 PEM, as in a kubeconfig's certificate-authority-data
    cert_data: str = ""
    key_data: str = ""
    insecure: bool = False
    server_name: str = ""

    def __repr__(self) -> str:
        return f"Endpoint(server={self.server!r})"

    __str__ = __repr__


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds for every call that is not a watch."""
    return (float(getattr(settings, "WAYLINE_KUBE_CONNECT_SECONDS", 5)), float(getattr(settings, "WAYLINE_KUBE_READ_SECONDS", 30)))


class ApiClient(k8s.ApiClient):
    """An ``ApiClient`` that owns the private directory its credential files live in."""

    def __init__(self, configuration: k8s.Configuration, directory: str | None):
        super().__init__(configuration)
        self._directory = directory

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._directory:
                shutil.rmtree(self._directory, ignore_errors=True)
                self._directory = None


def _decode(field: str, value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError(f"credentials field {field} is not base64") from None


def api_client(endpoint: Endpoint) -> ApiClient:
    """A client for ``endpoint``; close it (or use ``connect``) to remove its credential files."""
    parts = urlsplit(endpoint.server)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"not an API server URL: {endpoint.server!r}")
    configuration = k8s.Configuration(host=endpoint.server.rstrip("/"))
    configuration.verify_ssl = not endpoint.insecure
    configuration.retries = False  # one attempt per call; the caller decides when to try again
    if endpoint.server_name:
        configuration.tls_server_name = endpoint.server_name
    if endpoint.token:
        configuration.api_key = {"authorization": endpoint.token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    directory = None
    files = {"ca.crt": endpoint.ca_data, "client.crt": endpoint.cert_data, "client.key": endpoint.key_data}
    if any(files.values()):
        directory = tempfile.mkdtemp(prefix="wayline-kube-")
        os.chmod(directory, 0o700)
        try:
            for name, value in files.items():
                if value:
                    path = os.path.join(directory, name)
                    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "wb") as handle:
                        handle.write(_decode(name, value))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        if endpoint.ca_data:
            configuration.ssl_ca_cert = os.path.join(directory, "ca.crt")
        if endpoint.cert_data and endpoint.key_data:
            configuration.cert_file = os.path.join(directory, "client.crt")
            configuration.key_file = os.path.join(directory, "client.key")
    return ApiClient(configuration, directory)


@contextlib.contextmanager
def connect(endpoint: Endpoint):
    """``with connect(endpoint) as api:`` a client that is closed (and its files removed) afterwards."""
    api = api_client(endpoint)
    try:
        yield api
    finally:
        api.close()


TLS_FAILED = "TLS failed: the API server's certificate did not verify or the handshake broke"


def classify(exc: BaseException) -> tuple[str, str]:
    """(state, message) for what a call to a cluster raised.

    401 and 403 are ``unauthorized``; refused, reset, timed out, TLS failures and 5xx are
    ``unreachable``; anything else is ``unknown``. The message says what happened in a few words:
    never the response headers or body, which can echo a request's credentials.
    """
    if isinstance(exc, k8s.ApiException):
        status = exc.status or 0
        if status in (401, 403):
            return ClusterState.UNAUTHORIZED, f"the API server refused the credentials (HTTP {status})"
        if status == 0 and str(exc.reason or "").startswith("SSLError"):  # the client's own wrapping of a TLS failure
            return ClusterState.UNREACHABLE, TLS_FAILED
        if status >= 500 or status == 0:
            return ClusterState.UNREACHABLE, f"the API server answered HTTP {status}" if status else "no answer from the API server"
        return ClusterState.UNKNOWN, f"the API server answered HTTP {status} {exc.reason or ''}".strip()
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return classify(exc.reason)
    ssl_error = isinstance(exc, (ssl.SSLError, urllib3.exceptions.SSLError))
    if ssl_error:
        return ClusterState.UNREACHABLE, TLS_FAILED
    if isinstance(exc, (urllib3.exceptions.TimeoutError, socket.timeout, TimeoutError)):
        return ClusterState.UNREACHABLE, "the API server did not answer in time"
    if isinstance(exc, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)):
        return ClusterState.UNREACHABLE, "the connection to the API server was refused or could not be opened"
    if isinstance(exc, (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, ConnectionError, OSError)):
        return ClusterState.UNREACHABLE, "the connection to the API server broke"
    if isinstance(exc, ValueError):
        return ClusterState.UNKNOWN, str(exc)
    return ClusterState.UNKNOWN, f"unexpected error: {type(exc).__name__}"


def probe(endpoint: Endpoint) -> tuple[str, str]:
    """Ask the API server for its version: (state, message), reachable with the server's version."""
    try:
        with connect(endpoint) as api:
            info = k8s.VersionApi(api).get_code(_request_timeout=timeouts())
    except Exception as exc:  # noqa: BLE001 - every failure becomes a state
        return classify(exc)
    return ClusterState.REACHABLE, f"Kubernetes {info.git_version}"


# --- workloads: what Backstage's Kubernetes plugin lists for an entity ----------------------------------------------

WORKLOAD_LIMIT = 200  # objects of one kind read per (cluster, namespace, selector); the page says when there were more

# (kind, api class, list method): the workload kinds read, in the order a page shows them
_WORKLOAD_CALLS = (
    ("Deployment", k8s.AppsV1Api, "list_namespaced_deployment"),
    ("StatefulSet", k8s.AppsV1Api, "list_namespaced_stateful_set"),
    ("DaemonSet", k8s.AppsV1Api, "list_namespaced_daemon_set"),
    ("CronJob", k8s.BatchV1Api, "list_namespaced_cron_job"),
    ("Pod", k8s.CoreV1Api, "list_namespaced_pod"),
)


@dataclass(frozen=True)
class Workload:
    """One object as a page lists it: nothing from its spec but names, images and counts."""

    kind: str
    name: str
    ready: str = ""  # "2/3" replicas or containers ready
    ok: bool = True  # all wanted replicas or containers ready, or a CronJob not suspended
    status: str = ""  # a word: the pod's phase or waiting reason, "suspended", the deployment's failing condition
    images: tuple[str, ...] = ()
    restarts: int = 0
    owner: str = ""  # a pod's controller, "ReplicaSet/checkout-6f8b9c"


def _containers(kind: str, obj: dict) -> list[dict]:
    """The containers of ``obj``'s pods: a Pod's own, a controller's pod template's, a CronJob's job template's."""
    path = {"Pod": ("spec",), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}.get(kind, ("spec", "template", "spec"))
    node = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    containers = node.get("containers") if isinstance(node, dict) else None
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _workload(kind: str, obj: dict) -> Workload:
    """What a page shows of ``obj``: read defensively, as an API server (or anything answering as one) may omit
    any field."""
    metadata, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    name = str(metadata.get("name") or "")
    images = tuple(str(c.get("image") or "") for c in _containers(kind, obj))
    if kind in ("Deployment", "StatefulSet"):
        wanted = _count(spec.get("replicas", 1))
        ready = _count(status.get("readyReplicas"))
        failing = [c for c in status.get("conditions") or [] if isinstance(c, dict) and c.get("status") == "False"]
        word = str(failing[0].get("reason") or failing[0].get("type") or "") if failing else ""
        return Workload(kind, name, f"{ready}/{wanted}", ready >= wanted and not failing, word, images)
    if kind == "DaemonSet":
        wanted, ready = _count(status.get("desiredNumberScheduled")), _count(status.get("numberReady"))
        return Workload(kind, name, f"{ready}/{wanted}", ready >= wanted, "", images)
    if kind == "CronJob":
        suspended = spec.get("suspend") is True
        active = len(status.get("active") or [])
        return Workload(kind, name, f"{active} running", not suspended, "suspended" if suspended else str(spec.get("schedule") or ""), images)
    statuses = [s for s in status.get("containerStatuses") or [] if isinstance(s, dict)]
    ready = sum(1 for s in statuses if s.get("ready") is True)
    waiting = next((str(_dict(s.get("state"))["waiting"].get("reason") or "") for s in statuses
                    if isinstance(_dict(s.get("state")).get("waiting"), dict)), "")
    phase = str(status.get("phase") or "Unknown")
    owners = [o for o in metadata.get("ownerReferences") or [] if isinstance(o, dict) and o.get("controller")]
    owner = f"{owners[0].get('kind')}/{owners[0].get('name')}" if owners else ""
    total = len(_containers(kind, obj)) or len(statuses)
    ok = phase == "Succeeded" or (phase == "Running" and ready == total and not waiting)
    return Workload(kind, name, f"{ready}/{total}", ok, waiting or phase, images,
                    sum(_count(s.get("restartCount")) for s in statuses), owner)


def workloads(endpoint: Endpoint, *, namespace: str, selector: str) -> tuple[list[Workload], bool]:
    """The Deployments, StatefulSets, DaemonSets, CronJobs and Pods in ``namespace`` whose labels match
    ``selector`` (Kubernetes selector syntax, not empty): (workloads, whether some kind had more than
    ``WORKLOAD_LIMIT``). Raises what the client raised; ``classify`` turns it into a state."""
    import json

    if not selector.strip():
        raise ValueError("an empty label selector would select every object in the namespace")
    out, more = [], False
    with connect(endpoint) as api:
        for kind, api_class, method in _WORKLOAD_CALLS:
            response = getattr(api_class(api), method)(
                namespace, label_selector=selector, limit=WORKLOAD_LIMIT, _preload_content=False, _request_timeout=timeouts())
            try:
                body = json.loads(response.data)
            finally:
                response.release_conn()
            if not isinstance(body, dict):
                raise ValueError(f"the API server's {kind} list is not an object")
            more = more or bool((body.get("metadata") or {}).get("continue"))
            out.extend(_workload(kind, item) for item in (body.get("items") or [])[:WORKLOAD_LIMIT] if isinstance(item, dict))
    return out, more
