import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.services import api_token_rotate


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["team-list", "auditevent-list", "cluster-list", "api-me"])
def test_unauthenticated_requests_are_refused(api, url_name):
    assert api.get(reverse(url_name)).status_code in (401, 403)


@pytest.mark.django_db
def test_bad_token_is_refused(api, world):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get(reverse("api-me")).status_code == 401


@pytest.mark.django_db
def test_token_auth_identifies_user(api, world):
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_rotate(actor=world.carol)}")
    me = api.get(reverse("api-me")).json()
    assert me == {"username": "carol", "is_platform_admin": False, "teams": [{"slug": "payments", "role": "admin"}]}


@pytest.mark.django_db
def test_rotated_token_replaces_old(api, world):
    old = api_token_rotate(actor=world.alice)
    new = api_token_rotate(actor=world.alice)
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get(reverse("api-me")).status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api.get(reverse("api-me")).status_code == 200


@pytest.mark.django_db
def test_schema_is_valid_openapi_3(api, world):
    from openapi_spec_validator import validate

    api.force_authenticate(world.alice)
    response = api.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    spec = json.loads(response.content)
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert "/api/clusters/" in spec["paths"] and "/api/teams/" in spec["paths"]


@pytest.mark.django_db
def test_schema_lists_exactly_the_methods_each_path_serves(api, world):
    """A method the schema leaves out answers 405; a create it lists is routed (not 404 or 405), even for an admin."""
    import re

    api.force_authenticate(world.admin)
    spec = json.loads(api.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    assert "post" not in spec["paths"]["/api/audit-events/"]
    assert set(spec["paths"]["/api/locations/{id}/"]) & {"get", "put", "patch", "delete"} == {"get", "delete"}
    wrong = []
    for path, operations in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "999999", path)
        for method in ("get", "post", "put", "patch", "delete"):
            code = getattr(api, method)(url, {}, format="json").status_code
            if method not in operations and code != 405:
                wrong.append(f"{method.upper()} {path}: {code}, not listed")
            elif method in operations and "{" not in path and code in (404, 405):
                wrong.append(f"{method.upper()} {path}: {code}, listed")
    assert not wrong, wrong


@pytest.mark.django_db
def test_api_docs_page_served_offline(api, world):
    api.force_authenticate(world.alice)
    response = api.get(reverse("api-docs"))
    assert response.status_code == 200
    assert b"swagger-ui" in response.content and b"cdn" not in response.content.lower()


@pytest.mark.django_db
def test_only_platform_admin_creates_team(api, world):
    api.force_authenticate(world.carol)
    assert api.post(reverse("team-list"), {"slug": "x", "name": "X"}, format="json").status_code == 403
    api.force_authenticate(world.admin)
    bad = api.post(reverse("team-list"), {"slug": "Not Valid", "name": ""}, format="json")
    assert bad.status_code == 400 and set(bad.json()) >= {"slug", "name"}
    dup = api.post(reverse("team-list"), {"slug": "payments", "name": "Again"}, format="json")
    assert dup.status_code == 400 and "slug" in dup.json()
    ok = api.post(reverse("team-list"), {"slug": "data", "name": "Data"}, format="json")
    assert ok.status_code == 201


@pytest.mark.django_db
def test_team_members_endpoint(api, world):
    url = reverse("team-members", kwargs={"slug": "payments"})
    api.force_authenticate(world.alice)
    assert api.post(url, {"username": "victor", "role": "member"}, format="json").status_code == 403
    api.force_authenticate(world.carol)
    assert api.post(url, {"username": "ghost", "role": "member"}, format="json").json() == {"username": ["No user named 'ghost'."]}
    assert api.post(url, {"username": "victor", "role": "boss"}, format="json").status_code == 400
    response = api.post(url, {"username": "victor", "role": "member"}, format="json")
    assert response.status_code == 200
    assert {"username": "victor", "role": "member"} in response.json()["memberships"]


@pytest.mark.django_db
def test_slug_cannot_change(api, world):
    api.force_authenticate(world.carol)
    response = api.patch(reverse("team-detail", kwargs={"slug": "payments"}), {"slug": "renamed"}, format="json")
    assert response.status_code == 400 and "slug" in response.json()
    response = api.patch(reverse("team-detail", kwargs={"slug": "payments"}), {"description": "Money"}, format="json")
    assert response.status_code == 200 and response.json()["description"] == "Money"


@pytest.mark.django_db
def test_audit_api_is_restricted(api, world):
    from tests.factories import make_cluster

    make_cluster(world.search, name="hidden-one", actor=world.bob)
    api.force_authenticate(world.alice)
    body = json.dumps(api.get(reverse("auditevent-list")).json())
    assert "hidden-one" not in body
    api.force_authenticate(world.bob)
    assert "hidden-one" in json.dumps(api.get(reverse("auditevent-list")).json())
