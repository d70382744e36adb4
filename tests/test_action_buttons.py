"""Buttons lead only where the user may go: the check that guards a request also decides its button.

Every "Add ..." and "Register ..." link on a list page is shown exactly when the page it opens answers 200
for that user (``creatable_by``, which the create view checks), and every link to a create or edit page,
on any page, opens for the user who sees it. Victor, in no team, sees no such button at all. The location
form offers a server directory only to platform admins. The platform admin's home says what they may do,
and the distribution rules are in the navigation.
"""
from __future__ import annotations

import re

import pytest
from django.urls import Resolver404, URLResolver, get_resolver, resolve, reverse

from catalog import services as catalog_services
from tests.factories import make_cluster
from van import services as van_services

pytestmark = pytest.mark.django_db

USERS = ("admin", "alice", "carol", "bob", "victor")
NAMESPACES = ("portal", "catalog", "van", "addons", "gitops")
# The list pages with a create button, and the page the button opens.
CREATE_BUTTONS = {
    "portal:team_list": "portal:team_add",
    "catalog:entity_list": "catalog:location_add",
    "catalog:location_list": "catalog:location_add",
    "van:van_list": "van:van_add",
    "van:cluster_list": "van:cluster_add",
    "van:app_list": "van:app_add",
    "gitops:repo_list": "gitops:repo_add",
}


def _routes():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name and namespace in NAMESPACES:
                yield f"{namespace}:{pattern.name}", pattern
    return list(walk(get_resolver().url_patterns))


def _parameterless_pages():
    return [name for name, pattern in _routes() if not pattern.pattern.converters
            and hasattr(getattr(pattern.callback, "view_class", None), "get")]


def _form_links(html: str) -> set[str]:
    """Links on the page to a create or edit page (URL names ending in _add or _edit)."""
    found = set()
    for href in re.findall(r'<a\b[^>]*\bhref="(/[^"?#]*)', html):
        try:
            match = resolve(href)
        except Resolver404:
            continue
        if match.url_name and match.url_name.endswith(("_add", "_edit")):
            found.add(href)
    return found


@pytest.fixture
def objects(world):
    """A public object of each kind the pages below show, owned by payments."""
    cluster = make_cluster(world.payments, name="shown-cluster", actor=world.admin)
    app = van_services.app_create(actor=world.admin, name="shown-app", owner_team=world.payments, namespace="ns",
                                  repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy",
                                  image="registry.example.net/a", version="1.0.0", tags="payments")
    location = catalog_services.location_register(actor=world.admin, type="git", target="https://git.example.net/c.git",
                                                  owner_team=world.payments, refresh=False)
    return [cluster.get_absolute_url(), app.get_absolute_url(), location.get_absolute_url(), world.payments.get_absolute_url()]


def _client_for(client, world, username):
    client.force_login(getattr(world, username))
    return client


@pytest.mark.parametrize("username", USERS)
def test_create_button_is_shown_exactly_when_the_create_page_opens(client, world, username):
    client = _client_for(client, world, username)
    for list_name, create_name in CREATE_BUTTONS.items():
        html = client.get(reverse(list_name)).content.decode()
        shown = reverse(create_name) in _form_links(html)
        status = client.get(reverse(create_name)).status_code
        assert status in (200, 403), (create_name, status)
        assert shown == (status == 200), f"{username} on {list_name}: button shown={shown}, {create_name} answers {status}"


@pytest.mark.parametrize("username", USERS)
def test_every_form_link_on_every_page_opens(client, world, objects, username):
    """Links to create and edit pages, on every parameterless page and on an object of each kind, answer 200."""
    client = _client_for(client, world, username)
    pages = [reverse(name) for name in _parameterless_pages()] + objects
    checked = set()
    for page in pages:
        response = client.get(page)
        if response.status_code != 200:
            continue
        for link in _form_links(response.content.decode()):
            assert client.get(link).status_code == 200, f"{username}: {page} links to {link}, which refuses"
            checked.add(link)
    assert bool(checked) == (username != "victor"), checked  # members edit their team's objects; victor nothing


def test_victor_sees_no_create_or_edit_button(client, world, objects):
    client = _client_for(client, world, "victor")
    for page in [reverse(name) for name in _parameterless_pages()] + objects:
        response = client.get(page)
        links = _form_links(response.content.decode()) if response.status_code == 200 else set()
        assert not links, f"victor sees {links} on {page}"
        assert ">Add " not in response.content.decode() and ">Register " not in response.content.decode()


def test_alice_and_the_admin_see_the_buttons_they_may_use(client, world, objects):
    alice = _client_for(client, world, "alice")
    assert reverse("van:cluster_add") in _form_links(alice.get(reverse("van:cluster_list")).content.decode())
    assert reverse("portal:team_add") not in _form_links(alice.get(reverse("portal:team_list")).content.decode())
    assert reverse("van:cluster_edit", kwargs={"pk": int(objects[0].rstrip("/").rsplit("/", 1)[1])}) in _form_links(
        alice.get(objects[0]).content.decode())
    admin = _client_for(client, world, "admin")
    for list_name, create_name in CREATE_BUTTONS.items():
        assert reverse(create_name) in _form_links(admin.get(reverse(list_name)).content.decode()), list_name


def test_only_platform_admins_are_offered_a_server_directory(client, world):
    url = reverse("catalog:location_add")
    alice = _client_for(client, world, "alice")
    form = alice.get(url).content.decode()
    assert 'value="git"' in form and 'value="path"' not in form and "Local directory" not in form
    # Naming it anyway (no page offers it) is still refused by the service, like the API.
    refused = alice.post(url, {"type": "path", "target": "/etc", "branch": "", "path": "*",
                               "owner_team": world.payments.pk, "visibility": "public"})
    assert refused.status_code == 403
    admin = _client_for(client, world, "admin")
    assert 'value="path"' in admin.get(url).content.decode()


def test_platform_admin_home_says_what_they_may_do(client, world):
    admin = _client_for(client, world, "admin")
    html = admin.get(reverse("portal:home")).content.decode()
    assert "platform admin" in html and "You are in no team yet" not in html
    victor = _client_for(client, world, "victor")
    assert "You are in no team yet" in victor.get(reverse("portal:home")).content.decode()


def test_distribution_rules_are_in_the_navigation(client, world):
    html = _client_for(client, world, "alice").get(reverse("portal:home")).content.decode()
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert f'href="{reverse("van:rule_list")}"' in nav
