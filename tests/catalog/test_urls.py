import pytest
from django.urls import reverse

from catalog.models.entities import entity_url


@pytest.mark.parametrize("kind, namespace, name", [
    ("Component", "default", "service-1"),
    ("API", "team.a", "my_api.v2"),
    ("Group", "default", "ops~x:y@z"),
    ("System", "default", "a b%c"),  # not a valid entity name, but quoted the way reverse() quotes it
])
def test_entity_url_matches_reverse(kind, namespace, name):
    expected = reverse("catalog:entity", kwargs={"kind": kind.lower(), "namespace": namespace, "name": name})
    assert entity_url(kind, namespace, name) == expected


def test_entity_url_follows_script_prefix():
    from django.urls import set_script_prefix

    set_script_prefix("/portal/")
    try:
        assert entity_url("Component", "default", "x") == "/portal/catalog/component/default/x/"
    finally:
        set_script_prefix("/")


def test_list_row_html_escapes_every_value_and_links_the_entity():
    from catalog.views import entity_row_html

    row = {
        "kind": "Component", "namespace": "default", "name": "svc", "title": "<b>T</b>", "type": "service&co",
        "lifecycle": "production", "owner": "group:default/team-<x>", "system": "system:ops/core",
        "tags": ["a<b", "c"], "description": "d" * 200,
    }
    html = entity_row_html(row)
    assert html.startswith("<tr>") and html.endswith("</tr>") and html.count("<td") == 8
    assert '<a href="/catalog/component/default/svc/">&lt;b&gt;T&lt;/b&gt; <small class="muted">svc</small></a>' in html
    assert "<td>service&amp;co</td>" in html and "<td>team-&lt;x&gt;</td>" in html and "<td>ops/core</td>" in html
    assert '<span class="tag">a&lt;b</span><span class="tag">c</span>' in html
    assert "<td class=\"free\">" + "d" * 119 + "…</td>" in html  # truncated to 120 characters, as truncatechars did
    assert "<b>" not in html
