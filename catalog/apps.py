from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Software catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalog import selectors
        from portal.dashboard import DashboardCard, register_card

        register_card(DashboardCard("Catalog entities", "catalog:entity_list", selectors.entity_list, order=10))
