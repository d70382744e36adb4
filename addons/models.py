"""Add-ons chosen per VAN (each an owner of its GitOps files), and Grafana dashboards pinned to pages."""
from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse

from portal.gitops.owners import GitOpsOwner
from portal.models import PortalModel


class DashboardPin(models.Model):
    """A Grafana dashboard of ``van``'s hub, embedded on the page of ``target`` (an App, a Cluster or the Van).

    Pinned and unpinned by whoever may change the target; shown to whoever may see both the target and the VAN.
    The title and path are Grafana's at the time of pinning (the uid was checked against the VAN's Grafana).
    """

    van = models.ForeignKey("van.Van", on_delete=models.CASCADE, related_name="dashboard_pins")
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    uid = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    path = models.CharField(max_length=500, help_text="Grafana's /d/<uid>/<slug>.")
    origin = models.CharField(max_length=300, help_text="The Grafana it was pinned from: shown only while the VAN's "
                              "Grafana is still there (a VAN pointed elsewhere does not frame the new origin on others' pages).")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [models.UniqueConstraint(fields=["van", "target_type", "target_id", "uid"], name="unique_dashboard_pin")]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.title} on {self.target_type.model} {self.target_id}"


class AddonInstallation(GitOpsOwner, PortalModel):
    """One golden-path add-on chosen for one VAN: on or off, with its settings.

    It owns ``addons/<van>/<slug>/`` of the VAN's GitOps repository, a root apart from the VAN's own ``vans/<van>/``,
    so neither can write the other's files. It has no team of its own: it is seen by whoever sees its VAN and
    changed by whoever may change the VAN (``permission_parent``); its change sets follow the same rule. A row stays
    when the add-on is turned off, so a VAN's choice is remembered (and defaults are not added back).
    """

    permission_parent = "van"
    domain_actions = {"enable": "change", "disable": "change", "seal": "change"}

    van = models.ForeignKey("van.Van", on_delete=models.CASCADE, related_name="addons")
    slug = models.CharField(max_length=40, help_text="The add-on definition's slug.")
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True, help_text="Validated against the definition's settings schema.")

    class Meta:
        ordering = ["van", "slug"]
        constraints = [models.UniqueConstraint(fields=["van", "slug"], name="unique_addon_per_van")]
        verbose_name = "add-on installation"

    def __str__(self) -> str:
        return f"{self.slug} on {self.van.name}" if self.van_id else self.slug

    def get_absolute_url(self) -> str:
        return reverse("addons:van_addons", kwargs={"pk": self.van_id})

    @property
    def definition(self):
        from addons.registry import addon_get

        return addon_get(self.slug)

    @property
    def owner_team(self):
        return self.van.owner_team

    @property
    def visibility(self):
        return self.van.visibility

    # --- GitOpsOwner ------------------------------------------------------------------------------------------------

    def gitops_root(self) -> str:
        return f"addons/{self.van.name}/{self.slug}/"

    def gitops_repo(self):
        return self.van.repo

    def gitops_environment(self, paths, hints=()) -> str:
        from addons.services import installation_environment

        return installation_environment(installation=self, paths=list(paths), hints=hints)

    def gitops_label(self) -> str:
        return f"add-on {self.slug} of VAN {self.van.name}"


class CustomAddon(PortalModel):
    """A tool from outside the golden path (Splunk, KubeVirt): a definition ops added, of the same shape as a built-in.

    Added by platform admins (it runs on clusters with the VAN's credentials); read by every signed-in user; turned
    on per VAN by whoever may change the VAN, exactly like a built-in.
    """

    slug = models.CharField(max_length=40, unique=True)
    definition = models.JSONField(help_text="The definition, as addons/definition.schema.json describes it (checked when saved).")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["slug"]
        verbose_name = "custom add-on"

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("addons:addon_list") + f"#addon-{self.slug}"

    @classmethod
    def public_q(cls):
        return models.Q(pk__isnull=False)  # the catalogue of tools is open to every signed-in user


class SealedSecretRecord(PortalModel):
    """A Secret sealed in the portal for one cluster's Sealed Secrets controller: only its ciphertext and key names
    are kept (the plaintext is sealed in memory and never stored). Committed under the VAN's Sealed Secrets add-on
    (``addons/<van>/sealed-secrets/secrets/<cluster>/``); its rights follow that add-on, and so the VAN."""

    permission_parent = "installation"

    installation = models.ForeignKey(AddonInstallation, on_delete=models.CASCADE, related_name="sealed_secrets")
    cluster = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    scope = models.CharField(max_length=20)
    keys = models.JSONField(default=list, help_text="The Secret's key names (never the values).")
    manifest = models.TextField(help_text="The SealedSecret: ciphertext only.")
    sealed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["installation", "cluster", "namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["installation", "cluster", "namespace", "name"],
                                               name="unique_sealed_secret")]
        verbose_name = "sealed secret"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} on {self.cluster}"

    def get_absolute_url(self) -> str:
        return reverse("addons:secret_seal", kwargs={"pk": self.installation_id})

    @property
    def path(self) -> str:
        # a namespace has no dot: "<namespace>.<name>" names one Secret only
        return f"{self.installation.gitops_root()}secrets/{self.cluster}/{self.namespace}.{self.name}.yaml"


class InfraClaim(GitOpsOwner, PortalModel):
    """Infrastructure declared from the portal (a managed cluster: node count and size), reconciled by Crossplane on
    the VAN's hub through provider-terraform. Committed by the claim itself under ``claims/<van>/<name>/``; a change
    to a claim of a protected environment waits for approval like any Prod change. Rights follow the VAN."""

    permission_parent = "van"
    NODE_SIZES = ("small", "medium", "large")

    van = models.ForeignKey("van.Van", on_delete=models.CASCADE, related_name="claims")
    name = models.CharField(max_length=40)
    environment = models.CharField(max_length=40, help_text="Whose approval policy governs changes to it (e.g. prod).")
    node_count = models.PositiveIntegerField()
    node_size = models.CharField(max_length=10)
    observed = models.JSONField(default=dict, blank=True, help_text="What the hub's Workspace reports: node_count and "
                                "node_size (the module's outputs), ready, synced, message; missing when it is gone.")
    observed_at = models.DateTimeField(null=True, blank=True, help_text="When the hub last reported the Workspace.")

    class Meta:
        ordering = ["van", "name"]
        constraints = [models.UniqueConstraint(fields=["van", "name"], name="unique_claim_per_van")]
        verbose_name = "infrastructure claim"

    def __str__(self) -> str:
        return f"{self.name} on {self.van.name}" if self.van_id else self.name

    def get_absolute_url(self) -> str:
        return reverse("addons:van_claims", kwargs={"pk": self.van_id})

    @property
    def owner_team(self):
        return self.van.owner_team

    @property
    def drift(self) -> list[str]:
        """The desired values the hub reports otherwise (what Crossplane is reverting), e.g. ["node_count 4 (want 3)"]."""
        seen = self.observed or {}
        out = []
        for field in ("node_count", "node_size"):
            value = seen.get(field)
            if value is not None and str(value) != str(getattr(self, field)):
                out.append(f"{field.replace('_', ' ')} {value} (want {getattr(self, field)})")
        return out

    def gitops_root(self) -> str:
        return f"claims/{self.van.name}/{self.name}/"

    def gitops_repo(self):
        return self.van.repo

    def gitops_environment(self, paths, hints=()) -> str:
        from van.services import _most_protected

        return _most_protected({self.environment, *hints})

    def gitops_label(self) -> str:
        return f"claim {self.name} of VAN {self.van.name}"


class CiPipeline(GitOpsOwner, PortalModel):
    """The golden CI pipeline of one app, run by Argo Events and Argo Workflows on one VAN's hub: a push to the app's
    branch builds, tests and scans it, and the last step asks Wayline, with a token scoped to this app's version
    bumps, to propose the change set that moves the app to the new image. So CI ends in the same reviewed GitOps
    path as a click, and can touch no other app.

    It owns ``pipelines/<van>/<app>/`` (EventSource, Sensor, WorkflowTemplate and its two sealed Secrets), which
    the VAN's Argo add-on syncs to the hub. Its rights follow the app (``permission_parent``): the app's team sets
    it up; only ciphertext of its secrets is kept.
    """

    permission_parent = "app"

    app = models.OneToOneField("van.App", on_delete=models.CASCADE, related_name="ci_pipeline")
    van = models.ForeignKey("van.Van", on_delete=models.CASCADE, related_name="ci_pipelines",
                            help_text="Whose hub runs the pipeline (Argo Events and Workflows must be on there).")
    branch = models.CharField(max_length=200, default="main", help_text="Pushes to this branch run the pipeline.")
    test_image = models.CharField(max_length=300, default="python:3.12-slim")
    test_command = models.CharField(max_length=500, default="make test")
    token = models.ForeignKey("portal.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="Scoped to this app's version bumps; its key exists only sealed for the hub.")
    secrets_manifest = models.TextField(help_text="The SealedSecrets of the Wayline token and the webhook secret: "
                                                  "ciphertext only, kept so that re-rendering does not re-seal.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["app"]
        verbose_name = "CI pipeline"

    def __str__(self) -> str:
        return f"CI of {self.app.name}" if self.app_id else "CI pipeline"

    def get_absolute_url(self) -> str:
        return reverse("addons:app_pipeline", kwargs={"pk": self.app_id})

    @property
    def owner_team(self):
        return self.app.owner_team

    @property
    def visibility(self):
        return self.app.visibility

    def gitops_root(self) -> str:
        return f"pipelines/{self.van.name}/{self.app.name}/"

    def gitops_repo(self):
        return self.van.repo

    def gitops_environment(self, paths, hints=()) -> str:
        from portal.gitops.environments import SLUGS
        from van.choices import ClusterRole
        from van.services import _most_protected

        # it runs on the hub: the hub's environment governs it (the most protected of all while the VAN has none)
        hub = self.van.clusters.filter(role=ClusterRole.HUB).values_list("environment", flat=True).first()
        return _most_protected({hub or SLUGS[-1], *hints})

    def gitops_label(self) -> str:
        return f"CI pipeline of app {self.app.name} on VAN {self.van.name}"


class AddonStatus(models.Model):
    """One ArgoCD Application of a VAN's add-on, as its hub last reported it (``wayline.io/addon`` label): the matrix
    shows it per add-on and cluster. Read with the VAN (whoever sees the VAN sees its add-ons)."""

    van = models.ForeignKey("van.Van", on_delete=models.CASCADE, related_name="addon_statuses")
    application = models.CharField(max_length=253)
    slug = models.CharField(max_length=63, help_text="The wayline.io/addon label.")
    cluster_name = models.CharField(max_length=63, blank=True, help_text="The wayline.io/cluster label; empty for "
                                    "what the hub itself runs for the add-on (its ApplicationSets, claims, pipelines).")
    sync_status = models.CharField(max_length=16, default="Unknown")
    health_status = models.CharField(max_length=16, default="Unknown")
    message = models.TextField(blank=True)
    observed_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["van", "slug", "cluster_name", "application"]
        constraints = [models.UniqueConstraint(fields=["van", "application"], name="unique_addon_status")]
        verbose_name = "add-on status"
        verbose_name_plural = "add-on statuses"

    def __str__(self) -> str:
        return f"{self.application} on {self.van_id}: {self.sync_status}/{self.health_status}"
