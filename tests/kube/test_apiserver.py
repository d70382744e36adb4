"""The fake API server, driven only through the official ``kubernetes`` client over verified TLS."""
from __future__ import annotations

import json
import queue
import threading
import time

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import (
    ApiException,
    NotFoundException,
    UnauthorizedException,
)
from kubernetes.watch import Watch

from tests.kube.apiserver import FakeKubeAPI
from tests.polling import wait_for

GROUP, VERSION, APPS = "argoproj.io", "v1alpha1", "applications"
API_VERSION = f"{GROUP}/{VERSION}"


def app(name: str, namespace: str = "argocd", labels: dict | None = None, **spec) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"project": "default", **spec},
    }


def server_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("fake-kube")]


@pytest.fixture
def api():
    with FakeKubeAPI(bookmark_seconds=0.1) as server:
        yield server
    assert server_threads() == []


@pytest.fixture
def connect(tmp_path):
    """An ApiClient configured as the portal configures one: the server's URL, its CA in a file, a bearer token."""
    opened = []

    def connect(api: FakeKubeAPI, *, token: str | None = "test-token", ca_pem: str | None = None, server_name=None):
        ca_file = tmp_path / f"ca-{len(opened)}.pem"
        ca_file.write_text(ca_pem or api.ca_pem)
        config = k8s.Configuration()
        config.host = api.url
        config.ssl_ca_cert = str(ca_file)
        config.verify_ssl = True
        config.tls_server_name = server_name
        if token is not None:
            config.api_key = {"authorization": f"Bearer {token}"}
        opened.append(k8s.ApiClient(config))
        return opened[-1]

    yield connect
    for api_client in opened:
        api_client.close()


def custom(api: FakeKubeAPI, connect, **options) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(connect(api, **options))


def watch_until(stream, last_name: str) -> list[tuple[str, str]]:
    """(type, name) of each event up to and including the one for ``last_name``."""
    seen = []
    for event in stream:
        seen.append((event["type"], event["raw_object"]["metadata"].get("name")))
        if seen[-1][1] == last_name:
            return seen
    raise AssertionError(f"the stream ended before {last_name}: {seen}")


def test_version_answers_the_reachability_probe(api, connect):
    info = k8s.VersionApi(connect(api)).get_code()

    assert (info.major, info.minor, info.git_version) == ("1", "30", "v1.30.0")
    assert api.requests == [("GET", "/version/", {})]


def test_discovery_names_the_registered_groups_and_resources(api, connect):
    api.register("example.com/v1", "Widget", "widgets", namespaced=False)
    api_client = connect(api)

    groups = k8s.ApisApi(api_client).get_api_versions().groups
    resources = k8s.CustomObjectsApi(api_client).get_api_resources("example.com", "v1").resources

    assert k8s.CoreApi(api_client).get_api_versions().versions == ["v1"]
    assert {group.name: group.preferred_version.group_version for group in groups} == {
        "apps": "apps/v1",
        "argoproj.io": "argoproj.io/v1alpha1",
        "batch": "batch/v1",
        "core.k8sgpt.ai": "core.k8sgpt.ai/v1alpha1",
        "example.com": "example.com/v1",
    }
    assert [(r.name, r.kind, r.namespaced) for r in resources] == [("widgets", "Widget", False)]
    api.put({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    listed = k8s.CustomObjectsApi(api_client).list_cluster_custom_object("example.com", "v1", "widgets")
    assert (listed["kind"], [item["metadata"]["name"] for item in listed["items"]]) == ("WidgetList", ["w"])


@pytest.mark.parametrize(
    "selector, names",
    [
        ("team=payments", ["a"]),
        ("team==payments", ["a"]),
        ("team!=payments", ["b", "c"]),
        ("team", ["a", "b"]),
        ("!team", ["c"]),
        ("team=payments,tier=web", ["a"]),
        ("team=payments,tier=db", []),
        ("team in (payments, search)", ["a", "b"]),
        ("team notin (payments),!tier", ["b", "c"]),
        ("app.kubernetes.io/part-of=shop", ["c"]),
    ],
)
def test_list_filters_by_label_selector(api, connect, selector, names):
    api.put(app("b", labels={"team": "search"}))
    api.put(app("a", labels={"team": "payments", "tier": "web"}))
    api.put(app("c", labels={"app.kubernetes.io/part-of": "shop"}))
    api.put(app("a", namespace="elsewhere", labels={"team": "payments"}))

    listed = custom(api, connect).list_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, label_selector=selector)

    assert [item["metadata"]["name"] for item in listed["items"]] == names
    assert {(item["apiVersion"], item["kind"]) for item in listed["items"]} <= {(API_VERSION, "Application")}
    assert (listed["apiVersion"], listed["kind"]) == (API_VERSION, "ApplicationList")
    assert listed["metadata"]["resourceVersion"] == str(api.resource_version)


def test_list_across_namespaces_and_by_field(api, connect):
    api.put(app("a", labels={"team": "payments"}))
    api.put(app("a", namespace="elsewhere", labels={"team": "payments"}))
    api.put(app("b", namespace="elsewhere"))
    api.put({"apiVersion": API_VERSION, "kind": "ApplicationSet", "metadata": {"name": "a", "namespace": "argocd"}})
    applications = custom(api, connect)

    def listed(**selectors):
        items = applications.list_cluster_custom_object(GROUP, VERSION, APPS, **selectors)["items"]
        return [(item["metadata"]["namespace"], item["metadata"]["name"]) for item in items]

    assert listed() == [("argocd", "a"), ("elsewhere", "a"), ("elsewhere", "b")]
    assert listed(label_selector="team=payments") == [("argocd", "a"), ("elsewhere", "a")]
    assert listed(field_selector="metadata.name=b") == [("elsewhere", "b")]
    assert listed(field_selector="metadata.namespace!=elsewhere,metadata.name=a") == [("argocd", "a")]


@pytest.mark.parametrize("selectors", [{"label_selector": "team in payments"}, {"field_selector": "spec.project=x"}])
def test_a_selector_the_server_cannot_parse_is_400(api, connect, selectors):
    with pytest.raises(ApiException) as refused:
        custom(api, connect).list_cluster_custom_object(GROUP, VERSION, APPS, **selectors)

    assert refused.value.status == 400
    assert json.loads(refused.value.body)["reason"] == "BadRequest"


def test_pages_with_limit_and_continue_are_one_consistent_snapshot(api, connect):
    for i in range(25):
        api.put(app(f"app-{i:02d}"))
    applications = custom(api, connect)
    pages, token = [], None
    while True:
        page = applications.list_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, limit=10, _continue=token)
        pages.append(page)
        token = page["metadata"].get("continue")
        if len(pages) == 1:
            # Changes after the first page are not in the later ones, as with the real server.
            api.put(app("app-00a"))
            api.put(app("app-24", labels={"changed": "yes"}))
        if not token:
            break

    names = [item["metadata"]["name"] for page in pages for item in page["items"]]
    assert [len(page["items"]) for page in pages] == [10, 10, 5]
    assert names == [f"app-{i:02d}" for i in range(25)]
    assert {page["metadata"]["resourceVersion"] for page in pages} == {"25"}
    assert pages[-1]["items"][-1]["metadata"]["labels"] == {}
    assert len(applications.list_namespaced_custom_object(GROUP, VERSION, "argocd", APPS)["items"]) == 26


def test_a_continue_token_is_refused_when_bogus_misused_or_compacted(api, connect):
    for i in range(3):
        api.put(app(f"app-{i}"))
    applications = custom(api, connect)
    token = applications.list_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, limit=1)["metadata"]["continue"]

    def status_of(**options):
        with pytest.raises(ApiException) as refused:
            applications.list_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, limit=1, **options)
        return refused.value.status, json.loads(refused.value.body)["reason"]

    assert status_of(_continue="not-a-token") == (400, "BadRequest")
    assert status_of(_continue=token, label_selector="team=x") == (400, "BadRequest")
    api.compact()
    assert status_of(_continue=token) == (410, "Expired")


def test_get_one_object_and_404_for_what_is_not_there(api, connect):
    stored = api.put(app("guestbook", repoURL="https://git.example/guestbook"))
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    api.put({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
    })
    api_client = connect(api)
    applications, core = k8s.CustomObjectsApi(api_client), k8s.CoreV1Api(api_client)

    got = applications.get_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, "guestbook")
    with pytest.raises(NotFoundException) as missing:
        applications.get_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, "missing")
    with pytest.raises(NotFoundException) as unknown:
        applications.list_cluster_custom_object(GROUP, VERSION, "rollouts")

    assert got == stored
    assert got["spec"]["repoURL"] == "https://git.example/guestbook"
    assert json.loads(missing.value.body)["message"] == 'applications.argoproj.io "missing" not found'
    assert json.loads(unknown.value.body)["reason"] == "NotFound"
    assert core.read_namespace("argocd").metadata.name == "argocd"
    assert [pod.spec.containers[0].image for pod in core.list_namespaced_pod("argocd").items] == ["nginx"]
    with pytest.raises(NotFoundException):
        core.read_namespace("argocd-missing")


def test_put_keeps_identity_and_counts_generations(api, connect):
    first = api.put(app("guestbook"))
    first["metadata"]["labels"]["mutated"] = "by the caller"
    status_only = api.put({**app("guestbook"), "status": {"sync": {"status": "Synced"}}})
    new_spec = api.put(app("guestbook", path="apps/guestbook"))

    got = custom(api, connect).get_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, "guestbook")

    assert got["metadata"]["labels"] == {}
    assert got["metadata"]["uid"] == first["metadata"]["uid"] == new_spec["metadata"]["uid"]
    assert got["metadata"]["creationTimestamp"] == first["metadata"]["creationTimestamp"]
    assert [m["metadata"]["generation"] for m in (first, status_only, new_spec)] == [1, 1, 2]
    assert got["metadata"]["resourceVersion"] == str(api.resource_version) == "3"
    with pytest.raises(KeyError):
        api.put({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x", "namespace": "argocd"}})
    with pytest.raises(ValueError):
        api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})


def test_writes_over_http_are_refused(api, connect):
    with pytest.raises(ApiException) as refused:
        custom(api, connect).create_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, app("guestbook"))

    assert refused.value.status == 405
    assert api.resource_version == 0


def test_a_watch_delivers_each_change_as_it_happens(api, connect):
    """Each change is made only once the previous event has reached the client: a server that held events back
    until the stream ended would deliver one event here, then time out."""
    api.put(app("existing"))
    received = queue.Queue()
    changes = [
        lambda: api.put(app("guestbook")),
        lambda: api.put(app("guestbook", labels={"synced": "yes"})),
        lambda: api.delete(API_VERSION, APPS, "argocd", "guestbook"),
    ]

    def make_changes():
        for change in changes:
            received.get(timeout=5)
            change()

    threading.Thread(target=make_changes, daemon=True).start()
    watch, events = Watch(), []
    for event in watch.stream(
        custom(api, connect).list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS, timeout_seconds=5
    ):
        metadata = event["raw_object"]["metadata"]
        events.append((event["type"], metadata["name"], int(metadata["resourceVersion"])))
        received.put(event)
        if len(events) == 4:
            watch.stop()

    assert [event[:2] for event in events] == [
        ("ADDED", "existing"),
        ("ADDED", "guestbook"),
        ("MODIFIED", "guestbook"),
        ("DELETED", "guestbook"),
    ]
    assert [event[2] for event in events] == [1, 2, 3, 4]
    assert watch.resource_version == str(api.resource_version)


def test_a_watch_resumed_from_a_resource_version_replays_only_later_events(api, connect):
    api.put(app("a"))
    resume_from = api.put(app("b"))["metadata"]["resourceVersion"]
    api.put(app("c"))
    api.put(app("a", labels={"x": "1"}))
    api.delete(API_VERSION, APPS, "argocd", "b")
    api.put(app("a", namespace="elsewhere"))
    api.put(app("last"))

    stream = Watch().stream(
        custom(api, connect).list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
        resource_version=resume_from, timeout_seconds=5,
    )

    assert watch_until(stream, "last") == [("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "last")]


def test_a_watch_sees_only_its_resource_and_namespace(api, connect):
    api.put(app("first"))
    api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "first", "namespace": "argocd"}})
    api_client = connect(api)
    applications = k8s.CustomObjectsApi(api_client)
    namespaced = Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS, timeout_seconds=5)
    everywhere = Watch().stream(applications.list_cluster_custom_object, GROUP, VERSION, APPS, timeout_seconds=5)
    secrets = Watch().stream(k8s.CoreV1Api(api_client).list_namespaced_secret, "argocd", timeout_seconds=5)
    # A watch is requested at the first next(): these open all three before the changes.
    assert [next(stream)["type"] for stream in (namespaced, everywhere, secrets)] == ["ADDED"] * 3

    api.put({"apiVersion": API_VERSION, "kind": "ApplicationSet", "metadata": {"name": "set", "namespace": "argocd"}})
    api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "repo", "namespace": "argocd"}})
    api.put({"apiVersion": "core.k8sgpt.ai/v1alpha1", "kind": "Result", "metadata": {"name": "r", "namespace": "argocd"}})
    api.put(app("other", namespace="elsewhere"))
    api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "last", "namespace": "argocd"}})
    api.put(app("last"))

    assert watch_until(namespaced, "last") == [("ADDED", "last")]
    assert watch_until(everywhere, "last") == [("ADDED", "other"), ("ADDED", "last")]
    assert watch_until(secrets, "last") == [("ADDED", "repo"), ("ADDED", "last")]


def test_a_watch_with_a_label_selector_sees_objects_enter_and_leave_it(api, connect):
    stream = Watch().stream(
        custom(api, connect).list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
        label_selector="team=payments", timeout_seconds=5,
    )
    api.put(app("first", labels={"team": "payments"}))
    assert next(stream)["type"] == "ADDED"

    api.put(app("a", labels={"team": "payments"}))
    api.put(app("a", labels={"team": "search"}))
    api.put(app("b", labels={"team": "search"}))
    api.put(app("a", labels={"team": "payments"}))
    api.put(app("last", labels={"team": "payments"}))

    assert watch_until(stream, "last") == [("ADDED", "a"), ("DELETED", "a"), ("ADDED", "a"), ("ADDED", "last")]


def test_resuming_from_a_compacted_resource_version_is_410_gone(api, connect):
    """The server says 410 in the stream (an ERROR event with an Expired Status). ``Watch.stream`` without
    ``timeout_seconds`` asks once more from the same resourceVersion, then raises ``ApiException`` with status 410;
    with ``timeout_seconds`` it raises at the first 410."""
    resume_from = api.put(app("a"))["metadata"]["resourceVersion"]
    api.put(app("b"))
    api.compact()
    applications = custom(api, connect)

    with pytest.raises(ApiException) as retried:
        list(Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                            resource_version=resume_from))
    with pytest.raises(ApiException) as at_once:
        list(Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                            resource_version=resume_from, timeout_seconds=5))

    assert (retried.value.status, at_once.value.status) == (410, 410)
    assert retried.value.reason == "Expired: too old resource version: 1 (2)"
    watches = [query for _, _, query in api.requests if query.get("watch")]
    assert [(query["resourceVersion"], "timeoutSeconds" in query) for query in watches] == [
        ("1", False), ("1", False), ("1", True)
    ]
    stream = Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                            resource_version=str(api.resource_version), timeout_seconds=5)
    api.put(app("c"))
    assert watch_until(stream, "c") == [("ADDED", "c")]


def test_only_the_last_history_events_are_kept_for_resuming(connect):
    with FakeKubeAPI(history=3) as api:
        for name in "abcde":
            api.put(app(name))
        applications = custom(api, connect)

        def resumed_from(resource_version):
            return Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                                  resource_version=resource_version, timeout_seconds=5)

        with pytest.raises(ApiException) as gone:
            list(resumed_from("1"))
        assert gone.value.status == 410
        assert watch_until(resumed_from("2"), "e") == [("ADDED", "c"), ("ADDED", "d"), ("ADDED", "e")]


def test_bookmarks_come_when_asked_for_and_carry_the_current_resource_version(api, connect):
    api.put(app("a"))
    watch, bookmarks = Watch(), []
    for event in watch.stream(
        custom(api, connect).list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
        allow_watch_bookmarks=True, timeout_seconds=5,
    ):
        if event["type"] != "BOOKMARK":
            continue
        bookmarks.append(event["raw_object"])
        if len(bookmarks) == 1:
            api.put(app("b"))
        elif bookmarks[-1]["metadata"]["resourceVersion"] == "2":
            watch.stop()

    assert bookmarks[0] == {"apiVersion": API_VERSION, "kind": "Application", "metadata": {"resourceVersion": "1"}}
    assert bookmarks[-1] == {"apiVersion": API_VERSION, "kind": "Application", "metadata": {"resourceVersion": "2"}}
    assert watch.resource_version == "2"


def test_a_watch_ends_cleanly_at_timeout_seconds_and_sends_no_bookmark_unasked(api, connect):
    started = time.monotonic()
    events = list(Watch().stream(
        custom(api, connect).list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS, timeout_seconds=1
    ))

    assert events == []
    assert 1 <= time.monotonic() - started < 3


def test_a_wrong_or_revoked_token_is_401(api, connect):
    unauthorized = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    applications = custom(api, connect)
    api.put(app("a"))
    open_watch = Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                                timeout_seconds=5)
    assert next(open_watch)["type"] == "ADDED"

    with pytest.raises(UnauthorizedException) as wrong:
        custom(api, connect, token="stolen").list_cluster_custom_object(GROUP, VERSION, APPS)
    api.revoke("test-token")
    with pytest.raises(UnauthorizedException) as revoked:
        applications.list_cluster_custom_object(GROUP, VERSION, APPS)
    with pytest.raises(UnauthorizedException) as revoked_watch:
        next(Watch().stream(applications.list_cluster_custom_object, GROUP, VERSION, APPS))
    with pytest.raises(UnauthorizedException):
        k8s.VersionApi(connect(api, token="stolen")).get_code()

    assert (wrong.value.status, revoked.value.status, revoked_watch.value.status) == (401, 401, 401)
    assert json.loads(wrong.value.body) == json.loads(revoked.value.body) == unauthorized
    # The real server checks a token when a request starts: a watch already open goes on.
    api.put(app("b"))
    assert next(open_watch)["raw_object"]["metadata"]["name"] == "b"
    assert k8s.VersionApi(connect(api, token=None)).get_code().git_version == "v1.30.0"
    api.allow("rotated")
    assert custom(api, connect, token="rotated").list_cluster_custom_object(GROUP, VERSION, APPS)["items"]


def test_tls_is_verified_against_the_servers_ca_and_names(connect):
    stranger = FakeKubeAPI()
    with FakeKubeAPI(server_names=("hub.wayline.test",)) as api:
        with pytest.raises(urllib3.exceptions.MaxRetryError) as other_ca:
            k8s.VersionApi(connect(api, ca_pem=stranger.ca_pem)).get_code()
        with pytest.raises(urllib3.exceptions.MaxRetryError) as other_name:
            k8s.VersionApi(connect(api, server_name="other.wayline.test")).get_code()

        assert isinstance(other_ca.value.reason, urllib3.exceptions.SSLError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(other_ca.value.reason)
        assert isinstance(other_name.value.reason, urllib3.exceptions.SSLError)
        assert k8s.VersionApi(connect(api, server_name="hub.wayline.test")).get_code().major == "1"
        assert k8s.VersionApi(connect(api, server_name="localhost")).get_code().major == "1"


def test_stop_cuts_watches_and_refuses_and_restart_serves_the_same_objects_on_the_same_port(api, connect):
    created = api.put(app("guestbook"))
    url = api.url
    applications = custom(api, connect)
    stream = Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS)
    assert next(stream)["type"] == "ADDED"

    api.stop()
    with pytest.raises(urllib3.exceptions.ProtocolError):
        next(stream)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as refused:
        applications.get_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, "guestbook")
    assert isinstance(refused.value.reason, urllib3.exceptions.NewConnectionError)
    assert server_threads() == []

    api.restart()
    got = applications.get_namespaced_custom_object(GROUP, VERSION, "argocd", APPS, "guestbook")
    assert api.url == url
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    assert api.put(app("guestbook", labels={"back": "yes"}))["metadata"]["resourceVersion"] == "2"


def test_drop_watches_cuts_open_streams_and_the_server_stays_up(api, connect):
    api.put(app("a"))
    applications = custom(api, connect)
    stream = Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                            timeout_seconds=10)
    assert next(stream)["type"] == "ADDED"
    started = time.monotonic()

    api.drop_watches()
    with pytest.raises(urllib3.exceptions.ProtocolError):
        next(stream)

    assert time.monotonic() - started < 2
    resumed = Watch().stream(applications.list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                             resource_version="1", timeout_seconds=5)
    api.put(app("b"))
    assert watch_until(resumed, "b") == [("ADDED", "b")]


def test_injected_raw_lines_reach_the_stream_in_order(api, connect):
    """The client yields None for a line that is not JSON, and a dict event for one whose object has no metadata."""
    api.put(app("a"))
    stream = Watch().stream(custom(api, connect).list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS,
                            timeout_seconds=5)
    assert next(stream)["type"] == "ADDED"

    api.inject_raw("{not json")
    api.inject_raw('{"type": "MODIFIED", "object": {"kind": "Application", "spec": {}}}')
    api.put(app("b"))
    events = [next(stream) for _ in range(3)]

    assert events[0] is None
    assert (events[1]["type"], events[1]["raw_object"]) == ("MODIFIED", {"kind": "Application", "spec": {}})
    assert events[2]["raw_object"]["metadata"]["name"] == "b"


def test_a_watch_whose_client_went_away_frees_its_connection(api, connect):
    api.put(app("a"))
    watch = Watch()
    stream = watch.stream(custom(api, connect).list_namespaced_custom_object, GROUP, VERSION, "argocd", APPS)
    assert next(stream)["type"] == "ADDED"
    assert server_threads().count("fake-kube-connection") == 1

    watch.stop()
    stream.close()

    wait_for(lambda: "fake-kube-connection" not in server_threads(), timeout=5)


def test_concurrent_writers_and_watchers_see_every_event_once_in_order(api, connect):
    # From a resourceVersion, not "0" (which means: the current objects, then what follows).
    start = api.put(app("first"))["metadata"]["resourceVersion"]
    applications = custom(api, connect)
    seen: dict[int, list[int]] = {}

    def watcher(number):
        stream = Watch().stream(applications.list_cluster_custom_object, GROUP, VERSION, APPS,
                                resource_version=start, timeout_seconds=20)
        seen[number] = []
        for event in stream:
            seen[number].append(int(event["raw_object"]["metadata"]["resourceVersion"]))
            if event["raw_object"]["metadata"]["name"] == "last":
                return

    def writer(team):
        for i in range(150):
            api.put(app(f"{team}-{i % 20}", namespace=team, labels={"round": str(i)}))

    watchers = [threading.Thread(target=watcher, args=(n,)) for n in range(3)]
    writers = [threading.Thread(target=writer, args=(team,)) for team in ("payments", "search")]
    for thread in watchers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    api.put(app("last"))
    for thread in watchers:
        thread.join(timeout=20)

    assert api.resource_version == 302
    assert seen == {n: list(range(2, 303)) for n in range(3)}


def test_ten_thousand_applications_list_in_pages_of_500_and_stream_to_a_new_watch(api, connect):
    for i in range(10_000):
        api.put(app(f"app-{i:05d}", namespace=f"team-{i % 10}", labels={"team": f"team-{i % 10}"}))
    applications = custom(api, connect)

    started = time.monotonic()
    names, pages, token = set(), 0, None
    while True:
        page = applications.list_cluster_custom_object(GROUP, VERSION, APPS, limit=500, _continue=token)
        names.update(item["metadata"]["name"] for item in page["items"])
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            break
    listed = time.monotonic() - started
    watch, added = Watch(), 0
    for event in watch.stream(applications.list_cluster_custom_object, GROUP, VERSION, APPS, timeout_seconds=20):
        added += event["type"] == "ADDED"
        if added == 10_000:
            watch.stop()
    streamed = time.monotonic() - started - listed

    assert (pages, len(names)) == (20, 10_000)
    assert listed < 10, f"listing 10,000 Applications took {listed:.1f}s"
    assert streamed < 10, f"streaming 10,000 ADDED events took {streamed:.1f}s"
