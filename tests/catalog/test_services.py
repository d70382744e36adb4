"""Ingestion into the database from real git repositories."""
from __future__ import annotations

import re

import pytest

from catalog import services
from catalog.models import Entity, Location, LocationError, Relation
from catalog.selectors import entity_relations, relation_pairs
from portal.models import Team, TeamMembership

from tests.catalog.conftest import EXAMPLES, VERDICTS, component_yaml
from tests.catalog.test_processing import verdict_field

pytestmark = pytest.mark.django_db


COMPONENT = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
  description: {description}
  tags: [python]
spec:
  type: service
  lifecycle: production
  owner: {owner}
  system: shop
  providesApis: [cart-api]
"""
GROUP = """apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: {name}
spec:
  type: team
  children: []
  members: [{member}]
"""
USER = """apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: {name}
spec:
  profile: {{email: {name}@example.com}}
  memberOf: [{group}]
"""


def register(repo, path="**/*.yaml", **kwargs):
    return services.location_register(actor=None, type="git", target=repo.url, path=path, refresh=False, **kwargs)


def refresh(location):
    return services.location_refresh(actor=None, location_id=location.pk)


@pytest.mark.conformance
def test_examples_import_agrees_with_backstage_verdicts(examples_repo):
    location = register(examples_repo)
    report = refresh(location)
    assert report.failure == ""
    errors = {(e.path, e.doc_index): e for e in LocationError.objects.filter(location=location)}
    refs = set(Entity.objects.values_list("ref", flat=True))
    for verdict in VERDICTS:
        key = (verdict["file"], verdict["index"])
        error = errors.get(key)
        text = (EXAMPLES / verdict["file"]).read_text()
        placeholder = re.search(r"\$text:\s*(\S+)", text)
        if verdict["verdict"] == "valid" or (placeholder and not placeholder.group(1).startswith("http")):
            # Valid (or valid once a local placeholder is resolved): stored, or a duplicate of a stored ref.
            # (A Location whose URL target is not followed is still stored; the target is reported.)
            assert error is None or error.code in ("conflict", "unreadable"), (verdict, error and str(error))
            ref = f"{verdict['kind']}:default/{verdict['name']}".lower()
            if verdict["file"] != "components/different-namespace.yaml":
                assert ref in refs, verdict
        elif verdict["verdict"] == "no-validator":
            assert error is not None and error.field == "kind", verdict
        elif verdict["kind"] is None:
            assert error is not None and "not a catalog entity" in error.message
        else:
            assert error is not None and error.code == "invalid", verdict
            assert error.field == verdict_field(verdict["message"]), (verdict, str(error))
            if placeholder:
                # A remote placeholder cannot be read from inside the location: the same field fails.
                assert "placeholder" in error.message
            assert error.line and error.line > 1
    # Valid documents in a file with an invalid one still import, and relations exist.
    assert Entity.objects.filter(location=location).count() == report.added
    assert Relation.objects.filter(source_ref="component:default/artist-lookup", type="ownedBy").exists()


def test_placeholder_with_url_inside_the_same_repository_resolves(git_repo):
    git_repo.write({
        "defs/cart.yaml": "openapi: 3.0.0\n",
        "catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: cart}\n"
        f"spec: {{type: openapi, lifecycle: production, owner: a, definition: {{$text: '{git_repo.url}/blob/main/defs/cart.yaml'}}}}\n",
    })
    git_repo.commit()
    location = register(git_repo, path="catalog-info.yaml")
    report = refresh(location)
    assert report.errors == 0, report.error_list
    assert Entity.objects.get(ref="api:default/cart").data["spec"]["definition"] == "openapi: 3.0.0\n"


def test_edit_and_remove_files_then_refresh(git_repo, settings):
    settings.CATALOG_ORPHAN_STRATEGY = "delete"  # evicted in the same refresh (grace 0)
    git_repo.write({
        "a.yaml": COMPONENT.format(name="a", description="first", owner="team-a"),
        "b.yaml": COMPONENT.format(name="b", description="second", owner="team-a"),
    })
    first_commit = git_repo.commit()
    location = register(git_repo)
    report = refresh(location)
    assert (report.added, report.updated, report.removed) == (2, 0, 0)
    assert Entity.objects.get(ref="component:default/a").commit == first_commit

    again = refresh(location)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 2, 0)

    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="changed", owner="team-b")})
    git_repo.remove("b.yaml")
    second_commit = git_repo.commit()
    uid_before = Entity.objects.get(ref="component:default/a").uid
    report = refresh(location)
    assert (report.added, report.updated, report.removed) == (0, 1, 1)
    a = Entity.objects.get(ref="component:default/a")
    assert a.description == "changed" and a.owner == "group:default/team-b" and a.commit == second_commit
    assert a.uid == uid_before
    assert not Entity.objects.filter(ref="component:default/b").exists()
    assert not Relation.objects.filter(originating__ref="component:default/b").exists()
    assert ("ownerOf", a.ref) in relation_pairs(["group:default/team-b"])["group:default/team-b"]
    assert relation_pairs(["group:default/team-a"])["group:default/team-a"] == []


def test_orphans_are_kept_and_flagged_by_default_as_backstage_does(git_repo):
    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="x", owner="t"),
                    "b.yaml": COMPONENT.format(name="b", description="x", owner="t")})
    git_repo.commit()
    location = register(git_repo)
    refresh(location)
    git_repo.remove("b.yaml")
    git_repo.commit()
    report = refresh(location)
    assert (report.orphaned, report.removed) == (1, 0)
    assert Entity.objects.get(name="b").orphaned is not None
    assert refresh(location).removed == 0  # and on every refresh after


def test_orphans_are_flagged_before_removal_with_a_grace_period(git_repo, settings):
    settings.CATALOG_ORPHAN_STRATEGY = "delete"
    settings.CATALOG_ORPHAN_GRACE_SECONDS = 3600
    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="x", owner="t")})
    git_repo.commit()
    location = register(git_repo)
    refresh(location)
    git_repo.remove("a.yaml")
    git_repo.write({"c.yaml": COMPONENT.format(name="c", description="x", owner="t")})
    git_repo.commit()
    report = refresh(location)
    assert (report.orphaned, report.removed) == (1, 0)
    assert Entity.objects.get(ref="component:default/a").orphaned is not None


def test_relations_both_directions_and_dangling_refs(git_repo, django_user_model):
    git_repo.write({
        "a.yaml": COMPONENT.format(name="a", description="x", owner="team-a"),
        "g.yaml": GROUP.format(name="team-a", member="jane"),
    })
    git_repo.commit()
    refresh(register(git_repo))
    admin = django_user_model.objects.create_superuser("root", "r@example.com", "pw")
    component = Entity.objects.get(ref="component:default/a")
    relations = {(r.type, r.target_ref): r for r in entity_relations(user=admin, entity=component)}
    assert relations[("ownedBy", "group:default/team-a")].target_exists
    assert not relations[("partOf", "system:default/shop")].target_exists  # dangling: kept, flagged
    assert not relations[("providesApi", "api:default/cart-api")].target_exists
    group = Entity.objects.get(ref="group:default/team-a")
    reverse = {(r.type, r.target_ref) for r in entity_relations(user=admin, entity=group)}
    assert ("ownerOf", "component:default/a") in reverse
    assert ("hasMember", "user:default/jane") in reverse


def test_groups_become_teams_and_users_members_so_ownership_drives_permissions(git_repo, django_user_model):
    git_repo.write({
        "org.yaml": GROUP.format(name="team-a", member="jane") + "---\n" + USER.format(name="jane", group="team-a")
        + "---\n" + GROUP.format(name="team-b", member="joe"),
        "a.yaml": COMPONENT.format(name="a", description="x", owner="team-a"),
        "b.yaml": COMPONENT.format(name="b", description="x", owner="group:team-b"),
    })
    git_repo.commit()
    report = refresh(register(git_repo, directory=True))
    assert report.errors == 0, report.error_list
    team_a = Team.objects.get(slug="team-a")
    jane = django_user_model.objects.get(username="jane")
    assert TeamMembership.objects.filter(team=team_a, user=jane).exists()
    assert not jane.has_usable_password()
    a, b = Entity.objects.get(name="a"), Entity.objects.get(name="b")
    assert a.owner_team == team_a and b.owner_team.slug == "team-b"
    assert Entity.objects.get(ref="group:default/team-a").team == team_a
    changeable = set(Entity.objects.restrict(jane, "change").values_list("name", flat=True))
    assert "a" in changeable and "b" not in changeable
    assert set(Entity.objects.restrict(jane, "view").values_list("name", flat=True)) >= {"a", "b"}


def test_ref_supplied_by_another_location_is_a_conflict(git_repo, tmp_path):
    from tests.catalog.conftest import GitRepo

    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="x", owner="t")})
    git_repo.commit()
    refresh(register(git_repo))
    other = GitRepo(tmp_path / "other")
    other.write({"dup.yaml": COMPONENT.format(name="a", description="y", owner="t")})
    other.commit()
    second = register(other)
    report = refresh(second)
    assert report.added == 0
    error = LocationError.objects.get(location=second)
    assert error.code == "conflict" and error.path == "dup.yaml" and "already supplied" in error.message


def test_unreadable_location_fails_without_touching_entities(tmp_path):
    location = services.location_register(actor=None, type="git", target=str(tmp_path / "nope"), refresh=False)
    report = refresh(location)
    location.refresh_from_db()
    assert report.failure and location.status == "failed" and "nope" in location.status_message


def test_a_branch_git_would_read_as_an_option_is_refused_and_never_reaches_git(git_repo, tmp_path):
    from django.core.exceptions import ValidationError

    marker = tmp_path / "PWNED"
    evil = f"--upload-pack=touch {marker}; git-upload-pack"
    with pytest.raises(ValidationError) as exc:
        services.location_register(actor=None, type="git", target=git_repo.url, branch=evil, refresh=False)
    assert "branch" in exc.value.message_dict
    # A row stored before the rule existed: the refresh that fetches into the cached clone reads it as a ref, not an option.
    git_repo.write({"catalog-info.yaml": component_yaml("svc", "team-a")})
    git_repo.commit("one")
    location = services.location_register(actor=None, type="git", target=git_repo.url, refresh=False)
    assert not refresh(location).failure
    Location.objects.filter(pk=location.pk).update(branch=evil)
    report = refresh(location)
    assert report.failure and not marker.exists()


def test_an_empty_repository_is_an_unreadable_location(git_repo):
    import shutil

    from catalog.sources import checkout_dir

    location = services.location_register(actor=None, type="git", target=git_repo.url, refresh=False)
    shutil.rmtree(checkout_dir(location.pk), ignore_errors=True)  # a first clone, not a fetch into an earlier test's
    report = refresh(location)
    location.refresh_from_db()
    assert location.status == "failed" and "no commits" in report.failure, report.failure


def test_register_for_a_team_the_user_cannot_edit_for_is_refused(world, git_repo):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.location_register(actor=world.bob, type="git", target=git_repo.url, owner_team=world.payments,
                                   refresh=False)
    location = services.location_register(actor=world.alice, type="git", target=git_repo.url,
                                          owner_team=world.payments, refresh=False)
    assert Location.objects.restrict(world.alice, "change").filter(pk=location.pk).exists()
    assert not Location.objects.restrict(world.bob, "change").filter(pk=location.pk).exists()


def test_validate_returns_the_ingestion_errors():
    errors = services.entity_validate(document={"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                                                "metadata": {"name": "x"}, "spec": {"type": "service"}})
    assert [e.field for e in errors] == ["spec.lifecycle"]


def test_catalog_import_command(git_repo, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    git_repo.write({"catalog-info.yaml": COMPONENT.format(name="cli", description="x", owner="t")
                    + "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: broken}\nspec: {}\n"})
    git_repo.commit()
    out = StringIO()
    call_command("catalog_import", git_repo.url, "--branch", "main", stdout=out)
    text = out.getvalue()
    assert "1 added" in text and "1 errors" in text and "spec.type" in text and "catalog-info.yaml document 1" in text
    assert Entity.objects.filter(name="cli").exists()
    out = StringIO()
    call_command("catalog_import", git_repo.url, "--branch", "main", stdout=out)
    assert "already registered" in out.getvalue() and "1 unchanged" in out.getvalue()
    with pytest.raises(CommandError, match="cannot read"):
        call_command("catalog_import", str(tmp_path / "missing-repo.git"), stdout=StringIO())
    assert not Location.objects.filter(target__endswith="missing-repo.git").exists()
    with pytest.raises(CommandError, match=r"cannot register the location: branch: Not a valid branch name: 'a\.\.b'"):
        call_command("catalog_import", git_repo.url, "--branch=a..b", stdout=StringIO())


def test_unchanged_files_are_skipped_but_a_changed_placeholder_target_is_not(git_repo):
    git_repo.write({
        "defs/api.yaml": "openapi: 3.0.0\ninfo: {title: v1}\n",
        "api.yaml": "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: cart}\n"
        "spec: {type: openapi, lifecycle: production, owner: a, definition: {$text: ./defs/api.yaml}}\n",
        "a.yaml": COMPONENT.format(name="a", description="x", owner="t"),
    })
    git_repo.commit()
    location = register(git_repo, path="*.yaml")
    refresh(location)
    again = refresh(location)
    assert (again.unchanged, again.updated) == (2, 0)
    git_repo.write({"defs/api.yaml": "openapi: 3.0.0\ninfo: {title: v2}\n"})
    git_repo.commit()
    report = refresh(location)
    assert (report.updated, report.unchanged) == (1, 1)
    assert "v2" in Entity.objects.get(ref="api:default/cart").data["spec"]["definition"]
    full = services.location_refresh(actor=None, location_id=location.pk, full=True)
    assert (full.updated, full.unchanged) == (0, 2)


def test_a_placeholder_target_added_later_is_read_though_the_file_naming_it_did_not_change(git_repo):
    git_repo.write({
        "api.yaml": "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: cart}\n"
        "spec: {type: openapi, lifecycle: production, owner: a, definition: {$text: ./defs/api.yaml}}\n",
    })
    git_repo.commit()
    location = register(git_repo, path="*.yaml")
    assert refresh(location).errors == 1  # the target is missing: the API is an error
    assert not Entity.objects.filter(ref="api:default/cart").exists()
    assert refresh(location).errors == 1  # still missing: the file is skipped, its error stays
    git_repo.write({"defs/api.yaml": "openapi: 3.0.0\ninfo: {title: late}\n"})
    git_repo.commit()
    report = refresh(location)
    assert report.errors == 0
    assert "late" in Entity.objects.get(ref="api:default/cart").data["spec"]["definition"]


def test_memberships_follow_the_catalog_but_portal_memberships_stay(git_repo, django_user_model, world):
    from portal.models import MembershipRole
    from portal.services import team_membership_set

    git_repo.write({"org.yaml": GROUP.format(name="payments", member="jane") + "---\n" + USER.format(name="joe", group="payments")
                    + "---\n" + USER.format(name="jane", group="payments")})
    git_repo.commit()
    location = register(git_repo, directory=True)
    refresh(location)
    members = lambda: set(TeamMembership.objects.filter(team=world.payments).values_list("user__username", flat=True))  # noqa: E731
    assert {"jane", "joe", "alice", "carol"} <= members()  # alice and carol were added in the portal
    joe = django_user_model.objects.get(username="joe")
    team_membership_set(actor=world.admin, team=world.payments, user=joe, role=MembershipRole.ADMIN)
    git_repo.write({"org.yaml": GROUP.format(name="payments", member="bob") + "---\n" + USER.format(name="joe", group="search")})
    git_repo.commit()
    services.catalog_identity_link(actor=world.admin, user=world.bob, ref="user:default/bob")  # bob: a portal user already
    refresh(location)
    now = members()
    assert "jane" not in now  # no longer listed in git: removed
    assert "bob" in now and "alice" in now and "carol" in now
    assert "joe" in now  # made an admin in the portal since: kept
    assert not Entity.objects.filter(ref="group:default/search").exists()  # search is not a catalog group here


def test_team_members_may_register_only_remote_git_urls(world, git_repo, settings):
    from django.core.exceptions import ValidationError

    settings.CATALOG_ALLOW_LOCAL_GIT = False
    for target in (git_repo.url, f"file://{git_repo.url}", "ext::sh -c touch% /tmp/x"):
        with pytest.raises(ValidationError, match="https://"):
            services.location_register(actor=world.alice, type="git", target=target, owner_team=world.payments,
                                       refresh=False)
    for target in ("https://git.example.com/shop/catalog.git", "git@git.example.com:shop/catalog.git"):
        services.location_register(actor=world.alice, type="git", target=target, owner_team=world.payments,
                                   refresh=False)


def test_symlinks_out_of_the_repository_are_not_read(git_repo, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text(COMPONENT.format(name="leaked", description="server file", owner="t"))
    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="x", owner="t")})
    (git_repo.path / "evil.yaml").symlink_to(secret)
    git_repo.commit()
    refresh(register(git_repo))
    assert Entity.objects.filter(name="a").exists()
    assert not Entity.objects.filter(name="leaked").exists()


def test_unchanged_refresh_stamps_the_location_and_rewrites_no_entity(git_repo):
    """Every entity reports its location's last processing time; an unchanged refresh only moves that stamp."""
    git_repo.write({"c.yaml": COMPONENT.format(name="cart", description="Cart", owner="shop-team")})
    git_repo.commit()
    location = register(git_repo)
    refresh(location)
    first = Location.objects.get(pk=location.pk).entities_processed
    before = Entity.objects.get(name="cart")
    assert first is not None and before.processed == first
    report = refresh(location)
    assert report.unchanged == 1
    after = Entity.objects.select_related("location").get(name="cart")
    assert after.processed == Location.objects.get(pk=location.pk).entities_processed > first
    assert after.updated == before.updated


def test_large_refresh_refreshes_planner_statistics(git_repo, monkeypatch):
    """After a big write PostgreSQL's row estimates match the table (not the pre-import guess)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 5)
    git_repo.write({f"c{i}.yaml": COMPONENT.format(name=f"svc-{i}", description="x", owner="shop-team") for i in range(6)})
    git_repo.commit()
    location = register(git_repo)

    def estimates():
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname IN ('catalog_entity', 'catalog_relation')")
            return dict(cursor.fetchall())

    assert refresh(location).added == 6
    assert estimates() == {"catalog_entity": 6, "catalog_relation": Relation.objects.count()}
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 100)
    git_repo.write({"c6.yaml": COMPONENT.format(name="svc-6", description="x", owner="shop-team")})
    git_repo.commit()
    assert refresh(location).added == 1
    assert estimates()["catalog_entity"] == 6  # a small refresh leaves the statistics to autovacuum


def test_bulk_insert_paths_write_the_same_rows(git_repo):
    """``_insert_rows`` as used on SQLite (executemany) and on PostgreSQL (COPY; executemany there too)."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import LocationError
    from catalog.services import _insert_rows

    location = register(git_repo)
    now = timezone.now()
    rows = [{"location_id": location.pk, "path": f"f{i}.yaml", "doc_index": i, "line": None, "field": "spec",
             "message": f"problem {i}\twith a tab, a \\ and\na newline", "entity_ref": "", "code": "invalid",
             "created": now, "updated": now}
            for i in range(25)]
    _insert_rows(LocationError, rows[:10], method="executemany")
    _insert_rows(LocationError, rows[10:], method="copy" if connection.vendor == "postgresql" else "executemany")
    stored = list(LocationError.objects.filter(location=location).order_by("doc_index").values_list(
        "path", "doc_index", "line", "message", "created"))
    assert stored == [(f"f{i}.yaml", i, None, f"problem {i}\twith a tab, a \\ and\na newline", now) for i in range(25)]


def test_relations_and_team_grants_leave_with_their_entity_location_and_team(git_repo, settings):
    """These rows have no database constraint (catalog.models.entities): the ORM cascade must remove them."""
    settings.CATALOG_ORPHAN_STRATEGY = "delete"
    from django.contrib.auth.models import Group

    from catalog.models import EntityGroupObjectPermission

    git_repo.write({
        "org.yaml": GROUP.format(name="team-a", member="jane"),
        "a.yaml": COMPONENT.format(name="a", description="x", owner="team-a"),
        "b.yaml": COMPONENT.format(name="b", description="x", owner="team-a"),
    })
    git_repo.commit()
    location = register(git_repo, directory=True)
    refresh(location)
    b = Entity.objects.get(name="b")
    assert Relation.objects.filter(originating=b).exists()
    assert EntityGroupObjectPermission.objects.filter(content_object=b).count() == 2

    git_repo.remove("b.yaml")
    git_repo.commit()
    refresh(location)  # evicted (grace period 0)
    assert not Relation.objects.filter(originating_id=b.pk).exists()
    assert not EntityGroupObjectPermission.objects.filter(content_object_id=b.pk).exists()

    team = Team.objects.get(slug="team-a")
    assert EntityGroupObjectPermission.objects.filter(group_id=team.editors_id).exists()
    team.delete()  # its groups are protected while the team exists
    Group.objects.filter(pk=team.editors_id).delete()
    assert not EntityGroupObjectPermission.objects.filter(group_id=team.editors_id).exists()
    assert EntityGroupObjectPermission.objects.filter(group_id=team.readers_id).exists()

    location.delete()
    assert not Relation.objects.exists()
    assert not EntityGroupObjectPermission.objects.exists()


def test_documents_with_any_json_value_are_stored(git_repo):
    """JSON columns are written with orjson, falling back to json for what it refuses (integers past 64 bits)."""
    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="x", owner="t")
                    + "  big: 123456789012345678901234567890\n  text: \"é \\u2603 \\\"q\\\"\"\n  nothing: .nan\n"})
    git_repo.commit()
    report = refresh(register(git_repo))
    assert report.errors == 0, report.error_list
    spec = Entity.objects.get(name="a").data["spec"]
    assert spec["big"] == 123456789012345678901234567890
    assert spec["text"] == 'é \u2603 "q"'
    assert spec["nothing"] is None


def test_a_git_location_knows_unchanged_files_by_their_blob_ids_without_reading_them(git_repo, monkeypatch):
    from catalog import processing

    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="x", owner="t"),
                    "b.yaml": COMPONENT.format(name="b", description="y", owner="t")})
    git_repo.commit()
    location = register(git_repo)
    refresh(location)
    blob = git_repo.repo.git.rev_parse("HEAD:a.yaml")
    assert Location.objects.get(pk=location.pk).fingerprints["a.yaml"]["sha"] == blob
    git_repo.write({"b.yaml": COMPONENT.format(name="b", description="changed", owner="t")})
    git_repo.commit()
    hashed = []
    real = processing._sha
    monkeypatch.setattr(processing, "_sha", lambda path: hashed.append(path.name) or real(path))
    report = refresh(location)
    assert hashed == [] and report.updated == 1 and report.unchanged == 1
    assert Entity.objects.get(name="b").data["metadata"]["description"] == "changed"


def test_deleting_or_refreshing_a_location_is_checked_by_the_service_whoever_calls_it(git_repo, world):
    from django.core.exceptions import PermissionDenied

    git_repo.write({"a.yaml": COMPONENT.format(name="a", description="x", owner="payments")})
    git_repo.commit()
    location = register(git_repo, owner_team=world.payments)
    for outsider in (world.bob, world.victor):  # another team's member, a user of no team
        with pytest.raises(PermissionDenied, match="refresh this location"):
            services.location_refresh_request(actor=outsider, location=location)
        with pytest.raises(PermissionDenied, match="delete this location"):
            services.location_delete(actor=outsider, location=location)
    services.location_refresh_request(actor=world.alice, location=location)
    services.location_delete(actor=world.alice, location=location)
    assert not type(location).objects.filter(pk=location.pk).exists()
