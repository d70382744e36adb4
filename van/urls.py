from django.urls import path

from van import views

app_name = "van"

urlpatterns = [
    path("clusters/", views.ClusterListView.as_view(), name="cluster_list"),
    path("clusters/add/", views.ClusterEditView.as_view(), name="cluster_add"),
    path("clusters/<int:pk>/", views.ClusterDetailView.as_view(), name="cluster"),
    path("clusters/<int:pk>/edit/", views.ClusterEditView.as_view(), name="cluster_edit"),
]
