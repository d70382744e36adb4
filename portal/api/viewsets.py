"""The base API viewset: the same selector (and so the same ``restrict``) as the pages."""
from __future__ import annotations

from typing import Callable

from django.core.exceptions import PermissionDenied
from django.db import models
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response


class PortalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read access through ``selector``; write actions go through services.

    Subclasses that accept writes set ``create_service`` / ``update_service`` /
    ``delete_service`` (keyword-only ``actor=``) and a serializer whose
    ``validated_data`` matches the service's keywords.
    """

    selector: Callable[..., models.QuerySet]
    create_service: Callable | None = None
    update_service: Callable | None = None
    delete_service: Callable | None = None

    def get_queryset(self):
        return type(self).selector(user=self.request.user)

    def get_changeable_object(self):
        """The object for a write: 404 when invisible, 403 when visible but not changeable."""
        obj = self.get_object()
        model = obj.__class__
        if not model.objects.permits(self.request.user, "change", obj):
            raise PermissionDenied("You may not change this object.")
        return obj

    def create(self, request, *args, **kwargs):
        if self.create_service is None:
            raise NotFound()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = type(self).create_service(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    def _update(self, request, partial):
        if self.update_service is None:
            raise NotFound()
        obj = self.get_changeable_object()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = type(self).update_service(actor=request.user, obj=obj, **serializer.validated_data)
        return Response(self.get_serializer(obj).data)

    def destroy(self, request, *args, **kwargs):
        if self.delete_service is None:
            raise NotFound()
        obj = self.get_changeable_object()
        type(self).delete_service(actor=request.user, obj=obj)
        return Response(status=status.HTTP_204_NO_CONTENT)
