from django.urls import path
from rest_framework.routers import DefaultRouter

from portal.api import views

router = DefaultRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")

urlpatterns = [path("me/", views.MeView.as_view(), name="api-me"), *router.urls]
