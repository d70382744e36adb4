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
