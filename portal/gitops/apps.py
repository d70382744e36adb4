from django.apps import AppConfig


class GitopsConfig(AppConfig):
    name = "portal.gitops"
    label = "gitops"
    verbose_name = "GitOps engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from portal.dashboard import DashboardCard, register_card
        from portal.gitops import selectors

        register_card(DashboardCard("Change sets", "gitops:changeset_list", selectors.changeset_list, order=60))
        register_card(DashboardCard("Awaiting your approval", "gitops:approval_queue", selectors.approval_queue, order=61))
