from django.urls import path

from portal.gitops import views

app_name = "gitops"

urlpatterns = [
    path("gitops/repos/", views.RepoListView.as_view(), name="repo_list"),
    path("gitops/repos/add/", views.RepoEditView.as_view(), name="repo_add"),
    path("gitops/repos/<int:pk>/", views.RepoDetailView.as_view(), name="repo"),
    path("gitops/repos/<int:pk>/edit/", views.RepoEditView.as_view(), name="repo_edit"),
    path("gitops/repos/<int:pk>/sync/", views.RepoSyncView.as_view(), name="repo_sync"),
    path("gitops/repos/<int:pk>/sync/status/", views.RepoSyncStatusView.as_view(), name="repo_sync_status"),
    path("gitops/repos/<int:pk>/commits/<str:sha>/", views.CommitView.as_view(), name="commit"),
    path("gitops/changes/", views.ChangeSetListView.as_view(), name="changeset_list"),
    path("gitops/changes/<int:pk>/", views.ChangeSetDetailView.as_view(), name="changeset"),
    path("gitops/changes/<int:pk>/status/", views.ChangeSetStatusView.as_view(), name="changeset_status"),
    path("gitops/changes/<int:pk>/approve/", views.ChangeSetActionView.as_view(action="approve"), name="changeset_approve"),
    path("gitops/changes/<int:pk>/reject/", views.ChangeSetActionView.as_view(action="reject"), name="changeset_reject"),
    path("gitops/changes/<int:pk>/revert/", views.ChangeSetActionView.as_view(action="revert"), name="changeset_revert"),
    path("gitops/changes/<int:pk>/retry/", views.ChangeSetActionView.as_view(action="retry"), name="changeset_retry"),
    path("gitops/approvals/", views.ApprovalQueueView.as_view(), name="approval_queue"),
    path("gitops/environments/", views.EnvironmentListView.as_view(), name="environment_list"),
    path("gitops/files/<int:pk>/", views.ManagedFileView.as_view(), name="managedfile"),
    path("gitops/files/<int:pk>/adopt/", views.ManagedFileActionView.as_view(action="adopt"), name="managedfile_adopt"),
    path("gitops/files/<int:pk>/restore/", views.ManagedFileActionView.as_view(action="restore"), name="managedfile_restore"),
]
