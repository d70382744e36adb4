from django.contrib import admin

from portal.admin import ReadOnlyModelAdmin
from van.models import (
    App, AppRelease, AppStatus, AppStatusChange, Cluster, ClusterConnection, DistributionRule, Finding, SealedValue, Van,
)

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


@admin.register(AppStatus)
class AppStatusAdmin(ReadOnlyModelAdmin):
    """Applications as the hubs last reported them (written by the status watcher only)."""

    list_display = ["application", "van", "sync_status", "health_status", "revision", "observed_at", "deleted_at"]
    list_filter = ["sync_status", "health_status"]
    search_fields = ["application", "app_name", "cluster_name"]


@admin.register(ClusterConnection)
class ClusterConnectionAdmin(ReadOnlyModelAdmin):
    """What Wayline last found when it talked to each cluster's API."""

    list_display = ["cluster", "state", "message", "checked_at", "seen_at"]
    list_filter = ["state"]
    search_fields = ["cluster__name", "message"]


@admin.register(AppStatusChange)
class AppStatusChangeAdmin(ReadOnlyModelAdmin):
    list_display = ["status", "at", "sync_status", "health_status"]
    list_filter = ["sync_status", "health_status"]
    search_fields = ["status__application", "message"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyModelAdmin):
    """K8sGPT findings as the hubs last reported them, and the team each was routed to (written by the watcher only)."""

    list_display = ["kind", "object_name", "cluster_name", "van", "app", "owner_team", "first_seen", "resolved_at"]
    list_filter = ["kind", "owner_team"]
    search_fields = ["object_name", "cluster_name", "kubernetes_id"]
