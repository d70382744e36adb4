"""The Wayline catalog API and the Backstage-compatible API under /api/catalog/."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import readcache, services
from catalog.models import Entity, Location
from portal.services import api_token_rotate

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_entities_list_filter_search_and_get(api, world, catalog):
    api.force_authenticate(world.victor)
    listing = api.get("/api/entities/", {"kind": "Component", "owner": "payments"}).json()
    assert sorted(item["name"] for item in listing["results"]) == ["checkout", "ledger"]
    found = api.get("/api/entities/", {"q": "money"}).json()
    assert [item["name"] for item in found["results"]] == ["checkout"]
    uid = found["results"][0]["uid"]
    detail = api.get(f"/api/entities/{uid}/").json()
    assert detail["data"]["spec"]["owner"] == "payments" and detail["owner_team"] == "payments"
    stamp = Location.objects.get(pk=detail["location"]).entities_processed
    assert stamp is not None
    assert detail["processed"] == found["results"][0]["processed"] == stamp.isoformat().replace("+00:00", "Z")


def test_entity_list_rows_are_what_the_serializer_fields_give(api, world, catalog):
    """The list serializer's direct to_representation matches DRF's field-by-field one, field for field."""
    from django.utils import timezone
    from rest_framework import serializers

    from catalog.api.serializers import EntityListSerializer

    Entity.objects.filter(name="ledger").update(orphaned=timezone.now())  # a set datetime as well as None ones
    checked = 0
    for entity in Entity.objects.select_related("owner_team", "location"):
        fast = EntityListSerializer(entity).data
        by_fields = serializers.ModelSerializer.to_representation(EntityListSerializer(), entity)
        assert dict(fast) == dict(by_fields), entity.ref
        checked += 1
    assert checked >= 5 and Entity.objects.filter(owner_team__isnull=True).exists()


def test_entities_filter_by_unknown_value_is_empty_not_an_error(api, world, catalog):
    api.force_authenticate(world.victor)
    for params in ({"type": "no-such-type"}, {"lifecycle": "no-such-lifecycle"}, {"namespace": "no-such-namespace"}):
        response = api.get("/api/entities/", params)
        assert response.status_code == 200, response.content
        assert response.json()["count"] == 0 and response.json()["results"] == []
    listing = api.get("/api/entities/", {"type": "library"}).json()
    assert [item["name"] for item in listing["results"]] == ["ledger"]


def test_entity_settings_change_only_by_owning_team(api, world, catalog):
    checkout = Entity.objects.get(name="checkout")
    url = f"/api/entities/{checkout.uid}/"
    api.force_authenticate(world.bob)
    assert api.patch(url, {"visibility": "private"}, format="json").status_code == 403
    api.force_authenticate(world.alice)
    response = api.patch(url, {"visibility": "private", "name": "renamed"}, format="json")
    assert response.status_code == 200 and response.json()["visibility"] == "private"
    checkout.refresh_from_db()
    assert checkout.name == "checkout"  # catalog fields come only from git
    api.force_authenticate(world.bob)
    assert api.get(url).status_code == 404


def test_validate_document_returns_ingestion_errors(api, world):
    api.force_authenticate(world.victor)
    bad = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x y"},
           "spec": {"type": "service", "lifecycle": "production", "owner": "a"}}
    response = api.post("/api/entities/validate/", {"document": bad}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "metadata.name"
    good = {**bad, "metadata": {"name": "x-y"}}
    assert api.post("/api/entities/validate/", {"document": good}, format="json").json() == {"valid": True, "errors": []}


def test_locations_register_refresh_delete_with_permissions(api, world, git_repo, django_capture_on_commit_callbacks):
    from tests.catalog.conftest import component_yaml

    git_repo.write({"catalog-info.yaml": component_yaml("api-made", "payments")})
    git_repo.commit()
    api.force_authenticate(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/locations/", {"target": git_repo.url, "owner_team": "payments"}, format="json")
    assert created.status_code == 201, created.content
    location_id = created.json()["id"]
    assert Entity.objects.filter(name="api-made").exists()
    assert api.get(f"/api/locations/{location_id}/errors/").json() == []
    api.force_authenticate(world.bob)
    assert api.post(f"/api/locations/{location_id}/refresh/").status_code == 403
    assert api.delete(f"/api/locations/{location_id}/").status_code == 403
    refused = api.post("/api/locations/", {"target": git_repo.url + "x", "owner_team": "payments"}, format="json")
    assert refused.status_code == 403
    api.force_authenticate(world.alice)
    assert api.post(f"/api/locations/{location_id}/refresh/").status_code == 202
    assert api.delete(f"/api/locations/{location_id}/").status_code == 204
    assert not Entity.objects.filter(name="api-made").exists()


def test_an_entity_deleted_by_uid_is_gone_until_its_location_supplies_it_again(api, world, git_repo, catalog):
    from tests.catalog.conftest import component_yaml

    git_repo.write({"one.yaml": component_yaml("one", "payments"), "two.yaml": component_yaml("two", "payments")})
    git_repo.commit()
    location = services.location_register(actor=world.alice, type="git", target=git_repo.url, path="*.yaml",
                                          owner_team=world.payments, refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    one, two = Entity.objects.get(name="one"), Entity.objects.get(name="two")
    url = f"/api/catalog/entities/by-uid/{one.uid}"
    for user in (world.bob, world.victor):  # another team, a viewer: they see it, they may not delete it
        api.force_authenticate(user)
        refused = api.delete(url)
        assert refused.status_code == 403 and refused.json()["error"]["name"] == "NotAllowedError"
    api.force_authenticate(None)
    assert api.delete(url).status_code in (401, 403)
    assert Entity.objects.filter(pk=one.pk).exists()
    services.entity_settings_update(actor=world.alice, obj=two, visibility="private")
    api.force_authenticate(world.bob)  # another team's private entity: 404 like a missing one
    hidden, missing = api.delete(f"/api/catalog/entities/by-uid/{two.uid}"), api.delete(
        "/api/catalog/entities/by-uid/00000000-0000-0000-0000-000000000000")
    assert hidden.status_code == missing.status_code == 404 and hidden.json()["error"]["name"] == "NotFoundError"
    api.force_authenticate(world.alice)
    gone = api.delete(url)
    assert gone.status_code == 204 and gone.content == b""
    assert api.get(url).status_code == 404 and not Entity.objects.filter(name="one").exists()
    assert api.delete(url).status_code == 404
    report = services.location_refresh(actor=None, location_id=location.pk)  # the file still holds it: back
    back = Entity.objects.get(name="one")
    assert back.uid != one.uid and report.added == 1 and report.updated == 0
    assert Entity.objects.get(name="two").uid == two.uid  # the other file was not read again
    group = Entity.objects.get(ref="group:default/payments")  # the organisation's directory holds memberships
    api.force_authenticate(world.admin)
    refused = api.delete(f"/api/catalog/entities/by-uid/{group.uid}")
    assert refused.status_code == 403 and "directory" in refused.json()["error"]["message"]


def test_locations_by_query_pages_a_predicate_over_the_locations_the_caller_may_see(api, world, tmp_path, catalog):
    from tests.catalog.conftest import GitRepo, component_yaml

    made = []
    for index, (team, visibility) in enumerate([("payments", "public"), ("payments", "public"), ("payments", "private"),
                                                ("search", "private")]):
        repo = GitRepo(tmp_path / f"q{index}")
        repo.write({"catalog-info.yaml": component_yaml(f"q{index}", team)})
        repo.commit()
        made.append(services.location_register(actor=world.admin, type="git", target=repo.url, refresh=False,
                                               owner_team=getattr(world, team), visibility=visibility))
    api.force_authenticate(world.alice)
    query = {"$all": [{"type": "url"}, {"target": {"$hasPrefix": str(tmp_path / "q")}}]}
    first = api.post("/api/catalog/locations/by-query", {"query": query, "limit": 2}, format="json").json()
    # recorded from Backstage: items of {id, type, target}, totalItems, pageInfo with nextCursor while more remain
    assert set(first) == {"items", "totalItems", "pageInfo"} and first["totalItems"] == 3  # search's private one hidden
    assert [set(i) for i in first["items"]] == [{"id", "type", "target"}] * 2
    assert [i["id"] for i in first["items"]] == [str(made[0].pk), str(made[1].pk)]
    second = api.post("/api/catalog/locations/by-query", {"cursor": first["pageInfo"]["nextCursor"]}, format="json").json()
    assert [i["id"] for i in second["items"]] == [str(made[2].pk)] and second["pageInfo"] == {}
    none = api.post("/api/catalog/locations/by-query", {"query": {"$not": query}}, format="json").json()
    assert str(made[3].pk) not in {i["id"] for i in none["items"]}
    api.force_authenticate(world.bob)
    mine = api.post("/api/catalog/locations/by-query", {"query": query}, format="json").json()
    assert [i["id"] for i in mine["items"]] == [str(made[0].pk), str(made[1].pk), str(made[3].pk)]
    for body, message in (({"query": {"$regex": "x"}}, "query"), ({"cursor": "not-a-cursor"}, "cursor"),
                          ({"limit": -1}, "limit")):
        bad = api.post("/api/catalog/locations/by-query", body, format="json")
        assert bad.status_code == 400 and bad.json()["error"]["name"] == "InputError" and message in bad.json()["error"]["message"]
    api.force_authenticate(None)
    assert api.post("/api/catalog/locations/by-query", {}, format="json").status_code in (401, 403)


def test_a_location_is_moved_by_put_by_whoever_may_change_it(api, world, tmp_path, django_capture_on_commit_callbacks):
    from tests.catalog.conftest import GitRepo, component_yaml

    old, new = GitRepo(tmp_path / "old"), GitRepo(tmp_path / "new")
    old.write({"catalog-info.yaml": component_yaml("old-one", "payments")})
    new.write({"catalog-info.yaml": component_yaml("new-one", "payments")})
    old.commit(), new.commit()
    location = services.location_register(actor=world.alice, type="git", target=old.url, owner_team=world.payments,
                                          refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    url = f"/api/catalog/locations/{location.pk}"
    for user in (world.bob, world.victor):
        api.force_authenticate(user)
        refused = api.put(url, {"type": "url", "target": new.url}, format="json")
        assert refused.status_code == 403 and refused.json()["error"]["name"] == "NotAllowedError"
    api.force_authenticate(None)
    assert api.put(url, {"type": "url", "target": new.url}, format="json").status_code in (401, 403)
    api.force_authenticate(world.alice)
    assert api.put(url, {"type": "file", "target": "/etc"}, format="json").status_code == 403  # the server's disk
    assert api.put(url, {"type": "url", "target": "http://169.254.169.254/x"}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        moved = api.put(url, {"type": "url", "target": new.url}, format="json")
    assert moved.status_code == 200 and moved.json() == {"id": str(location.pk), "type": "url", "target": moved.json()["target"]}
    location.refresh_from_db()
    assert location.target == new.url and Entity.objects.filter(name="new-one", location=location).exists()
    assert Entity.objects.get(name="old-one").orphaned is not None  # no longer supplied: orphaned, as any refresh does
    assert api.put("/api/catalog/locations/999999", {"type": "url", "target": new.url}, format="json").status_code == 404


def test_relations_api_lists_both_directions(api, world, catalog):
    api.force_authenticate(world.victor)
    rows = api.get("/api/relations/", {"source_ref": "group:default/payments"}).json()["results"]
    assert {"source_ref": "group:default/payments", "type": "ownerOf", "target_ref": "component:default/checkout"} in rows


# --- Backstage-compatible API ---


def test_by_query_filter_fields_order_cursor(api, world, catalog):
    api.force_authenticate(world.victor)
    first = api.get("/api/catalog/entities/by-query", {"filter": "kind=component,spec.type=service",
                                                       "orderField": "metadata.name,desc", "limit": 1}).json()
    assert first["totalItems"] == 2
    assert [e["metadata"]["name"] for e in first["items"]] == ["indexer"]
    entity = first["items"][0]
    assert entity["metadata"]["uid"] and entity["metadata"]["etag"] and entity["metadata"]["namespace"] == "default"
    assert {"type": "ownedBy", "targetRef": "group:default/search",
            "target": {"kind": "group", "namespace": "default", "name": "search"}} in entity["relations"]
    second = api.get("/api/catalog/entities/by-query", {"cursor": first["pageInfo"]["nextCursor"], "limit": 1}).json()
    assert [e["metadata"]["name"] for e in second["items"]] == ["checkout"]
    assert "nextCursor" not in second["pageInfo"] and second["pageInfo"]["prevCursor"]
    fields = api.get("/api/catalog/entities/by-query", {"filter": "kind=group", "fields": "metadata.name,kind"}).json()
    assert fields["items"] == [{"kind": "Group", "metadata": {"name": "payments"}},
                               {"kind": "Group", "metadata": {"name": "search"}}] or \
        sorted(i["metadata"]["name"] for i in fields["items"]) == ["payments", "search"]
    assert all(set(i) == {"kind", "metadata"} for i in fields["items"])
    text = api.get("/api/catalog/entities/by-query", {"fullTextFilterTerm": "money"}).json()
    assert [e["metadata"]["name"] for e in text["items"]] == ["checkout"]
    either = api.get("/api/catalog/entities/by-query?filter=metadata.name=ledger&filter=metadata.tags=java").json()
    assert sorted(e["metadata"]["name"] for e in either["items"]) == ["indexer", "ledger"]
    owned = api.get("/api/catalog/entities/by-query", {"filter": "relations.ownedBy=group:default/payments"}).json()
    assert sorted(e["metadata"]["name"] for e in owned["items"]) == ["checkout", "ledger", "shop"]
    by_spec = api.get("/api/catalog/entities/by-query", {"filter": "spec.owner=PAYMENTS"}).json()
    assert "checkout" in [e["metadata"]["name"] for e in by_spec["items"]]


def test_by_query_refuses_tampered_cursors_and_huge_numbers(api, world, catalog):
    import base64

    api.force_authenticate(world.alice)
    url = "/api/catalog/entities/by-query"

    def cursor(state) -> str:
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()

    good = {"filter": ["kind=component"], "order": [], "term": "", "term_fields": [], "offset": 1}
    assert api.get(url, {"cursor": cursor(good), "limit": 1}).status_code == 200
    for bad in ({**good, "filter": 5}, {**good, "filter": [1]}, {**good, "offset": "1"}, {**good, "offset": True},
                {**good, "offset": -1}, {**good, "offset": 10 ** 20}, {**good, "term": None}, ["a"], "x", {"x": 1}):
        response = api.get(url, {"cursor": cursor(bad)})
        assert response.status_code == 400 and response.json()["error"]["name"] == "InputError", (bad, response.content)
    for params in ({"offset": 10 ** 20}, {"limit": 10 ** 20}):
        for path in (url, "/api/catalog/entities"):
            response = api.get(path, params)
            assert response.status_code == 400 and "at most" in response.json()["error"]["message"], (path, params)


@pytest.mark.parametrize("body, kind", [([], "an array"), ("x", "a string"), (3, "a number"), (None, "null"), (True, "a boolean")])
def test_backstage_writes_refuse_a_body_that_is_not_an_object(api, world, body, kind):
    api.force_authenticate(world.alice)
    for url in ("/api/catalog/locations", "/api/catalog/entities/by-refs", "/api/catalog/validate-entity", "/api/catalog/refresh"):
        response = api.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (url, response.content)
        assert response.json()["error"] == {"name": "InputError", "message": f"The request body must be a JSON object, not {kind}"}


def test_by_name_uid_refs_facets(api, world, catalog):
    api.force_authenticate(world.victor)
    entity = api.get("/api/catalog/entities/by-name/component/default/checkout").json()
    assert entity["spec"]["owner"] == "payments"
    missing = api.get("/api/catalog/entities/by-name/component/default/nope")
    assert missing.status_code == 404 and missing.json()["error"]["name"] == "NotFoundError"
    assert api.get(f"/api/catalog/entities/by-uid/{entity['metadata']['uid']}").json()["metadata"]["name"] == "checkout"
    refs = api.post("/api/catalog/entities/by-refs",
                    {"entityRefs": ["component:default/ledger", "component:default/ghost", "group:search"]},
                    format="json").json()
    assert [i and i["metadata"]["name"] for i in refs["items"]] == ["ledger", None, "search"]
    facets = api.get("/api/catalog/entity-facets?facet=kind&facet=spec.lifecycle&facet=metadata.tags").json()["facets"]
    assert {"value": "Component", "count": 3} in facets["kind"]
    assert {"value": "experimental", "count": 1} in facets["spec.lifecycle"]
    assert {"value": "python", "count": 1} in facets["metadata.tags"]


def test_ancestry_and_location_by_entity_answer_in_backstages_shapes(api, world, catalog):
    import hashlib

    api.force_authenticate(world.victor)
    target = catalog.backstage_target
    ancestry = api.get("/api/catalog/entities/by-name/component/default/checkout/ancestry").json()
    # recorded from Backstage: the entity first, naming its parent; the generated Location entity last, the root
    generated = "location:default/generated-" + hashlib.sha1(f"url:{target}".encode()).hexdigest()
    assert set(ancestry) == {"rootEntityRef", "items"} and ancestry["rootEntityRef"] == generated
    assert [set(item) for item in ancestry["items"]] == [{"entity", "parentEntityRefs"}] * 2
    first, root = ancestry["items"]
    assert first["entity"]["metadata"]["name"] == "checkout" and first["parentEntityRefs"] == [generated]
    assert first["entity"]["metadata"]["annotations"]["backstage.io/managed-by-location"] == f"url:{target}"
    assert root["parentEntityRefs"] == [] and root["entity"]["kind"] == "Location"
    assert root["entity"]["spec"] == {"type": "url", "target": target}
    assert f"location:default/{root['entity']['metadata']['name']}" == generated
    location = api.get("/api/catalog/locations/by-entity/component/default/checkout").json()
    assert location == {"id": str(catalog.pk), "type": "url", "target": target}
    for url in ("/api/catalog/entities/by-name/component/default/nope/ancestry",
                "/api/catalog/locations/by-entity/component/default/nope"):
        missing = api.get(url)
        assert missing.status_code == 404 and missing.json()["error"]["name"] == "NotFoundError"
        assert missing.json()["response"] == {"statusCode": 404}
    # another team's private entity: exactly like a missing one
    services.entity_settings_update(actor=world.alice, obj=Entity.objects.get(name="checkout"), visibility="private")
    api.force_authenticate(world.bob)
    for url in ("/api/catalog/entities/by-name/component/default/checkout/ancestry",
                "/api/catalog/locations/by-entity/component/default/checkout"):
        hidden = api.get(url)
        assert hidden.status_code == 404 and "checkout" in hidden.json()["error"]["message"]  # the name asked for
        assert str(catalog.pk) not in hidden.content.decode() and target not in hidden.content.decode()
    api.force_authenticate(None)
    assert api.get("/api/catalog/locations/by-entity/component/default/indexer").status_code in (401, 403)


def test_backstage_api_respects_visibility_and_bearer_tokens(api, world, catalog):
    services.entity_settings_update(actor=world.alice, obj=Entity.objects.get(name="checkout"), visibility="private")
    token = api_token_rotate(actor=world.bob)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    names = [e["metadata"]["name"] for e in api.get("/api/catalog/entities/by-query", {"limit": 100}).json()["items"]]
    assert "checkout" not in names and "indexer" in names
    assert api.get("/api/catalog/entities/by-name/component/default/checkout").status_code == 404
    api.credentials()
    assert api.get("/api/catalog/entities/by-query").status_code in (401, 403)


def test_backstage_locations_and_validate(api, world, git_repo):
    from tests.catalog.conftest import component_yaml

    git_repo.write({"catalog-info.yaml": component_yaml("via-backstage", "payments")})
    git_repo.commit()
    api.force_authenticate(world.alice)
    dry = api.post("/api/catalog/locations?dryRun=true", {"type": "url", "target": git_repo.url}, format="json")
    assert dry.status_code == 201 and dry.json()["entities"][0]["metadata"]["name"] == "via-backstage"
    assert not Location.objects.exists()
    created = api.post("/api/catalog/locations", {"type": "url", "target": git_repo.url}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["location"]["type"] == "url" and body["entities"][0]["metadata"]["name"] == "via-backstage"
    assert Location.objects.get().owner_team == world.payments
    listed = api.get("/api/catalog/locations").json()
    assert listed == [{"data": body["location"]}]
    assert api.post("/api/catalog/locations", {"type": "url", "target": git_repo.url}, format="json").status_code == 409
    api.force_authenticate(world.bob)
    assert api.delete(f"/api/catalog/locations/{body['location']['id']}").status_code == 403
    api.force_authenticate(world.alice)
    assert api.delete(f"/api/catalog/locations/{body['location']['id']}").status_code == 204
    invalid = api.post("/api/catalog/validate-entity", {"entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "API",
                       "metadata": {"name": "a"}, "spec": {"type": "openapi", "owner": "x", "definition": "d"}},
                       "location": "url:x"}, format="json")
    assert invalid.status_code == 400 and "lifecycle" in invalid.json()["errors"][0]["message"]


def test_by_query_and_list_query_counts_are_constant(api, world, catalog, tmp_path, django_assert_max_num_queries):
    from tests.catalog.conftest import GitRepo, component_yaml

    api.force_authenticate(world.alice)
    urls = ["/api/catalog/entities/by-query?limit=50&filter=kind=component", "/api/entities/?kind=Component&page_size=50"]
    counts = []
    for url in urls:
        api.get(url)
        readcache.changed()  # counted, not kept: the bound is the request that counts (the refresh drops them too)
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    repo = GitRepo(tmp_path / "many")
    repo.write({f"c{i}.yaml": component_yaml(f"many-{i}", "payments") for i in range(40)})
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    for url, count in zip(urls, counts):
        with django_assert_max_num_queries(count):
            body = api.get(url).json()
        assert len(body.get("items") or body.get("results")) > 40


def test_by_query_filters_on_annotations_and_existence(api, world, git_repo):
    git_repo.write({"a.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: docs\n"
                    "  annotations: {backstage.io/techdocs-ref: 'dir:.'}\n"
                    "spec: {type: service, lifecycle: production, owner: payments}\n"
                    "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: nodocs}\n"
                    "spec: {type: service, lifecycle: production, owner: payments}\n"})
    git_repo.commit()
    location = services.location_register(actor=None, type="git", target=git_repo.url, path="*.yaml", refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    api.force_authenticate(world.victor)
    names = lambda params: [e["metadata"]["name"] for e in api.get("/api/catalog/entities/by-query", params).json()["items"]]  # noqa: E731
    assert names({"filter": "metadata.annotations.backstage.io/techdocs-ref=dir:."}) == ["docs"]
    assert names({"filter": "metadata.annotations.backstage.io/techdocs-ref"}) == ["docs"]
    assert sorted(names({"filter": "kind=component"})) == ["docs", "nodocs"]
    # Top-level keys exist or not; keys that differ only in punctuation are different keys.
    assert sorted(names({"filter": "spec"})) == ["docs", "nodocs"] and names({"filter": "status"}) == []
    assert names({"filter": "spec.type=service,spec_type=service"}) == []
    assert names({"filter": "metadata..name=docs"}) == []
    response = api.get("/api/catalog/entities/by-query", {"filter": "=x"})
    assert response.status_code == 400 and response.json()["error"]["name"] == "InputError"
    assert "needs a key" in response.json()["error"]["message"]
    response = api.get("/api/catalog/entity-facets", {"facet": "spec.type", "filter": "spec"})
    assert response.status_code == 200 and response.json()["facets"]["spec.type"] == [{"value": "service", "count": 2}]


def test_backstage_refresh_needs_change_permission_on_the_location(api, world, git_repo, django_capture_on_commit_callbacks):
    from tests.catalog.conftest import component_yaml

    git_repo.write({"catalog-info.yaml": component_yaml("refreshable", "payments")})
    git_repo.commit()
    location = services.location_register(actor=world.alice, type="git", target=git_repo.url,
                                          owner_team=world.payments, refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    api.force_authenticate(world.bob)
    assert api.post("/api/catalog/refresh", {"entityRef": "component:default/refreshable"}, format="json").status_code == 403
    api.force_authenticate(world.alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post("/api/catalog/refresh", {"entityRef": "component:default/refreshable"}, format="json")
    assert response.status_code == 200 and len(callbacks) == 1


def test_a_dry_run_that_gets_no_answer_is_cut_off_within_its_bound(api, world, settings):
    """A dry run clones inside the request: a git server that never answers costs CATALOG_DRY_RUN_SECONDS, not a worker."""
    import socket
    import threading
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    held = []
    stop = threading.Event()

    def accept():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])  # accept and say nothing
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    settings.CATALOG_DRY_RUN_SECONDS = 1.5
    settings.CATALOG_GIT_SCHEMES = ["https", "ssh", "git"]  # git:// on this machine: an admin's choice
    api.force_authenticate(world.admin)
    started = time.monotonic()
    try:
        response = api.post("/api/catalog/locations?dryRun=true",
                            {"type": "url", "target": f"git://127.0.0.1:{silent.getsockname()[1]}/catalog.git"}, format="json")
    finally:
        stop.set()
        for conn in held:
            conn.close()
        silent.close()
    elapsed = time.monotonic() - started
    assert response.status_code == 400, response.content
    assert "no answer within 1.5 s" in response.json()["error"]["message"]
    assert elapsed < 10
