from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Software catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalog import selectors
        from portal.dashboard import DashboardCard, register_card

        register_card(DashboardCard("Catalog entities", "catalog:entity_list", selectors.entity_list, order=10))
        self._drop_kept_counts_on_single_writes()

    @staticmethod
    def _drop_kept_counts_on_single_writes():
        """A row saved one at a time (an entity's settings, a grant given with ``assign_perm``, the admin, a
        fixture) drops the counts kept for readers, as the bulk writes of ``catalog.services`` do themselves.
        Deletes are the services' to announce: a ``post_delete`` receiver would stop Django from deleting a
        location's entities in bulk."""
        from django.db.models.signals import post_save

        from catalog.models import Entity, EntityDocument, Relation
        from catalog.models.entities import EntityGroupObjectPermission, EntityUserObjectPermission

        for model in (Entity, EntityDocument, Relation, EntityGroupObjectPermission, EntityUserObjectPermission):
            post_save.connect(_changed, sender=model, dispatch_uid=f"catalog.readcache.{model.__name__}")


def _changed(**kwargs):
    from catalog import readcache

    readcache.changed()
