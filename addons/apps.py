from django.apps import AppConfig


class AddonsConfig(AppConfig):
    name = "addons"
    verbose_name = "Golden-path add-ons"
    default_auto_field = "django.db.models.BigAutoField"
