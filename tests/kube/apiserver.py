"""A Kubernetes API server in this process, over HTTPS, for the real ``kubernetes`` client.

Tests of code that lists and watches a hub, and the demo command, run it instead of a cluster: it speaks the REST
protocol the client speaks (list with label and field selectors and ``limit``/``continue`` paging, get, watch with
resume, bookmarks, ``410 Expired`` and timeouts), checks bearer tokens, and serves a certificate signed by a CA of
its own, so TLS verification stays on. Objects are written from Python (``put``, ``delete``), not over HTTP: the
code under test only reads, and anything it tries to write is refused with 405.

What the client (``kubernetes`` 37) makes of it, as the tests show:

- A refused token is ``kubernetes.client.exceptions.UnauthorizedException`` (an ``ApiException``, ``status`` 401,
  ``body`` the Status JSON), raised by the list call, or by the watch generator's first ``next()``.
- A watch resumed from a forgotten resourceVersion gets one ``ERROR`` event with a 410 Status. ``Watch.stream``
  without ``timeout_seconds`` asks once more from the same resourceVersion, then raises ``ApiException`` with
  ``status`` 410 and ``reason`` ``"Expired: too old resource version: N (M)"``; with ``timeout_seconds`` it raises at
  once. A continue token that outlived ``compact()`` is a 410 ``ApiException`` from the list call.
- A watch that ends cleanly (``timeoutSeconds``) ends the generator when ``timeout_seconds`` was given; without it,
  ``Watch.stream`` quietly asks again from the last resourceVersion it saw.
- ``drop_watches()`` and ``stop()`` cut the connection mid-stream: the generator raises
  ``urllib3.exceptions.ProtocolError``. A call to a stopped server raises ``urllib3.exceptions.MaxRetryError``.
"""
from __future__ import annotations

import base64
import bisect
import datetime
import ipaddress
import json
import math
import os
import re
import select
import socket
import ssl
import tempfile
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-04-17T00:00:00Z",
    "goVersion": "go1.22.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}
# A client that connects and never finishes the handshake must not hold a thread for long.
HANDSHAKE_SECONDS = 10
# An idle keep-alive connection is closed after this; urllib3 reconnects when it next needs one.
IDLE_SECONDS = 300
# How often a waiting watch looks whether its client has gone away.
LIVENESS_SECONDS = 1.0
# Events written to a watch in one chunk when many are already waiting (the initial ADDED events, a replay).
EVENTS_PER_CHUNK = 256
# Consistent-list snapshots kept for continue tokens; an older token is answered 410, as after etcd compaction.
SNAPSHOTS = 32

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
LABEL_KEY = re.compile(rf"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?{_NAME}")
LABEL_VALUE = re.compile(rf"({_NAME})?")
SET_REQUIREMENT = re.compile(r"\s*(\S+)\s+(in|notin)\s+\(([^()]*)\)\s*")
# Commas that separate requirements, not those inside ``in (a,b)``.
REQUIREMENT_SEPARATOR = re.compile(r",(?![^()]*\))")


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified(self) -> str:
        """How the real server names the resource in messages: ``applications.argoproj.io``, ``pods``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(frozen=True)
class Stored:
    """An object as stored: never changed after it is stored, so lists, snapshots and events share it."""

    obj: dict
    text: str


@dataclass(frozen=True)
class Event:
    rv: int
    resource: Resource
    namespace: str
    type: str
    obj: dict
    text: str
    old: dict | None  # the object before a MODIFIED, for selectors it no longer (or now) matches


@dataclass(eq=False)
class OpenWatch:
    raw: list[tuple[int, str]] = field(default_factory=list)  # (resourceVersion when injected, line)
    dropped: bool = False


class Failure(Exception):
    """Answered as a Status, as the real server does."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


class Dropped(Exception):
    """The watch's connection is cut without ending the chunked body, as when a hub goes away."""


def not_found(message: str = "the server could not find the requested resource", details: dict | None = None):
    return Failure(404, "NotFound", message, details)


def bad_request(message: str) -> Failure:
    return Failure(400, "BadRequest", message)


def expired(message: str) -> Failure:
    return Failure(410, "Expired", message)


def now_timestamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dump(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


def event_line(event_type: str, text: str) -> str:
    return f'{{"type":"{event_type}","object":{text}}}\n'


def label_selector(text: str):
    """A predicate on labels for a selector: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``,
    ``k notin (a,b)``, comma meaning and. Anything else is a 400, as it is from the real server."""
    requirements = []
    for term in REQUIREMENT_SEPARATOR.split(text):
        term = term.strip()
        if not term:
            continue
        if match := SET_REQUIREMENT.fullmatch(term):
            key, operator, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            check_label(key, *values)
            if operator == "in":
                requirements.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                requirements.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif term.startswith("!"):
            key = term[1:].strip()
            check_label(key)
            requirements.append(lambda labels, k=key: k not in labels)
        elif "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            check_label(key, value)
            requirements.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = (part.strip() for part in re.split("==?", term, maxsplit=1))
            check_label(key, value)
            requirements.append(lambda labels, k=key, v=value: labels.get(k) == v)
        else:
            check_label(term)
            requirements.append(lambda labels, k=term: k in labels)
    return lambda labels: all(requirement(labels) for requirement in requirements)


def check_label(key: str, *values: str) -> None:
    if not LABEL_KEY.fullmatch(key) or not all(LABEL_VALUE.fullmatch(value) for value in values):
        raise bad_request(f"unable to parse requirement: invalid label selector term for key {key!r}")


def field_selector(text: str):
    """A predicate on metadata for ``metadata.name`` and ``metadata.namespace`` with ``=``, ``==`` and ``!=``."""
    requirements = []
    for term in filter(None, (part.strip() for part in text.split(","))):
        match = re.fullmatch(r"metadata\.(name|namespace)\s*(!=|==|=)\s*(\S*)", term)
        if not match:
            raise bad_request(f'"{term}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        key, operator, value = match.groups()
        if operator == "!=":
            requirements.append(lambda meta, k=key, v=value: meta.get(k, "") != v)
        else:
            requirements.append(lambda meta, k=key, v=value: meta.get(k, "") == v)
    return lambda meta: all(requirement(meta) for requirement in requirements)


def selection(query: dict):
    """The predicate on objects that a request's ``labelSelector`` and ``fieldSelector`` ask for."""
    labels = label_selector(query.get("labelSelector", ""))
    fields = field_selector(query.get("fieldSelector", ""))

    def matches(obj: dict) -> bool:
        meta = obj.get("metadata") or {}
        return labels(meta.get("labels") or {}) and fields(meta)

    return matches


def integer(query: dict, name: str) -> int | None:
    if not query.get(name):
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise bad_request(f"{name}: invalid value {query[name]!r}: not an integer") from None
    if value < 0:
        raise bad_request(f"{name}: invalid value {value}: must be 0 or more")
    return value


def certificates(server_names) -> tuple[str, bytes, bytes]:
    """A throwaway CA and a server certificate it signed: (CA PEM, server certificate PEM, server key PEM)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kube-apiserver CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    names += [x509.DNSName(name) for name in server_names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert.public_bytes(serialization.Encoding.PEM), key_pem


def key_usage(**granted: bool) -> x509.KeyUsage:
    usages = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"]
    return x509.KeyUsage(**{usage: granted.get(usage, False) for usage in usages})


def tls_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain reads files only; they are gone once it has.
    with tempfile.TemporaryDirectory(prefix="fake-kube-") as directory:
        cert_path, key_path = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
        with open(cert_path, "wb") as cert_file, open(key_path, "wb") as key_file:
            cert_file.write(cert_pem)
            key_file.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def cut(sock: socket.socket) -> None:
    """Shut the connection down under its TLS layer: a thread blocked reading it wakes, and the peer sees the
    stream end without a close_notify or the last chunk, as when a process dies."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class FakeKubeAPI:
    """A Kubernetes API server on 127.0.0.1 over HTTPS. Thread-safe; every thread it starts is a daemon and
    ``stop()`` ends and joins them all."""

    def __init__(self, *, tokens=("test-token",), server_names=(), history=10_000, bookmark_seconds=1.0):
        self.ca_pem, cert_pem, key_pem = certificates(server_names)
        self.ca_data = base64.b64encode(self.ca_pem.encode()).decode()
        self._tls = tls_context(cert_pem, key_pem)
        self.history = history
        self.bookmark_seconds = bookmark_seconds
        self.requests: list[tuple[str, str, dict]] = []
        self._tokens = set(tokens)
        self._cond = threading.Condition()
        self._resources: dict[tuple[str, str], Resource] = {}
        self._kinds: dict[tuple[str, str], Resource] = {}
        self._store: dict[Resource, dict[tuple[str, str], Stored]] = {}
        self._rv = 0
        self._events: list[Event] = []
        # A watch from resourceVersion N can be answered when N >= horizon: every event after N is still kept.
        self._horizon = 0
        self._snapshots: OrderedDict[str, tuple] = OrderedDict()
        self._watches: set[OpenWatch] = set()
        self._port: int | None = None
        self._server: ApiHTTPServer | None = None
        self._serving: threading.Thread | None = None
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        for api_version, kind, plural, namespaced in (
            ("argoproj.io/v1alpha1", "Application", "applications", True),
            ("argoproj.io/v1alpha1", "ApplicationSet", "applicationsets", True),
            ("core.k8sgpt.ai/v1alpha1", "Result", "results", True),
            ("v1", "Namespace", "namespaces", False),
            ("v1", "Pod", "pods", True),
            ("v1", "Secret", "secrets", True),
            ("apps/v1", "Deployment", "deployments", True),
            ("apps/v1", "StatefulSet", "statefulsets", True),
            ("apps/v1", "DaemonSet", "daemonsets", True),
            ("batch/v1", "CronJob", "cronjobs", True),
        ):
            self.register(api_version, kind, plural, namespaced=namespaced)

    # Lifecycle

    def start(self) -> FakeKubeAPI:
        """Listen on 127.0.0.1: a free port the first time, the same port after ``stop()``."""
        with self._cond:
            if self._server is not None:
                raise RuntimeError("already started")
            self._server = ApiHTTPServer(self, self._port or 0)
            self._port = self._server.server_address[1]
            self._serving = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-kube-apiserver", daemon=True
            )
            self._serving.start()
        return self

    def stop(self) -> None:
        """Close the listener, cut every open connection (watches included) and join every thread."""
        with self._cond:
            server, serving, self._server, self._serving = self._server, self._serving, None, None
            if server is None:
                return
            for watch in self._watches:
                watch.dropped = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        serving.join()
        with self._connections_lock:
            connections = dict(self._connections)
        for sock in connections.values():
            cut(sock)
        for thread in connections:
            thread.join()

    def restart(self) -> None:
        """The hub comes back: stop if running, then listen again on the same port with the same objects."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("not started: the port is chosen by start()")
        return f"https://127.0.0.1:{self._port}"

    @property
    def resource_version(self) -> int:
        return self._rv

    # Tokens and kinds

    def allow(self, token: str) -> None:
        with self._cond:
            self._tokens.add(token)

    def revoke(self, token: str) -> None:
        """Refuse ``token`` from the next request on; a watch already open goes on, as on a real server."""
        with self._cond:
            self._tokens.discard(token)

    def register(self, api_version: str, kind: str, plural: str, namespaced: bool = True) -> None:
        resource = Resource(api_version, kind, plural, namespaced)
        with self._cond:
            self._resources[(api_version, plural)] = resource
            self._kinds[(api_version, kind)] = resource

    # Objects

    def put(self, obj: dict) -> dict:
        """Create or replace ``obj`` (found by apiVersion, kind, namespace and name) and return the stored copy.

        A new object keeps the uid and creationTimestamp it was given, or gets them; a replaced one keeps those
        it had. ``metadata.generation`` starts at 1 and grows when anything but metadata and status changes.
        """
        resource = self._kinds.get((obj.get("apiVersion"), obj.get("kind")))
        if resource is None:
            raise KeyError(f"{obj.get('apiVersion')} {obj.get('kind')} is not registered: call register() first")
        stored = json.loads(dump(obj))
        meta = stored.setdefault("metadata", {})
        namespace, name = meta.get("namespace") or "", meta.get("name")
        if not name:
            raise ValueError("metadata.name is required")
        if resource.namespaced and not namespace:
            raise ValueError(f"{resource.kind} {name}: a namespaced kind needs metadata.namespace")
        if namespace and not resource.namespaced:
            raise ValueError(f"{resource.kind} {name}: a cluster-scoped kind has no metadata.namespace")
        content = {k: v for k, v in stored.items() if k not in ("metadata", "status")}
        with self._cond:
            objects = self._store.setdefault(resource, {})
            old = objects.get((namespace, name))
            self._rv += 1
            meta["resourceVersion"] = str(self._rv)
            if old is None:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now_timestamp())
                meta["generation"] = 1
            else:
                old_meta = old.obj["metadata"]
                meta["uid"], meta["creationTimestamp"] = old_meta["uid"], old_meta["creationTimestamp"]
                unchanged = content == {k: v for k, v in old.obj.items() if k not in ("metadata", "status")}
                meta["generation"] = old_meta["generation"] + (0 if unchanged else 1)
            text = dump(stored)
            objects[(namespace, name)] = Stored(stored, text)
            self._emit(Event(self._rv, resource, namespace, "MODIFIED" if old else "ADDED", stored, text, old.obj if old else None))
        return json.loads(text)

    def delete(self, api_version: str, plural: str, namespace: str | None, name: str) -> None:
        """Delete an object; its DELETED event carries its last state at the deletion's resourceVersion."""
        with self._cond:
            resource = self._resources.get((api_version, plural))
            stored = self._store.get(resource, {}).pop((namespace or "", name), None)
            if stored is None:
                raise KeyError(f"{api_version} {plural} {namespace}/{name} does not exist")
            self._rv += 1
            gone = json.loads(stored.text)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            self._emit(Event(self._rv, resource, namespace or "", "DELETED", gone, dump(gone), None))

    def compact(self) -> None:
        """Forget every event and continue token, as etcd compaction does: a watch resuming from an earlier
        resourceVersion gets 410, and so does an open watch that had not yet sent every earlier event."""
        with self._cond:
            self._events.clear()
            self._snapshots.clear()
            self._horizon = self._rv
            self._cond.notify_all()

    def inject_raw(self, line: str) -> None:
        """Send ``line`` as it is (with a newline) on every open watch, after the events emitted before it."""
        with self._cond:
            for watch in self._watches:
                watch.raw.append((self._rv, line.rstrip("\n")))
            self._cond.notify_all()

    @property
    def watching(self) -> int:
        """How many watches are open now (a test injects only once one is)."""
        with self._cond:
            return len(self._watches)

    def drop_watches(self) -> None:
        """Cut every open watch's connection, as a broken network does; the server stays up."""
        with self._cond:
            for watch in self._watches:
                watch.dropped = True
            self._cond.notify_all()

    def _emit(self, event: Event) -> None:
        self._events.append(event)
        self._horizon = max(self._horizon, event.rv - self.history)
        # Forgotten events are let go in batches, so appending stays cheap.
        if len(self._events) > 2 * self.history + 64:
            del self._events[: len(self._events) - self.history]
        self._cond.notify_all()

    # What the handlers ask for (each under the lock)

    def _record(self, method: str, path: str, query: dict) -> None:
        with self._cond:
            self.requests.append((method, path, query))

    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        with self._cond:
            return scheme.lower() == "bearer" and token.strip() in self._tokens

    def _resource(self, api_version: str, plural: str) -> Resource:
        resource = self._resources.get((api_version, plural))
        if resource is None:
            raise not_found()
        return resource

    def _group_versions(self) -> list[str]:
        with self._cond:
            return sorted({resource.api_version for resource in self._resources.values()})

    def _resources_of(self, api_version: str) -> list[Resource]:
        with self._cond:
            return sorted((r for r in self._resources.values() if r.api_version == api_version), key=lambda r: r.plural)

    def _get(self, resource: Resource, namespace: str | None, name: str) -> str:
        with self._cond:
            stored = self._store.get(resource, {}).get((namespace or "", name))
        if stored is None:
            details = {"name": name, "group": resource.group, "kind": resource.plural}
            raise not_found(f'{resource.qualified} "{name}" not found', details)
        return stored.text

    def _list(self, resource: Resource, namespace: str | None, query: dict, matches) -> tuple[list[str], str, str]:
        """One page of a consistent list: (item texts, resourceVersion of the first page, continue token)."""
        limit = integer(query, "limit")  # 0 or none: everything
        scope = [resource.api_version, resource.plural, namespace, query.get("labelSelector"), query.get("fieldSelector")]
        with self._cond:
            if query.get("continue"):
                snapshot_id, offset = self._continue(query["continue"], scope)
                rv, texts = self._snapshots[snapshot_id][1:]
            else:
                objects = self._store.get(resource, {})
                keys = sorted(key for key in objects if namespace is None or key[0] == namespace)
                rv, texts, offset = self._rv, [objects[key].text for key in keys if matches(objects[key].obj)], 0
                snapshot_id = uuid.uuid4().hex
            end = offset + limit if limit else len(texts)
            token = ""
            if end < len(texts):
                if snapshot_id not in self._snapshots:
                    self._snapshots[snapshot_id] = (scope, rv, texts)
                    while len(self._snapshots) > SNAPSHOTS:
                        self._snapshots.popitem(last=False)
                token = base64.urlsafe_b64encode(dump({"rv": rv, "snapshot": snapshot_id, "start": end}).encode()).decode()
        return texts[offset:end], str(rv), token

    def _continue(self, token: str, scope: list) -> tuple[str, int]:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            snapshot_id, start = decoded["snapshot"], int(decoded["start"])
        except (ValueError, KeyError, TypeError):
            raise bad_request("continue key is not valid: not a token this server issued") from None
        snapshot = self._snapshots.get(snapshot_id)
        if snapshot is None:
            raise expired(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter."
            )
        if snapshot[0] != scope:
            raise bad_request("continue key is not valid: it was issued for another list")
        return snapshot_id, start

    def _open_watch(self, resource, namespace, matches, since: int | None):
        """Register a watch: (the watch, its first events, the resourceVersion they bring it to).

        ``since`` None: ADDED for every object now, then what follows. Otherwise what follows ``since``, replayed
        by ``_next`` (which answers 410 if some of it is forgotten).
        """
        with self._cond:
            if self._server is None:
                raise Dropped()
            backlog = []
            if since is None:
                objects = self._store.get(resource, {})
                for key in sorted(objects):
                    stored = objects[key]
                    if (namespace is None or key[0] == namespace) and matches(stored.obj):
                        backlog.append(event_line("ADDED", stored.text))
            watch = OpenWatch()
            self._watches.add(watch)
            return watch, backlog, self._rv if since is None else since

    def _close_watch(self, watch: OpenWatch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def _next(self, watch: OpenWatch, cursor: int, wait: float) -> tuple[list[Event], list[tuple[int, str]], int]:
        """Wait up to ``wait`` seconds for news on ``watch``: (events after ``cursor``, raw lines, new cursor).
        Raises Dropped when the watch is to be cut, Failure 410 when events it still needed are forgotten."""
        with self._cond:
            if not watch.dropped and cursor >= self._rv and not watch.raw and cursor >= self._horizon:
                self._cond.wait(max(wait, 0))
            if watch.dropped:
                raise Dropped()
            if cursor < self._horizon:
                raise expired(f"too old resource version: {cursor} ({self._horizon})")
            start = bisect.bisect_right(self._events, cursor, key=lambda event: event.rv)
            events, raw, watch.raw = self._events[start:], watch.raw, []
            return events, raw, max(cursor, self._rv)


class ApiHTTPServer(ThreadingHTTPServer):
    """Accepts on one thread and gives each connection a thread of its own, doing the TLS handshake there so a
    slow client never holds up the accept loop; every connection is tracked so ``stop()`` can cut it."""

    def __init__(self, api: FakeKubeAPI, port: int):
        self.api = api
        super().__init__(("127.0.0.1", port), ApiHandler)

    def process_request(self, request, client_address):
        # Headers, body and each watch event are separate writes: without this, Nagle's algorithm holds the second
        # back until the client's delayed ACK, some 40 ms per response.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = self.api._tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        thread = threading.Thread(target=self._serve, args=(tls, client_address), name="fake-kube-connection", daemon=True)
        with self.api._connections_lock:
            self.api._connections[thread] = tls
        thread.start()

    def _serve(self, tls: ssl.SSLSocket, client_address) -> None:
        try:
            tls.settimeout(HANDSHAKE_SECONDS)
            tls.do_handshake()
            self.finish_request(tls, client_address)
        except (OSError, ValueError):
            # A failed handshake, a client that went away, a socket cut by stop().
            pass
        finally:
            cut(tls)
            tls.close()
            with self.api._connections_lock:
                self.api._connections.pop(threading.current_thread(), None)


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    timeout = IDLE_SECONDS

    def log_message(self, format, *args):
        """Quiet: tests read ``FakeKubeAPI.requests`` instead."""

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        api: FakeKubeAPI = self.server.api
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        api._record(method, url.path, query)
        # A body left unread would be taken for the next request on this connection.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            self._route(api, method, url.path, query)
        except Failure as failure:
            self._send_json(failure.code, dump(failure.status()))
        except Dropped:
            cut(self.connection)
            self.close_connection = True
        except OSError:
            self.close_connection = True
        except Exception:
            # A bug in this server: say so in the test's captured output, and to the client as a 500.
            traceback.print_exc()
            self._send_json(500, dump(Failure(500, "InternalError", "fake-kube-apiserver failed").status()))

    def _route(self, api: FakeKubeAPI, method: str, path: str, query: dict) -> None:
        parts = [part for part in path.split("/") if part]
        authorization = self.headers.get("Authorization")
        # /version answers anonymous clients, as on clusters that allow public info; a wrong token is still 401.
        if not (parts == ["version"] and authorization is None) and not api._authorized(authorization):
            raise Failure(401, "Unauthorized", "Unauthorized")
        if method != "GET":
            raise Failure(405, "MethodNotAllowed", f"the fake API server only reads; {method} is not supported")
        if parts == ["version"]:
            return self._send_json(200, dump(VERSION))
        if parts == ["api"]:
            address = f"127.0.0.1:{self.server.server_address[1]}"
            return self._send_json(200, dump({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
            }))
        if parts == ["apis"]:
            return self._send_json(200, dump(self._group_list(api)))
        if parts[:2] == ["api", "v1"]:
            api_version, rest = "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            api_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            raise not_found()
        if not rest:
            return self._send_json(200, dump(self._resource_list(api, api_version)))
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, plural, names = rest[1], rest[2], rest[3:]
        else:
            namespace, plural, names = None, rest[0], rest[1:]
        resource = api._resource(api_version, plural)
        if len(names) > 1 or (namespace and not resource.namespaced) or (names and resource.namespaced and not namespace):
            raise not_found()
        if names:
            return self._send_json(200, api._get(resource, namespace, names[0]))
        matches = selection(query)
        if query.get("watch") in ("true", "1"):
            return self._watch(api, resource, namespace, matches, query)
        items, rv, token = api._list(resource, namespace, query, matches)
        metadata = dump({"resourceVersion": rv, "continue": token} if token else {"resourceVersion": rv})
        head = f'{{"apiVersion":"{resource.api_version}","kind":"{resource.kind}List","metadata":{metadata},"items":['
        return self._send_json(200, head + ",".join(items) + "]}")

    def _group_list(self, api: FakeKubeAPI) -> dict:
        groups = {}
        for group_version in api._group_versions():
            group, _, version = group_version.rpartition("/")
            if group:
                entry = {"groupVersion": group_version, "version": version}
                groups.setdefault(group, {"name": group, "versions": [], "preferredVersion": entry})
                groups[group]["versions"].append(entry)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(groups.values())}

    def _resource_list(self, api: FakeKubeAPI, api_version: str) -> dict:
        resources = api._resources_of(api_version)
        if not resources:
            raise not_found()
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": api_version,
            "resources": [
                {
                    "name": r.plural,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "list", "watch"],
                }
                for r in resources
            ],
        }

    def _send_json(self, code: int, text: str) -> None:
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # Watch

    def _watch(self, api: FakeKubeAPI, resource: Resource, namespace: str | None, matches, query: dict) -> None:
        since = None if query.get("resourceVersion", "0") in ("", "0") else integer(query, "resourceVersion")
        timeout = integer(query, "timeoutSeconds")
        deadline = time.monotonic() + timeout if timeout else math.inf
        watch, backlog, cursor = api._open_watch(resource, namespace, matches, since)
        try:
            self._start_stream()
            self._write_lines(backlog)
            bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
            next_bookmark = time.monotonic() + api.bookmark_seconds if bookmarks else math.inf
            while True:
                wait = min(deadline, next_bookmark, time.monotonic() + LIVENESS_SECONDS) - time.monotonic()
                try:
                    events, raw, cursor = api._next(watch, cursor, wait)
                except Failure as failure:
                    # The real server answers 200 and says it in the stream.
                    self._write_lines([event_line("ERROR", dump(failure.status()))])
                    return self._end_stream()
                lines = self._lines(resource, namespace, matches, events, raw)
                self._write_lines(lines)
                now = time.monotonic()
                if now >= deadline:
                    return self._end_stream()
                if now >= next_bookmark:
                    bookmark = {"apiVersion": resource.api_version, "kind": resource.kind,
                                "metadata": {"resourceVersion": str(cursor)}}
                    self._write_lines([event_line("BOOKMARK", dump(bookmark))])
                    next_bookmark = now + api.bookmark_seconds
                elif not lines and select.select([self.connection], [], [], 0)[0]:
                    # Nothing is read on a watch connection: readable means the client closed it.
                    self.close_connection = True
                    return
        finally:
            api._close_watch(watch)

    @staticmethod
    def _lines(resource, namespace, matches, events: list[Event], raw: list[tuple[int, str]]) -> list[str]:
        """The watch's view of ``events``: its resource and namespace only; with a selector, an object that stops
        matching is DELETED and one that starts matching ADDED, as the real watch cache does. Raw lines go after
        the events emitted before them."""
        lines = []
        pending = iter(raw)
        injected = next(pending, None)
        for event in events:
            while injected and injected[0] < event.rv:
                lines.append(injected[1] + "\n")
                injected = next(pending, None)
            if event.resource is not resource or (namespace is not None and event.namespace != namespace):
                continue
            now = matches(event.obj)
            before = matches(event.old) if event.type == "MODIFIED" else now
            if now and before:
                lines.append(event_line(event.type, event.text))
            elif now:
                lines.append(event_line("ADDED", event.text))
            elif before:
                lines.append(event_line("DELETED", event.text))
        if injected:
            lines.append(injected[1] + "\n")
        lines.extend(line + "\n" for _, line in pending)
        return lines

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_lines(self, lines: list[str]) -> None:
        """One chunk per batch of waiting events: a live event goes out alone, as soon as it happens."""
        for start in range(0, len(lines), EVENTS_PER_CHUNK):
            data = "".join(lines[start:start + EVENTS_PER_CHUNK]).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
