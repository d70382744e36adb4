from django.urls import path

from addons import views

app_name = "addons"

urlpatterns = [
    path("addons/", views.AddOnListView.as_view(), name="addon_list"),
    path("addons/new/", views.CustomAddonAddView.as_view(), name="custom_addon_add"),
    path("addons/<slug:slug>/upgrade/", views.CustomAddonUpgradeView.as_view(), name="custom_addon_upgrade"),
    path("vans/<int:pk>/addons/", views.VanAddonsView.as_view(), name="van_addons"),
    path("vans/<int:pk>/claims/", views.VanClaimsView.as_view(), name="van_claims"),
    path("claims/<int:pk>/edit/", views.ClaimEditView.as_view(), name="claim_edit"),
    path("claims/<int:pk>/delete/", views.ClaimDeleteView.as_view(), name="claim_delete"),
    path("vans/<int:pk>/addons/<slug:slug>/add/", views.VanAddonAddView.as_view(), name="van_addon_add"),
    path("addons/installations/<int:pk>/enable/", views.AddonEnableView.as_view(), name="addon_enable"),
    path("addons/installations/<int:pk>/disable/", views.AddonDisableView.as_view(), name="addon_disable"),
    path("addons/installations/<int:pk>/seal/", views.SecretSealView.as_view(), name="secret_seal"),
    path("addons/installations/<int:pk>/settings/", views.AddonSettingsView.as_view(), name="addon_settings"),
    path("apps/<int:pk>/ci/", views.AppPipelineView.as_view(), name="app_pipeline"),
    path("ci/<int:pk>/delete/", views.PipelineDeleteView.as_view(), name="pipeline_delete"),
    path("ci/<int:pk>/secrets/", views.PipelineSecretsRotateView.as_view(), name="pipeline_secrets_rotate"),
    path("vans/<int:pk>/grafana/", views.GrafanaSettingsView.as_view(), name="grafana_settings"),
    path("grafana/<str:kind>/<int:pk>/dashboards/", views.DashboardPickView.as_view(), name="dashboard_pick"),
    path("grafana/<str:kind>/<int:pk>/pin/", views.DashboardPinView.as_view(), name="dashboard_pin"),
    path("grafana/pins/<int:pin_pk>/unpin/", views.DashboardUnpinView.as_view(), name="dashboard_unpin"),
]
