from rest_framework.routers import SimpleRouter

from van.api import views

router = SimpleRouter()
router.register("vans", views.VanViewSet, basename="van")
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("apps", views.AppViewSet, basename="app")
router.register("rules", views.RuleViewSet, basename="rule")

urlpatterns = router.urls
