from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from portal.api.viewsets import PortalViewSet
from portal.gitops import selectors, services
from portal.gitops.api.serializers import (
    ApprovalDecisionSerializer,
    ApprovalSerializer,
    ChangeSetListSerializer,
    ChangeSetSerializer,
    DecisionSerializer,
    EnvironmentSerializer,
    GitOpsRepoSerializer,
    ProposeChangeSerializer,
)
from portal.gitops.filtersets import ChangeSetFilterSet
from portal.gitops.gitrepo import GitError


def _drf_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class CommitSerializer(serializers.Serializer):
    sha = serializers.CharField()
    author_name = serializers.CharField()
    author_email = serializers.CharField()
    committer_name = serializers.CharField()
    date = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField()
    change_ids = serializers.ListField(child=serializers.IntegerField())
    approved_by = serializers.ListField(child=serializers.CharField())
    diff = serializers.CharField(required=False)


def _git_or_503(fn):
    try:
        return fn()
    except GitError as exc:
        raise ServiceUnavailable(f"Could not read the repository: {exc}") from None


class ServiceUnavailable(APIException):
    status_code = 503
    default_detail = "The repository could not be read."


class GitOpsRepoViewSet(PortalViewSet):
    """GitOps repositories the portal commits to; platform admins register and change them."""

    selector = selectors.repo_list
    serializer_class = GitOpsRepoSerializer
    create_service = services.repo_create
    update_service = services.repo_update

    def create(self, request, *args, **kwargs):
        try:
            return super().create(request, *args, **kwargs)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None

    def _update(self, request, partial):
        try:
            return super()._update(request, partial)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None

    @extend_schema(
        parameters=[OpenApiParameter("path", str, description="Only commits touching this file or folder (with diffs)"),
                    OpenApiParameter("page", int)],
        responses=CommitSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """Commits of the repo's branch that the caller may see (those of change sets they may see; commits made
        outside Wayline for platform admins only), read from git; with ``path``, each with its diff for that path."""
        repo = self.get_object()
        path = request.query_params.get("path") or None
        try:
            page = min(max(0, int(request.query_params.get("page", "0"))), 10 ** 6)
        except ValueError:
            page = 0
        commits, _ = _git_or_503(lambda: selectors.repo_history(repo=repo, user=request.user, path=path, limit=50, skip=page * 50))
        if path:
            for commit in commits:
                commit["diff"] = _git_or_503(lambda c=commit: selectors.commit_diff(repo=repo, sha=c["sha"], path=path))
        return Response(CommitSerializer(commits, many=True).data)


class EnvironmentViewSet(PortalViewSet):
    """Environments (dev, staging, prod, ...) and whether their changes need approval (read only)."""

    selector = selectors.environment_list
    serializer_class = EnvironmentSerializer


class ApprovalViewSet(PortalViewSet):
    """Approvals and rejections of changes (read only; decide through a change set's approve/reject)."""

    selector = selectors.approval_list
    serializer_class = ApprovalSerializer


class ChangeSetViewSet(PortalViewSet):
    """Change sets: commits the portal proposes to a GitOps repository, with approval, retry and revert.

    Visible to the owner's team, the environment's approvers and platform admins.
    Proposing a raw change (``POST``) is for platform admins; everyone else changes
    git through the objects that own its files (VANs, ...).
    """

    selector = selectors.changeset_list
    filterset_class = ChangeSetFilterSet
    object_actions = {"approve": "approve", "reject": "reject", "revert": "revert", "retry": "retry"}

    def get_serializer_class(self):
        if self.action == "list":
            return ChangeSetListSerializer
        if self.action == "create":
            return ProposeChangeSerializer
        if self.action in ("approve", "reject"):
            return ApprovalDecisionSerializer
        if self.action in ("revert", "retry"):
            return DecisionSerializer
        return ChangeSetSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.prefetch_related("files") if self.action == "retrieve" else qs

    @extend_schema(request=ProposeChangeSerializer, responses=ChangeSetSerializer)
    def create(self, request, *args, **kwargs):
        self.check_create_allowed(request)
        serializer = ProposeChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            cs = services.propose_change(actor=request.user, owner=None, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ChangeSetSerializer(cs).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, service):
        cs = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = service(actor=request.user, changeset=cs, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        target = result if hasattr(result, "status") else cs
        target.refresh_from_db()
        return Response(ChangeSetSerializer(target).data)

    @extend_schema(request=ApprovalDecisionSerializer, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve (the environment's approvers, never an author); give ``revision`` to approve only the diff you saw."""
        return self._decide(request, services.changeset_approve)

    @extend_schema(request=ApprovalDecisionSerializer, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, services.changeset_reject)

    @extend_schema(request=DecisionSerializer, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def revert(self, request, pk=None):
        return self._decide(request, services.changeset_revert)

    @extend_schema(responses={200: {"type": "object", "properties": {"diff": {"type": "string"}}}})
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """The change's unified diff (its commit once applied, its approval branch while waiting)."""
        cs = self.get_object()
        return Response({"diff": _git_or_503(lambda: selectors.changeset_diff(changeset=cs))})

    @extend_schema(request=None, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        cs = self.get_object()
        try:
            cs = services.changeset_retry(actor=request.user, changeset=cs)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ChangeSetSerializer(cs).data)
