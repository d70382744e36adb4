import django_filters
from django import forms

from catalog.choices import KINDS, LocationStatus
from catalog.models import Entity, Location
from catalog.refs import EntityRefError, parse_ref
from catalog.selectors import entity_search
from portal.filtersets import SearchFilterSet


class EntityFilterSet(django_filters.FilterSet):
    """Filters shared by the catalog page, its htmx partial and the entities API."""

    q = django_filters.CharFilter(method="search", label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    kind = django_filters.ChoiceFilter(choices=[(k, k) for k in KINDS], lookup_expr="iexact")
    type = django_filters.ChoiceFilter(choices=[], label="Type")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner")
    lifecycle = django_filters.ChoiceFilter(choices=[], label="Lifecycle")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    namespace = django_filters.ChoiceFilter(choices=[], label="Namespace")
    system = django_filters.CharFilter(method="filter_system", label="System")

    class Meta:
        model = Entity
        fields = ["q", "kind", "type", "owner", "lifecycle", "tag", "namespace", "system"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Dropdowns list the values present among the entities the user can see: one query each.
        base = self.queryset.order_by()
        for name in ("type", "lifecycle", "namespace"):
            values = base.exclude(**{name: ""}).values_list(name, flat=True).distinct().order_by(name)[:200]
            self.filters[name].extra["choices"] = [(v, v) for v in values]

    def search(self, queryset, name, value):
        return entity_search(queryset, value)

    def filter_owner(self, queryset, name, value):
        return queryset.filter(owner=_ref_key(value, "Group"))

    def filter_system(self, queryset, name, value):
        return queryset.filter(system=_ref_key(value, "System"))

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tag_index__contains=f"|{value.strip()}|")


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
