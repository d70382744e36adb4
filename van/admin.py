from django.contrib import admin

from portal.admin import ReadOnlyModelAdmin
from van.models import App, AppRelease, Cluster, DistributionRule, SealedValue, Van

# Credentials and private keys never appear in the admin: edit them through the portal's write-only fields.
# Everything here is git truth, written by the services with a change set and an audit row: read-only in the admin.


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "environment", "provider", "van", "role", "owner_team", "visibility", "updated"]
    list_filter = ["environment", "provider", "role", "visibility", "owner_team"]
    search_fields = ["name", "description", "api_url"]
    exclude = ["credentials", "link_key"]
    readonly_fields = ["van", "role", "link_cert"]


@admin.register(Van)
class VanAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "reachability", "hub_host", "owner_team", "visibility", "updated"]
    list_filter = ["reachability", "visibility", "owner_team"]
    search_fields = ["name", "description", "hub_host"]
    exclude = ["link_ca_key"]
    readonly_fields = ["link_ca_cert"]


@admin.register(App)
class AppAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "source_kind", "namespace", "version", "owner_team", "visibility", "updated"]
    list_filter = ["source_kind", "visibility", "owner_team"]
    search_fields = ["name", "description", "image", "repo_url", "component_ref"]


@admin.register(AppRelease)
class AppReleaseAdmin(ReadOnlyModelAdmin):
    list_display = ["app", "version", "chart_version", "author", "created"]
    list_filter = ["created"]
    search_fields = ["app__name", "version", "chart_version"]


@admin.register(DistributionRule)
class DistributionRuleAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "van", "order", "cluster_selector", "sync", "updated"]
    list_filter = ["sync", "van"]
    search_fields = ["name", "cluster_selector"]


@admin.register(SealedValue)
class SealedValueAdmin(ReadOnlyModelAdmin):
    list_display = ["digest", "created"]
    list_filter = ["created"]
    search_fields = ["digest"]
