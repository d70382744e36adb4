from django.urls import path

from van import views

app_name = "van"

urlpatterns = [
    path("vans/", views.VanListView.as_view(), name="van_list"),
    path("vans/add/", views.VanEditView.as_view(), name="van_add"),
    path("vans/<int:pk>/", views.VanDetailView.as_view(), name="van"),
    path("vans/<int:pk>/status/", views.VanLiveStatusView.as_view(), name="van_status"),
    path("vans/<int:pk>/edit/", views.VanEditView.as_view(), name="van_edit"),
    path("vans/<int:van_pk>/rules/add/", views.RuleEditView.as_view(), name="rule_add"),
    path("clusters/", views.ClusterListView.as_view(), name="cluster_list"),
    path("clusters/add/", views.ClusterEditView.as_view(), name="cluster_add"),
    path("clusters/<int:pk>/", views.ClusterDetailView.as_view(), name="cluster"),
    path("clusters/<int:pk>/status/", views.ClusterLiveStatusView.as_view(), name="cluster_status"),
    path("clusters/<int:pk>/edit/", views.ClusterEditView.as_view(), name="cluster_edit"),
    path("apps/", views.AppListView.as_view(), name="app_list"),
    path("apps/add/", views.AppEditView.as_view(), name="app_add"),
    path("apps/<int:pk>/", views.AppDetailView.as_view(), name="app"),
    path("apps/<int:pk>/edit/", views.AppEditView.as_view(), name="app_edit"),
    path("apps/<int:pk>/status/", views.AppLiveStatusView.as_view(), name="app_status"),
    path("apps/<int:pk>/version/", views.AppVersionView.as_view(), name="app_version"),
    path("apps/<int:pk>/releases/<int:release_pk>/rollback/", views.AppRollbackView.as_view(), name="app_rollback"),
    path("rules/", views.RuleListView.as_view(), name="rule_list"),
    path("rules/<int:pk>/", views.RuleDetailView.as_view(), name="rule"),
    path("rules/<int:pk>/edit/", views.RuleEditView.as_view(), name="rule_edit"),
]
