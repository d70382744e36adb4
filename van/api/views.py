from van import selectors, services
from van.api.serializers import ClusterSerializer
from van.filtersets import ClusterFilterSet
from portal.api.viewsets import PortalViewSet
from portal.selectors import teams_user_can_edit_for
from rest_framework.exceptions import PermissionDenied


class ClusterViewSet(PortalViewSet):
    selector = selectors.cluster_list
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilterSet
    create_service = services.cluster_create
    update_service = services.cluster_update
    delete_service = services.cluster_delete

    def create(self, request, *args, **kwargs):
        if not teams_user_can_edit_for(user=request.user).exists():
            raise PermissionDenied("You belong to no team that may register clusters.")
        return super().create(request, *args, **kwargs)
