from django.contrib import admin

from addons.models import AddonInstallation, AddonStatus, CiPipeline, CustomAddon, DashboardPin, InfraClaim, SealedSecretRecord
from portal.admin import ReadOnlyModelAdmin


@admin.register(DashboardPin)
class DashboardPinAdmin(ReadOnlyModelAdmin):
    """Dashboards pinned to app, cluster and VAN pages (pinned and unpinned on those pages only)."""

    list_display = ["title", "uid", "van", "target_type", "target_id", "pinned_by", "created"]
    list_filter = ["van"]
    search_fields = ["title", "uid"]


@admin.register(AddonInstallation)
class AddonInstallationAdmin(ReadOnlyModelAdmin):
    """The add-ons of each VAN (turned on and off, and set, on the VAN's add-ons page or the API: through change sets)."""

    list_display = ["van", "slug", "enabled", "updated"]
    list_filter = ["enabled", "slug"]
    search_fields = ["van__name", "slug"]


@admin.register(CustomAddon)
class CustomAddonAdmin(ReadOnlyModelAdmin):
    """Tools ops added (added on the add-ons page or POST /api/addons/, where the definition is checked)."""

    list_display = ["slug", "added_by", "created"]
    list_filter = ["added_by"]
    search_fields = ["slug"]


@admin.register(SealedSecretRecord)
class SealedSecretRecordAdmin(ReadOnlyModelAdmin):
    """Secrets sealed in the portal: ciphertext and key names only (sealed on the VAN's Sealed Secrets page)."""

    list_display = ["installation", "cluster", "namespace", "name", "scope", "updated"]
    list_filter = ["scope", "cluster"]
    search_fields = ["namespace", "name", "cluster"]


@admin.register(InfraClaim)
class InfraClaimAdmin(ReadOnlyModelAdmin):
    """Infrastructure claims (claimed and changed on the VAN's Infrastructure page, through change sets)."""

    list_display = ["van", "name", "environment", "node_count", "node_size", "updated"]
    list_filter = ["environment", "node_size"]
    search_fields = ["name", "van__name"]


@admin.register(CiPipeline)
class CiPipelineAdmin(ReadOnlyModelAdmin):
    """Apps' CI pipelines (set up on the app's CI page or /api/ci-pipelines/, through change sets); secrets sealed only."""

    list_display = ["app", "van", "branch", "created_by", "updated"]
    list_filter = ["van"]
    search_fields = ["app__name", "van__name"]
    exclude = ["secrets_manifest"]


@admin.register(AddonStatus)
class AddonStatusAdmin(ReadOnlyModelAdmin):
    """What each hub last reported of its add-ons' ArgoCD Applications (written by the status watcher only)."""

    list_display = ["van", "slug", "cluster_name", "sync_status", "health_status", "observed_at", "deleted_at"]
    list_filter = ["health_status", "sync_status", "slug"]
    search_fields = ["application", "van__name"]
