import django_filters
from django import forms

from catalog import readcache
from catalog.choices import KINDS, LocationStatus
from catalog.models import Entity, Location
from catalog.refs import EntityRefError, parse_ref
from catalog.selectors import entity_search
from portal.filtersets import SearchFilterSet


class EntityFilterSet(django_filters.FilterSet):
    """Filters shared by the catalog page, its htmx partial and the entities API.

    Every filter accepts any value: one that no entity has matches nothing, rather than being refused
    as "not one of the available choices" (a value a refresh has just added is never refused either).
    """

    q = django_filters.CharFilter(method="search", label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    kind = django_filters.CharFilter(method="filter_kind", label="Kind")
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

    def filter_kind(self, queryset, name, value):
        # Kinds are case-insensitive (as in entity refs): "component" is Component; an exact match keeps the index.
        return queryset.filter(kind=_KIND_NAMES.get(value.strip().lower(), value))

    def filter_owner(self, queryset, name, value):
        return queryset.filter(owner=_ref_key(value, "Group"))

    def filter_system(self, queryset, name, value):
        return queryset.filter(system=_ref_key(value, "System"))

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tag_index__contains=f"|{value.strip()}|")


_KIND_NAMES = {kind.lower(): kind for kind in KINDS}


def dropdown_values(queryset) -> dict[str, list[str]]:
    """Type, lifecycle and namespace values among the entities the user sees, for the page's dropdowns.

    One query for all three (the distinct combinations are few), kept until the catalog changes
    (``catalog.readcache``: a list kept by time alone missed what a refresh had just added, and kept showing
    values of entities the user may no longer see). An htmx partial does not draw the dropdowns.
    """
    return readcache.kept("dropdowns", queryset, lambda: _dropdown_values(queryset))


def _dropdown_values(queryset) -> dict[str, list[str]]:
    names = ("type", "lifecycle", "namespace")
    seen: dict[str, set[str]] = {name: set() for name in names}
    for combination in queryset.order_by().values_list(*names).distinct()[:5000]:
        for name, value in zip(names, combination):
            if value:
                seen[name].add(value)
    return {name: sorted(seen[name])[:200] for name in names}


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
