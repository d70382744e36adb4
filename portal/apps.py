from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Wayline core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Importing checks registers the system checks.
        from portal import checks, selectors  # noqa: F401
        from portal.dashboard import DashboardCard, register_card

        register_card(DashboardCard("Teams", "portal:team_list", selectors.team_list, order=90))
