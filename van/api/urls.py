from rest_framework.routers import SimpleRouter

from van.api import views

router = SimpleRouter()
router.register("clusters", views.ClusterViewSet, basename="cluster")

urlpatterns = router.urls
