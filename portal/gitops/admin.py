"""GitOps admin for ops. Change sets and approvals are written by the pipeline alone, so they are read-only here."""
from django.contrib import admin

from portal.admin import ReadOnlyModelAdmin
from portal.gitops.models import (
    Approval, ChangeSet, ChangeSetFile, Environment, GitOpsRepo, ManagedFile, WorkerHeartbeat,
)


@admin.register(GitOpsRepo)
class GitOpsRepoAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "url", "branch", "is_default", "last_sync_at"]
    list_filter = ["is_default", "branch"]
    search_fields = ["name", "url"]
    exclude = ["secret"]  # encrypted credential: never shown back


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "requires_approval", "approver_team"]
    list_filter = ["requires_approval", "approver_team"]
    search_fields = ["name", "slug"]
    list_editable = ["order", "requires_approval"]
    filter_horizontal = ["approvers"]  # named approvers, besides the approver team


class ChangeSetFileInline(admin.TabularInline):
    model = ChangeSetFile
    extra = 0
    can_delete = False
    readonly_fields = ["path", "content"]


@admin.register(ChangeSet)
class ChangeSetAdmin(ReadOnlyModelAdmin):
    list_display = ["pk", "message", "status", "environment", "repo", "author_name", "commit_sha", "created"]
    list_filter = ["status", "environment", "repo", "kind"]
    search_fields = ["message", "author_name", "author_email", "commit_sha"]
    inlines = [ChangeSetFileInline]


@admin.register(ChangeSetFile)
class ChangeSetFileAdmin(ReadOnlyModelAdmin):
    list_display = ["changeset", "path"]
    list_filter = ["changeset__environment"]
    search_fields = ["path"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyModelAdmin):
    list_display = ["changeset", "user_name", "decision", "created"]
    list_filter = ["decision"]
    search_fields = ["user_name", "user_email", "comment"]


@admin.register(ManagedFile)
class ManagedFileAdmin(ReadOnlyModelAdmin):
    list_display = ["path", "repo", "drift_detected_at", "updated"]
    list_filter = ["repo", "drift_detected_at"]
    search_fields = ["path", "content_hash"]
    exclude = ["content"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyModelAdmin):
    """Which workers are alive (written by the workers themselves)."""

    list_display = ["hostname", "queues", "started_at", "last_seen"]
    list_filter = ["last_seen"]
    search_fields = ["hostname", "queues"]
