"""Admin views of the catalog: read-only, because entities, relations and errors come from locations
(change them in git, or through the catalog pages and API, which go through the services)."""
from django.contrib import admin

from catalog.models import (
    CatalogMembership,
    Entity,
    EntityDocument,
    EntityGroupObjectPermission,
    EntityUserObjectPermission,
    Location,
    LocationError,
    LocationGroupObjectPermission,
    LocationUserObjectPermission,
    Relation,
)
from portal.admin import ReadOnlyModelAdmin


@admin.register(Location)
class LocationAdmin(ReadOnlyModelAdmin):
    list_display = ["target", "type", "branch", "path", "owner_team", "status", "last_refreshed"]
    list_filter = ["type", "status", "owner_team"]
    search_fields = ["target", "branch", "path"]
    exclude = ["fingerprints"]


@admin.register(LocationError)
class LocationErrorAdmin(ReadOnlyModelAdmin):
    list_display = ["location", "path", "doc_index", "line", "field", "code", "message"]
    list_filter = ["code", "location"]
    search_fields = ["path", "field", "message", "entity_ref"]


@admin.register(Entity)
class EntityAdmin(ReadOnlyModelAdmin):
    list_display = ["ref", "kind", "type", "owner", "lifecycle", "owner_team", "visibility", "orphaned"]
    list_filter = ["kind", "lifecycle", "visibility", "owner_team", "location"]
    search_fields = ["ref", "title", "description"]
    exclude = ["search_text"]
    readonly_fields = ["data", "source_text"]  # from the entity's EntityDocument


@admin.register(EntityDocument)
class EntityDocumentAdmin(ReadOnlyModelAdmin):
    list_display = ["entity"]
    list_select_related = ["entity"]
    list_filter = ["entity__kind"]
    search_fields = ["entity__ref"]


@admin.register(Relation)
class RelationAdmin(ReadOnlyModelAdmin):
    list_display = ["source_ref", "type", "target_ref"]
    list_filter = ["type"]
    search_fields = ["source_ref", "target_ref"]


@admin.register(EntityUserObjectPermission, EntityGroupObjectPermission)
class EntityObjectPermissionAdmin(ReadOnlyModelAdmin):
    list_display = ["content_object", "permission"]
    list_filter = ["permission"]
    search_fields = ["content_object__ref"]


@admin.register(CatalogMembership)
class CatalogMembershipAdmin(ReadOnlyModelAdmin):
    list_display = ["team", "user"]
    list_filter = ["team"]
    search_fields = ["user__username", "team__slug"]


@admin.register(LocationUserObjectPermission, LocationGroupObjectPermission)
class LocationObjectPermissionAdmin(ReadOnlyModelAdmin):
    list_display = ["content_object", "permission"]
    list_filter = ["permission"]
    search_fields = ["content_object__target"]
