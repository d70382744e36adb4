"""VAN admin for ops. Writes that must reach git go through the portal's services, so most models are read-only here."""
from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from van.models import App, AppRelease, Cluster, DistributionRule, SealedValue, Van


class ReadOnlyMixin:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyMixin, GuardedModelAdmin):
    list_display = ["name", "environment", "provider", "van", "role", "owner_team", "visibility", "updated"]
    list_filter = ["environment", "provider", "role", "visibility", "owner_team", "van"]
    search_fields = ["name", "description", "api_url"]
    exclude = ["credentials"]  # encrypted at rest and never shown back


@admin.register(Van)
class VanAdmin(ReadOnlyMixin, GuardedModelAdmin):
    list_display = ["name", "owner_team", "reachability", "repo", "visibility", "updated"]
    list_filter = ["reachability", "visibility", "owner_team"]
    search_fields = ["name", "description", "hub_host"]


@admin.register(App)
class AppAdmin(ReadOnlyMixin, GuardedModelAdmin):
    list_display = ["name", "source_kind", "image", "version", "namespace", "owner_team", "visibility"]
    list_filter = ["source_kind", "visibility", "owner_team"]
    search_fields = ["name", "description", "image", "repo_url", "component_ref"]


@admin.register(AppRelease)
class AppReleaseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["app", "version", "chart_version", "environment", "author", "created"]
    list_filter = ["environment", "created"]
    search_fields = ["app__name", "version", "chart_version"]


@admin.register(DistributionRule)
class DistributionRuleAdmin(ReadOnlyMixin, GuardedModelAdmin):
    list_display = ["name", "van", "order", "app_match", "cluster_selector", "sync", "owner_team"]
    list_filter = ["van", "app_match", "sync", "owner_team"]
    search_fields = ["name", "cluster_selector"]


@admin.register(SealedValue)
class SealedValueAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["digest", "created"]
    list_filter = ["created"]
    search_fields = ["digest"]
