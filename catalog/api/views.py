from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.serializers import (
    EntityListSerializer,
    EntitySerializer,
    EntityValidateSerializer,
    LocationErrorSerializer,
    LocationSerializer,
    RelationSerializer,
    ValidationResultSerializer,
)
from catalog.filtersets import EntityFilterSet, LocationFilterSet
from portal.api.pagination import PortalPagination
from portal.api.viewsets import PortalViewSet


def _service_errors(exc: DjangoValidationError):
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class EntityViewSet(PortalViewSet):
    """Catalog entities: list/filter/search (``q``), get by uid, change portal-side settings, validate a document."""

    selector = staticmethod(selectors.entity_list)
    filterset_class = EntityFilterSet
    lookup_field = "uid"
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self):
        queryset = (
            super().get_queryset().select_related("owner_team", "location")
            .defer("location__fingerprints", "location__last_report")
        )
        return queryset.defer("data", "source_text", "search_text") if self.action == "list" else queryset

    def get_serializer_class(self):
        return EntityListSerializer if self.action == "list" else EntitySerializer

    @staticmethod
    def update_service(*, actor, obj, visibility=None):
        return services.entity_settings_update(actor=actor, obj=obj, visibility=visibility or obj.visibility)

    @extend_schema(request=EntityValidateSerializer, responses=ValidationResultSerializer)
    @action(detail=False, methods=["post"])
    def validate(self, request):
        """Validate a raw entity document as ingestion would; nothing is stored."""
        payload = EntityValidateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        errors = services.entity_validate(document=payload.validated_data["document"])
        body = {"valid": not errors, "errors": [{"field": e.field, "message": e.message} for e in errors]}
        return Response(body, status=status.HTTP_200_OK if not errors else status.HTTP_400_BAD_REQUEST)


class LocationViewSet(PortalViewSet):
    """Register, list, refresh and delete catalog locations."""

    selector = staticmethod(selectors.location_list)
    serializer_class = LocationSerializer
    filterset_class = LocationFilterSet

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            location = services.location_register(actor=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(self.get_serializer(location).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def delete_service(*, actor, obj):
        services.location_delete(actor=actor, location=obj)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        """Queue a refresh now."""
        location = self.get_changeable_object()
        services.location_refresh_request(actor=request.user, location=location)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=LocationErrorSerializer(many=True))
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        """The documents the last refresh rejected: file, document, line, field and message."""
        location = self.get_object()
        return Response(LocationErrorSerializer(selectors.location_errors(location=location), many=True).data)


class RelationViewSet(viewsets.ViewSet):
    """Relations (both directions) of the entities the caller may see; filter by source_ref, type, target_ref."""

    @extend_schema(
        parameters=[OpenApiParameter(name, str, required=False) for name in ("source_ref", "type", "target_ref")],
        responses=RelationSerializer(many=True),
    )
    def list(self, request):
        rows = selectors.relation_list(
            user=request.user, filters={k: request.query_params.get(k) for k in ("source_ref", "type", "target_ref")}
        )
        paginator = PortalPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(RelationSerializer(page, many=True).data)
