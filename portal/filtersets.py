import django_filters
from django.db.models import Q

from portal.models import AuditEvent, Team


class SearchFilterSet(django_filters.FilterSet):
    """A FilterSet with a free-text ``q`` over ``search_fields``."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label="Search")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class TeamFilterSet(SearchFilterSet):
    search_fields = ("slug", "name", "description")

    class Meta:
        model = Team
        fields = ["q"]


class AuditEventFilterSet(SearchFilterSet):
    search_fields = ("actor_name", "action", "object_repr")
    action = django_filters.CharFilter(lookup_expr="startswith", label="Action starts with")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())

    class Meta:
        model = AuditEvent
        fields = ["q", "action", "team"]
