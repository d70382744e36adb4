"""The shared permission checks (tests/base.py) for catalog entities and locations, pages and API."""
from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from catalog import services
from tests.base import RestrictedApiTests, RestrictedPageTests
from tests.catalog.conftest import component_yaml

pytestmark = pytest.mark.django_db
_seq = itertools.count(1)


@pytest.fixture
def entity_dir(tmp_path):
    """A directory location (admin-registered) that each ``make_object`` adds a file to and refreshes."""
    location = services.location_register(actor=None, type="path", target=str(tmp_path), path="*.yaml", refresh=False)
    return tmp_path, location


class EntityFactory:
    @pytest.fixture(autouse=True)
    def _entity_dir(self, entity_dir):
        self.directory, self.location = entity_dir

    def make_object(self, team, visibility):
        from catalog.models import Entity

        name = f"svc-{next(_seq)}"
        (self.directory / f"{name}.yaml").write_text(component_yaml(name, team.slug))
        services.location_refresh(actor=None, location_id=self.location.pk)
        entity = Entity.objects.get(name=name)
        assert entity.owner_team == team
        return services.entity_settings_update(actor=None, obj=entity, visibility=visibility)


class TestEntityPages(EntityFactory, RestrictedPageTests):
    list_url_name = "catalog:entity_list"
    detail_url_name = "catalog:entity"

    def detail_url(self, obj):
        return obj.get_absolute_url()


class TestEntityApi(EntityFactory, RestrictedApiTests):
    api_list_url_name = "entity-list"
    api_detail_url_name = "entity-detail"
    api_lookup_field = "uid"


class LocationFactory:
    def make_object(self, team, visibility):
        return services.location_register(
            actor=None, type="git", target=f"https://git.example.com/{team.slug}/repo-{next(_seq)}.git",
            owner_team=team, visibility=visibility, refresh=False,
        )


class TestLocationPages(LocationFactory, RestrictedPageTests):
    list_url_name = "catalog:location_list"
    detail_url_name = "catalog:location"


class TestLocationApi(LocationFactory, RestrictedApiTests):
    api_list_url_name = "location-list"
    api_detail_url_name = "location-detail"
    api_lookup_field = "pk"

    def api_detail_url(self, obj):
        return reverse(self.api_detail_url_name, kwargs={"pk": obj.pk})
