"""VANs, clusters, apps and distribution rules.

A cluster joins at most one VAN, as its hub or as an edge. Credentials and key
material are encrypted at rest (portal.crypto) and only ever leave sealed.
"""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from portal.crypto import EncryptedTextField
from portal.kube import ClusterState
from portal.gitops.owners import GitOpsOwner
from portal.models import OwnedModel, PortalModel
from portal.gitops.environments import SLUGS as ENVIRONMENTS
from portal.validators import grafana_url_validator
from portal.validators import (
    dns_label_validator, git_remote_url_validator, git_revision_validator, helm_chart_validator, helm_repo_url_validator,
    helm_values_validator, host_validator, image_reference_validator, kubernetes_api_url_validator, repo_path_validator,
    source_repo_url_validator, version_validator,
)
from van.choices import AppMatch, ClusterRole, CredentialsKind, Environment, Provider, Reachability, SourceKind, SyncMode
from van.labels import LabelError, selector_parse, tags_parse

port_validators = [MinValueValidator(1, "A port is 1-65535."), MaxValueValidator(65535, "A port is 1-65535.")]
component_ref_validator = RegexValidator(
    r"^component:([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\Z",
    "Enter a catalog Component entity ref, component:namespace/name (such as component:default/payments-api).",
)


def tags_validator(value) -> None:
    """A list of tags, each plain (gpu) or key=value (region=eu), keys and values by Kubernetes' label rules."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValidationError("Enter tags as a list of plain tags (gpu) or key=value tags (region=eu).", code="invalid")
    try:
        tags_parse(value)
    except LabelError as exc:
        raise ValidationError(f"Enter plain tags (gpu) or key=value tags (region=eu): {exc}.", code="invalid") from None


def cluster_selector_validator(value: str) -> None:
    try:
        selector_parse(value)
    except LabelError as exc:
        raise ValidationError(f"Enter a Kubernetes label selector (region=eu, tier in (gold,silver), gpu, !legacy): {exc}.",
                              code="invalid") from None


def environments_validator(value) -> None:
    if not isinstance(value, list) or any(env not in ENVIRONMENTS for env in value):
        raise ValidationError(f"Enter a list of environments from {', '.join(ENVIRONMENTS)}.", code="invalid")


def app_overrides_validator(value) -> None:
    """Per environment: {"prod": {"version": "1.2.0", "chart_version": "", "values": {}}}, each part validated."""
    if not isinstance(value, dict):
        raise ValidationError("Enter overrides as a mapping of environment to settings.", code="invalid")
    for env, data in value.items():
        where = f"overrides.{env}"
        if env not in ENVIRONMENTS:
            raise ValidationError(f"{where}: not an environment; use {', '.join(ENVIRONMENTS)}.", code="invalid")
        if not isinstance(data, dict) or set(data) - {"version", "chart_version", "values"}:
            raise ValidationError(f"{where}: a mapping of version, chart_version and values.", code="invalid")
        checks = [(name, version_validator) for name in ("version", "chart_version")] + [("values", helm_values_validator)]
        for name, validator in checks:
            if data.get(name) not in (None, "", {}):
                try:
                    validator(data[name])
                except ValidationError as exc:
                    raise ValidationError(f"{where}.{name}: {exc.messages[0]}", code="invalid") from None


class Van(GitOpsOwner, OwnedModel):
    """A Virtual Application Network: one hub running ArgoCD, edges linked to it over Skupper.

    It owns ``vans/<name>/`` of its GitOps repository: every file Wayline writes
    for it lives there, and its change sets are read and acted on through it.
    """

    name = models.CharField(max_length=63, unique=True, validators=[dns_label_validator])
    description = models.TextField(blank=True)
    repo = models.ForeignKey(
        "gitops.GitOpsRepo", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="GitOps repository", help_text="Empty: the default GitOps repository.",
    )
    reachability = models.CharField(
        max_length=16, choices=Reachability.choices, default=Reachability.LOADBALANCER,
        help_text="How edges reach the hub's router; edges need only outbound connections.",
    )
    hub_host = models.CharField(
        "hub address", max_length=253, blank=True, validators=[host_validator],
        help_text="Host name or IP at which edges reach the hub's Skupper router.",
    )
    inter_router_port = models.PositiveIntegerField(default=55671, validators=port_validators)
    edge_port = models.PositiveIntegerField(default=45671, validators=port_validators)
    skupper_namespace = models.CharField(max_length=63, default="skupper", validators=[dns_label_validator])
    argocd_namespace = models.CharField(max_length=63, default="argocd", validators=[dns_label_validator])
    link_ca_cert = models.TextField(blank=True, editable=False)
    link_ca_key = EncryptedTextField(blank=True, editable=False)
    grafana_url = models.CharField(
        "Grafana URL", max_length=500, blank=True, validators=[grafana_url_validator],
        help_text="The hub's Grafana, as users' browsers and Wayline reach it (https://grafana.hub.example.net).",
    )
    grafana_token = EncryptedTextField(blank=True, editable=False, help_text="A Grafana service-account token (Viewer).")

    class Meta:
        ordering = ["name"]
        verbose_name = "VAN"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("van:van", kwargs={"pk": self.pk})

    def gitops_root(self) -> str:
        return f"vans/{self.name}/"

    def gitops_repo(self):
        return self.repo

    def gitops_environment(self, paths, hints=()) -> str:
        from van.services import van_change_environment

        return van_change_environment(van=self, paths=list(paths), hints=list(hints))

    def gitops_label(self) -> str:
        return f"VAN {self.name}"


class Cluster(OwnedModel):
    """A Kubernetes cluster that Wayline deploys to through ArgoCD. Wayline never installs one."""

    name = models.CharField(max_length=63, unique=True, validators=[dns_label_validator])
    description = models.TextField(blank=True)
    environment = models.CharField(max_length=16, choices=Environment.choices, default=Environment.DEV)
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OTHER)
    api_url = models.URLField("API server URL", max_length=500, validators=[kubernetes_api_url_validator])
    tags = models.JSONField(default=list, blank=True, validators=[tags_validator],
                            help_text="Plain tags (gpu) or key=value tags (region=eu).")
    credentials_kind = models.CharField(max_length=16, choices=CredentialsKind.choices, default=CredentialsKind.NONE, blank=True)
    credentials = EncryptedTextField(blank=True, help_text="Bearer token or kubeconfig; encrypted, never shown back.")
    sealing_cert = models.TextField(
        "sealing certificate", blank=True, help_text="The cluster's Sealed Secrets controller certificate (public, PEM)."
    )
    van = models.ForeignKey(Van, null=True, blank=True, on_delete=models.SET_NULL, related_name="clusters")
    role = models.CharField(max_length=8, choices=ClusterRole.choices, blank=True)
    link_cert = models.TextField(blank=True, editable=False)
    link_key = EncryptedTextField(blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["van"], condition=Q(role="hub"), name="van_single_hub"),
            models.CheckConstraint(condition=Q(van__isnull=True, role="") | Q(van__isnull=False, role__in=["hub", "edge"]), name="cluster_role_with_van"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("van:cluster", kwargs={"pk": self.pk})

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)


class App(OwnedModel):
    """A deployable: anything ArgoCD can sync from a git path or a Helm chart."""

    name = models.CharField(max_length=63, unique=True, validators=[dns_label_validator])
    description = models.TextField(blank=True)
    component_ref = models.CharField(
        "catalog component", max_length=255, blank=True, validators=[component_ref_validator],
        help_text="Entity ref of the catalog Component, e.g. component:default/payments-api.",
    )
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.KUSTOMIZE)
    # Every field below is written into the ApplicationSets as it is: each is validated where it enters.
    repo_url = models.CharField("repository URL", max_length=500, validators=[source_repo_url_validator],
                                help_text="Git repository, or Helm chart repository for charts.")
    path = models.CharField(max_length=500, blank=True, validators=[repo_path_validator])
    revision = models.CharField(max_length=200, default="HEAD", blank=True, validators=[git_revision_validator])
    chart = models.CharField(max_length=200, blank=True, validators=[helm_chart_validator])
    chart_version = models.CharField(max_length=100, blank=True, validators=[version_validator])
    values = models.JSONField(default=dict, blank=True, validators=[helm_values_validator], help_text="Helm values.")
    namespace = models.CharField(max_length=63, validators=[dns_label_validator])
    image = models.CharField(max_length=500, blank=True, validators=[image_reference_validator])
    version = models.CharField(max_length=128, blank=True, validators=[version_validator])
    tags = models.JSONField(default=list, blank=True, validators=[tags_validator])
    overrides = models.JSONField(
        default=dict, blank=True, validators=[app_overrides_validator],
        help_text='Per environment: {"prod": {"version": "1.2.0", "chart_version": "", "values": {}}}.',
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("van:app", kwargs={"pk": self.pk})

    def clean(self) -> None:
        """What one source kind needs: a Helm app a chart and a chart repository; a git app a path and a git URL."""
        errors = {}
        helm = self.source_kind == SourceKind.HELM
        if helm and not self.chart:
            errors["chart"] = "chart: a Helm app needs the chart name"
        if not helm and not self.path:
            errors["path"] = "path: a git app needs the path of its manifests in the repository ('.' for the root)"
        try:
            source_repo_url_validator(self.repo_url)
        except ValidationError:
            pass  # the field's own validator reports it
        else:
            try:
                (helm_repo_url_validator if helm else git_remote_url_validator)(self.repo_url)
            except ValidationError as exc:
                errors["repo_url"] = exc.messages
        if errors:
            raise ValidationError(errors)


class AppRelease(models.Model):
    """One version an app was set to, by whom, through which change set (the app page's history)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=128, blank=True, validators=[version_validator])
    chart_version = models.CharField(max_length=100, blank=True, validators=[version_validator])
    environment = models.CharField(max_length=16, blank=True, help_text="Empty: the app's default for every environment.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changesets = models.ManyToManyField("gitops.ChangeSet", blank=True, related_name="+")
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]


class DistributionRule(PortalModel):
    """Within a VAN: apps with these tags go to clusters matching this selector.

    A rule has no owner of its own: it is seen by whoever sees its VAN and edited
    by whoever may change its VAN (``permission_parent``).
    """

    permission_parent = "van"

    van = models.ForeignKey(Van, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=63, validators=[dns_label_validator])
    order = models.PositiveIntegerField(default=100, help_text="Earlier rules win when two would place the same app on a cluster.")
    app_tags = models.JSONField(default=list, validators=[tags_validator])
    app_match = models.CharField(max_length=8, choices=AppMatch.choices, default=AppMatch.ALL)
    cluster_selector = models.CharField(max_length=1000, blank=True, validators=[cluster_selector_validator],
                                        help_text="e.g. region=eu, tier in (gold,silver), !legacy")
    environments = models.JSONField(default=list, blank=True, validators=[environments_validator])
    sync = models.CharField(max_length=16, choices=SyncMode.choices, default=SyncMode.AUTOMATED)
    # Off unless asked for: with prune, a source emptied or broken by mistake deletes what runs on the clusters.
    prune = models.BooleanField(default=False, help_text="Automated sync deletes resources that left the app's source.")
    self_heal = models.BooleanField(default=True)

    class Meta:
        ordering = ["van", "order", "name"]
        constraints = [models.UniqueConstraint(fields=["van", "name"], name="unique_rule_name_per_van")]

    def __str__(self) -> str:
        return f"{self.van.name}/{self.name}" if self.van_id else self.name

    def get_absolute_url(self) -> str:
        return reverse("van:rule", kwargs={"pk": self.pk})


class SealedValue(models.Model):
    """A sealed value under its keyed digest, so re-rendering an unchanged secret changes nothing in git."""

    digest = models.CharField(max_length=64, unique=True)
    sealed = models.TextField()
    created = models.DateTimeField(auto_now_add=True)


# --- live state, as the VAN's hub reports it (van.status) ---------------------------------------------


class ClusterConnection(models.Model):
    """What Wayline last found when it talked to a cluster's API (``portal.kube.classify``)."""

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="connection")
    state = models.CharField(max_length=16, choices=ClusterState.choices, default=ClusterState.UNKNOWN)
    message = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="The last attempt, whatever its outcome.")
    seen_at = models.DateTimeField(null=True, blank=True, help_text="The last time the API answered.")
    error_at = models.DateTimeField(null=True, blank=True, help_text="When the last error happened.")

    def __str__(self) -> str:
        return f"{self.cluster_id}: {self.state}"


class SyncStatus(models.TextChoices):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatus(models.TextChoices):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


class AppStatus(models.Model):
    """One ArgoCD Application on a VAN's hub: an app on a cluster, as ArgoCD last reported it.

    Mapped through the labels the ApplicationSet template sets (``wayline.io/app``, ``wayline.io/cluster``);
    the label values stay when the app or cluster rows go. Read through ``van.selectors`` only: a row is
    visible to whoever may see both its app and its VAN.
    """

    van = models.ForeignKey(Van, on_delete=models.CASCADE, related_name="app_statuses")
    application = models.CharField(max_length=253, help_text="The ArgoCD Application's name.")
    app = models.ForeignKey(App, null=True, blank=True, on_delete=models.SET_NULL, related_name="statuses")
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="app_statuses")
    app_name = models.CharField(max_length=63)
    cluster_name = models.CharField(max_length=63)
    rule = models.CharField(max_length=63, blank=True)
    environment = models.CharField(max_length=63, blank=True)
    sync_status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.UNKNOWN)
    health_status = models.CharField(max_length=16, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN)
    health_message = models.TextField(blank=True)
    revision = models.CharField(max_length=200, blank=True, help_text="The git revision ArgoCD last synced.")
    images = models.JSONField(default=list, blank=True, help_text="status.summary.images: what runs.")
    operation_phase = models.CharField(max_length=32, blank=True)
    operation_message = models.TextField(blank=True)
    conditions = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=dict, blank=True, help_text="The Application's labels (what argocd/app-selector matches).")
    resource_version = models.CharField(max_length=64, blank=True)
    observed_at = models.DateTimeField(help_text="When the hub last reported this Application.")
    changed_at = models.DateTimeField(help_text="When its sync or health status last changed.")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When the Application went away.")

    class Meta:
        ordering = ["van", "app_name", "cluster_name"]
        constraints = [models.UniqueConstraint(fields=["van", "application"], name="unique_app_status_per_van")]
        indexes = [models.Index(fields=["app", "cluster"]), models.Index(fields=["cluster"])]

    def __str__(self) -> str:
        return f"{self.application}: {self.sync_status}/{self.health_status}"


class AppStatusChange(models.Model):
    """One transition of an Application's sync or health status (a short history per row)."""

    status = models.ForeignKey(AppStatus, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField()
    sync_status = models.CharField(max_length=16, choices=SyncStatus.choices)
    health_status = models.CharField(max_length=16, choices=HealthStatus.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]


class Finding(models.Model):
    """A K8sGPT ``Result`` about an object on one of a VAN's clusters, routed to the team that owns the object.

    Read from the hub: K8sGPT analyses each cluster through the VAN, one ``K8sGPT`` resource per cluster in a
    namespace of its own on the hub (``k8sgpt-<cluster>``), so each Result says by its namespace which cluster it
    is about. Routed (``van.status.findings.route``) by the object's ``backstage.io/kubernetes-id`` label to the
    catalog component that declares it, else by namespace to the app placed there, then to the app's component's
    owner (or the app's team). The route shows a finding to a team; it grants nothing: a finding is visible to
    whoever may see its VAN and, when it has one, its app. A finding the hub no longer reports is resolved.
    """

    van = models.ForeignKey(Van, on_delete=models.CASCADE, related_name="findings")
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    cluster_name = models.CharField(max_length=63)
    result = models.CharField(max_length=253, help_text="The Result's namespace/name on the hub.")
    kind = models.CharField(max_length=63, help_text="The kind of object analysed (Pod, Deployment, ...).")
    object_name = models.CharField(max_length=253, help_text="namespace/name of the object analysed.")
    parent_object = models.CharField(max_length=253, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="What K8sGPT found wrong, one text each.")
    details = models.TextField(blank=True, help_text="K8sGPT's explanation (from its AI backend), when there is one.")
    kubernetes_id = models.CharField(max_length=253, blank=True, help_text="The object's backstage.io/kubernetes-id.")
    app = models.ForeignKey(App, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    owner_team = models.ForeignKey("portal.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When the hub stopped reporting it.")

    class Meta:
        ordering = ["resolved_at", "-last_seen", "pk"]
        constraints = [models.UniqueConstraint(fields=["van", "result"], name="unique_finding_per_van")]
        indexes = [models.Index(fields=["owner_team", "resolved_at"]), models.Index(fields=["app", "resolved_at"]),
                   models.Index(fields=["cluster", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_name} on {self.cluster_name}"

    @property
    def namespace(self) -> str:
        return self.object_name.split("/", 1)[0] if "/" in self.object_name else ""
