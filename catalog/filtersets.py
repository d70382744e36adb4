import django_filters
from django import forms
from django.core.cache import cache

from catalog.choices import KINDS, LocationStatus
from catalog.models import Entity, Location
from catalog.refs import EntityRefError, parse_ref
from catalog.selectors import entity_search
from portal.filtersets import SearchFilterSet


class EntityFilterSet(django_filters.FilterSet):
    """Filters shared by the catalog page, its htmx partial and the entities API."""

    q = django_filters.CharFilter(method="search", label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    kind = django_filters.ChoiceFilter(choices=[(k, k) for k in KINDS])
    # Exact matches on any value, not choices from the cached dropdown lists: a value that a
    # refresh added within the cache's minute must still filter, and an unknown one matches nothing.
    type = django_filters.CharFilter(label="Type")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner")
    lifecycle = django_filters.CharFilter(label="Lifecycle")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    namespace = django_filters.CharFilter(label="Namespace")
    system = django_filters.CharFilter(method="filter_system", label="System")

    class Meta:
        model = Entity
        fields = ["q", "kind", "type", "owner", "lifecycle", "tag", "namespace", "system"]

    def search(self, queryset, name, value):
        return entity_search(queryset, value)

    def filter_owner(self, queryset, name, value):
        return queryset.filter(owner=_ref_key(value, "Group"))

    def filter_system(self, queryset, name, value):
        return queryset.filter(system=_ref_key(value, "System"))

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tag_index__contains=f"|{value.strip()}|")


DROPDOWN_SECONDS = 60


def dropdown_values(queryset, user) -> dict[str, list[str]]:
    """Type, lifecycle and namespace values among the entities the user sees, for the page's dropdowns.

    Only for display: the filters accept any value, so a list up to a minute old
    can miss a new value without making it unfilterable.

    One query for all three (the distinct combinations are few), kept for a
    minute per user so that filtering and paging do not repeat it.
    """
    names = ("type", "lifecycle", "namespace")
    key = f"catalog:dropdowns:{getattr(user, 'pk', None)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    seen: dict[str, set[str]] = {name: set() for name in names}
    for combination in queryset.order_by().values_list(*names).distinct()[:5000]:
        for name, value in zip(names, combination):
            if value:
                seen[name].add(value)
    values = {name: sorted(seen[name])[:200] for name in names}
    cache.set(key, values, DROPDOWN_SECONDS)
    return values


def _ref_key(value: str, default_kind: str) -> str:
    try:
        return parse_ref(value.strip(), default_kind=default_kind).key
    except EntityRefError:
        return value.strip().lower()


class LocationFilterSet(SearchFilterSet):
    search_fields = ("target", "path", "branch")
    status = django_filters.ChoiceFilter(choices=LocationStatus.choices)

    class Meta:
        model = Location
        fields = ["q", "status", "owner_team"]
