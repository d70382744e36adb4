"""The base API viewset: the same selector (and so the same ``restrict``) as the pages."""
from __future__ import annotations

from typing import Callable

from django.core.exceptions import PermissionDenied
from django.db import models
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

# The permission each standard action needs on its object; a viewset's own @action endpoints that write name
# theirs in ``object_actions``. An unsafe method not named there needs "change": closed unless said otherwise.
_OBJECT_ACTIONS = {"retrieve": "view", "update": "change", "partial_update": "change", "destroy": "delete"}
_WRITE_SERVICES = {"create": "create_service", "update": "update_service", "partial_update": "update_service",
                   "destroy": "delete_service"}


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
    object_actions: dict[str, str] = {}

    @classmethod
    def serves(cls, action: str) -> bool:
        """Whether this viewset serves ``action``: a write needs its service or a method of the subclass's own."""
        service = _WRITE_SERVICES.get(action)
        if service is None:
            return True
        return getattr(cls, service) is not None or getattr(cls, action) is not getattr(PortalViewSet, action)

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        # Only the writes a subclass serves are routed: the others answer 405 and stay out of the OpenAPI schema.
        if actions:
            actions = {method: action for method, action in actions.items() if cls.serves(action)}
        return super().as_view(actions, **initkwargs)

    def get_queryset(self):
        return type(self).selector(user=self.request.user)

    def required_action(self) -> str:
        """What the request needs on its object: view, change, delete or a domain action (approve, retry, ...)."""
        if self.action in self.object_actions:
            return self.object_actions[self.action]
        if self.action in _OBJECT_ACTIONS:
            return _OBJECT_ACTIONS[self.action]
        return "view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "change"

    def get_object(self):
        """The one check of every object endpoint: 404 when invisible, 403 when visible but not permitted."""
        obj = super().get_object()
        action = self.required_action()
        if action != "view" and not type(obj).objects.permits(self.request.user, action, obj):
            raise PermissionDenied(f"You may not {action} this {type(obj)._meta.verbose_name}.")
        return obj

    def check_create_allowed(self, request) -> None:
        model = self.get_queryset().model
        if not model.creatable_by(request.user):
            raise PermissionDenied(f"You may not create a {model._meta.verbose_name}.")

    def create(self, request, *args, **kwargs):
        self.check_create_allowed(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = type(self).create_service(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    def _update(self, request, partial):
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = type(self).update_service(actor=request.user, obj=obj, **serializer.validated_data)
        return Response(self.get_serializer(obj).data)

    def destroy(self, request, *args, **kwargs):
        obj = self.get_object()
        type(self).delete_service(actor=request.user, obj=obj)
        return Response(status=status.HTTP_204_NO_CONTENT)
