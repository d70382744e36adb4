"""A JSON body nested deeper than the API takes is a 400 naming the limit, never a 500 (RecursionError)."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal.api.parsers import MAX_DEPTH, loads, within_depth

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/catalog/entities/by-query",
    "/api/catalog/entity-facets",
    "/api/catalog/entities/by-refs",
    "/api/catalog/analyze-location",
    "/api/catalog/locations",
    "/api/locations/",
]


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("depth", [100_000, 500, MAX_DEPTH + 1])
def test_a_body_nested_too_deeply_is_a_400_naming_the_limit(world, url, depth):
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.post(url, nested(depth), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert f"nested deeper than {MAX_DEPTH} levels" in response.content.decode()


def test_a_nul_check_of_a_body_nested_too_deeply_refuses_it_without_walking_it(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    body = '{"a":' * 5000 + '"x\\u0000"' + "}" * 5000
    response = client.post("/api/catalog/entities/by-query", body, content_type="application/json")
    assert response.status_code == 400 and "NUL characters" in response.content.decode()


def test_the_depth_limit_is_exact():
    assert loads(nested(MAX_DEPTH)) is not None
    with pytest.raises(ValueError, match="nested deeper"):
        loads(nested(MAX_DEPTH + 1))
    with pytest.raises(ValueError, match="nested deeper"):
        loads(nested(200_000))
    assert within_depth({"a": [{"b": [1, 2, {}]}]}, limit=5) and not within_depth({"a": [{"b": [1, 2, {}]}]}, limit=4)


def test_a_body_at_the_limit_reaches_the_view(world):
    client = APIClient()
    client.force_authenticate(world.alice)
    response = client.post("/api/catalog/entities/by-refs", nested(MAX_DEPTH), content_type="application/json")
    assert response.status_code == 400 and "nested deeper" not in response.content.decode()  # the view's own refusal
