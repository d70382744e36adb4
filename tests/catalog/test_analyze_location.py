"""Backstage's ``POST /api/catalog/analyze-location``: a dry run of registering a location, in Backstage's shapes."""
from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from catalog import services
from catalog.api.analyze import repository_name
from catalog.models import Location
from portal.models import AuditEvent, MembershipRole
from portal.services import team_membership_set
from tests.catalog.conftest import GitRepo, component_yaml
from tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/api/catalog/analyze-location"


@pytest.fixture
def api():
    return APIClient()


def analyze(api, user, location, **extra):
    api.force_authenticate(user)
    return api.post(URL, {"location": location, **extra}, format="json")


def test_a_repository_with_a_catalog_file_answers_its_entity_and_whether_it_is_registered(api, world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "shop", {"catalog-info.yaml": component_yaml("analyzed", "payments")})
    audited = AuditEvent.objects.count()
    response = analyze(api, world.alice, {"type": "url", "target": repo.url})
    assert response.status_code == 200, response.content
    # Backstage's AnalyzeLocationResponse (@backstage/plugin-catalog-common), recorded as Wayline answers it.
    assert response.json() == {
        "existingEntityFiles": [{
            "location": {"type": "url", "target": f"{repo.url}/blob/HEAD/catalog-info.yaml"},
            "isRegistered": False,
            "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                       "metadata": {"name": "analyzed", "description": "analyzed component", "tags": [],
                                    "namespace": "default"},
                       "spec": {"type": "service", "lifecycle": "production", "owner": "payments"}},
        }],
        "generateEntities": [],
    }
    assert not Location.objects.exists() and AuditEvent.objects.count() == audited  # a dry run stores nothing

    services.location_register(actor=world.alice, type="git", target=repo.url, owner_team=world.payments, refresh=False)
    response = analyze(api, world.alice, {"type": "url", "target": f"{repo.url}/blob/HEAD/catalog-info.yaml"})
    assert response.status_code == 200, response.content
    assert [item["isRegistered"] for item in response.json()["existingEntityFiles"]] == [True]


def test_another_teams_private_location_is_not_revealed_as_registered(api, world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "shop", {"catalog-info.yaml": component_yaml("analyzed", "search")})
    location = services.location_register(actor=world.bob, type="git", target=repo.url, owner_team=world.search,
                                          visibility="private", refresh=False)
    hidden = analyze(api, world.alice, {"type": "url", "target": repo.url})
    assert hidden.status_code == 200, hidden.content
    assert [item["isRegistered"] for item in hidden.json()["existingEntityFiles"]] == [False]  # like a missing one
    Location.objects.filter(pk=location.pk).update(visibility="public")
    seen = analyze(api, world.alice, {"type": "url", "target": repo.url})
    assert [item["isRegistered"] for item in seen.json()["existingEntityFiles"]] == [True]


def test_a_location_registered_for_one_file_registers_only_that_files_entity(api, world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "shop", {"a.yaml": component_yaml("a", "payments"),
                                                 "b.yaml": component_yaml("b", "payments")})
    services.location_register(actor=world.alice, type="git", target=repo.url, path="a.yaml", owner_team=world.payments,
                               refresh=False)
    response = analyze(api, world.alice, {"type": "url", "target": repo.url}, catalogFilename="*.yaml")
    assert response.status_code == 200, response.content
    assert [(item["entity"]["metadata"]["name"], item["location"]["target"], item["isRegistered"])
            for item in response.json()["existingEntityFiles"]] == [
        ("a", f"{repo.url}/blob/HEAD/a.yaml", True), ("b", f"{repo.url}/blob/HEAD/b.yaml", False)]


def test_catalog_filename_names_the_file_when_the_target_names_none(api, world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "shop", {"catalog.yaml": component_yaml("renamed", "payments")})
    found = analyze(api, world.alice, {"type": "url", "target": repo.url}, catalogFilename="catalog.yaml")
    assert found.status_code == 200, found.content
    assert [item["location"] for item in found.json()["existingEntityFiles"]] == [
        {"type": "url", "target": f"{repo.url}/blob/HEAD/catalog.yaml"}]
    # Without it the default catalog-info.yaml is looked for; a target naming its file keeps that file.
    default = analyze(api, world.alice, {"type": "url", "target": repo.url})
    assert default.json()["existingEntityFiles"] == [] and len(default.json()["generateEntities"]) == 1
    named = analyze(api, world.alice, {"type": "url", "target": f"{repo.url}/blob/main/catalog.yaml"},
                    catalogFilename="catalog-info.yaml")
    assert [item["location"]["target"] for item in named.json()["existingEntityFiles"]] == [
        f"{repo.url}/blob/main/catalog.yaml"]


def test_a_repository_without_a_catalog_file_gets_a_component_to_generate(api, world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "Shop_Front+Web.git", {"README.md": "# shop\n"})
    response = analyze(api, world.alice, {"type": "url", "target": repo.url})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "existingEntityFiles": [],
        "generateEntities": [{
            "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "shop_front-web"},
                       "spec": {"type": "other", "lifecycle": "unknown"}},
            "fields": [{"field": "spec.owner", "state": "analysisSuggestedValue", "value": "group:default/payments",
                        "description": "The team payments would own this location, so it is suggested as the owner."}],
        }],
    }
    # A platform admin may choose another team; choosing none leaves the owner to the user.
    chosen = analyze(api, world.admin, {"type": "url", "target": repo.url}, team="search")
    assert chosen.json()["generateEntities"][0]["fields"][0]["value"] == "group:default/search"
    unchosen = analyze(api, world.admin, {"type": "url", "target": repo.url})
    assert unchosen.json()["generateEntities"][0]["fields"] == [
        {"field": "spec.owner", "state": "needsUserInput", "value": None,
         "description": "No team was chosen for this location; say which group owns the component."}]
    assert not Location.objects.exists()


def test_a_directory_on_the_server_is_analysed_as_a_file_location_by_a_platform_admin(api, world, tmp_path):
    directory = tmp_path / "svc"
    directory.mkdir()
    (directory / "catalog-info.yaml").write_text(component_yaml("on-disk", "payments"))
    response = analyze(api, world.admin, {"type": "file", "target": str(directory)}, team="payments")
    assert response.status_code == 200, response.content
    assert [item["location"] for item in response.json()["existingEntityFiles"]] == [
        {"type": "file", "target": f"{directory}/catalog-info.yaml"}]
    # A name with nothing usable left is asked for, not made up.
    nameless = tmp_path / "___"
    nameless.mkdir()
    generated = analyze(api, world.admin, {"type": "file", "target": str(nameless)}).json()["generateEntities"][0]
    assert generated["entity"]["metadata"] == {}
    assert [(f["field"], f["state"], f["value"]) for f in generated["fields"]] == [
        ("metadata.name", "needsUserInput", None), ("spec.owner", "needsUserInput", None)]
    refused = analyze(api, world.alice, {"type": "file", "target": str(directory)})  # the server's disk: admins only
    assert refused.status_code == 403 and refused.json()["error"]["name"] == "NotAllowedError"


def test_an_invalid_catalog_file_is_an_input_error_not_a_missing_one(api, world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "shop", {"catalog-info.yaml": component_yaml("not valid", "payments")})
    response = analyze(api, world.alice, {"type": "url", "target": repo.url})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["name"] == "InputError" and body["response"] == {"statusCode": 400}
    assert body["error"]["message"].startswith("catalog-info.yaml document 0 line 4: metadata.name:")
    unparsable = GitRepo.with_files(tmp_path, "broken", {"catalog-info.yaml": "kind: [unclosed\n"})
    response = analyze(api, world.alice, {"type": "url", "target": unparsable.url})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("catalog-info.yaml")


@pytest.mark.parametrize("body, field", [
    ({}, "location"),
    ({"location": "https://git.example.net/shop.git"}, "location"),
    ({"location": {"type": "gitlab", "target": "https://git.example.net/shop.git"}}, "location.type"),
    ({"location": {"type": "url"}}, "location.target"),
    ({"location": {"type": "url", "target": ""}}, "location.target"),
    ({"location": {"type": "url", "target": "https://git.example.net/shop.git"}, "catalogFilename": 5}, "catalogFilename"),
    ({"location": {"type": "url", "target": "https://git.example.net/shop.git"}, "team": ["payments"]}, "team"),
])
def test_a_malformed_body_is_an_input_error_naming_the_field(api, world, body, field):
    api.force_authenticate(world.alice)
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["name"] == "InputError" and error["message"].startswith(f"{field} must"), error


def test_a_body_that_is_not_an_object_is_refused(api, world):
    api.force_authenticate(world.alice)
    response = api.post(URL, json.dumps(["x"]), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The request body must be a JSON object, not an array"


def test_only_who_may_register_a_location_may_analyse_one(api, world, tmp_path):
    repo = GitRepo.with_files(tmp_path, "shop", {"catalog-info.yaml": component_yaml("analyzed", "payments")})
    viewer = make_user("viewer")
    team_membership_set(actor=world.admin, team=world.payments, user=viewer, role=MembershipRole.VIEWER)
    for user in (world.victor, viewer):  # a user of no team, a team's viewer: they register nothing
        refused = analyze(APIClient(), user, {"type": "url", "target": repo.url})
        assert refused.status_code == 403, (user, refused.content)
        assert refused.json()["error"]["name"] == "NotAllowedError" and "analyzed" not in refused.content.decode()
    anonymous = APIClient().post(URL, {"location": {"type": "url", "target": repo.url}}, format="json")
    assert anonymous.status_code in (401, 403) and "analyzed" not in anonymous.content.decode()
    # Another team's slug: as registering for it, refused before the repository is read.
    other = analyze(api, world.bob, {"type": "url", "target": repo.url}, team="payments")
    assert other.status_code == 400 and "owns this location" in other.json()["error"]["message"]
    assert "analyzed" not in other.content.decode()
    assert analyze(APIClient(), world.bob, {"type": "url", "target": repo.url}).status_code == 200  # his own team


@pytest.mark.parametrize("target, name", [
    ("https://github.com/acme/Payments-API.git", "payments-api"),
    ("git@github.com:acme/shop.git", "shop"),
    ("git@git.example.net:ledger.GIT", "ledger"),
    ("https://git.example.net/acme/web site/", "web-site"),
    ("/srv/catalogs/" + "x" * 70, "x" * 63),
    ("https://git.example.net/acme/" + "a" * 62 + "_b", "a" * 62),  # cut at 63, then no trailing separator
    ("/srv/___", ""),
])
def test_repository_name(target, name):
    assert repository_name(target) == name
