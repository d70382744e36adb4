"""``entity_page``: the same rows and total whether the count is a query of its own or in the page query."""
from __future__ import annotations

import pytest

from catalog import selectors

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("offset, limit", [(0, 2), (2, 2), (4, 2), (6, 2), (50, 10)])
def test_filtered_page_counts_like_the_plain_query(world, catalog, offset, limit):
    visible = selectors.entity_list(user=world.alice)
    components = visible.filter(kind="Component")
    expected_total = components.count()
    assert expected_total == 3 and visible.count() == 6
    for queryset, total in ((visible, 6), (components, 3)):
        plain = selectors.entity_page(queryset, order_by=["name", "ref"], offset=offset, limit=limit, fields=("ref",))
        counted = selectors.entity_page(queryset, order_by=["name", "ref"], offset=offset, limit=limit, fields=("ref",),
                                        filtered=True)
        assert plain.total == counted.total == total
        assert counted.rows == plain.rows == [
            {"ref": ref} for ref in queryset.order_by("name", "ref").values_list("ref", flat=True)[offset: offset + limit]
        ]
        assert counted.has_next == (offset + limit < total)


@pytest.mark.parametrize("params", [{}, {"kind": "Component"}, {"q": "takes money"}])
def test_entities_api_pages_links_and_count(client, world, catalog, params, django_assert_max_num_queries):
    from catalog.models import Entity

    client.force_login(world.alice)
    refs = list(selectors.entity_list(user=world.alice).order_by("kind", "namespace", "name").values_list("ref", flat=True))
    if params.get("kind"):
        refs = [ref for ref in refs if ref.startswith("component:")]
    if params.get("q"):
        refs = ["component:default/checkout"]
    seen, url, pages = [], "/api/entities/", 0
    query = {**params, "page_size": 2}
    while url:
        with django_assert_max_num_queries(8):
            body = client.get(url, query).json()
        query = None  # the next link carries the parameters
        assert body["count"] == len(refs)
        assert body["previous"] is None if pages == 0 else body["previous"]
        seen += [item["ref"] for item in body["results"]]
        assert all(set(item) >= {"uid", "ref", "url", "owner_team", "processed"} for item in body["results"])
        url, pages = body["next"], pages + 1
    assert seen == refs and pages == max(1, -(-len(refs) // 2))
    assert client.get("/api/entities/", {**params, "page_size": 2, "page": 9}).status_code == 404
    assert client.get("/api/entities/", {**params, "page": "x"}).status_code == 404
    assert Entity.objects.count() == 6
