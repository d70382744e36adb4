"""Catalog pages: list (filters, search, htmx partial), entity page, location page, settings permissions."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import readcache, services
from catalog.models import Entity

pytestmark = pytest.mark.django_db


def entity_url(name, kind="component"):
    return reverse("catalog:entity", kwargs={"kind": kind, "namespace": "default", "name": name})


def test_list_filters_search_and_htmx_partial(client, world, catalog):
    client.force_login(world.victor)
    url = reverse("catalog:entity_list")
    page = client.get(url).content.decode()
    assert "checkout" in page and "indexer" in page and "<form" in page
    only_payments = client.get(url, {"owner": "payments", "kind": "Component"}).content.decode()
    assert "checkout" in only_payments and "ledger" in only_payments and "indexer" not in only_payments
    assert "checkout" in client.get(url, {"tag": "python"}).content.decode()
    assert "checkout" not in client.get(url, {"tag": "java"}).content.decode()
    found = client.get(url, {"q": "search index"}).content.decode()
    assert "indexer" in found and "checkout" not in found
    partial = client.get(url, {"lifecycle": "experimental"}, HTTP_HX_REQUEST="true").content.decode()
    assert "ledger" in partial and "checkout" not in partial and "<html" not in partial


def test_filter_by_a_value_added_since_the_page_was_last_drawn(client, world, catalog, tmp_path):
    """A value a refresh just added filters at once and stays selected; a value nobody has matches nothing."""
    from tests.catalog.conftest import GitRepo, component_yaml

    client.force_login(world.victor)
    url = reverse("catalog:entity_list")
    assert "ledger" in client.get(url).content.decode()  # the dropdowns drawn before the refresh lack its values
    repo = GitRepo(tmp_path / "fresh")
    repo.write({"gateway.yaml": component_yaml("gateway", "payments", type_="edge-proxy", lifecycle="beta")})
    repo.commit()
    services.location_refresh(
        actor=None,
        location_id=services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False).pk,
    )
    for params in ({"type": "edge-proxy"}, {"lifecycle": "beta"}):
        response = client.get(url, params)
        html = response.content.decode()
        assert response.status_code == 200
        assert "gateway" in html and "checkout" not in html and "errorlist" not in html
        (value,) = params.values()
        assert f'<option value="{value}" selected>' in html  # selected, and listed
    unknown = client.get(url, {"type": "no-such-type"}).content.decode()
    assert "gateway" not in unknown and "checkout" not in unknown and "errorlist" not in unknown


def test_list_query_count_does_not_grow_with_rows(client, world, catalog, django_assert_max_num_queries, tmp_path):
    from tests.catalog.conftest import GitRepo, component_yaml

    client.force_login(world.alice)
    url = reverse("catalog:entity_list")
    client.get(url)
    readcache.changed()  # counted, not kept: the bound is the request that counts
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {"q": "e"}).status_code == 200
    repo = GitRepo(tmp_path / "more")
    repo.write({f"c{i}.yaml": component_yaml(f"extra-{i}", "payments", tags=("x",)) for i in range(30)})
    repo.commit()
    services.location_refresh(
        actor=None,
        location_id=services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False).pk,
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url, {"q": "e"}).status_code == 200


def test_entity_page_shows_overview_relations_graph_yaml_and_provenance(client, world, catalog,
                                                                     django_assert_max_num_queries):
    client.force_login(world.victor)
    # A fixed budget, whatever the catalog holds: the pending-changes panel costs a few queries per kind of GitOps
    # owner (VAN, add-on, claim, CI pipeline), so it grows with Wayline's kinds of owner, never with data.
    with django_assert_max_num_queries(24):
        response = client.get(entity_url("checkout"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Takes the money" in html
    assert "<svg" in html and "ownedBy" in html
    assert "system:default/shop" in html and "kind: Component" in html
    assert catalog.last_commit[:12] in html and "checkout.yaml" in html
    assert "Deployments" in html
    # the system exists; an API nobody defines would be flagged
    group_html = client.get(entity_url("payments", "group")).content.decode()
    assert "ownerOf" in group_html and "component:default/checkout" in group_html


def test_dangling_relation_is_shown_as_missing(client, world, tmp_path):
    from tests.catalog.conftest import GitRepo, component_yaml

    repo = GitRepo(tmp_path / "dangling")
    repo.write({"a.yaml": component_yaml("lonely", "nobody-team")})
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    client.force_login(world.victor)
    html = client.get(entity_url("lonely")).content.decode()
    assert "group:default/nobody-team" in html and "missing" in html


def test_owning_team_member_may_change_settings_other_team_may_not(client, world, catalog):
    checkout = Entity.objects.get(name="checkout")
    assert checkout.owner_team == world.payments
    edit = reverse("catalog:entity_edit", kwargs={"pk": checkout.pk})
    client.force_login(world.bob)
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"visibility": "private"}).status_code == 403
    client.force_login(world.alice)
    assert client.post(edit, {"visibility": "private"}).status_code == 302
    checkout.refresh_from_db()
    assert checkout.visibility == "private"
    client.force_login(world.bob)
    assert client.get(entity_url("checkout")).status_code == 404  # private now: invisible, like missing
    assert client.get(edit).status_code == 404


def test_location_page_lists_errors_with_file_line_and_field(client, world, tmp_path):
    from tests.catalog.conftest import GitRepo, component_yaml

    repo = GitRepo(tmp_path / "bad")
    repo.write({"ok.yaml": component_yaml("fine", "payments") + "---\napiVersion: backstage.io/v1alpha1\nkind: Component\n"
                "metadata:\n  name: bad name\nspec: {type: service, lifecycle: x, owner: y}\n"})
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, path="*.yaml", refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    client.force_login(world.victor)
    html = client.get(reverse("catalog:location", kwargs={"pk": location.pk})).content.decode()
    assert "ok.yaml" in html and "metadata.name" in html and "bad name" in html
    assert "<td>15</td>" in html  # the line of the bad name
    assert Entity.objects.filter(name="fine").exists()
    assert "grant nothing" in html and "Organisation directory" not in html
    services.location_directory_set(actor=world.admin, location=location, directory=True)
    html = client.get(reverse("catalog:location", kwargs={"pk": location.pk})).content.decode()
    assert "Organisation directory" in html


def test_refresh_now_button_needs_change_permission(client, world, git_repo, django_capture_on_commit_callbacks):
    from tests.catalog.conftest import component_yaml

    git_repo.write({"a.yaml": component_yaml("a", "payments")})
    git_repo.commit()
    location = services.location_register(actor=world.alice, type="git", target=git_repo.url, path="*.yaml",
                                          owner_team=world.payments, refresh=False)
    url = reverse("catalog:location_refresh", kwargs={"pk": location.pk})
    client.force_login(world.bob)
    assert client.post(url).status_code == 403
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    assert Entity.objects.filter(location=location, name="a").exists()


def test_register_location_page(client, world, git_repo, django_capture_on_commit_callbacks):
    from tests.catalog.conftest import component_yaml

    git_repo.write({"catalog-info.yaml": component_yaml("registered", "payments")})
    git_repo.commit()
    client.force_login(world.alice)
    url = reverse("catalog:location_add")
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"type": "git", "target": git_repo.url, "branch": "", "path": "catalog-info.yaml",
                                     "owner_team": world.payments.pk, "visibility": "public"})
    assert response.status_code == 302
    assert Entity.objects.filter(name="registered").exists()
    again = client.post(url, {"type": "git", "target": git_repo.url, "branch": "", "path": "catalog-info.yaml",
                              "owner_team": world.payments.pk, "visibility": "public"})
    assert again.status_code == 400 and "already registered" in again.content.decode()
    # a directory on the server is for platform admins only
    denied = client.post(url, {"type": "path", "target": "/etc", "branch": "", "path": "*",
                               "owner_team": world.payments.pk, "visibility": "public"})
    assert denied.status_code == 403


def test_create_page_lists_templates(client, world, git_repo):
    git_repo.write({"t.yaml": "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: python-service, title: Python service}\n"
                    "spec: {owner: payments, type: service, steps: [{id: fetch, action: fetch:template}]}\n"})
    git_repo.commit()
    location = services.location_register(actor=None, type="git", target=git_repo.url, path="*.yaml", refresh=False)
    report = services.location_refresh(actor=None, location_id=location.pk)
    assert report.errors == 0, report.error_list
    client.force_login(world.victor)
    html = client.get(reverse("catalog:template_list")).content.decode()
    assert "Python service" in html and "Use this template" in html


def test_location_list_page(client, world, catalog, django_assert_max_num_queries):
    client.force_login(world.victor)
    with django_assert_max_num_queries(15):
        html = client.get(reverse("catalog:location_list")).content.decode()
    assert catalog.target in html


def test_api_entity_shows_openapi_operations(client, world, git_repo):
    git_repo.write({
        "defs/cart.yaml": "openapi: 3.0.0\ninfo: {title: Cart API, version: 2.0.0}\npaths:\n  /carts:\n    post: {summary: Create a cart}\n",
        "api.yaml": "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: cart}\n"
        "spec: {type: openapi, lifecycle: production, owner: payments, definition: {$text: ./defs/cart.yaml}}\n",
    })
    git_repo.commit()
    location = services.location_register(actor=None, type="git", target=git_repo.url, path="api.yaml", refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    client.force_login(world.victor)
    html = client.get(entity_url("cart", "api")).content.decode()
    assert "Cart API" in html and "/carts" in html and "Create a cart" in html and "POST" in html


def test_template_page_outlines_parameters_and_steps(client, world, tmp_path, settings):
    from catalog.demo import seed

    settings.DATA_DIR = tmp_path
    seed(actor=None)
    client.force_login(world.victor)
    html = client.get(entity_url("python-service", "template")).content.decode()
    assert "About the service" in html and "<code>name</code>" in html and "required" in html
    assert "fetch:template" in html and "catalog:register" in html
    user_html = client.get(entity_url("alice", "user")).content.decode()
    assert "alice@wayline.example" in user_html


def test_a_location_waiting_for_its_first_read_says_when_no_worker_runs(client, world, settings):
    location = services.location_register(actor=world.admin, type="git", target="https://git.example.com/a/b.git",
                                          refresh=False)
    client.force_login(world.victor)
    url = reverse("catalog:location", kwargs={"pk": location.pk})
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a real broker, and no worker has written a heartbeat
    assert "No background worker is running" in client.get(url).content.decode()
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert "No background worker is running" not in client.get(url).content.decode()
