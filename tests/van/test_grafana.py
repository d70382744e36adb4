"""Grafana per VAN: the client against a fake Grafana over HTTP, settings and pins checked as writes (another team,
a viewer, nobody), embeds with kiosk mode and variables, and a CSP that frames exactly the pinned Grafana."""
from __future__ import annotations

import pytest
from django.urls import reverse

from django.core.exceptions import ValidationError

from addons import grafana, services
from addons.models import DashboardPin
from portal.models import AuditEvent
from tests.grafana.fake import FakeGrafana
from tests.van.argocd_objects import application
from van.status import applications

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("place_payments_everywhere")]
TOKEN = "glsa_secret_token_never_shown"


@pytest.fixture
def fake_grafana(settings):
    settings.WAYLINE_GRAFANA_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the fake listens on loopback: allowed as an admin would
    fake = FakeGrafana(token=TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def with_grafana(van_world, fake_grafana):
    world, van, hub, eu, us, app = van_world
    services.van_grafana_set(actor=world.admin, van=van, url=fake_grafana.url, token=TOKEN)
    applications.store_all(van, [application(van.name, app.name, eu.name), application(van.name, app.name, hub.name)])
    return world, van, hub, eu, app


def test_the_client_lists_dashboards_with_the_token_and_explains_failures(van_world, fake_grafana):
    world, van, *_ = van_world
    with pytest.raises(grafana.GrafanaError, match="has no Grafana"):
        grafana.dashboards(van)
    van.grafana_url, van.grafana_token = fake_grafana.url, TOKEN
    found = grafana.dashboards(van)
    assert [d.title for d in found][:2] == ["ArgoCD", "Cluster overview"] and found[0].path.startswith("/d/")
    assert fake_grafana.requests[-1][1] == f"Bearer {TOKEN}"
    assert grafana.dashboard(van, "wl-namespace").title == "Namespace workloads" and grafana.dashboard(van, "nope") is None
    van.grafana_token = "wrong"
    with pytest.raises(grafana.GrafanaError, match="refused the token") as refused:
        grafana.dashboards(van)
    assert "wrong" not in str(refused.value)
    van.grafana_url = "http://127.0.0.1:9"  # nothing listens
    with pytest.raises(grafana.GrafanaError, match="did not answer"):
        grafana.dashboards(van)


def test_settings_are_a_write_on_the_van_and_the_token_is_never_shown(van_world, fake_grafana, client, svc):
    world, van, hub, eu, us, app = van_world
    url = reverse("addons:grafana_settings", kwargs={"pk": van.pk})
    client.force_login(world.alice)  # payments admins the VAN in van_world? no: alice is a member, may change
    response = client.post(url, {"grafana_url": fake_grafana.url, "grafana_token": TOKEN}, follow=True)
    assert response.status_code == 200 and "4 dashboard(s) readable" in response.content.decode()
    van.refresh_from_db()
    assert van.grafana_url == fake_grafana.url and van.grafana_token == TOKEN
    assert TOKEN not in client.get(url).content.decode() and TOKEN not in client.get(van.get_absolute_url()).content.decode()
    assert all(TOKEN not in str(e.changes) for e in AuditEvent.objects.all())
    assert client.post(url, {"grafana_url": "javascript:alert(1)"}).status_code == 400
    client.force_login(world.bob)  # another team: sees the public VAN, may not change it
    assert client.get(url).status_code == 403 and client.post(url, {"grafana_url": "http://evil.example"}).status_code == 403
    client.force_login(world.victor)
    assert client.post(url, {"grafana_url": "http://evil.example"}).status_code == 403
    svc.van_update(actor=world.admin, obj=van, visibility="private")
    client.force_login(world.bob)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.post(url, {"grafana_url": "http://evil.example"}).status_code == 302  # to the login page
    van.refresh_from_db()
    assert van.grafana_url == fake_grafana.url


def test_pinning_is_checked_like_a_write_and_the_page_embeds_in_kiosk_mode(with_grafana, client):
    world, van, hub, eu, app = with_grafana
    pick = reverse("addons:dashboard_pick", kwargs={"kind": "app", "pk": app.pk}) + f"?van={van.pk}"
    pin = reverse("addons:dashboard_pin", kwargs={"kind": "app", "pk": app.pk})
    for user in (world.bob, world.victor):  # another team, and someone in no team: may see the app, not change it
        client.force_login(user)
        assert client.get(pick).status_code == 403
        assert client.post(pin, {"van": van.pk, "uid": "wl-namespace"}).status_code == 403
    client.logout()
    assert client.post(pin, {"van": van.pk, "uid": "wl-namespace"}).status_code == 302 and not DashboardPin.objects.exists()

    client.force_login(world.alice)
    assert "Namespace workloads" in client.get(pick).content.decode()
    assert client.post(pin, {"van": van.pk, "uid": "not-there"}).status_code == 303 and not DashboardPin.objects.exists()
    assert client.post(pin, {"van": van.pk + 999, "uid": "wl-namespace"}).status_code == 404
    assert client.post(pin, {"van": van.pk, "uid": "wl-namespace"}).status_code == 303
    page = client.get(app.get_absolute_url())
    body = page.content.decode()
    assert "Namespace workloads" in body and "kiosk=" in body and "var-namespace=payments" in body
    assert f"var-cluster={eu.name}" in body and f"var-cluster={hub.name}" in body
    assert f"frame-src {grafana.origin(van.grafana_url)}" in page["Content-Security-Policy"]
    assert "frame-src" not in client.get(eu.get_absolute_url())["Content-Security-Policy"], "no pin there: nothing framed"

    unpin = reverse("addons:dashboard_unpin", kwargs={"pin_pk": DashboardPin.objects.get().pk})
    client.force_login(world.bob)
    assert client.post(unpin).status_code == 403 and DashboardPin.objects.exists()
    client.force_login(world.alice)
    assert client.post(unpin).status_code == 303 and not DashboardPin.objects.exists()


def test_a_private_apps_pins_and_picker_are_404_to_other_teams(with_grafana, client, svc):
    world, van, hub, eu, app = with_grafana
    services.dashboard_pin(actor=world.alice, van=van, target=app, uid="wl-golden")
    svc.app_update(actor=world.admin, obj=app, visibility="private")
    client.force_login(world.bob)
    assert client.get(reverse("addons:dashboard_pick", kwargs={"kind": "app", "pk": app.pk}) + f"?van={van.pk}").status_code == 404
    assert client.post(reverse("addons:dashboard_unpin", kwargs={"pin_pk": DashboardPin.objects.get().pk})).status_code == 404
    assert client.get(reverse("addons:dashboard_pick", kwargs={"kind": "secret", "pk": app.pk})).status_code == 404


def test_cluster_and_van_pages_embed_their_pins(with_grafana, client):
    world, van, hub, eu, app = with_grafana
    services.dashboard_pin(actor=world.admin, van=van, target=eu, uid="wl-cluster")
    services.dashboard_pin(actor=world.admin, van=van, target=van, uid="wl-argocd")
    client.force_login(world.alice)
    cluster_page = client.get(eu.get_absolute_url()).content.decode()
    assert "Cluster overview" in cluster_page and f"var-cluster={eu.name}" in cluster_page and "var-namespace" not in cluster_page
    van_page = client.get(van.get_absolute_url()).content.decode()
    assert "ArgoCD" in van_page and "/d/wl-argocd/argocd?orgId=1&amp;kiosk=" in van_page


@pytest.mark.parametrize("selector, picked", [
    ("cluster", {"Cluster overview"}),  # the older form: a tag
    ("tags @> 'workloads'", {"Namespace workloads"}),
    ("tags @> 'argocd' || title == 'Golden signals'", {"ArgoCD", "Golden signals"}),
    ("(folderTitle == 'Wayline' && tags @> 'app') && title != 'ArgoCD'", {"Golden signals"}),
    ("title @> 'over'", {"Cluster overview"}),
])
def test_dashboard_selectors_pick_as_backstages_grafana_plugin_does(selector, picked, fake_grafana):
    from types import SimpleNamespace

    van = SimpleNamespace(name="demo", grafana_url=fake_grafana.url, grafana_token=TOKEN)
    predicate = grafana.selector_parse(selector)
    assert {d.title for d in grafana.dashboards(van) if predicate(d)} == picked


@pytest.mark.parametrize("bad", ["", "tags @>", "(tags @> 'a'", "colour == 'red'", "tags @> 'a' &&", "tags ~ 'a'"])
def test_a_selector_that_does_not_parse_says_where(bad):
    with pytest.raises(grafana.SelectorError, match="grafana/dashboard-selector"):
        grafana.selector_parse(bad)


def test_an_entity_lists_its_selected_dashboards_and_embeds_its_overview(with_grafana, svc, client, settings, tmp_path, fake_grafana):
    from catalog import services as catalog_services
    from tests.catalog.conftest import GitRepo

    world, van, hub, eu, app = with_grafana
    settings.CATALOG_ALLOW_LOCAL_GIT = True
    overview = f"{fake_grafana.url}/d/wl-golden/golden-signals?var-namespace=payments"
    repo = GitRepo(tmp_path / "catalog-grafana")
    repo.write({"c.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments\n  annotations:\n"
                          "    grafana/dashboard-selector: \"tags @> 'workloads'\"\n"
                          f"    grafana/overview-dashboard: {overview}\n"
                          "spec:\n  type: service\n  lifecycle: production\n  owner: payments\n"})
    repo.commit()
    location = catalog_services.location_register(actor=world.admin, type="git", target=repo.url, path="*.yaml", refresh=False)
    catalog_services.location_refresh(actor=None, location_id=location.pk)
    svc.app_update(actor=world.admin, obj=app, component_ref="component:default/payments")
    kwargs = {"kind": "component", "namespace": "default", "name": "payments"}
    client.force_login(world.alice)
    page = client.get(reverse("catalog:entity", kwargs=kwargs))
    body = page.content.decode()
    assert '<iframe src="' + overview.replace("&", "&amp;") + '&amp;kiosk"' in body
    assert f"frame-src {fake_grafana.url}" in page["Content-Security-Policy"]
    panel = client.get(reverse("catalog:entity_dashboards", kwargs=kwargs)).content.decode()
    assert "Namespace workloads" in panel and "Cluster overview" not in panel
    client.force_login(world.bob)  # the app is public, the VAN too: bob sees the same; a private VAN would drop out
    svc.van_update(actor=world.admin, obj=van, visibility="private")
    page = client.get(reverse("catalog:entity", kwargs=kwargs))
    assert "<iframe" not in page.content.decode() and "frame-src" not in page["Content-Security-Policy"]
    assert "Namespace workloads" not in client.get(reverse("catalog:entity_dashboards", kwargs=kwargs)).content.decode()


@pytest.mark.parametrize("url", ["http://169.254.169.254", "http://10.0.0.1:3000", "http://localhost:6379", "http://127.0.0.1:5432"])
def test_grafana_on_this_server_or_a_private_network_is_refused_unless_an_admin_allows_it(van_world, settings, url):
    world, van, *_ = van_world
    settings.WAYLINE_GRAFANA_ALLOWED_NETWORKS = []
    with pytest.raises(ValidationError, match="that host is refused"):
        services.van_grafana_set(actor=world.admin, van=van, url=url, token="t")
    van.grafana_url, van.grafana_token = url, "t"  # set before the policy, or a name pointed elsewhere since
    with pytest.raises(grafana.GrafanaError, match="is refused"):
        grafana.dashboards(van)


def test_the_token_never_follows_the_url_to_another_host(with_grafana, client):
    """A member who may change the VAN points it at a server of his: the stored token is dropped, never sent there."""
    world, van, hub, eu, app = with_grafana
    evil = FakeGrafana(token="anything").start()
    try:
        evil_url = evil.url.replace("127.0.0.1", "127.0.0.1")  # another port: another origin
        client.force_login(world.alice)
        response = client.post(reverse("addons:grafana_settings", kwargs={"pk": van.pk}), {"grafana_url": evil_url, "grafana_token": ""})
        assert response.status_code == 302
        van.refresh_from_db()
        assert van.grafana_url == evil_url and van.grafana_token == ""
        assert all(TOKEN not in auth for _, auth in evil.requests)
    finally:
        evil.stop()


def test_a_token_grafana_would_not_give_is_refused(van_world, fake_grafana):
    world, van, *_ = van_world
    with pytest.raises(ValidationError, match="printable ASCII"):
        services.van_grafana_set(actor=world.admin, van=van, url=fake_grafana.url, token="glsa_tok\u20acn")


def test_pins_from_a_grafana_the_van_no_longer_uses_are_not_framed(with_grafana, client):
    world, van, hub, eu, app = with_grafana
    services.dashboard_pin(actor=world.alice, van=van, target=app, uid="wl-golden")
    other = FakeGrafana(token="other").start()
    try:
        services.van_grafana_set(actor=world.admin, van=van, url=other.url, token="other")
        client.force_login(world.alice)
        page = client.get(app.get_absolute_url())
        assert "Golden signals" not in page.content.decode() and "frame-src" not in page["Content-Security-Policy"]
    finally:
        other.stop()


def test_odd_grafana_answers_and_selectors_are_errors_not_500s(with_grafana, client, monkeypatch, fake_grafana):
    world, van, hub, eu, app = with_grafana
    fake_grafana.dashboards = [{"uid": 1, "title": None, "url": "x"}, "junk", {"uid": "ok", "title": "OK", "url": "/d/ok/ok", "tags": "notalist"}]
    assert [d.title for d in grafana.dashboards(van)] == ["OK"]
    nested = "(" * 50 + "tags @> 'a'" + ")" * 50
    with pytest.raises(grafana.SelectorError, match="nests more than"):
        grafana.selector_parse(nested)
    with pytest.raises(grafana.SelectorError, match="longer than"):
        grafana.selector_parse(" || ".join(["tags @> 'a'"] * 3000))
