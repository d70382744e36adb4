from portal.views.generic import ObjectDetailView, ObjectEditView, ObjectListView
from van import selectors, services
from van.filtersets import ClusterFilterSet
from van.forms import ClusterForm
from van.models import Cluster
from van.tables import ClusterTable


class ClusterListView(ObjectListView):
    selector = selectors.cluster_list
    filterset_class = ClusterFilterSet
    table_class = ClusterTable
    title = "Clusters"
    create_url_name = "van:cluster_add"
    export_filename = "wayline-clusters.csv"


class ClusterDetailView(ObjectDetailView):
    selector = selectors.cluster_list
    template_name = "van/cluster.html"

    def get_extra_context(self, obj):
        return {"can_edit": Cluster.objects.restrict(self.request.user, "change").filter(pk=obj.pk).exists()}


class ClusterEditView(ObjectEditView):
    model = Cluster
    form_class = ClusterForm
    create_service = services.cluster_create
    update_service = services.cluster_update
