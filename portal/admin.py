from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from portal.models import ApiToken, AuditEvent, Lease, Team, TeamMembership

admin.site.site_header = "Wayline administration"
admin.site.site_title = "Wayline admin"


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For models that git, ingestion or the services write: ops may look, not edit or delete (that would skip the services)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(GuardedModelAdmin):
    list_display = ["name", "slug", "email", "created"]
    list_filter = ["created"]
    search_fields = ["name", "slug", "description", "email"]
    readonly_fields = ["readers", "editors", "created", "updated"]
    inlines = [TeamMembershipInline]

    def has_add_permission(self, request):
        # A team needs its reader/editor groups: create teams on the Teams page (portal.services.team_create).
        return False


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = ["team", "user", "role", "created"]
    list_filter = ["role", "team"]
    search_fields = ["team__name", "team__slug", "user__username", "user__email"]
    autocomplete_fields = ["user", "team"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by services alone."""

    list_display = ["timestamp", "actor_name", "action", "object_repr", "team"]
    list_filter = ["action", "team", "timestamp"]
    search_fields = ["actor_name", "action", "object_repr", "object_id"]
    date_hierarchy = "timestamp"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "prefix", "label", "created", "last_used"]
    list_filter = ["created", "last_used"]
    search_fields = ["user__username", "prefix"]
    # A scoped token's scope is fixed by what holds it (a CI pipeline): widening it here would hand the holder the
    # user's every right. Ops may only delete a token.
    readonly_fields = ["user", "prefix", "key_hash", "label", "scope_model", "scope_pk", "scope_actions", "created", "last_used"]

    def has_add_permission(self, request):
        return False


@admin.register(Lease)
class LeaseAdmin(ReadOnlyModelAdmin):
    """Who holds which piece of supervised work (the status watchers take and renew these themselves)."""

    list_display = ["name", "holder", "expires_at", "acquired_at", "renewed_at"]
    list_filter = ["holder"]
    search_fields = ["name", "holder"]
