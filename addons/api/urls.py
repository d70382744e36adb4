from rest_framework.routers import SimpleRouter

from addons.api import views

router = SimpleRouter()
router.register("addons", views.AddonDefinitionViewSet, basename="addon")
router.register("custom-addons", views.CustomAddonViewSet, basename="custom-addon")
router.register("ci-pipelines", views.CiPipelineViewSet, basename="ci-pipeline")
router.register("claims", views.InfraClaimViewSet, basename="claim")
router.register("sealed-secrets", views.SealedSecretViewSet, basename="sealed-secret")
router.register("addon-installations", views.AddonInstallationViewSet, basename="addon-installation")

urlpatterns = router.urls
