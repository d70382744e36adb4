from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

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
from catalog.models import Entity
from portal.api.pagination import PortalPagination
from portal.api.viewsets import PortalViewSet


def _service_errors(exc: DjangoValidationError):
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class EntityPagination(PortalPagination):
    """``?page=``/``?page_size=`` as everywhere, with the page read as ids first, then those rows in full.

    The ordered, permission-filtered (and searched) query reads only ids, and
    with filters or a search it also counts (``entity_page``): one index scan
    instead of a count and a second scan joined to locations and teams. The
    response has the same shape (count, next, previous, results).
    """

    def paginate_queryset(self, queryset, request, view=None):
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        self.request, self.page_size = request, page_size
        self.number = self.requested_page(request)
        filterset_class = getattr(view, "filterset_class", None)
        filtered = bool(filterset_class) and any(request.query_params.get(name) for name in filterset_class.base_filters)
        ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
        page = selectors.entity_page(queryset, order_by=ordering, offset=(self.number - 1) * page_size,
                                     limit=page_size, filtered=filtered)
        if self.number > 1 and not page.rows:
            raise NotFound("Invalid page.")
        self.total = page.total
        ids = [row["pk"] for row in page.rows]
        by_id = view.rows_by_id(ids)
        return [by_id[pk] for pk in ids]

    def get_paginated_response(self, data):
        return Response({"count": self.total, "next": self.get_next_link(), "previous": self.get_previous_link(),
                         "results": data})

    def get_next_link(self):
        if self.number * self.page_size >= self.total:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self):
        if self.number <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)


_LIST_DEFERRED = ("search_text", "location__fingerprints", "location__last_report")


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
        return queryset.defer("search_text") if self.action == "list" else queryset.select_related("document")

    pagination_class = EntityPagination

    def get_serializer_class(self):
        return EntityListSerializer if self.action == "list" else EntitySerializer

    @staticmethod
    def rows_by_id(ids: list[int]) -> dict:
        """A list page's rows (already checked by the restricted query that produced ``ids``)."""
        return Entity.objects.select_related("owner_team", "location").defer(*_LIST_DEFERRED).in_bulk(ids)

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
        self.check_create_allowed(request)
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

    object_actions = {"refresh": "change"}

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        """Queue a refresh now."""
        location = self.get_object()
        services.location_refresh_request(actor=request.user, location=location)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=LocationErrorSerializer(many=True))
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        """The documents the last refresh rejected: file, document, line, field and message."""
        location = self.get_object()
        return Response(LocationErrorSerializer(selectors.location_errors(user=request.user, location=location), many=True).data)


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
