"""A second, hostile review of the catalog hardening: each test is a way past a control that one found
(URL policy, private entities, limits), kept so it stays closed.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog import services
from catalog.choices import LocationType
from catalog.models import Entity, Location, LocationError
from catalog.sources import TargetRefused, check_target
from portal.models import Visibility
from tests.catalog.conftest import GitRepo, component_yaml
from tests.listeners import Listener

pytestmark = pytest.mark.django_db

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def allow_local_git(settings):
    settings.CATALOG_ALLOW_LOCAL_GIT = True


def own_address() -> str | None:
    """This machine's own non-loopback IPv4 address (the one its default route leaves from)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


# --- 1. URL policy: the server's own interface address is "this server" too ---------------------------------


def test_url_policy_refuses_the_servers_own_non_loopback_address(world, settings):
    """check_target's docstring: "for everyone else its host may not be this server". Only loopback is refused:
    the server's own eth0 address reaches every service bound to 0.0.0.0 (Redis, Postgres, the Celery
    flower, node exporters, ...). A team member's dry run connects to it."""
    settings.CATALOG_ALLOW_LOCAL_GIT = False
    settings.CATALOG_DRY_RUN_SECONDS = 2
    address = own_address()
    if address is None:
        pytest.skip("no non-loopback address on this machine")
    listener = Listener("0.0.0.0", hold=True)
    try:
        api = APIClient()
        api.force_authenticate(world.alice)
        response = api.post("/api/catalog/locations?dryRun=true",
                            {"type": "url", "target": f"https://{address}:{listener.port}/x.git", "team": "payments"},
                            format="json")
        time.sleep(0.3)
        assert listener.connections == 0, f"a team member's dry run connected to this server via {address}"
        assert response.status_code == 400 and "That host is refused" in response.json()["error"]["message"]
    finally:
        listener.close()


@pytest.mark.parametrize("host", ["%6c%6fcalhost", "%31%32%37.0.0.1"])
def test_url_policy_reads_a_percent_encoded_host_as_git_does(world, settings, host):
    """``_host`` takes urlsplit's hostname as written (``%6c%6fcalhost``), getaddrinfo cannot resolve it, and
    ``_points_at_this_server`` answers False for what it cannot resolve ("git fails on it the same way"). But
    git's curl percent-decodes the host: it connects to localhost. Any team member, dry run or register."""
    settings.CATALOG_ALLOW_LOCAL_GIT = False
    settings.CATALOG_DRY_RUN_SECONDS = 3
    listener = Listener("127.0.0.1", hold=True)
    try:
        api = APIClient()
        api.force_authenticate(world.alice)
        response = api.post("/api/catalog/locations?dryRun=true",
                            {"type": "url", "target": f"https://{host}:{listener.port}/x.git", "team": "payments"},
                            format="json")
        time.sleep(0.3)
        assert listener.connections == 0, f"https://{host}:{listener.port}/ reached this server's loopback"
        assert response.status_code == 400 and "That host is refused" in response.json()["error"]["message"]
    finally:
        listener.close()


@pytest.mark.parametrize("target", [
    "https://[fd00:ec2::254]/latest/meta-data",  # AWS IMDS over IPv6 (Nitro): a ULA, not link-local
    "https://100.100.100.200/latest/meta-data",  # Alibaba Cloud metadata: shared address space, not link-local
])
def test_url_policy_refuses_cloud_metadata_endpoints_that_are_not_link_local(target):
    """docs/security.md promises "link-local (cloud metadata)"; these metadata services are not link-local."""
    with pytest.raises(TargetRefused):
        check_target(type=LocationType.GIT, target=target, trusted=False)


# --- 2. URL policy: checked once, at registration; never at refresh (DNS rebinding / TOCTOU) -------------------


def test_a_refresh_applies_the_url_policy_again(world, settings, monkeypatch):
    """A team registers https://rebind.example/x.git while its name resolves to a public address, then points the
    name at 127.0.0.1: every periodic refresh (and "refresh now") now clones from this server, because
    ``location_refresh``/``checkout`` never call ``check_target``. Simulated here by what the resolver answered."""
    import catalog.sources as sources

    settings.CATALOG_ALLOW_LOCAL_GIT = False
    listener = Listener("127.0.0.1", hold=True)
    target = f"https://127.0.0.1:{listener.port}/x.git"
    try:
        real = sources._not_public
        monkeypatch.setattr(sources, "_not_public", lambda host: "")  # DNS said: a public address
        location = services.location_register(actor=world.alice, type="git", target=target,
                                              owner_team=world.payments, refresh=False)
        monkeypatch.setattr(sources, "_not_public", real)  # DNS now says: loopback
        done = threading.Event()
        # The git part of ``location_refresh`` (its ``checkout``), in a thread with no database.
        thread = threading.Thread(target=lambda: _checkout_only(location, done), daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not listener.connections and not done.is_set():
            time.sleep(0.05)
        assert listener.connections == 0, "the refresh cloned from this server: the URL policy is not applied again"
        report = services.location_refresh(actor=None, location_id=location.pk)
        assert "That host is refused" in report.failure
    finally:
        listener.close()


def _checkout_only(location, done):
    from catalog.sources import LocationUnreadable, checkout

    try:
        checkout(location)
    except (LocationUnreadable, Exception):  # noqa: BLE001 - any outcome; the listener counts
        pass
    finally:
        done.set()


# --- 3. Registering for real clones inside the request, unbounded ----------------------------------------------


def test_the_clone_behind_a_real_registration_is_bounded_in_time(world, settings):
    """Backstage ``POST /api/catalog/locations`` (not a dry run) reads the location inside the request: a silent
    server (a tarpit) costs CATALOG_DRY_RUN_SECONDS, as the dry run does, not a web worker for good."""
    settings.CATALOG_DRY_RUN_SECONDS = 2
    listener = Listener("127.0.0.1", hold=True)
    api = APIClient()
    api.force_authenticate(world.admin)  # loopback is for platform admins: the only way to reach a tarpit here
    started = time.monotonic()
    try:
        response = api.post("/api/catalog/locations", {"type": "url", "target": f"https://127.0.0.1:{listener.port}/x.git"},
                            format="json")
    finally:
        listener.close()
    assert response.status_code == 400, response.content
    assert time.monotonic() - started < 10
    assert listener.connections == 1


# --- 4. Limits: YAML aliases of a big scalar -------------------------------------------------------------------


def test_yaml_aliases_of_a_big_scalar_do_not_multiply_memory():
    """The alias limit counts replayed *events* (100,000), not bytes: a 20 KB scalar aliased 20,000 times is a
    ~100 KB file that becomes 400 MB of Python strings (a 2 MiB catalog file, or a 512 KiB ``$yaml`` target,
    reaches tens of GB: the worker, or the web worker running a dry run, is OOM-killed). npm yaml, which
    Backstage uses, stops at maxAliasCount 100."""
    from catalog.parsing import YamlError, load_yaml

    text = "a: &a " + "x" * 20_000 + "\nb: [" + ", ".join(["*a"] * 20_000) + "]\n"
    assert len(text) < 120_000
    tracemalloc.start()
    try:
        try:
            data = load_yaml(text)
        except YamlError:
            data = None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del data
    assert peak < 50_000_000, f"a {len(text)} byte document took {peak // 1_000_000} MB to load"


# --- 5. Limits: placeholders across many documents -------------------------------------------------------------

API_DOC = """---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {{name: api-{i}}}
spec: {{type: openapi, lifecycle: production, owner: payments, definition: {{$text: big.txt}}}}
"""


def test_placeholders_of_many_small_documents_are_bounded_by_the_location_limit(tmp_path, settings):
    """CATALOG_MAX_LOCATION_BYTES is applied in ``_merge``, after ``read_files`` has resolved every document of
    the round. One 2 MiB file of ~16,000 tiny documents each ``$text: big.txt`` (512 KiB) holds ~8 GB in memory
    before the budget is looked at. Here: 300 documents x 300 KB with a 2 MB budget."""
    from catalog.processing import process_tree

    settings.CATALOG_MAX_LOCATION_BYTES = 2_000_000
    root = tmp_path / "repo"
    root.mkdir()
    (root / "big.txt").write_text("y" * 300_000)
    (root / "apis.yaml").write_text("".join(API_DOC.format(i=i) for i in range(300)))
    tracemalloc.start()
    try:
        result = process_tree(root, ["apis.yaml"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.entities) <= 7  # the budget itself holds ...
    del result
    assert peak < 20_000_000, f"... but {peak // 1_000_000} MB were held to find out (budget: 2 MB)"


# --- 6. Limits: globs -------------------------------------------------------------------------------------------


def test_a_path_of_repeated_globstars_is_not_exponential(tmp_path):
    """``location.path`` (any team member; also the dry run, inside the web request, with no time bound) and
    Location ``targets`` go to ``Path.glob``; on Python 3.11 each extra ``**`` multiplies the walk: a 40-deep
    directory chain takes 3 s with ``**/**/**/**/*.yaml``, 30 s with five, hours with eight."""
    root = tmp_path / "repo"
    deep = root.joinpath(*[f"d{i}" for i in range(40)])
    deep.mkdir(parents=True)
    (deep / "x.yaml").write_text("")
    script = textwrap.dedent(f"""
        import django, os, sys
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
        sys.path.insert(0, {REPO_ROOT!r})
        django.setup()
        from pathlib import Path
        from catalog.processing import process_tree
        process_tree(Path({str(root)!r}), ["**/**/**/**/**/**/**/*.yaml"])
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("process_tree was still globbing after 20 s (one small repository, one path pattern)")


LOCATION_DOC = """apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {{name: fan}}
spec:
  targets: [{targets}]
"""


def test_location_targets_are_globbed_once_each(tmp_path, settings, monkeypatch):
    """A Location entity's targets are queued without de-duplication, so ``**/*.yaml`` written 200,000 times
    (2 MiB) walks the whole checkout 200,000 times. ``done`` de-duplicates files, only after each glob."""
    import catalog.processing as processing

    root = tmp_path / "repo"
    root.mkdir()
    for i in range(20):
        (root / f"c{i}.yaml").write_text(component_yaml(f"c{i}", "payments"))
    (root / "fan.yaml").write_text(LOCATION_DOC.format(targets=", ".join(['"**/*.yaml"'] * 2000)))
    calls = []
    real = processing._glob
    monkeypatch.setattr(processing, "_glob", lambda r, p, *rest: calls.append(p) or real(r, p, *rest))
    processing.process_tree(root, ["fan.yaml"])
    assert len(calls) <= 5, f"{len(calls)} globs of the whole checkout for 2 patterns"


# --- 7. Private entities: the relations.* filter --------------------------------------------------------------


GROUP = """apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {{name: {name}}}
spec: {{type: team, children: []}}
"""


@pytest.fixture
def private_states_relations(world, tmp_path):
    """payments' private location: ledger-core dependsOn search's public indexer."""
    private = GitRepo.with_files(tmp_path, "private", {"c.yaml": component_yaml("ledger-core", "payments").replace(
        "  owner: payments", "  owner: payments\n  dependsOn: [component:default/indexer]")})
    public = GitRepo.with_files(tmp_path, "public", {"c.yaml": component_yaml("indexer", "search"),
                                            "g.yaml": GROUP.format(name="payments")})
    private_location = services.location_register(actor=world.alice, type="git", target=private.url, path="*.yaml",
                                                  owner_team=world.payments, visibility=Visibility.PRIVATE,
                                                  refresh=False)
    services.location_refresh(actor=world.alice, location_id=private_location.pk)
    public_location = services.location_register(actor=world.bob, type="git", target=public.url, path="*.yaml",
                                                 owner_team=world.search, refresh=False)
    services.location_refresh(actor=world.bob, location_id=public_location.pk)
    assert Entity.objects.get(name="ledger-core").visibility == Visibility.PRIVATE
    return private_location, public_location


def test_the_relations_filter_does_not_answer_for_relations_a_private_entity_states(world, private_states_relations):
    """indexer's page hides "dependencyOf ledger-core" from bob (relation_pairs), but the Backstage filter
    ``relations.dependencyOf=<guess>`` reads every Relation row (``selectors.relation_filter_q``), so bob and victor
    can confirm a private entity's name and what it depends on, and (``relations.ownerOf``) who owns it."""
    for user in (world.bob, world.victor):
        api = APIClient()
        api.force_authenticate(user)
        body = api.get("/api/catalog/entities/by-query",
                       {"filter": "relations.dependencyOf=component:default/ledger-core"}).json()
        assert body["items"] == [], [i["metadata"]["name"] for i in body["items"]]
        body = api.get("/api/catalog/entities/by-query",
                       {"filter": "relations.ownerOf=component:default/ledger-core"}).json()
        assert body["items"] == [], [i["metadata"]["name"] for i in body["items"]]
        facets = api.get("/api/catalog/entity-facets", {"facet": "kind",
                         "filter": "relations.dependencyOf=component:default/ledger-core"}).json()["facets"]["kind"]
        assert facets == []


# --- 8. Private entities: named by errors of a public location, and by conflicts --------------------------------


def test_errors_of_a_public_location_do_not_name_an_entity_its_team_made_private(world, tmp_path):
    """payments keeps 'acquisition-target' private inside its public location. The file later fails validation:
    the entity is kept (last good state, private) but the error row, readable by every user on the location page
    and ``/api/locations/<id>/errors/``, carries its ref. The location's entity count counts it too."""
    repo = GitRepo.with_files(tmp_path, "cat", {"a.yaml": component_yaml("acquisition-target", "payments"),
                                      "g.yaml": GROUP.format(name="payments")})
    location = services.location_register(actor=world.alice, type="git", target=repo.url, path="*.yaml",
                                          owner_team=world.payments, refresh=False)
    services.location_refresh(actor=world.alice, location_id=location.pk)
    entity = Entity.objects.get(name="acquisition-target")
    services.entity_settings_update(actor=world.alice, obj=entity, visibility=Visibility.PRIVATE)
    repo.write({"a.yaml": component_yaml("acquisition-target", "payments").replace("lifecycle: production",
                                                                                    "lifecycle: [1, 2]")})
    repo.commit()
    services.location_refresh(actor=world.alice, location_id=location.pk)
    assert Entity.objects.get(name="acquisition-target").visibility == Visibility.PRIVATE
    api = APIClient()
    api.force_authenticate(world.victor)
    errors = api.get(f"/api/locations/{location.pk}/errors/").json()
    assert "acquisition-target" not in str(errors), errors
    team = APIClient()
    team.force_authenticate(world.alice)
    assert "acquisition-target" in str(team.get(f"/api/locations/{location.pk}/errors/").json())
    from django.test import Client

    client = Client()
    client.force_login(world.victor)
    page = client.get(reverse("catalog:location", kwargs={"pk": location.pk})).content.decode()
    assert "acquisition-target" not in page


def test_a_conflict_does_not_point_at_another_teams_private_location(world, tmp_path):
    """bob guesses a ref; the conflict on his (public) location confirms it exists privately and names the
    private location's id ("already supplied by location #N"), for every reader of bob's location."""
    private = GitRepo.with_files(tmp_path, "private", {"c.yaml": component_yaml("ledger-core", "payments")})
    private_location = services.location_register(actor=world.alice, type="git", target=private.url,
                                                  path="*.yaml", owner_team=world.payments,
                                                  visibility=Visibility.PRIVATE, refresh=False)
    services.location_refresh(actor=world.alice, location_id=private_location.pk)
    probe = GitRepo.with_files(tmp_path, "probe", {"c.yaml": component_yaml("ledger-core", "search")})
    probe_location = services.location_register(actor=world.bob, type="git", target=probe.url, path="*.yaml",
                                                owner_team=world.search, refresh=False)
    services.location_refresh(actor=world.bob, location_id=probe_location.pk)
    message = LocationError.objects.get(location=probe_location).message
    assert f"#{private_location.pk}" not in message, message


# --- 9. Location URLs carrying credentials are shown to every reader -------------------------------------------


@pytest.mark.parametrize("target", ["https://oauth2:glpat-SECRET123@git.example.com/pay/cat.git",
                                    "https://glpat-SECRET123@git.example.com/pay/cat.git",
                                    "ssh://git:hunter2@git.example.com/pay/cat.git"])
def test_a_token_in_a_location_url_is_refused(world, target):
    """Everyone who may see a location sees its URL (page, API, managed-by-location annotations): no credentials."""
    from django.core.exceptions import ValidationError

    for actor, team in ((world.alice, world.payments), (world.admin, None)):
        with pytest.raises(ValidationError, match="no credentials"):
            services.location_register(actor=actor, type="git", target=target, owner_team=team, refresh=False)
    assert not Location.objects.exists()


def test_a_file_name_that_is_not_utf8_is_an_error_on_that_file_not_a_crashed_refresh(tmp_path):
    """Python reads such a name with surrogates, which the fingerprint's hash and the error row could not encode:
    the whole refresh failed, and every other file of the location with it."""
    from catalog.models import LocationError

    repo = GitRepo(tmp_path / "names")
    repo.write({"good.yaml": component_yaml("good", "payments")})
    for raw in (b"bad\xff.yaml", b"dir\xfe/inner.yaml"):
        path = os.fsencode(str(repo.path)) + b"/" + raw
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(component_yaml("hidden-" + str(raw[0]), "payments").encode())
    repo.repo.git.add("-A")
    repo.repo.git.commit("-m", "names git takes and Python cannot encode")  # GitPython's index cannot read them
    location = services.location_register(actor=None, type=LocationType.GIT, target=repo.url, path="**/*.yaml",
                                          refresh=False)
    for _ in range(2):  # the file is not fingerprinted: named again at every refresh, until renamed
        report = services.location_refresh(actor=None, location_id=location.pk)
        assert report.errors == 2
        assert set(Entity.objects.values_list("name", flat=True)) == {"good"}
        assert sorted(LocationError.objects.values_list("path", "message")) == [
            ("bad\ufffd.yaml", "the file name is not valid UTF-8: rename it to have it read"),
            ("dir\ufffd/inner.yaml", "the file name is not valid UTF-8: rename it to have it read"),
        ]
