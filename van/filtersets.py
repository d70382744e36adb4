import django_filters

from portal.filtersets import SearchFilterSet
from portal.models import Team
from van.choices import Environment, Provider, SourceKind
from van.models import App, Cluster, DistributionRule, Van


def _visible_vans(request):
    return Van.objects.restrict(getattr(request, "user", None), "view")


class _TagFilterMixin:
    def filter_tag(self, queryset, name, value):
        # JSON list containment works on SQLite and PostgreSQL via a quoted substring match.
        return queryset.filter(**{f"{name}__icontains": f'"{value.strip()}"'}) if value.strip() else queryset


class ClusterFilterSet(_TagFilterMixin, SearchFilterSet):
    search_fields = ("name", "description", "api_url")
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    provider = django_filters.ChoiceFilter(choices=Provider.choices)
    owner_team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), field_name="owner_team", label="Team")
    van = django_filters.ModelChoiceFilter(queryset=_visible_vans, label="VAN")
    tag = django_filters.CharFilter(field_name="tags", method="filter_tag", label="Tag")

    class Meta:
        model = Cluster
        fields = ["q", "environment", "provider", "owner_team", "van", "tag"]


class VanFilterSet(SearchFilterSet):
    search_fields = ("name", "description", "hub_host")
    owner_team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), field_name="owner_team", label="Team")

    class Meta:
        model = Van
        fields = ["q", "owner_team"]


class AppFilterSet(_TagFilterMixin, SearchFilterSet):
    search_fields = ("name", "description", "image", "repo_url", "component_ref")
    source_kind = django_filters.ChoiceFilter(choices=SourceKind.choices, label="Source")
    owner_team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), field_name="owner_team", label="Team")
    tag = django_filters.CharFilter(field_name="tags", method="filter_tag", label="Tag")
    component = django_filters.CharFilter(field_name="component_ref", lookup_expr="iexact", label="Catalog component")

    class Meta:
        model = App
        fields = ["q", "source_kind", "owner_team", "tag", "component"]


class RuleFilterSet(SearchFilterSet):
    search_fields = ("name", "cluster_selector")
    van = django_filters.ModelChoiceFilter(queryset=_visible_vans, label="VAN")

    class Meta:
        model = DistributionRule
        fields = ["q", "van"]
