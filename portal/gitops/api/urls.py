from rest_framework.routers import DefaultRouter

from portal.gitops.api import views

router = DefaultRouter()
router.register("gitops/repos", views.GitOpsRepoViewSet, basename="gitopsrepo")
router.register("changesets", views.ChangeSetViewSet, basename="changeset")
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("approvals", views.ApprovalViewSet, basename="approval")

urlpatterns = router.urls
