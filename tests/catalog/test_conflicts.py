"""Two suppliers of one entity ref: the first keeps it, the other's copy is a conflict until the first lets go."""
from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Entity, Location, LocationError

from tests.catalog.conftest import GitRepo, component_yaml
from tests.catalog.test_services import refresh, register

pytestmark = pytest.mark.django_db

REF = "component:default/a"


@pytest.fixture
def two_locations(git_repo, tmp_path, world):
    """``a`` supplied first by a public location, then again by one of the search team (bob's)."""
    git_repo.write({"a.yaml": component_yaml("a", "payments", description="the first copy")})
    git_repo.commit()
    first = register(git_repo)
    assert refresh(first).added == 1
    other = GitRepo.with_files(tmp_path, "other", {
        "dup.yaml": component_yaml("a", "search", description="the second copy"),
        "own.yaml": component_yaml("b", "search"),
    })
    second = register(other, owner_team=world.search)
    return first, second, git_repo


def _conflicts(location) -> list[LocationError]:
    return list(LocationError.objects.filter(location=location, code="conflict"))


def test_the_first_supplier_keeps_the_ref_and_the_second_copy_is_a_conflict(two_locations):
    first, second, _ = two_locations
    for full in (False, False, True):  # read again incrementally, then fully: the first still keeps it
        report = services.location_refresh(actor=None, location_id=second.pk, full=full)
        assert report.errors == 1, report.error_list
        [error] = _conflicts(second)
        assert (error.path, error.entity_ref, error.field) == ("dup.yaml", REF, "metadata.name")
        assert error.message == f"{REF} is already supplied by location #{first.pk}"
        entity = Entity.objects.get(ref=REF)
        assert entity.location_id == first.pk and entity.data["metadata"]["description"] == "the first copy"
        assert Entity.objects.filter(location=second).get().ref == "component:default/b"


def test_the_conflict_is_shown_by_the_api_and_on_the_location_page(two_locations, world, client):
    first, second, _ = two_locations
    refresh(second)
    message = f"{REF} is already supplied by location #{first.pk}"
    api = APIClient()
    api.force_authenticate(world.bob)
    response = api.get(f"/api/locations/{second.pk}/errors/")
    assert response.status_code == 200, response.content
    assert [(e["path"], e["code"], e["message"]) for e in response.json()] == [("dup.yaml", "conflict", message)]
    client.force_login(world.bob)
    page = client.get(reverse("catalog:location", args=[second.pk]))
    assert page.status_code == 200
    assert message in page.content.decode()


@pytest.mark.parametrize("release", ["location_deleted", "orphan_evicted", "entity_deleted"])
def test_the_second_takes_the_ref_over_once_the_first_lets_go(two_locations, world, settings, release):
    first, second, first_repo = two_locations
    refresh(second)
    refresh(second)  # unchanged and still in conflict: read again, not skipped
    if release == "location_deleted":
        services.location_delete(actor=None, location=first)
    elif release == "orphan_evicted":
        settings.CATALOG_ORPHAN_STRATEGY = "delete"
        first_repo.remove("a.yaml")
        first_repo.write({"c.yaml": component_yaml("c", "payments")})
        first_repo.commit()
        assert refresh(first).removed == 1
    else:
        services.entity_delete(actor=world.admin, obj=Entity.objects.get(ref=REF))
    report = refresh(second)  # incremental: dup.yaml did not change
    assert (report.added, report.errors) == (1, 0), report.error_list
    assert not LocationError.objects.filter(location=second).exists()
    entity = Entity.objects.get(ref=REF)
    assert entity.location_id == second.pk and entity.data["metadata"]["description"] == "the second copy"
    assert "dup.yaml" in Location.objects.get(pk=second.pk).fingerprints  # no conflict left: skipped again
    if release == "entity_deleted":
        # The first location still holds the file: read again, it now finds the ref taken.
        refresh(first)
        assert [e.message for e in _conflicts(first)] == [f"{REF} is already supplied by location #{second.pk}"]


def test_an_orphan_kept_by_default_still_holds_its_ref(two_locations):
    first, second, first_repo = two_locations
    refresh(second)
    first_repo.remove("a.yaml")
    first_repo.write({"c.yaml": component_yaml("c", "payments")})
    first_repo.commit()
    assert refresh(first).orphaned == 1
    report = refresh(second)
    assert report.added == 0 and len(_conflicts(second)) == 1
    assert Entity.objects.get(ref=REF).location_id == first.pk


def test_a_ref_defined_twice_in_one_location_moves_to_the_other_file_once_the_first_drops_it(git_repo):
    git_repo.write({
        "a.yaml": component_yaml("a", "payments", description="in a"),
        "b.yaml": component_yaml("a", "payments", description="in b"),
    })
    git_repo.commit()
    location = register(git_repo)
    refresh(location)
    [error] = _conflicts(location)
    assert error.path == "b.yaml" and error.message == f"{REF} is already defined in a.yaml document 0"
    refresh(location)  # a.yaml skipped, b.yaml read again: the conflict is found against the stored entity
    [error] = _conflicts(location)
    assert error.path == "b.yaml" and error.message == f"{REF} is already defined in a.yaml"

    git_repo.write({"a.yaml": component_yaml("c", "payments")})
    git_repo.commit()
    report = refresh(location)
    assert (report.added, report.updated, report.orphaned, report.errors) == (1, 1, 0, 0), report.error_list
    entity = Entity.objects.get(ref=REF)
    assert entity.source_path == "b.yaml" and entity.data["metadata"]["description"] == "in b"


def test_an_unchanged_file_without_conflict_is_still_skipped(two_locations, monkeypatch):
    _, second, _ = two_locations
    skipped = []
    process_tree = services.process_tree

    def recording(*args, **kwargs):
        result = process_tree(*args, **kwargs)
        skipped.append(set(result.skipped))
        return result

    monkeypatch.setattr(services, "process_tree", recording)
    refresh(second)
    refresh(second)
    assert skipped == [set(), {"own.yaml"}]
    assert set(Location.objects.get(pk=second.pk).fingerprints) == {"own.yaml"}
    assert len(_conflicts(second)) == 1


def test_a_group_the_directory_took_over_comes_back_once_the_directory_drops_it(git_repo, tmp_path, settings):
    settings.CATALOG_ORPHAN_STRATEGY = "delete"
    group = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: platform}\nspec: {type: team, children: []}\n"
    git_repo.write({"group.yaml": group})
    git_repo.commit()
    team_location = register(git_repo)
    assert refresh(team_location).added == 1
    directory_repo = GitRepo.with_files(tmp_path, "directory", {"org.yaml": group})
    directory = register(directory_repo, directory=True)
    refresh(directory)
    assert Entity.objects.get(ref="group:default/platform").location_id == directory.pk
    refresh(team_location)  # group.yaml unchanged: its conflict, written by the directory, stays
    [error] = _conflicts(team_location)
    assert "supplied by the organisation's directory" in error.message

    directory_repo.write({"org.yaml": component_yaml("portal", "platform")})
    directory_repo.commit()
    assert refresh(directory).removed == 1
    report = refresh(team_location)
    assert (report.added, report.errors) == (1, 0), report.error_list
    assert Entity.objects.get(ref="group:default/platform").location_id == team_location.pk
