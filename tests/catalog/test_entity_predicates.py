"""Predicate queries over entities: ``POST /entities/by-query`` and ``POST /entity-facets`` (Backstage's
``queryEntitiesByPredicate`` and ``getEntityFacetsByPredicate``), and the ``after`` cursor of ``GET /entities``."""
from __future__ import annotations

import base64
import json

import pytest
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Entity

pytestmark = pytest.mark.django_db

BY_QUERY = "/api/catalog/entities/by-query"
FACETS = "/api/catalog/entity-facets"


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world.victor)
    return client


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["metadata"]["name"] for item in response.json()["items"])


COMPONENT = {"kind": "component"}


@pytest.mark.parametrize("query, expected", [
    (COMPONENT, ["checkout", "indexer", "ledger"]),
    ({"kind": "Component", "spec.type": "SERVICE"}, ["checkout", "indexer"]),
    ({"$any": [{"metadata.name": "ledger"}, {"metadata.tags": "java"}]}, ["indexer", "ledger"]),
    ({"spec.lifecycle": {"$in": ["experimental", "deprecated"]}}, ["ledger"]),
    ({"metadata.tags": {"$in": ["java", "python"]}}, ["checkout", "indexer"]),
    ({"metadata.name": {"$hasPrefix": "LED"}}, ["ledger"]),
    ({"metadata.description": {"$hasPrefix": "takes the"}}, ["checkout"]),
    ({"metadata.tags": {"$hasPrefix": "jav"}}, ["indexer"]),
    # a path an entity lacks: $not and $exists: false match it (NULL in SQL must not drop the row)
    ({"$all": [COMPONENT, {"$not": {"spec.system": "shop"}}]}, ["indexer", "ledger"]),
    ({"$all": [COMPONENT, {"spec.system": {"$exists": False}}]}, ["indexer", "ledger"]),
    ({"$all": [COMPONENT, {"spec.system": {"$exists": True}}]}, ["checkout"]),
    ({"$all": [COMPONENT, {"$not": {"metadata.description": {"$hasPrefix": "takes"}}}]}, ["indexer", "ledger"]),
    ({"relations.ownedBy": "group:default/search"}, ["indexer"]),
    ({"relations.ownedBy": {"$hasPrefix": "group:default/pay"}}, ["checkout", "ledger", "shop"]),
    ({"$all": [COMPONENT, {"relations.partOf": {"$exists": True}}]}, ["checkout"]),
    ({"$any": []}, []),
    ({"$not": {"$all": []}}, []),
    ({"$all": [COMPONENT, {"$not": {"$any": []}}]}, ["checkout", "indexer", "ledger"]),
])
def test_a_predicate_selects_what_backstage_would(api, catalog, query, expected):
    assert names(api.post(BY_QUERY, {"query": query, "limit": 100}, format="json")) == expected


def test_no_predicate_and_an_empty_all_are_every_visible_entity(api, catalog):
    total = api.get(BY_QUERY, {"limit": 1}).json()["totalItems"]
    assert total > 5
    assert api.post(BY_QUERY, {"limit": 1}, format="json").json()["totalItems"] == total
    assert api.post(BY_QUERY, {"query": {"$all": []}, "limit": 1}, format="json").json()["totalItems"] == total


def test_pages_follow_a_cursor_the_client_routes_back_to_the_post(api, catalog):
    first = api.post(BY_QUERY, {"query": COMPONENT, "limit": 1, "orderBy": [{"field": "metadata.name", "order": "desc"}],
                                "fields": ["metadata.name", "kind"]}, format="json").json()
    # recorded shape of Backstage's answer
    assert first == {"items": [{"kind": "Component", "metadata": {"name": "ledger"}}], "totalItems": 3,
                     "pageInfo": {"nextCursor": first["pageInfo"]["nextCursor"]}}
    # @backstage/catalog-client sends a cursor back to the POST when it decodes to an object with "query"
    assert "query" in json.loads(base64.urlsafe_b64decode(first["pageInfo"]["nextCursor"]))
    second = api.post(BY_QUERY, {"cursor": first["pageInfo"]["nextCursor"], "limit": 1}, format="json").json()
    assert [i["metadata"]["name"] for i in second["items"]] == ["indexer"] and second["pageInfo"]["prevCursor"]
    third = api.post(BY_QUERY, {"cursor": second["pageInfo"]["nextCursor"], "limit": 5}, format="json").json()
    assert [i["metadata"]["name"] for i in third["items"]] == ["checkout"] and "nextCursor" not in third["pageInfo"]
    excluded = api.post(BY_QUERY, {"query": COMPONENT, "totalItems": "exclude"}, format="json").json()
    assert "totalItems" not in excluded and len(excluded["items"]) == 3


def test_full_text_and_predicate_combine(api, catalog):
    body = {"query": COMPONENT, "fullTextFilter": {"term": "index", "fields": ["metadata.description"]}}
    assert names(api.post(BY_QUERY, body, format="json")) == ["indexer"]
    assert names(api.post(BY_QUERY, {"query": {"kind": "group"}, "fullTextFilter": {"term": "money"}}, format="json")) == []


@pytest.mark.parametrize("body, message", [
    ({"query": {"$bogus": 1}}, "query: $bogus: unknown operator"),
    ({"query": {"metadata.name": {"$regex": "x"}}}, "query: metadata.name: $regex with str is not a matcher"),
    ({"query": {"relations": {"$contains": {"type": "ownedBy"}}}}, "query: relations: $contains is not supported in entity queries"),
    ({"query": {"metadata.uid": {"$hasPrefix": "0"}}}, "query: metadata.uid: $hasPrefix is not supported"),
    ({"query": []}, "query: the predicate: an object"),
    ({"orderBy": [{"field": "metadata.name", "order": "up"}]}, "orderBy[0] must be"),
    ({"orderBy": [{"field": "spec.definition"}]}, "Cannot order by 'spec.definition'"),
    ({"fields": "metadata.name"}, "fields must be an array of strings"),
    ({"fullTextFilter": {"term": 3}}, "fullTextFilter must be an object with a string term"),
    ({"limit": -1}, "limit must not be negative"),
])
def test_a_query_wayline_cannot_read_is_refused_naming_where(api, catalog, body, message):
    response = api.post(BY_QUERY, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["name"] == "InputError"
    assert response.json()["error"]["message"].startswith(message), response.json()


def test_a_tampered_cursor_query_is_checked_like_the_first_page(api, catalog):
    state = {"filter": [], "query": {"$nope": []}, "order": [], "term": "", "term_fields": [], "offset": 0}
    cursor = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
    response = api.post(BY_QUERY, {"cursor": cursor}, format="json")
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("cursor query: $nope")


def test_facets_by_predicate(api, catalog):
    response = api.post(FACETS, {"facets": ["kind", "spec.type"], "query": COMPONENT}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"facets": {"kind": [{"value": "Component", "count": 3}],
                                          "spec.type": [{"value": "service", "count": 2}, {"value": "library", "count": 1}]}}
    tags = api.post(FACETS, {"facets": ["metadata.tags"], "query": {"spec.type": "service"}}, format="json").json()
    assert tags["facets"]["metadata.tags"] == [{"value": "java", "count": 1}, {"value": "payments", "count": 1},
                                               {"value": "python", "count": 1}]
    for body, message in (({"query": COMPONENT}, "facets must name"), ({"facets": ["kind"], "query": {"$x": 1}}, "query: $x")):
        refused = api.post(FACETS, body, format="json")
        assert refused.status_code == 400 and message in refused.json()["error"]["message"], refused.content


def test_a_private_entity_is_neither_matched_nor_counted(world, catalog):
    services.entity_settings_update(actor=world.alice, obj=Entity.objects.get(name="checkout"), visibility="private")
    bob = APIClient()
    bob.force_authenticate(world.bob)
    found = bob.post(BY_QUERY, {"query": {"metadata.name": {"$hasPrefix": "check"}}}, format="json").json()
    assert found["items"] == [] and found["totalItems"] == 0
    facets = bob.post(FACETS, {"facets": ["kind"], "query": COMPONENT}, format="json").json()
    assert facets["facets"]["kind"] == [{"value": "Component", "count": 2}]
    # relations stated by the private entity answer for nobody who cannot see it
    part_of = bob.post(BY_QUERY, {"query": {"relations.hasPart": {"$hasPrefix": "component:default/che"}}}, format="json")
    assert names(part_of) == []
    alice = APIClient()
    alice.force_authenticate(world.alice)
    assert names(alice.post(BY_QUERY, {"query": {"relations.hasPart": "component:default/checkout"}}, format="json")) == ["shop"]


def test_nobody_is_refused(catalog):
    for url, body in ((BY_QUERY, {"query": COMPONENT}), (FACETS, {"facets": ["kind"]})):
        assert APIClient().post(url, body, format="json").status_code in (401, 403)


def test_predicate_queries_take_a_constant_number_of_queries(api, catalog, django_assert_max_num_queries):
    query = {"$all": [COMPONENT, {"$any": [{"metadata.tags": {"$in": ["java", "python"]}},
                                           {"relations.ownedBy": {"$hasPrefix": "group:"}}]},
                      {"$not": {"spec.system": {"$exists": True}}}]}
    with django_assert_max_num_queries(8):
        assert names(api.post(BY_QUERY, {"query": query, "limit": 100}, format="json")) == ["indexer", "ledger"]
    with django_assert_max_num_queries(8):
        assert api.post(FACETS, {"facets": ["kind", "spec.type"], "query": query}, format="json").status_code == 200


def test_get_entities_pages_with_after_from_the_link_header(api, catalog):
    url = "/api/catalog/entities"
    seen = []
    response = api.get(url, {"filter": "kind=component", "order": "asc:metadata.name", "limit": 2})
    pages = 0
    while True:
        assert response.status_code == 200, response.content
        seen += [e["metadata"]["name"] for e in response.json()]
        pages += 1
        link = response.headers.get("Link")
        if not link:
            break
        assert link.endswith('>; rel="next"') and link.startswith("</api/catalog/entities?")
        response = api.get(link[1:link.index(">")])
    assert seen == ["checkout", "indexer", "ledger"] and pages == 2
    assert "Link" not in api.get(url, {"filter": "kind=component", "limit": 3}).headers
    for bad in ("x", base64.urlsafe_b64encode(b'{"offset": -1, "limit": 2}').decode(),
                base64.urlsafe_b64encode(b'{"offset": 1}').decode()):
        refused = api.get(url, {"after": bad})
        assert refused.status_code == 400 and refused.json()["error"]["message"] == "Malformed after cursor"


# --- found by a hostile review, kept as regressions -------------------------------------------------------------------


@pytest.mark.parametrize("body, message", [
    ({"query": {"spec.-1": "x"}}, "query: spec.-1: a field path segment that is a number"),
    ({"query": {"spec" + ".a" * 1000: "x"}}, "query: spec.a.a"),
    ({"query": {"metadata.name": "x" * 50001}}, "query: metadata.name: a value longer than 1000 characters"),
    ({"query": {"metadata.name": {"$hasPrefix": "x" * 1001}}}, "query: metadata.name: a value longer than 1000"),
    ({"query": {"metadata.name": {"$in": [str(i) for i in range(992)]}}}, "query: more than 100 conditions"),
    ({"query": {"$any": [{"kind": str(i)} for i in range(990)]}}, "query: more than 100 conditions"),
    ({"fullTextFilter": {"term": "x", "fields": ["spec.-1"]}}, "fullTextFilterFields: spec.-1: a field path segment"),
])
def test_inputs_a_database_cannot_take_are_refused_before_they_reach_it(api, catalog, body, message):
    response = api.post(BY_QUERY, body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["message"].startswith(message), response.json()["error"]["message"][:200]


def test_filters_and_cursors_are_held_to_the_same_bounds(api, catalog):
    assert api.get(BY_QUERY, {"filter": "spec.-1=x"}).status_code == 400
    assert api.get("/api/catalog/entities", {"filter": f"metadata.name={'x' * 1001}"}).status_code == 400
    state = {"filter": ["spec.-1=x"], "order": [], "term": "", "term_fields": [], "offset": 0}
    for cursor in (base64.urlsafe_b64encode(json.dumps(state).encode()).decode(),
                   base64.urlsafe_b64encode(b"[" * 100000).decode()[:60000]):
        assert api.get(BY_QUERY, {"cursor": cursor}).status_code == 400
        assert api.post(BY_QUERY, {"cursor": cursor}, format="json").status_code == 400
    long_path = api.post("/api/catalog/locations/by-query", {"query": {"a" + ".a" * 32000: "x"}}, format="json")
    assert long_path.status_code == 400 and "field path" in long_path.json()["error"]["message"]


def test_many_relation_conditions_and_repeated_facets_cost_no_more_queries(api, catalog, django_assert_max_num_queries):
    many = {"relations.ownedBy": {"$in": [f"group:default/g{i}" for i in range(60)] + ["group:default/search"]}}
    with django_assert_max_num_queries(8):
        assert names(api.post(BY_QUERY, {"query": many}, format="json")) == ["indexer"]
    with django_assert_max_num_queries(6):
        assert api.post(FACETS, {"facets": ["kind"] * 500}, format="json").json()["facets"]["kind"]
    refused = api.post(FACETS, {"facets": [f"spec.f{i}" for i in range(21)]}, format="json")
    assert refused.status_code == 400 and "at most 20" in refused.json()["error"]["message"]


def test_a_page_of_nothing_counts_right_and_leads_nowhere(api, catalog):
    for body in ({"query": COMPONENT, "limit": 0}, {"limit": 0}):
        page = api.post(BY_QUERY, body, format="json").json()
        assert page["items"] == [] and "nextCursor" not in page["pageInfo"]
        assert page["totalItems"] == (3 if "query" in body else api.get(BY_QUERY).json()["totalItems"])
    assert "Link" not in api.get("/api/catalog/entities", {"limit": 0}).headers


@pytest.mark.parametrize("query", [
    {"metadata.uid": {"$exists": False}},
    {"metadata.tags": "python|payments"},
    {"metadata.tags": {"$hasPrefix": "python|pay"}},
])
def test_predicates_that_matched_wrongly_match_nothing(api, catalog, query):
    assert names(api.post(BY_QUERY, {"query": query}, format="json")) == []
