import django_filters

from portal.filtersets import SearchFilterSet
from portal.models import Team
from van.choices import Environment, Provider
from van.models import Cluster


class ClusterFilterSet(SearchFilterSet):
    search_fields = ("name", "description", "api_url")
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    provider = django_filters.ChoiceFilter(choices=Provider.choices)
    owner_team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), field_name="owner_team", label="Team")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")

    class Meta:
        model = Cluster
        fields = ["q", "environment", "provider", "owner_team", "tag"]

    def filter_tag(self, queryset, name, value):
        # JSON list containment works on SQLite and PostgreSQL via a quoted substring match.
        return queryset.filter(tags__icontains=f'"{value.strip()}"') if value.strip() else queryset
