"""Admin: environments are configured here; repositories and change sets are read-only views
(repositories are registered through the portal page or API so the audit log sees them)."""
from django.contrib import admin

from portal.gitops.models import Approval, ChangeSet, Environment, GitOpsRepo


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "requires_approval", "approver_team"]
    list_editable = ["order", "requires_approval"]
    filter_horizontal = ["approvers"]
    search_fields = ["name", "slug"]


@admin.register(GitOpsRepo)
class GitOpsRepoAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "branch", "is_default", "last_sync_at"]
    # The secret never appears here: neither its value nor an input that would echo it.
    fields = ["name", "url", "branch", "username", "is_default", "known_head", "last_sync_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


@admin.register(ChangeSet)
class ChangeSetAdmin(admin.ModelAdmin):
    list_display = ["pk", "message", "status", "environment", "author_name", "repo", "commit_sha", "created"]
    list_filter = ["status", "environment", "repo"]
    search_fields = ["message", "author_name", "commit_sha"]
    readonly_fields = [f.name for f in ChangeSet._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    list_display = ["changeset", "user_name", "decision", "created"]
    readonly_fields = ["changeset", "user", "user_name", "user_email", "decision", "comment"]

    def has_add_permission(self, request):
        return False
