from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from addons import selectors, services
from addons.api.serializers import (
    AddonDefinitionSerializer, AddonInstallationSerializer, CiPipelineSerializer, CustomAddonSerializer, InfraClaimSerializer,
    SealedSecretSerializer, SealSerializer,
)
from addons.registry import addon_get, definitions
from portal.api.viewsets import PortalViewSet


class AddonDefinitionViewSet(viewsets.ViewSet):
    """The golden-path add-ons Wayline knows: pinned sources, placement, settings schema, needs."""

    lookup_field = "slug"
    lookup_value_regex = r"[a-z0-9-]+"

    @extend_schema(responses={200: AddonDefinitionSerializer(many=True)})
    def list(self, request):
        return Response(AddonDefinitionSerializer(list(definitions().values()), many=True).data)

    @extend_schema(responses={200: AddonDefinitionSerializer})
    def retrieve(self, request, slug=None):
        definition = addon_get(slug)
        if definition is None:
            raise Http404("No such add-on.")
        return Response(AddonDefinitionSerializer(definition).data)



class CustomAddonViewSet(PortalViewSet):
    """Tools ops added from a Helm chart or a git repository (read by every signed-in user; added by platform
    admins, through the base viewset's create check). VANs turn them on like built-ins (``/api/addon-installations/``)."""

    selector = staticmethod(selectors.custom_addon_list)
    serializer_class = CustomAddonSerializer
    create_service = staticmethod(services.custom_addon_create)


def _settings_update(*, actor, obj, settings):
    return services.addon_settings_set(actor=actor, installation=obj, settings=settings)


def _add(*, actor, van, slug, settings=None):
    with transaction.atomic():  # settings refused: the add-on is not turned on either
        installation = services.addon_add(actor=actor, van=van, slug=slug)
        if settings:
            installation = services.addon_settings_set(actor=actor, installation=installation, settings=settings)
    return installation


class AddonInstallationViewSet(PortalViewSet):
    """The add-ons of each VAN the caller may see: on or off, and their settings (PATCH ``settings``). Writes need
    change on the VAN; each proposes a change set owned by the add-on."""

    selector = staticmethod(selectors.installation_list)
    serializer_class = AddonInstallationSerializer
    create_service = staticmethod(_add)
    update_service = staticmethod(_settings_update)
    object_actions = {"enable": "enable", "disable": "disable", "seal": "seal"}

    def _update(self, request, partial):
        """PUT replaces the settings; PATCH changes only the settings it names (and nothing without ``settings``)."""
        installation = self.get_object()
        body = self.get_serializer(installation, data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        if "settings" in body.validated_data:
            sent = body.validated_data["settings"]
            settings = {**installation.settings, **sent} if partial else sent
            installation = type(self).update_service(actor=request.user, obj=installation, settings=settings)
        return Response(self.get_serializer(installation).data)

    @extend_schema(request=None, responses={200: AddonInstallationSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        """Turn the add-on on for its VAN (the add-ons it needs must be on)."""
        installation = services.addon_enable(actor=request.user, installation=self.get_object())
        return Response(self.get_serializer(installation).data)

    @extend_schema(request=SealSerializer, responses={201: SealedSecretSerializer})
    @action(detail=True, methods=["post"])
    def seal(self, request, pk=None):
        """Sealed Secrets only: seal a Secret for one cluster of the VAN and propose it (the values are in no row,
        log or answer; sealing again under the same name replaces it)."""
        installation = self.get_object()
        body = SealSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = services.secret_seal(actor=request.user, installation=installation, **body.validated_data)
        return Response(SealedSecretSerializer(record).data, status=201)

    @extend_schema(request=None, responses={200: AddonInstallationSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        """Turn the add-on off: one change set removes exactly its files."""
        installation = services.addon_disable(actor=request.user, installation=self.get_object())
        return Response(self.get_serializer(installation).data)


def _pipeline_update(*, actor, obj, **fields):
    current = {"branch": obj.branch, "test_image": obj.test_image, "test_command": obj.test_command}
    return services.pipeline_update(actor=actor, obj=obj, **(current | fields))


class CiPipelineViewSet(PortalViewSet):
    """Apps' golden CI pipelines (Argo Events + Workflows on a VAN's hub), ending in a version bump proposed with a
    token scoped to the app. Seen by the app's readers who may see the VAN; written by whoever may change the app."""

    selector = staticmethod(selectors.pipeline_list)
    serializer_class = CiPipelineSerializer
    create_service = staticmethod(services.pipeline_create)
    update_service = staticmethod(_pipeline_update)
    delete_service = staticmethod(services.pipeline_delete)


def _claim_update(*, actor, obj, **fields):
    current = {"node_count": obj.node_count, "node_size": obj.node_size}
    return services.claim_update(actor=actor, obj=obj, **(current | fields))


class InfraClaimViewSet(PortalViewSet):
    """Infrastructure claims of the VANs the caller may see: desired values against what the hub observes. Written
    by whoever may change the VAN; a change to a Prod claim waits for approval."""

    selector = staticmethod(selectors.claim_list)
    serializer_class = InfraClaimSerializer
    create_service = staticmethod(services.claim_create)
    update_service = staticmethod(_claim_update)
    delete_service = staticmethod(services.claim_delete)


class SealedSecretViewSet(PortalViewSet):
    """Secrets sealed in the portal, of the VANs the caller may see: where each goes and its key names (read-only;
    seal with ``POST /api/addon-installations/<id>/seal/``)."""

    selector = staticmethod(selectors.sealed_secret_list)
    serializer_class = SealedSecretSerializer
