from django.apps import AppConfig


class VanConfig(AppConfig):
    name = "van"
    verbose_name = "VANs, clusters and apps"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from portal.dashboard import DashboardCard, HomePanel, register_card, register_panel
        from portal.gitops.owners import register_owner
        from van import selectors
        from van.models import Van

        register_owner(Van)  # a VAN owns vans/<name>/ of its GitOps repository

        register_card(DashboardCard("Clusters", "van:cluster_list", selectors.cluster_list, order=30))
        register_panel(HomePanel("findings", "van/inc/findings.html", _findings_panel, order=10))


def _findings_panel(*, user, teams):
    """The home page's "findings on your services": what K8sGPT found on what the reader's teams own."""
    from van.status.selectors import findings_shown

    if not user.is_authenticated:
        return None
    return {"findings": findings_shown(user=user, teams=teams), "findings_by": "team"}
