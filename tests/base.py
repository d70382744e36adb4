"""Shared checks that every model's page and API tests reuse.

A subclass sets the URL names and ``make_object(team, visibility)``; the tests
here then prove the permission choke point for that model: anonymous users are
sent to log in (pages) or refused (API); another team's private object is a 404
exactly like a missing one; the owner's team sees it; the list page and API list
run a constant number of queries however many rows there are.
"""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def assert_constant_queries(client, url, grow, django_assert_max_num_queries):
    """GET ``url`` (warm, then counted), call ``grow()`` to add rows, and GET again within the same query count.

    Both counted requests find no count kept for them (``catalog.readcache``): the bound is the request that
    counts; one that finds its counts kept runs fewer queries."""
    from catalog import readcache

    client.get(url)  # warm caches (content types, permissions)
    readcache.changed()
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    grow()
    readcache.changed()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


class RestrictedPageTests:
    list_url_name: str
    detail_url_name: str
    lookup_field = "pk"

    def make_object(self, team, visibility):
        raise NotImplementedError

    def detail_url(self, obj):
        return reverse(self.detail_url_name, kwargs={self.lookup_field: getattr(obj, self.lookup_field)})

    def test_anonymous_is_sent_to_login(self, client, world):
        obj = self.make_object(world.payments, "private")
        for url in (reverse(self.list_url_name), self.detail_url(obj)):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_other_teams_private_object_is_not_found(self, client, world):
        obj = self.make_object(world.payments, "private")
        client.force_login(world.bob)
        assert client.get(self.detail_url(obj)).status_code == 404
        listing = client.get(reverse(self.list_url_name))
        assert listing.status_code == 200
        assert str(obj) not in listing.content.decode()

    def test_own_teams_private_object_is_visible(self, client, world):
        obj = self.make_object(world.payments, "private")
        client.force_login(world.alice)
        response = client.get(self.detail_url(obj))
        assert response.status_code == 200
        assert str(obj) in response.content.decode()

    def test_public_object_is_visible_to_a_viewer(self, client, world):
        obj = self.make_object(world.search, "public")
        client.force_login(world.victor)
        assert client.get(self.detail_url(obj)).status_code == 200

    def test_list_query_count_is_constant(self, client, world, django_assert_max_num_queries):
        client.force_login(world.alice)
        for _ in range(2):
            self.make_object(world.payments, "private")
        assert_constant_queries(client, reverse(self.list_url_name), lambda: self._grow(world), django_assert_max_num_queries)

    def _grow(self, world):
        for _ in range(8):
            self.make_object(world.payments, "public")


class RestrictedApiTests:
    api_list_url_name: str
    api_detail_url_name: str
    api_lookup_field = "pk"

    def make_object(self, team, visibility):
        raise NotImplementedError

    def api_detail_url(self, obj):
        return reverse(self.api_detail_url_name, kwargs={self.api_lookup_field: getattr(obj, self.api_lookup_field)})

    @pytest.fixture
    def api(self):
        from rest_framework.test import APIClient

        return APIClient()

    def test_unauthenticated_is_refused(self, api, world):
        obj = self.make_object(world.payments, "public")
        assert api.get(reverse(self.api_list_url_name)).status_code in (401, 403)
        assert api.get(self.api_detail_url(obj)).status_code in (401, 403)

    def test_token_user_sees_only_what_restrict_allows(self, api, world):
        from portal.services import api_token_rotate

        mine = self.make_object(world.search, "private")
        theirs = self.make_object(world.payments, "private")
        public = self.make_object(world.payments, "public")
        api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_rotate(actor=world.bob)}")
        listing = api.get(reverse(self.api_list_url_name)).json()
        names = {str(item.get(self.api_lookup_field, item.get("id"))) for item in listing["results"]}
        assert str(getattr(mine, self.api_lookup_field)) in names
        assert str(getattr(public, self.api_lookup_field)) in names
        assert str(getattr(theirs, self.api_lookup_field)) not in names
        assert api.get(self.api_detail_url(theirs)).status_code == 404
        assert api.get(self.api_detail_url(mine)).status_code == 200

    def test_list_query_count_is_constant(self, api, world, django_assert_max_num_queries):
        api.force_authenticate(world.alice)
        self.make_object(world.payments, "private")
        assert_constant_queries(api, reverse(self.api_list_url_name), lambda: self._grow(world), django_assert_max_num_queries)

    def _grow(self, world):
        for _ in range(8):
            self.make_object(world.payments, "public")
