from django.urls import path
from rest_framework.routers import DefaultRouter

from catalog.api import analyze, backstage, scaffolder, views

router = DefaultRouter()
router.register("entities", views.EntityViewSet, basename="entity")
router.register("locations", views.LocationViewSet, basename="location")
router.register("relations", views.RelationViewSet, basename="relation")

# Backstage's catalog API, path for path, under /api/catalog/.
backstage_patterns = [
    path("catalog/entities", backstage.EntitiesView.as_view(), name="backstage-entities"),
    path("catalog/entities/by-query", backstage.EntitiesByQueryView.as_view(), name="backstage-entities-by-query"),
    path("catalog/entities/by-refs", backstage.EntitiesByRefsView.as_view(), name="backstage-entities-by-refs"),
    path("catalog/entities/by-uid/<str:uid>", backstage.EntityByUidView.as_view(), name="backstage-entity-by-uid"),
    path("catalog/entities/by-name/<str:kind>/<str:namespace>/<str:name>", backstage.EntityByNameView.as_view(),
         name="backstage-entity-by-name"),
    path("catalog/entities/by-name/<str:kind>/<str:namespace>/<str:name>/ancestry", backstage.EntityAncestryView.as_view(),
         name="backstage-entity-ancestry"),
    path("catalog/locations/by-entity/<str:kind>/<str:namespace>/<str:name>", backstage.LocationByEntityView.as_view(),
         name="backstage-location-by-entity"),
    path("catalog/entity-facets", backstage.EntityFacetsView.as_view(), name="backstage-entity-facets"),
    path("catalog/locations", backstage.LocationsView.as_view(), name="backstage-locations"),
    path("catalog/locations/by-query", backstage.LocationsByQueryView.as_view(), name="backstage-locations-by-query"),
    path("catalog/locations/<str:pk>", backstage.LocationView.as_view(), name="backstage-location"),
    path("catalog/validate-entity", backstage.ValidateEntityView.as_view(), name="backstage-validate-entity"),
    path("catalog/refresh", backstage.RefreshView.as_view(), name="backstage-refresh"),
    path("catalog/analyze-location", analyze.AnalyzeLocationView.as_view(), name="backstage-analyze-location"),
]

# Backstage's scaffolder API, under /api/scaffolder/v2/.
scaffolder_patterns = [
    path("scaffolder/v2/actions", scaffolder.ActionsView.as_view(), name="scaffolder-actions"),
    path("scaffolder/v2/templating-extensions", scaffolder.TemplatingExtensionsView.as_view(),
         name="scaffolder-templating-extensions"),
    path("scaffolder/v2/tasks", scaffolder.TasksView.as_view(), name="scaffolder-tasks"),
    path("scaffolder/v2/tasks/<str:task_id>", scaffolder.TaskView.as_view(), name="scaffolder-task"),
    path("scaffolder/v2/tasks/<str:task_id>/cancel", scaffolder.TaskCancelView.as_view(), name="scaffolder-task-cancel"),
    path("scaffolder/v2/tasks/<str:task_id>/retry", scaffolder.TaskRetryView.as_view(), name="scaffolder-task-retry"),
    path("scaffolder/v2/tasks/<str:task_id>/events", scaffolder.TaskEventsView.as_view(), name="scaffolder-task-events"),
    path("scaffolder/v2/tasks/<str:task_id>/eventstream", scaffolder.TaskEventStreamView.as_view(),
         name="scaffolder-task-eventstream"),
    path("scaffolder/v2/dry-run", scaffolder.DryRunView.as_view(), name="scaffolder-dry-run"),
    path("scaffolder/v2/templates/<str:namespace>/<str:kind>/<str:name>/parameter-schema",
         scaffolder.ParameterSchemaView.as_view(), name="scaffolder-parameter-schema"),
]

urlpatterns = [*backstage_patterns, *scaffolder_patterns, *router.urls]
