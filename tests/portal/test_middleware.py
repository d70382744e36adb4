"""Requests carrying NUL characters are refused with 400 naming where, before any view or query sees them."""
import json

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    return client


def test_query_parameters_with_nul_are_refused_on_pages_and_apis(client, api, world):
    client.force_login(world.alice)
    page = client.get("/catalog/", {"q": "pay\x00ments"})
    assert page.status_code == 400 and "query parameter 'q'" in page.content.decode()
    backstage = api.get("/api/catalog/entities/by-query", {"filter": "metadata.name=\x00"})
    assert backstage.status_code == 400
    assert backstage.json()["error"]["name"] == "InputError" and "'filter'" in backstage.json()["error"]["message"]
    assert api.get("/api/catalog/entities/by-name/component/default/x%00y").status_code == 400
    assert "'search'" in api.get("/api/clusters/", {"search": "\x00"}).json()["detail"]


def test_json_and_form_bodies_with_nul_are_refused_naming_the_field(client, api, world):
    response = api.post("/api/changesets/", {"message": "m", "files_to_write": {"a.yaml": "x\x00"}}, format="json")
    assert response.status_code == 400 and "'files_to_write.a.yaml'" in response.json()["detail"]
    client.force_login(world.alice)
    response = client.post("/catalog/locations/add/", {"target": "https://git.example.net/x\x00.git"})
    assert response.status_code == 400 and "form field 'target'" in response.content.decode()


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api):
    body = json.dumps({"document": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                                    "metadata": {"name": "x", "description": "a \\u0000 b"}}})
    assert "\\\\u0000" in body
    response = api.post("/api/entities/validate/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["valid"] is False  # the validator's answer, not the guard's


def test_a_malformed_multipart_body_is_left_to_the_view(api):
    response = api.generic("POST", "/api/apps/", b"--x\r\n", content_type="multipart/form-data")  # no boundary
    assert response.status_code in (400, 415) and "detail" in response.json()  # DRF's answer, not Django's bare 400
