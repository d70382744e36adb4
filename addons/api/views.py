from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from addons import selectors, services
from addons.api.serializers import AddonDefinitionSerializer, AddonInstallationSerializer
from addons.registry import builtins
from portal.api.viewsets import PortalViewSet


class AddonDefinitionViewSet(viewsets.ViewSet):
    """The golden-path add-ons Wayline knows: pinned sources, placement, settings schema, needs."""

    lookup_field = "slug"
    lookup_value_regex = r"[a-z0-9-]+"

    @extend_schema(responses={200: AddonDefinitionSerializer(many=True)})
    def list(self, request):
        return Response(AddonDefinitionSerializer(list(builtins().values()), many=True).data)

    @extend_schema(responses={200: AddonDefinitionSerializer})
    def retrieve(self, request, slug=None):
        definition = builtins().get(slug)
        if definition is None:
            raise Http404("No such add-on.")
        return Response(AddonDefinitionSerializer(definition).data)


def _settings_update(*, actor, obj, settings=None):
    return services.addon_settings_set(actor=actor, installation=obj, settings=settings or {})


class AddonInstallationViewSet(PortalViewSet):
    """The add-ons of each VAN the caller may see: on or off, and their settings (PATCH ``settings``). Writes need
    change on the VAN; each proposes a change set owned by the add-on."""

    selector = staticmethod(selectors.installation_list)
    serializer_class = AddonInstallationSerializer
    update_service = staticmethod(_settings_update)
    object_actions = {"enable": "enable", "disable": "disable"}

    @extend_schema(request=None, responses={200: AddonInstallationSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        """Turn the add-on on for its VAN (the add-ons it needs must be on)."""
        installation = services.addon_enable(actor=request.user, installation=self.get_object())
        return Response(self.get_serializer(installation).data)

    @extend_schema(request=None, responses={200: AddonInstallationSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        """Turn the add-on off: one change set removes exactly its files."""
        installation = services.addon_disable(actor=request.user, installation=self.get_object())
        return Response(self.get_serializer(installation).data)
