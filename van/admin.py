from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from van.models import Cluster


@admin.register(Cluster)
class ClusterAdmin(GuardedModelAdmin):
    list_display = ["name", "environment", "provider", "owner_team", "visibility", "updated"]
    list_filter = ["environment", "provider", "visibility", "owner_team"]
    search_fields = ["name", "description", "api_url"]
