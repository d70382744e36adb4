from django.apps import AppConfig


class VanConfig(AppConfig):
    name = "van"
    verbose_name = "VANs, clusters and apps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from portal.dashboard import DashboardCard, register_card
        from portal.gitops.owners import register_owner
        from van import selectors
        from van.models import Van

        register_owner(Van)  # a VAN owns vans/<name>/ of its GitOps repository

        register_card(DashboardCard("Clusters", "van:cluster_list", selectors.cluster_list, order=30))
