from rest_framework import serializers

from portal.gitops.models import Approval, ChangeSet, ChangeSetFile, Environment, GitOpsRepo


class GitOpsRepoSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, style={"input_type": "password"})
    has_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = GitOpsRepo
        fields = ["id", "name", "url", "branch", "username", "secret", "has_credentials", "is_default", "known_head",
                  "last_sync_at", "unavailable_reason", "unavailable_since", "created", "updated"]
        read_only_fields = ["is_default", "known_head", "last_sync_at", "unavailable_reason", "unavailable_since", "created",
                            "updated"]


class EnvironmentSerializer(serializers.ModelSerializer):
    approver_team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Environment
        fields = ["id", "slug", "name", "order", "requires_approval", "approver_team"]


class ChangeSetFileSerializer(serializers.ModelSerializer):
    delete = serializers.BooleanField(source="is_delete", read_only=True)

    class Meta:
        model = ChangeSetFile
        fields = ["path", "delete", "content"]


class ApprovalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Approval
        fields = ["id", "changeset", "revision", "user_name", "decision", "comment", "created"]


class ChangeSetSerializer(serializers.ModelSerializer):
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    repo = serializers.SlugRelatedField(slug_field="name", read_only=True)
    files = ChangeSetFileSerializer(many=True, read_only=True)
    approval_branch = serializers.SerializerMethodField()

    class Meta:
        model = ChangeSet
        fields = ["id", "repo", "environment", "kind", "status", "owner_label", "revision", "author_name", "author_email",
                  "message", "commit_sha", "approval_branch", "error", "attempts", "next_attempt_at", "conflict_diff", "reverts",
                  "approved_at", "applied_at", "created", "updated", "files"]
        read_only_fields = fields

    def get_approval_branch(self, obj) -> str | None:
        return obj.approval_branch if obj.branch_sha else None


class ChangeSetListSerializer(ChangeSetSerializer):
    class Meta(ChangeSetSerializer.Meta):
        fields = [f for f in ChangeSetSerializer.Meta.fields if f not in ("files", "conflict_diff")]
        read_only_fields = fields


class ProposeChangeSerializer(serializers.Serializer):
    """A platform admin's raw change: any path, always reviewed like the most protected environment
    (the environment is never taken from a request)."""

    repo = serializers.SlugRelatedField(slug_field="name", queryset=GitOpsRepo.objects.all(), required=False, allow_null=True,
                                        default=None, help_text="Name of the GitOps repository; the default one if left out.")
    message = serializers.CharField()
    files_to_write = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False), default=dict)
    files_to_delete = serializers.ListField(child=serializers.CharField(), default=list)


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_comment(self, value):
        from portal.gitops.messages import commit_text_clean

        return commit_text_clean(value or "", field="comment")


class ApprovalDecisionSerializer(DecisionSerializer):
    """An approval or rejection names the revision it reviewed: a change updated since is refused, never decided blind."""

    revision = serializers.IntegerField(min_value=1, max_value=2 ** 31 - 1, help_text="The change's revision you reviewed.")
