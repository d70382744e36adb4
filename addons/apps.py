from django.apps import AppConfig


class AddonsConfig(AppConfig):
    name = "addons"
    verbose_name = "Golden-path add-ons"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from addons.models import AddonInstallation, CiPipeline, InfraClaim
        from portal.gitops.owners import register_owner

        register_owner(AddonInstallation)  # an add-on of a VAN owns addons/<van>/<slug>/
        register_owner(InfraClaim)  # an infrastructure claim owns claims/<van>/<name>/
        register_owner(CiPipeline)  # an app's CI pipeline owns pipelines/<van>/<app>/
