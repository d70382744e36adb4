"""Placement policy: a VAN's rules place public apps and its own team's private apps, never another team's private app.

Through the services (what reaches git), the selectors (what pages show) and the rule editor's and app editor's previews.
"""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.van.test_services import git
from van import selectors

pytestmark = pytest.mark.django_db

APPSETS = "vans/demo/hub/applicationsets/payments-eu"


def _app(svc, world, name, team, visibility, tags="payments"):
    return svc.app_create(actor=world.admin, name=name, owner_team=team, namespace="ns", repo_url="https://git.example.net/a.git",
                          source_kind="kustomize", path="deploy", image="registry.example.net/a", version="1.0.0",
                          tags=tags, visibility=visibility)


def _appset_files(gitops) -> set[str]:
    return {p for p in git(gitops, "ls-tree", "-r", "--name-only", "main").split() if p.startswith(APPSETS + "/")}


def test_rules_place_public_and_own_private_apps_but_not_another_teams_private_app(svc, van_world, gitops):
    world, van, hub, eu, us, public = van_world  # VAN "demo" and app "payments-api" (public) belong to payments
    own = _app(svc, world, "ledger", world.payments, "private")
    foreign = _app(svc, world, "crawler", world.search, "private")
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    assert _appset_files(gitops) == {f"{APPSETS}/payments-api.yaml", f"{APPSETS}/ledger.yaml"}
    _, placement = selectors.van_placement(van=van)
    assert set(placement.by_app) == {public.name, own.name}
    assert foreign.name not in placement.by_app and selectors.placements_of_app(app_name=foreign.name) == []

    # Made public, the other team's app is placed; private again, it leaves git in the next change set.
    svc.app_update(actor=world.admin, obj=foreign, visibility="public")
    assert f"{APPSETS}/crawler.yaml" in _appset_files(gitops)
    svc.app_update(actor=world.admin, obj=foreign, visibility="private")
    assert f"{APPSETS}/crawler.yaml" not in _appset_files(gitops)
    # Handed to the VAN's team, a private app is placed.
    svc.app_update(actor=world.admin, obj=foreign, owner_team=world.payments)
    assert f"{APPSETS}/crawler.yaml" in _appset_files(gitops)


def test_the_van_owner_decides_which_private_apps_are_placeable(svc, van_world, gitops):
    world, van, *_ = van_world
    foreign = _app(svc, world, "crawler", world.search, "private")
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    assert f"{APPSETS}/crawler.yaml" not in _appset_files(gitops)
    svc.van_update(actor=world.admin, obj=van, owner_team=world.search)
    assert f"{APPSETS}/crawler.yaml" in _appset_files(gitops)
    assert f"{APPSETS}/payments-api.yaml" in _appset_files(gitops)  # public: placed whoever owns the VAN


def test_van_spec_drops_unplaceable_apps_even_when_given_explicitly(svc, van_world):
    world, van, hub, eu, us, public = van_world
    foreign = _app(svc, world, "crawler", world.search, "private")
    spec = selectors.van_spec(van=van, apps=[public, foreign])
    assert [a.name for a in spec.apps] == [public.name]
    assert {a.name for a in selectors.van_spec(van=van).apps} == {public.name}


def test_rule_preview_shows_withheld_apps_by_name_only_to_who_may_see_them(client, svc, van_world):
    world, van, *_ = van_world
    _app(svc, world, "crawler", world.search, "private")
    _app(svc, world, "indexer", world.search, "public", tags="search")
    url = reverse("van:rule_add", kwargs={"van_pk": van.pk})
    data = {"name": "eu", "order": 1, "app_tags": "payments", "app_match": "all", "cluster_selector": "region=eu",
            "sync": "automated", "_preview": "1"}

    client.force_login(world.alice)  # payments: may not see search's private app
    body = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "Applications added (2)" in body and "payments-api-edge-eu" in body  # hub and edge-eu are region=eu
    assert "crawler" not in body and "1 app(s) you cannot see" in body and "private to a team other than Payments" in body

    client.force_login(world.admin)  # sees everything: the name, and still not placed
    body = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "<code>crawler</code>" in body and "crawler-edge-eu" not in body and "Applications added (2)" in body

    body = client.post(url, data | {"app_tags": "search"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Not placed" not in body and "indexer-edge-eu" in body  # a public app of another team is placed


def test_app_edit_previews_applications_added_and_removed_in_every_van(client, svc, van_world, django_assert_max_num_queries):
    world, van, hub, eu, us, app = van_world
    svc.van_edge_add(actor=world.admin, van=van, cluster=us)
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    svc.rule_create(actor=world.admin, van=van, name="ml-us", app_tags="ml", cluster_selector="region=us")
    url = reverse("van:app_edit", kwargs={"pk": app.pk})
    client.force_login(world.alice)
    assert 'id="app-preview"' in client.get(url).content.decode()

    with django_assert_max_num_queries(20):
        body = client.post(url, {"tags": "ml", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in body and "VAN <a" in body
    assert "Applications added (1)" in body and "Applications removed (2)" in body  # hub and edge-eu (region=eu) -> edge-us
    added, removed = body.split("Applications removed")
    assert "payments-api-edge-us" in added.split("Applications added")[1]
    assert "payments-api-hub" in removed and "payments-api-edge-eu" in removed

    body = client.post(url, {"tags": "payments", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No change in this VAN" in body
    body = client.post(url, {"tags": "unrelated", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Applications removed (2)" in body
    assert "label key" in client.post(url, {"tags": "bad tag!", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    # Made private to a team that does not own the VAN (bob's team, which alice may not edit for: ignored) ...
    body = client.post(url, {"tags": "payments", "visibility": "private", "owner_team": world.search.pk, "_preview": "1"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "No change in this VAN" in body
    client.force_login(world.admin)  # ... but an admin may hand it over: then the VAN withholds it
    body = client.post(url, {"tags": "payments", "visibility": "private", "owner_team": world.search.pk, "_preview": "1"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "will not place it" in body and "Applications removed (2)" in body

    # Nothing was saved by the previews; saving commits one change set for the VAN.
    app.refresh_from_db()
    assert app.tags == ["payments"] and app.visibility == "public"


def test_app_edit_preview_counts_but_does_not_name_vans_the_user_cannot_see(client, svc, van_world, edge_keys):
    world, van, hub, eu, us, app = van_world
    other_hub = svc.cluster_create(actor=world.admin, name="hub-search", api_url="https://hs.example.net:6443", owner_team=world.search,
                                   environment="dev", provider="eks", tags="region=eu", sealing_cert=edge_keys[1])
    hidden = svc.van_create(actor=world.admin, name="search-net", owner_team=world.search, hub=other_hub,
                            hub_host="hs.example.net", visibility="private")
    svc.rule_create(actor=world.admin, van=hidden, name="all-payments", app_tags="payments", cluster_selector="")
    url = reverse("van:app_edit", kwargs={"pk": app.pk})
    client.force_login(world.alice)
    body = client.post(url, {"tags": "other", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "search-net" not in body and "hub-search" not in body
    assert "1 VAN(s) you cannot see: 0 Application(s) added, 1 removed" in body


def test_pages_and_api_show_a_van_teams_private_app_only_to_who_may_see_it(client, svc, van_world):
    from rest_framework.test import APIClient

    world, van, hub, eu, us, public = van_world
    own = _app(svc, world, "ledger", world.payments, "private")
    rule = svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    pages = [van.get_absolute_url(), rule.get_absolute_url(), eu.get_absolute_url()]
    api = APIClient()
    for user, sees in ((world.alice, True), (world.bob, False)):
        client.force_login(user)
        for url in pages:
            body = client.get(url).content.decode()
            assert public.name in body and (own.name in body) is sees, (user, url)
        api.force_authenticate(user)
        placement = api.get(reverse("van-placement", kwargs={"pk": van.pk})).json()["placement"]
        assert public.name in placement and (own.name in placement) is sees
    client.force_login(world.bob)
    assert "1 private app(s) of the VAN's team that you cannot see" in client.get(van.get_absolute_url()).content.decode()


def test_app_page_lists_only_vans_the_user_may_see(client, svc, van_world, edge_keys):
    world, van, hub, eu, us, app = van_world
    other_hub = svc.cluster_create(actor=world.admin, name="hub-search", api_url="https://hs.example.net:6443", owner_team=world.search,
                                   environment="dev", provider="eks", tags="region=eu", sealing_cert=edge_keys[1])
    hidden = svc.van_create(actor=world.admin, name="search-net", owner_team=world.search, hub=other_hub,
                            hub_host="hs.example.net", visibility="private")
    svc.rule_create(actor=world.admin, van=hidden, name="all-payments", app_tags="payments", cluster_selector="")
    client.force_login(world.bob)
    assert "search-net" in client.get(app.get_absolute_url()).content.decode()
    client.force_login(world.alice)
    assert "search-net" not in client.get(app.get_absolute_url()).content.decode()


def test_app_edit_preview_runs_a_constant_number_of_queries(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from van import services

    def add_van(n):
        hub = services.cluster_create(actor=world.admin, name=f"hub-{n}", api_url=f"https://h{n}.example.net:6443", owner_team=world.payments,
                                      environment="dev", provider="eks", tags="region=eu")
        edge = services.cluster_create(actor=world.admin, name=f"edge-{n}", api_url=f"https://e{n}.example.net:6443", owner_team=world.payments,
                                       environment="prod", provider="eks", tags="region=eu")
        van = services.van_create(actor=world.admin, name=f"van-{n}", owner_team=world.payments, hub=hub, edges=[edge])
        services.rule_create(actor=world.admin, van=van, name="eu", app_tags="payments", cluster_selector="region=eu")

    app = _app(services, world, "checkout", world.payments, "public")
    url = reverse("van:app_edit", kwargs={"pk": app.pk})
    client.force_login(world.alice)

    def preview():
        with CaptureQueriesContext(connection) as queries:
            body = client.post(url, {"tags": "other", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
        return len(queries), body.count("Applications removed (2)")

    add_van(1)
    preview()  # the first request also fills per-process caches (content types)
    one = preview()
    add_van(2), add_van(3)
    three = preview()
    assert one[1] == 1 and three[1] == 3  # each VAN loses the app on its hub and its edge
    assert three[0] == one[0], (one, three)


def test_add_app_page_previews_what_the_new_app_would_place(client, svc, van_world):
    world, van, *_ = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    url = reverse("van:app_add")
    client.force_login(world.alice)
    assert 'id="app-preview"' in client.get(url).content.decode()
    data = {"name": "billing", "tags": "payments", "visibility": "public", "owner_team": world.payments.pk, "_preview": "1"}
    body = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "Applications added (2)" in body and "billing-edge-eu" in body and "billing-hub" in body
    body = client.post(url, data | {"tags": "unrelated"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No VAN's rules select billing" in body
    # Private, and owned by a team other than the VAN's (alice may not pick search: no owner counts as not the VAN's team).
    body = client.post(url, data | {"visibility": "private", "owner_team": world.search.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "will not place it" in body and "billing-hub" not in body
    body = client.post(url, data | {"visibility": "private"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Applications added (2)" in body and "will not place it" not in body  # private to the VAN's own team
