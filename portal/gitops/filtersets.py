import django_filters

from portal.filtersets import SearchFilterSet
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet, Environment, GitOpsRepo


class GitOpsRepoFilterSet(SearchFilterSet):
    search_fields = ("name", "url", "branch")

    class Meta:
        model = GitOpsRepo
        fields = ["q"]


class ChangeSetFilterSet(SearchFilterSet):
    search_fields = ("message", "author_name", "files__path")
    status = django_filters.ChoiceFilter(choices=ChangeSetStatus.choices)
    environment = django_filters.ModelChoiceFilter(queryset=Environment.objects.all(), to_field_name="slug")
    repo = django_filters.ModelChoiceFilter(queryset=GitOpsRepo.objects.all(), to_field_name="name")

    class Meta:
        model = ChangeSet
        fields = ["q", "status", "environment", "repo"]

    def search(self, queryset, name, value):
        return super().search(queryset, name, value).distinct()
