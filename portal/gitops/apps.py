from django.apps import AppConfig


class GitopsConfig(AppConfig):
    name = "portal.gitops"
    label = "gitops"
    verbose_name = "GitOps engine"
    default_auto_field = "django.db.models.BigAutoField"
