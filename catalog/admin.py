"""Admin views of the catalog: read-only, because entities, relations and errors come from locations
(change them in git, or through the catalog pages and API, which go through the services)."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from catalog import services
from catalog.models import (
    CatalogIdentity,
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
    ScaffolderEvent,
    ScaffolderRun,
    ScaffolderRunGroupObjectPermission,
    ScaffolderRunStep,
    ScaffolderRunUserObjectPermission,
)
from portal.admin import ReadOnlyModelAdmin


@admin.register(Location)
class LocationAdmin(ReadOnlyModelAdmin):
    list_display = ["target", "type", "branch", "path", "owner_team", "visibility", "is_directory", "status",
                    "last_refreshed"]
    list_filter = ["type", "status", "owner_team", "is_directory"]
    search_fields = ["target", "branch", "path"]
    exclude = ["fingerprints", "entity_visibility"]
    actions = ["mark_directory", "unmark_directory"]

    def get_actions(self, request):
        # ReadOnlyModelAdmin drops delete; the directory actions stay, for platform admins only (the service checks).
        actions = admin.ModelAdmin.get_actions(self, request)
        actions.pop("delete_selected", None)
        return actions if request.user.is_superuser else {}

    def _set_directory(self, request, queryset, directory: bool):
        for location in queryset:
            try:
                services.location_directory_set(actor=request.user, location=location, directory=directory)
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
        self.message_user(request, f"{queryset.count()} location(s) updated.")

    @admin.action(description="Make the organisation's directory (its Groups and Users become teams and members)")
    def mark_directory(self, request, queryset):
        self._set_directory(request, queryset, True)

    @admin.action(description="Stop being the organisation's directory (the memberships it gave are removed)")
    def unmark_directory(self, request, queryset):
        self._set_directory(request, queryset, False)


@admin.register(CatalogIdentity)
class CatalogIdentityAdmin(admin.ModelAdmin):
    """Which portal user a catalog User entity is. Written through the services, so memberships follow."""

    list_display = ["ref", "user"]
    list_filter = ["user__is_active"]
    search_fields = ["ref", "user__username"]
    autocomplete_fields = ["user"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, through the service
        return actions

    def save_model(self, request, obj, form, change):
        try:
            saved = services.catalog_identity_link(actor=request.user, user=obj.user, ref=obj.ref)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.catalog_identity_unlink(actor=request.user, identity=obj)


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
    list_display = ["team", "user", "location", "commit", "entity_ref"]
    list_filter = ["team", "location"]
    search_fields = ["user__username", "team__slug"]


@admin.register(LocationUserObjectPermission, LocationGroupObjectPermission)
class LocationObjectPermissionAdmin(ReadOnlyModelAdmin):
    list_display = ["content_object", "permission"]
    list_filter = ["permission"]
    search_fields = ["content_object__target"]


@admin.register(ScaffolderRun)
class ScaffolderRunAdmin(ReadOnlyModelAdmin):
    """Runs of templates: ops look (state, holder, heartbeat, error); cancel and retry go through the pages and API,
    which check the run's team. Secret values are never shown (encrypted, and excluded here)."""

    list_display = ["uid", "template_ref", "owner_team", "created_by", "state", "attempts", "holder", "heartbeat", "created"]
    list_filter = ["state", "owner_team", "visibility"]
    search_fields = ["uid", "template_ref", "template_title", "created_by__username"]
    exclude = ["secrets"]


@admin.register(ScaffolderRunStep)
class ScaffolderRunStepAdmin(ReadOnlyModelAdmin):
    list_display = ["run", "index", "step_id", "action", "state", "started", "finished"]
    list_filter = ["state", "action"]
    search_fields = ["step_id", "action", "run__template_ref"]


@admin.register(ScaffolderEvent)
class ScaffolderEventAdmin(ReadOnlyModelAdmin):
    list_display = ["run", "type", "created"]
    list_filter = ["type"]
    search_fields = ["run__template_ref", "type"]


@admin.register(ScaffolderRunUserObjectPermission, ScaffolderRunGroupObjectPermission)
class ScaffolderRunObjectPermissionAdmin(ReadOnlyModelAdmin):
    list_display = ["content_object", "permission"]
    list_filter = ["permission"]
    search_fields = ["content_object__template_ref"]
