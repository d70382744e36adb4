from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Wayline core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from portal import selectors
        from portal.dashboard import DashboardCard, register_card

        register_card(DashboardCard("Teams", "portal:team_list", selectors.team_list, order=90))
