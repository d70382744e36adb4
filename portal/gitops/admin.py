"""Admin: environments are configured here; repositories and change sets are read-only views
(repositories are registered through the portal page or API so the audit log sees them)."""
from django.contrib import admin

from portal.gitops.models import Approval, ChangeSet, ChangeSetFile, Environment, GitOpsRepo, ManagedFile


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "requires_approval", "approver_team"]
    list_editable = ["order", "requires_approval"]
    list_filter = ["requires_approval", "approver_team"]
    filter_horizontal = ["approvers"]
    search_fields = ["name", "slug"]


@admin.register(GitOpsRepo)
class GitOpsRepoAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "branch", "is_default", "last_sync_at"]
    list_filter = ["is_default", "branch"]
    search_fields = ["name", "url"]
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
    list_filter = ["decision", "created"]
    search_fields = ["user_name", "comment", "changeset__message"]
    readonly_fields = ["changeset", "user", "user_name", "user_email", "decision", "comment"]

    def has_add_permission(self, request):
        return False


@admin.register(ChangeSetFile)
class ChangeSetFileAdmin(admin.ModelAdmin):
    list_display = ["path", "changeset"]
    list_filter = ["changeset__status", "changeset__environment"]
    search_fields = ["path", "changeset__message"]
    readonly_fields = ["changeset", "path", "content"]

    def has_add_permission(self, request):
        return False


@admin.register(ManagedFile)
class ManagedFileAdmin(admin.ModelAdmin):
    list_display = ["path", "repo", "last_changeset", "drift_detected_at"]
    list_filter = ["repo", "drift_detected_at"]
    search_fields = ["path"]
    readonly_fields = ["repo", "path", "content", "content_hash", "last_changeset", "git_hash", "drift_detected_at"]

    def has_add_permission(self, request):
        return False
