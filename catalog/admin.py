"""Catalog admin for ops: read-mostly, since entities come from git and change only by refresh."""
from django.contrib import admin

from catalog.models import Entity, Location, LocationError, Relation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Entity)
class EntityAdmin(ReadOnlyAdmin):
    list_display = ["ref", "kind", "type", "lifecycle", "owner", "owner_team", "visibility", "processed", "orphaned"]
    list_filter = ["kind", "namespace", "lifecycle", "visibility", "owner_team", "location"]
    search_fields = ["ref", "name", "title", "owner", "system", "domain", "tag_index"]
    list_select_related = ["owner_team"]


@admin.register(Relation)
class RelationAdmin(ReadOnlyAdmin):
    list_display = ["source_ref", "type", "target_ref"]
    list_filter = ["type"]
    search_fields = ["source_ref", "target_ref"]


class LocationErrorInline(admin.TabularInline):
    model = LocationError
    extra = 0
    can_delete = False
    fields = ["path", "doc_index", "line", "field", "message"]
    readonly_fields = fields


@admin.register(Location)
class LocationAdmin(ReadOnlyAdmin):
    list_display = ["target", "type", "branch", "path", "owner_team", "status", "last_refreshed"]
    list_filter = ["type", "status", "visibility", "owner_team"]
    search_fields = ["target", "branch", "path", "last_commit"]
    inlines = [LocationErrorInline]


@admin.register(LocationError)
class LocationErrorAdmin(ReadOnlyAdmin):
    list_display = ["location", "path", "doc_index", "line", "field", "code"]
    list_filter = ["code", "location"]
    search_fields = ["path", "field", "message", "entity_ref"]
