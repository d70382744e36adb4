from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api.viewsets import PortalViewSet
from van import selectors, services
from van.api.serializers import AppReleaseSerializer, AppSerializer, AppVersionSerializer, ClusterSerializer, RuleSerializer, VanSerializer
from van.filtersets import AppFilterSet, ClusterFilterSet, RuleFilterSet, VanFilterSet


class ClusterViewSet(PortalViewSet):
    """Clusters (hub or edge) with their tags; credentials are write-only."""

    selector = selectors.cluster_list
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilterSet
    create_service = services.cluster_create
    update_service = services.cluster_update
    delete_service = services.cluster_delete


class VanViewSet(PortalViewSet):
    """VANs: a hub cluster plus edge clusters joined by Skupper, deployed to by ArgoCD on the hub."""

    serializer_class = VanSerializer
    filterset_class = VanFilterSet
    create_service = services.van_create
    update_service = services.van_update
    delete_service = services.van_delete

    @staticmethod
    def selector(*, user):
        return selectors.van_list(user=user).prefetch_related("clusters")

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def placement(self, request, pk=None):
        """The placement matrix: for each app the user may see, the clusters it runs on and the rule that put it there."""
        van = self.get_object()
        try:
            _, placement = selectors.van_placement(van=van)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        visible = selectors.visible_app_names(user=request.user, names=placement.by_app)
        return Response({"van": van.name, "placement": {app: clusters for app, clusters in placement.by_app.items() if app in visible}})


class AppViewSet(PortalViewSet):
    """Apps placed on clusters by distribution rules; version changes, releases and rollback."""

    selector = selectors.app_list
    serializer_class = AppSerializer
    filterset_class = AppFilterSet
    create_service = services.app_create
    update_service = services.app_update
    delete_service = services.app_delete
    object_actions = {"version": "change", "rollback": "change"}
    # A CI pipeline's token may propose its own app's version bumps and nothing else (portal.api.authentication).
    token_scopes = {"version": "van.app"}

    @extend_schema(request=AppVersionSerializer, responses={200: AppReleaseSerializer})
    @action(detail=True, methods=["post"])
    def version(self, request, pk=None):
        """Upgrade: set the image/chart version (one ChangeSet per VAN the app runs in)."""
        app = self.get_object()
        body = AppVersionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        release = services.app_version_set(actor=request.user, app=app, **body.validated_data)
        return Response(AppReleaseSerializer(self._visible(release)).data)

    def _visible(self, release):
        # The release as the caller may see it: change sets of VANs they cannot see are left out, not numbered.
        return selectors.app_releases(app=release.app, user=self.request.user).get(pk=release.pk)

    @extend_schema(responses={200: AppReleaseSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def releases(self, request, pk=None):
        app = self.get_object()
        return Response(AppReleaseSerializer(selectors.app_releases(app=app, user=request.user), many=True).data)

    @extend_schema(request=None, responses={200: AppReleaseSerializer})
    @action(detail=True, methods=["post"], url_path=r"releases/(?P<release_pk>\d+)/rollback")
    def rollback(self, request, pk=None, release_pk=None):
        app = self.get_object()
        release = get_object_or_404(app.releases, pk=release_pk)
        return Response(AppReleaseSerializer(self._visible(services.app_rollback(actor=request.user, app=app, release=release))).data)


class RuleViewSet(PortalViewSet):
    """Distribution rules of a VAN: apps with these tags go to clusters with those tags."""

    selector = selectors.rule_list
    serializer_class = RuleSerializer
    filterset_class = RuleFilterSet
    create_service = services.rule_create
    update_service = services.rule_update
    delete_service = services.rule_delete
