from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portal.api.viewsets import PortalViewSet
from portal.gitops import selectors, services
from portal.gitops.api.serializers import (
    ApprovalSerializer,
    ChangeSetListSerializer,
    ChangeSetSerializer,
    DecisionSerializer,
    EnvironmentSerializer,
    GitOpsRepoSerializer,
    ProposeChangeSerializer,
)
from portal.gitops.filtersets import ChangeSetFilterSet


def _drf_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class GitOpsRepoViewSet(PortalViewSet):
    selector = selectors.repo_list
    serializer_class = GitOpsRepoSerializer
    create_service = services.repo_create
    update_service = services.repo_update

    def create(self, request, *args, **kwargs):
        if not (request.user.is_superuser or request.user.has_perm("gitops.add_gitopsrepo")):
            raise PermissionDenied("Only platform admins register GitOps repositories.")
        try:
            return super().create(request, *args, **kwargs)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None

    def _update(self, request, partial):
        try:
            return super()._update(request, partial)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None


class EnvironmentViewSet(PortalViewSet):
    selector = selectors.environment_list
    serializer_class = EnvironmentSerializer


class ApprovalViewSet(PortalViewSet):
    selector = selectors.approval_list
    serializer_class = ApprovalSerializer


class ChangeSetViewSet(PortalViewSet):
    selector = selectors.changeset_list
    filterset_class = ChangeSetFilterSet

    def get_serializer_class(self):
        if self.action == "list":
            return ChangeSetListSerializer
        if self.action == "create":
            return ProposeChangeSerializer
        if self.action in ("approve", "reject", "revert", "retry"):
            return DecisionSerializer
        return ChangeSetSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.prefetch_related("files") if self.action == "retrieve" else qs

    @extend_schema(request=ProposeChangeSerializer, responses=ChangeSetSerializer)
    def create(self, request, *args, **kwargs):
        from portal.selectors import teams_user_can_edit_for

        if not teams_user_can_edit_for(user=request.user).exists():
            raise PermissionDenied("You belong to no team that may propose changes.")
        serializer = ProposeChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            cs = services.propose_change(actor=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ChangeSetSerializer(cs).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, service):
        cs = self.get_object()
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = service(actor=request.user, changeset=cs, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        target = result if hasattr(result, "status") else cs
        target.refresh_from_db()
        return Response(ChangeSetSerializer(target).data)

    @extend_schema(request=DecisionSerializer, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, services.changeset_approve)

    @extend_schema(request=DecisionSerializer, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, services.changeset_reject)

    @extend_schema(request=DecisionSerializer, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def revert(self, request, pk=None):
        return self._decide(request, services.changeset_revert)

    @extend_schema(request=None, responses=ChangeSetSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        cs = self.get_object()
        try:
            cs = services.changeset_retry(actor=request.user, changeset=cs)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ChangeSetSerializer(cs).data)
