"""VAN, app and rule pages and API: the shared permission checks, plus the placement pages and the rule preview."""
from __future__ import annotations

import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.base import RestrictedApiTests, RestrictedPageTests
from tests.factories import make_cluster
from van import services

_seq = itertools.count(1)


def make_van(team, visibility="public", edges=0):
    from tests.factories import make_user

    admin = make_user(superuser=True)
    n = next(_seq)
    hub = make_cluster(team, name=f"hub-{n}", tags="region=eu", actor=admin)
    edge_list = [make_cluster(team, name=f"edge-{n}-{i}", tags="region=eu" if i % 2 else "region=us", actor=admin) for i in range(edges)]
    return services.van_create(actor=admin, name=f"van-{n}", owner_team=team, hub=hub, edges=edge_list, visibility=visibility)


def make_app(team, visibility="public", tags="payments"):
    from tests.factories import make_user

    return services.app_create(actor=make_user(superuser=True), name=f"app-{next(_seq)}", owner_team=team, namespace="ns",
                               repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy",
                               image="registry.example.net/a", version="1.0.0", tags=tags, visibility=visibility)


def make_rule(team, visibility="public", van=None):
    from tests.factories import make_user

    van = van or make_van(team, visibility)
    return services.rule_create(actor=make_user(superuser=True), van=van, name=f"rule-{next(_seq)}", app_tags="payments",
                                cluster_selector="region=eu")


@pytest.mark.django_db
class TestVanPages(RestrictedPageTests):
    list_url_name = "van:van_list"
    detail_url_name = "van:van"

    def make_object(self, team, visibility):
        return make_van(team, visibility)


@pytest.mark.django_db
class TestVanApi(RestrictedApiTests):
    api_list_url_name = "van-list"
    api_detail_url_name = "van-detail"
    api_lookup_field = "id"

    def make_object(self, team, visibility):
        return make_van(team, visibility)

    def api_detail_url(self, obj):
        return reverse(self.api_detail_url_name, kwargs={"pk": obj.pk})


@pytest.mark.django_db
class TestAppPages(RestrictedPageTests):
    list_url_name = "van:app_list"
    detail_url_name = "van:app"

    def make_object(self, team, visibility):
        return make_app(team, visibility)


@pytest.mark.django_db
class TestAppApi(RestrictedApiTests):
    api_list_url_name = "app-list"
    api_detail_url_name = "app-detail"
    api_lookup_field = "id"

    def make_object(self, team, visibility):
        return make_app(team, visibility)

    def api_detail_url(self, obj):
        return reverse(self.api_detail_url_name, kwargs={"pk": obj.pk})


@pytest.mark.django_db
class TestRulePages(RestrictedPageTests):
    list_url_name = "van:rule_list"
    detail_url_name = "van:rule"

    def make_object(self, team, visibility):
        return make_rule(team, visibility)


@pytest.mark.django_db
class TestRuleApi(RestrictedApiTests):
    api_list_url_name = "rule-list"
    api_detail_url_name = "rule-detail"
    api_lookup_field = "id"

    def make_object(self, team, visibility):
        return make_rule(team, visibility)

    def api_detail_url(self, obj):
        return reverse(self.api_detail_url_name, kwargs={"pk": obj.pk})


@pytest.mark.django_db
def test_van_page_draws_topology_and_matrix_with_constant_queries(client, world, django_assert_max_num_queries):
    van = make_van(world.payments, edges=2)
    make_app(world.payments)
    make_rule(world.payments, van=van)
    client.force_login(world.alice)
    url = reverse("van:van", kwargs={"pk": van.pk})
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    body = response.content.decode()
    assert "<svg" in body and body.count('class="node edge"') == 2 and "✓" in body
    for i in range(6):
        services.van_edge_add(actor=world.admin, van=van, cluster=make_cluster(world.payments, name=f"more-{i}", tags="region=eu"))
        make_app(world.payments)
        make_rule(world.payments, van=van)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('class="node edge"') == 8


@pytest.mark.django_db
def test_long_cluster_names_are_shortened_inside_their_topology_circles_and_whole_in_the_tooltip(client, world):
    van = make_van(world.payments)
    long_name = "edge-" + "x" * 50
    services.van_edge_add(actor=world.admin, van=van, cluster=make_cluster(world.payments, name=long_name, tags="region=eu"))
    client.force_login(world.alice)
    body = client.get(reverse("van:van", kwargs={"pk": van.pk})).content.decode()
    labels = re.findall(r'font-weight="bold">([^<]*)</text>', body)
    assert labels and all(len(label) <= 11 for label in labels)
    assert "edge-xxxx…" in labels
    assert f"<title>{long_name} (edge, dev)</title>" in body


@pytest.mark.django_db
def test_app_and_cluster_pages_show_placement_with_constant_queries(client, world, django_assert_max_num_queries):
    van = make_van(world.payments, edges=2)
    app = make_app(world.payments)
    make_rule(world.payments, van=van)
    client.force_login(world.alice)
    urls = [reverse("van:app", kwargs={"pk": app.pk}), reverse("van:cluster", kwargs={"pk": van.clusters.get(role="edge", name__endswith="-1").pk})]
    counts = []
    for url in urls:
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            assert app.name in client.get(url).content.decode()
        counts.append(len(few.captured_queries))
    for i in range(4):
        other = make_van(world.payments, edges=2)
        make_rule(world.payments, van=other)
        make_app(world.payments)
    for url, count in zip(urls, counts):
        with django_assert_max_num_queries(count):
            assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_rule_editor_previews_placement_and_flags_a_rule_that_matches_nothing(client, world):
    van = make_van(world.payments, edges=2)
    app = make_app(world.payments)
    client.force_login(world.alice)
    url = reverse("van:rule_add", kwargs={"van_pk": van.pk})
    assert client.get(url).status_code == 200
    data = {"name": "eu", "order": 1, "app_tags": "payments", "app_match": "all", "cluster_selector": "region=eu", "sync": "automated", "_preview": "1"}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Applications added (2)" in body and app.name in body
    nothing = client.post(url, data | {"cluster_selector": "region=mars"}, HTTP_HX_REQUEST="true").content.decode()
    assert "matches nothing" in nothing and "Applications added (0)" in nothing
    bad = client.post(url, data | {"cluster_selector": "region in ()"}, HTTP_HX_REQUEST="true").content.decode()
    assert "needs at least one value" in bad


@pytest.mark.django_db
def test_a_rule_an_earlier_rule_overrides_is_labelled_overridden_on_the_van_rule_and_preview(client, world):
    van = make_van(world.payments, edges=2)
    make_app(world.payments)
    first = make_rule(world.payments, van=van)
    from tests.factories import make_user
    shadow = services.rule_create(actor=make_user(superuser=True), van=van, name="shadow", app_tags="payments",
                                  cluster_selector="region=eu", order=first.order + 5)
    client.force_login(world.alice)
    page = client.get(van.get_absolute_url()).content.decode()
    assert ">overridden</span>" in page and ">matches nothing</span>" not in page
    assert "(overridden): every app and cluster it matches is already placed by an earlier rule" in client.get(shadow.get_absolute_url()).content.decode()
    data = {"name": "again", "order": first.order + 9, "app_tags": "payments", "app_match": "all", "cluster_selector": "region=eu",
            "sync": "automated", "_preview": "1"}
    preview = client.post(reverse("van:rule_add", kwargs={"van_pk": van.pk}), data, HTTP_HX_REQUEST="true").content.decode()
    assert "(overridden)" in preview and "matches nothing" not in preview


@pytest.mark.django_db
def test_rule_form_refuses_bad_selector_with_a_field_error(client, world):
    van = make_van(world.payments)
    client.force_login(world.alice)
    url = reverse("van:rule_add", kwargs={"van_pk": van.pk})
    response = client.post(url, {"name": "x", "order": 1, "app_tags": "payments", "app_match": "all", "cluster_selector": "a b", "sync": "manual"})
    assert response.status_code == 400
    assert "not understood" in " ".join(response.context["form"].errors["cluster_selector"])


@pytest.mark.django_db
def test_other_team_cannot_edit_rules_or_versions(client, world):
    van = make_van(world.payments)
    app = make_app(world.payments)
    client.force_login(world.bob)
    assert client.get(reverse("van:rule_add", kwargs={"van_pk": van.pk})).status_code == 403
    assert client.post(reverse("van:app_version", kwargs={"pk": app.pk}), {"version": "9"}).status_code == 403
    private = make_app(world.payments, visibility="private")
    assert client.post(reverse("van:app_version", kwargs={"pk": private.pk}), {"version": "9"}).status_code == 404


@pytest.mark.django_db
def test_cluster_credentials_are_never_shown_back(client, world):
    cluster = make_cluster(world.payments)
    services.cluster_update(actor=world.admin, obj=cluster, credentials="super-secret-token-123", credentials_kind="token")
    client.force_login(world.alice)
    for url in (reverse("van:cluster", kwargs={"pk": cluster.pk}), reverse("van:cluster_edit", kwargs={"pk": cluster.pk}),
                reverse("cluster-detail", kwargs={"pk": cluster.pk})):
        body = client.get(url).content.decode()
        assert "super-secret-token-123" not in body
    assert "stored encrypted" in client.get(reverse("van:cluster", kwargs={"pk": cluster.pk})).content.decode()


@pytest.mark.django_db
def test_api_creates_a_rule_and_reports_placement(world):
    from rest_framework.test import APIClient

    van = make_van(world.payments, edges=2)
    app = make_app(world.payments)
    api = APIClient()
    api.force_authenticate(world.alice)
    response = api.post(reverse("rule-list"), {"van": van.name, "name": "eu", "app_tags": ["payments"], "cluster_selector": "region=eu"}, format="json")
    assert response.status_code == 201, response.json()
    bad = api.post(reverse("rule-list"), {"van": van.name, "name": "bad", "app_tags": ["payments"], "cluster_selector": "x in ()"}, format="json")
    assert bad.status_code == 400 and "cluster_selector" in bad.json()
    placement = api.get(reverse("van-placement", kwargs={"pk": van.pk})).json()["placement"]
    assert set(placement[app.name]) == {van.clusters.get(role="hub").name, van.clusters.get(role="edge", name__endswith="-1").name}


@pytest.mark.django_db
def test_admin_never_shows_credentials_or_private_keys(client, world):
    van = make_van(world.payments, edges=1)
    edge = van.clusters.get(role="edge")
    services.cluster_update(actor=world.admin, obj=edge, credentials="admin-visible-token-xyz", credentials_kind="token")
    client.force_login(world.admin)
    for url in (reverse("admin:van_cluster_change", args=[edge.pk]), reverse("admin:van_van_change", args=[van.pk])):
        body = client.get(url).content.decode()
        assert "admin-visible-token-xyz" not in body and "PRIVATE KEY" not in body


@pytest.mark.django_db
def test_editing_a_clusters_tags_previews_applications_added_and_removed(client, world):
    van = make_van(world.payments, edges=2)
    app = make_app(world.payments)
    make_rule(world.payments, van=van)  # payments -> region=eu
    us_edge = van.clusters.get(role="edge", name__endswith="-0")  # tagged region=us
    client.force_login(world.alice)
    url = reverse("van:cluster_edit", kwargs={"pk": us_edge.pk})
    assert 'id="tag-preview"' in client.get(url).content.decode()
    body = client.post(url, {"tags": "region=eu", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Applications added (1)" in body and f"{app.name}-{us_edge.name}" in body
    eu_edge = van.clusters.get(role="edge", name__endswith="-1")
    body = client.post(reverse("van:cluster_edit", kwargs={"pk": eu_edge.pk}), {"tags": "region=us", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Applications removed (1)" in body
    assert "label key" in client.post(url, {"tags": "bad tag!", "_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.django_db
def test_api_creates_a_van_from_cluster_names_and_refuses_others_clusters(world):
    from rest_framework.test import APIClient

    hub = make_cluster(world.payments, name="api-hub")
    edge = make_cluster(world.payments, name="api-edge")
    foreign = make_cluster(world.search, name="foreign-edge")
    api = APIClient()
    api.force_authenticate(world.alice)
    body = {"name": "api-van", "owner_team": "payments", "hub": "api-hub", "edges": ["api-edge"], "hub_host": "h.example.net"}
    response = api.post(reverse("van-list"), body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["hub"] == "api-hub" and response.json()["edges"] == ["api-edge"]
    assert hub.__class__.objects.get(pk=edge.pk).role == "edge"
    refused = api.post(reverse("van-list"), body | {"name": "other", "hub": "foreign-edge", "edges": []}, format="json")
    assert refused.status_code == 400 and "hub" in refused.json()
    assert foreign.__class__.objects.get(pk=foreign.pk).van_id is None


@pytest.mark.django_db
def test_deployments_of_a_catalog_component(world):
    from tests.factories import make_user
    from van.selectors import deployments_of_component

    van = make_van(world.payments, edges=2)
    app = services.app_create(actor=make_user(superuser=True), name="checkout-app", owner_team=world.payments, namespace="ns",
                              repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy", tags="payments",
                              component_ref="component:default/checkout-service")
    make_rule(world.payments, van=van)
    rows = deployments_of_component(user=world.alice, component_ref="component:default/checkout-service")
    assert {(r["app"], r["van"]) for r in rows} == {(app.name, van.name)} and len(rows) == 2
    assert deployments_of_component(user=world.alice, component_ref="component:default/other") == []


@pytest.mark.django_db
def test_upgrade_and_one_click_rollback_from_the_app_page(client, world):
    app = make_app(world.payments)
    client.force_login(world.alice)
    url = reverse("van:app_version", kwargs={"pk": app.pk})
    assert client.post(url, {"version": "1.1.0"}).status_code == 302
    bad = client.post(url, {"version": "not a version!"})
    assert bad.status_code == 400 and "not a version" in bad.content.decode()
    page = client.get(reverse("van:app", kwargs={"pk": app.pk})).content.decode()
    assert "1.1.0" in page and "Roll back to this" in page
    first = app.releases.order_by("pk").first()
    response = client.post(reverse("van:app_rollback", kwargs={"pk": app.pk, "release_pk": first.pk}))
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.version == "1.0.0" and app.releases.first().rollback_of == first and app.releases.first().author == world.alice


@pytest.mark.django_db
def test_catalog_component_page_lists_where_its_apps_run(client, world, settings, tmp_path):
    from catalog import services as catalog_services
    from tests.catalog.conftest import GitRepo, component_yaml
    from tests.factories import make_user

    settings.CATALOG_ALLOW_LOCAL_GIT = True
    repo = GitRepo(tmp_path / "catalog-repo")
    repo.write({"checkout.yaml": component_yaml("checkout", "payments")})
    repo.commit()
    location = catalog_services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False)
    catalog_services.location_refresh(actor=None, location_id=location.pk)
    van = make_van(world.payments, edges=2)
    services.app_create(actor=make_user(superuser=True), name="checkout-app", owner_team=world.payments, namespace="ns",
                        repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy", tags="payments",
                        component_ref="component:default/checkout")
    make_rule(world.payments, van=van)
    client.force_login(world.alice)
    body = client.get(reverse("catalog:entity", kwargs={"kind": "component", "namespace": "default", "name": "checkout"})).content.decode()
    assert 'id="deployments-h"' in body and "checkout-app" in body and van.name in body


@pytest.mark.django_db
def test_a_form_error_does_not_echo_posted_credentials(client, world):
    client.force_login(world.alice)
    response = client.post(reverse("van:cluster_add"), {
        "name": "Bad Name", "environment": "dev", "provider": "eks", "api_url": "https://x.example.net",
        "owner_team": world.payments.pk, "visibility": "public", "credentials_kind": "token", "credentials": "echo-me-not-token-42",
    })
    assert response.status_code == 400
    assert "echo-me-not-token-42" not in response.content.decode()


@pytest.mark.django_db
def test_a_platform_admin_in_no_team_gets_every_add_page_and_field_errors(client, world):
    from tests.factories import make_user

    client.force_login(make_user("root-no-team", superuser=True))  # the teams exist; this admin belongs to none
    for name in ("van:cluster_add", "van:van_add", "van:app_add", "catalog:location_add", "gitops:repo_add", "portal:team_add"):
        url = reverse(name)
        assert client.get(url).status_code == 200, name
        response = client.post(url, {"name": "Not A Name"})
        assert response.status_code == 400 and "field-error" in response.content.decode(), name
    # Keys no row can have are field errors too, not database errors (integers beyond 64 bits).
    huge = "99999999999999999999"
    response = client.post(reverse("van:van_add"), {"name": "v", "hub": huge, "edges": [huge], "owner_team": huge})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"hub", "edges", "owner_team"} <= set(errors), errors


@pytest.mark.django_db
def test_van_edit_page_shows_and_saves_for_the_owning_team(client, world):
    van = make_van(world.payments)
    client.force_login(world.carol)  # admin of payments
    url = reverse("van:van_edit", kwargs={"pk": van.pk})
    page = client.get(url)
    assert page.status_code == 200 and van.clusters.get(role="hub").name in page.content.decode()
    form = page.context["form"]
    data = {name: form.initial.get(name) for name in ("name", "description", "reachability", "inter_router_port", "edge_port")}
    data |= {"hub": form.initial["hub"], "owner_team": world.payments.pk, "visibility": "public",
             "hub_host": "hub.example.net"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    van.refresh_from_db()
    assert van.hub_host == "hub.example.net"

