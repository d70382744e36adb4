from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("catalog/", views.EntityListView.as_view(), name="entity_list"),
    path("catalog/locations/", views.LocationListView.as_view(), name="location_list"),
    path("catalog/locations/add/", views.LocationCreateView.as_view(), name="location_add"),
    path("catalog/locations/<int:pk>/", views.LocationDetailView.as_view(), name="location"),
    path("catalog/locations/<int:pk>/refresh/", views.LocationRefreshView.as_view(), name="location_refresh"),
    path("catalog/locations/<int:pk>/delete/", views.LocationDeleteView.as_view(), name="location_delete"),
    path("catalog/entities/<int:pk>/edit/", views.EntityEditView.as_view(), name="entity_edit"),
    path("catalog/<str:kind>/<str:namespace>/<str:name>/", views.EntityDetailView.as_view(), name="entity"),
    path("catalog/<str:kind>/<str:namespace>/<str:name>/status/", views.EntityLiveStatusView.as_view(), name="entity_status"),
    path("catalog/<str:kind>/<str:namespace>/<str:name>/workloads/", views.EntityWorkloadsView.as_view(), name="entity_workloads"),
    path("catalog/<str:kind>/<str:namespace>/<str:name>/dashboards/", views.EntityDashboardsView.as_view(), name="entity_dashboards"),
    path("create/", views.TemplateListView.as_view(), name="template_list"),
    path("create/templates/<str:namespace>/<str:name>/", views.TemplateRunView.as_view(), name="template_run"),
    path("create/runs/", views.RunListView.as_view(), name="run_list"),
    path("create/runs/<uuid:uid>/", views.RunDetailView.as_view(), name="run"),
    path("create/runs/<uuid:uid>/cancel/", views.RunCancelView.as_view(), name="run_cancel"),
    path("create/runs/<uuid:uid>/retry/", views.RunRetryView.as_view(), name="run_retry"),
]
