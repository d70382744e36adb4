from django.contrib import admin

from addons.models import DashboardPin
from portal.admin import ReadOnlyModelAdmin


@admin.register(DashboardPin)
class DashboardPinAdmin(ReadOnlyModelAdmin):
    """Dashboards pinned to app, cluster and VAN pages (pinned and unpinned on those pages only)."""

    list_display = ["title", "uid", "van", "target_type", "target_id", "pinned_by", "created"]
    list_filter = ["van"]
    search_fields = ["title", "uid"]
