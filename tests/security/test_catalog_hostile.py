"""Hostile catalog data: repositories built here by a team that wants more than its own rights.

Each test is one thing a member of one team tried (see issue 12); the catalog must ingest what is
valid, grant nothing from it, and never name what another team keeps private.
"""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from rest_framework.test import APIClient

from catalog import services
from catalog.models import CatalogMembership, Entity, LocationError
from portal.models import AuditEvent, Team, TeamMembership, Visibility
from tests.catalog.conftest import GitRepo, component_yaml
from tests.listeners import Listener

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def allow_local_git(settings):
    """The hostile repositories are real git repositories in temp dirs, registered by team members too."""
    settings.CATALOG_ALLOW_LOCAL_GIT = True

GROUP = """apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {{name: {name}}}
spec: {{type: team, children: [], members: [{members}]}}
"""
USER = """apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: {name}
{extra}spec:
  memberOf: [{groups}]
"""


def user_yaml(name: str, groups: str, *, namespace: str = "", annotation: str = "") -> str:
    extra = f"  namespace: {namespace}\n" if namespace else ""
    if annotation:
        extra += f"  annotations: {{wayline.io/username: {annotation}}}\n"
    return USER.format(name=name, groups=groups, extra=extra)


@pytest.fixture
def git_repo(tmp_path):
    return GitRepo.with_files(tmp_path, "team-catalog", {"c.yaml": component_yaml("c", "payments")})


def members(team) -> set[str]:
    return set(TeamMembership.objects.filter(team=team).values_list("user__username", flat=True))


# --- catalog data grants no rights ---


def test_a_team_location_cannot_make_its_member_join_another_team_or_create_one(world, tmp_path):
    """alice ships Group/User entities naming herself a member of search and of a new approvers team."""
    repo = GitRepo.with_files(tmp_path, "alice-org", {"org.yaml": GROUP.format(name="search", members="alice") + "---\n"
                                             + GROUP.format(name="prod-approvers", members="alice") + "---\n"
                                             + user_yaml("alice", "search, prod-approvers")})
    location = services.location_register(actor=world.alice, type="git", target=repo.url, path="*.yaml",
                                           owner_team=world.payments, refresh=False)
    report = services.location_refresh(actor=world.alice, location_id=location.pk)
    assert report.errors == 0 and report.added == 3  # stored as catalog entries ...
    assert "alice" not in members(world.search)  # ... that grant nothing
    assert not Team.objects.filter(slug="prod-approvers").exists()
    assert Entity.objects.get(ref="group:default/search").team is None
    assert not CatalogMembership.objects.exists()


def test_a_team_location_squatting_a_group_ref_does_not_keep_it_from_the_directory(world, tmp_path):
    squat = GitRepo.with_files(tmp_path, "squat", {"org.yaml": GROUP.format(name="search", members="alice")})
    squatter = services.location_register(actor=world.alice, type="git", target=squat.url, path="*.yaml",
                                          owner_team=world.payments, refresh=False)
    services.location_refresh(actor=world.alice, location_id=squatter.pk)
    directory = GitRepo.with_files(tmp_path, "directory", {"org.yaml": GROUP.format(name="search", members="") + "---\n"
                                                  + user_yaml("bob", "search", annotation="bob")})
    location = services.location_register(actor=world.admin, type="git", target=directory.url, path="*.yaml",
                                          directory=True, refresh=False)
    report = services.location_refresh(actor=world.admin, location_id=location.pk)
    assert report.errors == 0
    group = Entity.objects.get(ref="group:default/search")
    assert group.location == location and group.team == world.search
    error = LocationError.objects.get(location=squatter)
    assert error.code == "conflict" and "organisation's directory" in error.message and error.path == "org.yaml"
    assert "alice" not in members(world.search)


def test_only_a_platform_admin_makes_a_location_the_directory(world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "org", {"org.yaml": GROUP.format(name="search", members="alice")})
    with pytest.raises(PermissionDenied):
        services.location_register(actor=world.carol, type="git", target=repo.url, path="*.yaml",
                                   owner_team=world.payments, directory=True, refresh=False)
    location = services.location_register(actor=world.carol, type="git", target=repo.url, path="*.yaml",
                                          owner_team=world.payments, refresh=False)
    with pytest.raises(PermissionDenied):
        services.location_directory_set(actor=world.carol, location=location, directory=True)
    location.refresh_from_db()
    assert not location.is_directory


def test_the_directory_maps_users_by_full_ref_never_by_name_alone(world, tmp_path, django_user_model):
    """In the directory, user:default/alice is not the portal's alice until linked; user:evil/admin is never admin."""
    repo = GitRepo.with_files(tmp_path, "directory", {"org.yaml": GROUP.format(name="search", members="") + "---\n"
                                             + user_yaml("alice", "search") + "---\n"
                                             + user_yaml("admin", "group:default/search", namespace="evil")})
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml",
                                           directory=True, refresh=False)
    report = services.location_refresh(actor=world.admin, location_id=location.pk)
    assert "alice" not in members(world.search)
    error = LocationError.objects.get(location=location, entity_ref="user:default/alice")
    assert error.path == "org.yaml" and "wayline.io/username" in error.message and "not linked" in error.message
    assert report.errors == 1
    # The namespaced user became a new portal user of its own, not the platform admin.
    assert "evil.admin" in members(world.search) and "admin" not in members(world.search)
    assert not django_user_model.objects.get(username="evil.admin").has_usable_password()

    services.catalog_identity_link(actor=world.admin, user=world.alice, ref="user:default/alice")
    assert "alice" in members(world.search)
    with pytest.raises(PermissionDenied):
        services.catalog_identity_link(actor=world.carol, user=world.carol, ref="user:default/bob")


def test_a_directory_membership_records_its_cause_and_goes_with_its_location(world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "directory", {"org.yaml": GROUP.format(name="search", members="") + "---\n"
                                             + user_yaml("alice", "search", annotation="alice")})
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml",
                                          directory=True, refresh=False)
    services.location_refresh(actor=world.admin, location_id=location.pk)
    assert "alice" in members(world.search)
    record = CatalogMembership.objects.get(team=world.search, user=world.alice)
    assert record.location == location and record.commit == repo.repo.head.commit.hexsha
    assert record.entity_ref == "user:default/alice"
    event = AuditEvent.objects.filter(action="team.member_add", team=world.search).latest("timestamp")
    assert event.changes["cause"] == {"location": location.pk, "commit": record.commit, "entity": "user:default/alice"}
    assert event.actor_name == "admin"

    services.location_directory_set(actor=world.admin, location=location, directory=False)
    assert "alice" not in members(world.search)  # unmarked: what it granted ends at once
    services.location_directory_set(actor=world.admin, location=location, directory=True)
    services.location_refresh(actor=world.admin, location_id=location.pk, full=True)
    assert "alice" in members(world.search)
    repo.write({"org.yaml": GROUP.format(name="search", members="")})  # alice's User entity removed
    repo.commit()
    services.location_refresh(actor=world.admin, location_id=location.pk)
    assert Entity.objects.get(ref="user:default/alice").orphaned is not None  # kept, flagged ...
    assert "alice" not in members(world.search)  # ... and granting nothing
    repo.write({"org.yaml": GROUP.format(name="search", members="") + "---\n"
                     + user_yaml("alice", "search", annotation="alice")})
    repo.commit()
    services.location_refresh(actor=world.admin, location_id=location.pk)
    assert "alice" in members(world.search)
    services.location_delete(actor=world.admin, location=location)
    assert "alice" not in members(world.search)  # deleted: the membership does not outlive it
    removed = AuditEvent.objects.filter(action="team.member_remove", team=world.search).latest("timestamp")
    assert removed.changes["cause"]["entity"] == "user:default/alice"


# --- dry runs are checked as the real call ---


@pytest.fixture
def api():
    return APIClient()


def dry_run(api, user, target, **extra):
    if user is not None:
        api.force_authenticate(user)
    return api.post("/api/catalog/locations?dryRun=true", {"type": "url", "target": target, **extra}, format="json")


def test_a_dry_run_refuses_what_registering_refuses_before_touching_anything(api, world, git_repo, settings):
    settings.CATALOG_ALLOW_LOCAL_GIT = False
    listener = Listener()
    try:
        refused = {
            git_repo.url: "repositories on the Wayline server are for platform admins",
            f"file://{git_repo.url}": "repositories on the Wayline server are for platform admins",
            f"git://127.0.0.1:{listener.port}/x.git": "git:// is not allowed",
            f"https://127.0.0.1:{listener.port}/x.git": "the Wayline server itself",
            f"https://localhost:{listener.port}/x.git": "the Wayline server itself",
            "https://169.254.169.254/latest/meta-data": "link-local",
            f"ssh://[::1]:{listener.port}/x.git": "the Wayline server itself",
            "ext::sh -c touch% /tmp/pwned": "Use a git URL",
        }
        for target, reason in refused.items():
            response = dry_run(api, world.alice, target, team="payments")
            assert response.status_code == 400, (target, response.content)
            assert reason in response.json()["error"]["message"], (target, response.json())
        assert listener.connections == 0  # nothing was even tried
    finally:
        listener.close()


def test_a_dry_run_needs_the_same_rights_as_registering(api, world, git_repo):
    target = "https://git.example.invalid/shop/catalog.git"
    assert dry_run(APIClient(), None, target).status_code in (401, 403)  # nobody
    assert dry_run(api, world.victor, target).status_code == 403  # a viewer registers nothing
    response = dry_run(APIClient(), world.alice, target, team="search")  # not her team
    assert response.status_code == 400 and "owns this location" in response.json()["error"]["message"]
    api_file = APIClient()
    api_file.force_authenticate(world.alice)
    response = api_file.post("/api/catalog/locations?dryRun=true", {"type": "file", "target": "/etc/passwd"},
                             format="json")
    assert response.status_code == 403


class _NotGit(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"hello, I am not a git server")

    def log_message(self, *args):
        pass


def test_network_failures_read_the_same_whatever_listens_there(api, world, settings):
    """A closed port, a silent one and a web server that is not git all get one answer (admins allowing http)."""
    settings.CATALOG_GIT_SCHEMES = ["https", "ssh", "http"]
    settings.CATALOG_DRY_RUN_SECONDS = 2
    web = ThreadingHTTPServer(("127.0.0.1", 0), _NotGit)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        messages = set()
        for port in (web.server_address[1], closed_port):
            response = dry_run(api, world.admin, f"http://127.0.0.1:{port}/repo.git")
            assert response.status_code == 400
            messages.add(response.json()["error"]["message"].replace(str(port), "PORT"))
    finally:
        web.shutdown()
    assert len(messages) == 1, messages
    (message,) = messages
    assert "could not be reached, or did not answer as a git server" in message
    assert "refused" not in message.lower() and "not found" not in message.lower()


# --- private by inheritance ---


@pytest.fixture
def private_and_public(world, tmp_path):
    """payments keeps a private location (ledger-core); search's public catalog depends on it by name."""
    private = GitRepo.with_files(tmp_path, "private", {"c.yaml": component_yaml("ledger-core", "payments")})
    public = GitRepo.with_files(tmp_path, "public", {
        "c.yaml": component_yaml("indexer", "search").replace("  owner: search", "  owner: search\n  dependsOn: [component:ledger-core]"),
        "group.yaml": GROUP.format(name="payments", members=""),
    })
    private_location = services.location_register(actor=world.alice, type="git", target=private.url, path="*.yaml",
                                                  owner_team=world.payments, visibility=Visibility.PRIVATE, refresh=False)
    services.location_refresh(actor=world.alice, location_id=private_location.pk)
    # ledger-core also says it is owned by search: a private location's entities are its team's, whatever they say.
    public_location = services.location_register(actor=world.bob, type="git", target=public.url, path="*.yaml",
                                                 owner_team=world.search, refresh=False)
    services.location_refresh(actor=world.bob, location_id=public_location.pk)
    return private_location, public_location


def test_a_private_location_makes_private_entities(world, private_and_public, client):
    entity = Entity.objects.get(name="ledger-core")
    assert entity.visibility == Visibility.PRIVATE
    assert set(Entity.objects.restrict(world.alice, "view").values_list("name", flat=True)) >= {"ledger-core", "indexer"}
    assert "ledger-core" not in set(Entity.objects.restrict(world.bob, "view").values_list("name", flat=True))
    client.force_login(world.bob)
    assert client.get(entity.get_absolute_url()).status_code == 404
    api = APIClient()
    api.force_authenticate(world.bob)
    assert api.get("/api/catalog/entities/by-name/component/default/ledger-core").status_code == 404
    refs = api.post("/api/catalog/entities/by-refs", {"entityRefs": ["component:default/ledger-core"]}, format="json")
    assert refs.json()["items"] == [None]
    facets = api.get("/api/catalog/entity-facets", {"facet": "metadata.name"}).json()["facets"]["metadata.name"]
    assert "ledger-core" not in {f["value"] for f in facets}
    # Its team may not make it public while its location is private.
    with pytest.raises(Exception, match="location is private"):
        services.entity_settings_update(actor=world.alice, obj=entity, visibility=Visibility.PUBLIC)


def test_neighbours_of_a_private_entity_never_name_it(world, private_and_public, client):
    """The payments Group page (public) would list ledger-core as ownerOf; indexer's names it only as written."""
    client.force_login(world.bob)
    group = Entity.objects.get(ref="group:default/payments")
    page = client.get(group.get_absolute_url()).content.decode()
    assert "ledger-core" not in page
    api = APIClient()
    api.force_authenticate(world.bob)
    body = api.get("/api/catalog/entities/by-name/group/default/payments").json()
    assert all("ledger-core" not in r["targetRef"] for r in body["relations"])
    # indexer's own document says dependsOn ledger-core: shown exactly as a missing entity would be.
    from catalog.selectors import entity_relations

    relation = next(r for r in entity_relations(user=world.bob, entity=Entity.objects.get(name="indexer"))
                    if r.target_ref == "component:default/ledger-core")
    assert not relation.target_exists and not relation.target_name
    mine = next(r for r in entity_relations(user=world.alice, entity=Entity.objects.get(name="indexer"))
                if r.target_ref == "component:default/ledger-core")
    assert mine.target_exists  # its own team sees it


def test_a_teams_visibility_survives_a_broken_file_a_fix_and_re_supply(world, tmp_path, settings):
    settings.CATALOG_ORPHAN_STRATEGY = "delete"  # so the entity is really evicted and supplied again
    repo = GitRepo.with_files(tmp_path, "cat", {"a.yaml": component_yaml("quiet", "payments"),
                                      "org.yaml": GROUP.format(name="payments", members="")})
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml",
                                          owner_team=world.payments, refresh=False)
    services.location_refresh(actor=world.admin, location_id=location.pk)
    entity = Entity.objects.get(name="quiet")
    services.entity_settings_update(actor=world.alice, obj=entity, visibility=Visibility.PRIVATE)

    repo.write({"a.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: quiet\n"})  # broken
    repo.commit()
    report = services.location_refresh(actor=world.admin, location_id=location.pk)
    assert report.errors == 1 and report.orphaned == 0 and report.removed == 0
    assert Entity.objects.get(name="quiet").visibility == Visibility.PRIVATE  # kept as it was, still private

    repo.write({"a.yaml": component_yaml("quiet", "payments", description="fixed")})
    repo.commit()
    services.location_refresh(actor=world.admin, location_id=location.pk)
    assert Entity.objects.get(name="quiet").visibility == Visibility.PRIVATE

    repo.remove("a.yaml")
    repo.commit()
    services.location_refresh(actor=world.admin, location_id=location.pk)  # evicted (grace 0)
    assert not Entity.objects.filter(name="quiet").exists()
    repo.write({"a.yaml": component_yaml("quiet", "payments")})
    repo.commit()
    services.location_refresh(actor=world.admin, location_id=location.pk)
    assert Entity.objects.get(name="quiet").visibility == Visibility.PRIVATE  # supplied again: as its team left it
    assert "quiet" not in set(Entity.objects.restrict(world.bob, "view").values_list("name", flat=True))


# --- limits ---

API_DOC = """apiVersion: backstage.io/v1alpha1
kind: API
metadata: {{name: {name}}}
spec:
  type: openapi
  lifecycle: production
  owner: payments
  definition:
{placeholders}
"""


def api_yaml(name: str, targets: list[str]) -> str:
    if len(targets) == 1:
        return API_DOC.format(name=name, placeholders=f"    $text: {targets[0]}")
    # Several reads into one document: one placeholder per key of the definition.
    lines = "\n".join(f"    part{i}: {{$text: {t}}}" for i, t in enumerate(targets))
    return API_DOC.format(name=name, placeholders=lines)


def test_a_placeholder_over_its_limit_is_never_read_and_the_error_names_the_file(world, tmp_path, settings):
    settings.CATALOG_MAX_PLACEHOLDER_BYTES = 10_000
    repo = GitRepo.with_files(tmp_path, "cat", {"apis/big.yaml": api_yaml("big", ["huge.txt"]),
                                      "apis/ok.yaml": api_yaml("ok", ["small.txt"]),
                                      "apis/huge.txt": "x" * 50_000, "apis/small.txt": "openapi: 3.0.0\n"})
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="apis/*.yaml",
                                          refresh=False)
    report = services.location_refresh(actor=world.admin, location_id=location.pk)
    assert report.added == 1 and report.errors == 1
    error = LocationError.objects.get(location=location)
    assert error.path == "apis/big.yaml" and error.field == "spec.definition"
    assert "'huge.txt' is 50000 bytes; a placeholder may read at most 10000 bytes" in error.message


def test_many_placeholders_cannot_add_up_past_the_document_limit(world, tmp_path, settings):
    """The issue's three references to one big file: each within the placeholder limit, together over the document's."""
    settings.CATALOG_MAX_PLACEHOLDER_BYTES = 40_000
    settings.CATALOG_MAX_DOCUMENT_BYTES = 100_000
    repo = GitRepo.with_files(tmp_path, "cat", {"api.yaml": api_yaml("triple", ["spec.txt"] * 3), "spec.txt": "y" * 39_000})
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="api.yaml",
                                          refresh=False)
    report = services.location_refresh(actor=world.admin, location_id=location.pk)
    assert report.added == 0
    error = LocationError.objects.get(location=location)
    assert error.path == "api.yaml" and "more than 100000 bytes" in error.message


def test_a_location_over_its_total_stores_what_fits_and_says_which_were_not(world, tmp_path, settings):
    settings.CATALOG_MAX_LOCATION_BYTES = 2_000
    files = {f"c{i:02}.yaml": component_yaml(f"c{i:02}", "payments", description="d" * 200) for i in range(10)}
    repo = GitRepo.with_files(tmp_path, "cat", files)
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml",
                                          refresh=False)
    report = services.location_refresh(actor=world.admin, location_id=location.pk)
    assert 0 < report.added < 10 and report.added + report.errors == 10
    errors = list(LocationError.objects.filter(location=location).order_by("path"))
    assert "over 2000 bytes together" in errors[0].message
    stored = sorted(Entity.objects.filter(location=location).values_list("name", flat=True))
    assert stored == [f"c{i:02}" for i in range(len(stored))]  # the first files, in order


def test_a_placeholder_through_a_symlink_out_of_the_repository_is_not_read(world, tmp_path):
    secret = tmp_path / "server-secret.txt"
    secret.write_text("root:x:0:0")
    repo = GitRepo(tmp_path / "cat")
    repo.write({"api.yaml": api_yaml("leak", ["link.txt"])})
    (repo.path / "link.txt").symlink_to(secret)
    repo.commit()
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="api.yaml",
                                          refresh=False)
    services.location_refresh(actor=world.admin, location_id=location.pk)
    assert not Entity.objects.filter(name="leak").exists()
    assert "outside this location" in LocationError.objects.get(location=location).message


def test_an_unpaged_backstage_list_is_bounded_and_says_so(api, world, tmp_path, settings):
    repo = GitRepo.with_files(tmp_path, "cat", {f"c{i}.yaml": component_yaml(f"c{i}", "payments") for i in range(5)})
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml",
                                          refresh=False)
    services.location_refresh(actor=world.admin, location_id=location.pk)
    api.force_authenticate(world.bob)
    settings.CATALOG_API_MAX_UNPAGED = 3
    response = api.get("/api/catalog/entities")
    assert response.status_code == 400 and "page with limit and offset" in response.json()["error"]["message"]
    assert len(api.get("/api/catalog/entities", {"limit": 2}).json()) == 2
    assert len(api.get("/api/catalog/entities", {"limit": 10_000_000}).json()) == 5  # capped, not refused
    settings.CATALOG_API_MAX_UNPAGED = 10
    assert len(api.get("/api/catalog/entities").json()) == 5
    assert api.get("/api/entities/", {"page_size": 100_000}).status_code == 200
    assert api.get("/api/entities/", {"page_size": 100_000}).json()["count"] == 5


def test_pages_of_another_teams_private_location_are_404(world, private_and_public, client):
    private_location, _ = private_and_public
    client.force_login(world.bob)
    assert client.get(reverse("catalog:location", kwargs={"pk": private_location.pk})).status_code == 404
    client.force_login(world.victor)
    assert client.get(reverse("catalog:location", kwargs={"pk": private_location.pk})).status_code == 404
    client.force_login(world.alice)
    assert client.get(reverse("catalog:location", kwargs={"pk": private_location.pk})).status_code == 200


def test_a_huge_catalog_file_is_not_read_and_the_rest_is(world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "cat", {"a.yaml": component_yaml("small", "payments"),
                                      "b.yaml": component_yaml("huge", "payments", description="z" * (3 * 1024 * 1024))})
    location = services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml",
                                          refresh=False)
    report = services.location_refresh(actor=world.admin, location_id=location.pk)
    assert report.added == 1 and not Entity.objects.filter(name="huge").exists()
    error = LocationError.objects.get(location=location)
    assert error.path == "b.yaml" and "larger than" in error.message
