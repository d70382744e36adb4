import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

WAYLINE_APPS = {"portal", "gitops", "catalog", "van", "addons"}


def wayline_models():
    return [model for model in apps.get_models() if model._meta.app_label in WAYLINE_APPS]


def test_every_wayline_model_is_in_the_admin_with_filters_and_search():
    missing, bare = [], []
    for model in wayline_models():
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            missing.append(model._meta.label)
        elif not model_admin.list_filter or not model_admin.search_fields:
            bare.append(model._meta.label)
    assert not missing, f"not registered in the admin: {missing}"
    assert not bare, f"admin without list_filter or search_fields: {bare}"


@pytest.mark.django_db
def test_admin_changelists_render(client, world):
    client.force_login(world.admin)
    for model in wayline_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url, {"q": "x"})
        assert response.status_code == 200, (model._meta.label, response.status_code)
