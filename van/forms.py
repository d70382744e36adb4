import json

from django import forms

from portal.forms import ModelChoiceField, ModelMultipleChoiceField, OwnedObjectForm, PortalForm
from portal.validators import host_validator
from van.choices import AppMatch, CredentialsKind, Environment, Provider, Reachability, SourceKind, SyncMode
from van.models import Cluster


class SecretTextarea(forms.Textarea):
    """Never renders a value back, not even the one just posted with a form error."""

    def format_value(self, value):
        return None


class ClusterForm(OwnedObjectForm):
    name = forms.CharField(max_length=63, help_text="A DNS label: lowercase letters, digits and '-'.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    environment = forms.ChoiceField(choices=Environment.choices)
    provider = forms.ChoiceField(choices=Provider.choices, help_text="Wayline never installs Kubernetes; this is for your records.")
    api_url = forms.URLField(label="API server URL", max_length=500, assume_scheme="https")
    tags = forms.CharField(required=False, help_text="Comma-separated: gpu, region=eu")
    credentials_kind = forms.ChoiceField(choices=CredentialsKind.choices, required=False, label="Credentials")
    credentials = forms.CharField(
        required=False, label="Token or kubeconfig",
        widget=SecretTextarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text="Encrypted at rest and never shown again. Leave empty to keep the stored credentials.",
    )
    sealing_cert = forms.CharField(
        required=False, label="Sealed Secrets certificate", widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="The controller's public certificate (kubeseal --fetch-cert). Leave empty to keep the current one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            for name in ("name", "description", "environment", "provider", "api_url", "credentials_kind"):
                self.initial.setdefault(name, getattr(self.instance, name))
            self.initial.setdefault("tags", ", ".join(self.instance.tags))
            if self.instance.credentials:
                self.fields["credentials"].help_text = "Credentials are stored (hidden). " + self.fields["credentials"].help_text
            if self.instance.sealing_cert:
                self.fields["sealing_cert"].help_text = "A certificate is stored. " + self.fields["sealing_cert"].help_text

    def clean(self):
        data = super().clean()
        if self.instance is not None and not data.get("sealing_cert"):
            data.pop("sealing_cert", None)  # keep the stored one
        return data


class VanForm(OwnedObjectForm):
    name = forms.CharField(max_length=63, help_text="A DNS label.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    hub = ModelChoiceField(queryset=Cluster.objects.none(), help_text="The cluster ArgoCD runs on.")
    edges = ModelMultipleChoiceField(queryset=Cluster.objects.none(), required=False, widget=forms.CheckboxSelectMultiple)
    reachability = forms.ChoiceField(choices=Reachability.choices, initial=Reachability.LOADBALANCER, help_text="How edges reach the hub; edges need only outbound connections.")
    hub_host = forms.CharField(label="Hub address", max_length=253, validators=[host_validator],
                               help_text="Host name or IP at which edges reach the hub's router.")
    inter_router_port = forms.IntegerField(min_value=1, max_value=65535, initial=55671)
    edge_port = forms.IntegerField(min_value=1, max_value=65535, initial=45671)
    addons = forms.MultipleChoiceField(
        label="Golden path", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="The add-ons to turn on (each can be turned on or off later, on the VAN's add-ons page).")

    def __init__(self, *args, **kwargs):
        from addons.registry import definitions as addon_definitions

        super().__init__(*args, **kwargs)
        definitions = addon_definitions()  # the built-ins, then the tools ops added
        self.fields["addons"].choices = [(slug, f"{d.name} ({d.placement_label})") for slug, d in definitions.items()]
        self.fields["addons"].initial = [slug for slug, d in definitions.items() if d.default_enabled]
        clusters = Cluster.objects.restrict(self.user, "change")
        if self.instance is not None:
            clusters = clusters.filter(van__isnull=True) | clusters.filter(van=self.instance)
            hub_pk = self.instance.clusters.filter(role="hub").values_list("pk", flat=True).first()
            self.fields["hub"].queryset = clusters.filter(pk=hub_pk)
            for name in ("name", "description", "reachability", "hub_host", "inter_router_port", "edge_port"):
                self.initial.setdefault(name, getattr(self.instance, name))
            self.initial.setdefault("hub", hub_pk)
            self.initial.setdefault("edges", list(self.instance.clusters.filter(role="edge").values_list("pk", flat=True)))
            del self.fields["addons"]  # a VAN's add-ons are turned on and off on its add-ons page
            clusters = clusters.exclude(pk=hub_pk)  # the hub stays the hub: no edge choice
        else:
            clusters = clusters.filter(van__isnull=True)
            self.fields["hub"].queryset = clusters
        self.fields["edges"].queryset = clusters.order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("hub") and data.get("hub") in (data.get("edges") or []):
            self.add_error("edges", f"{data['hub']} is the hub; it cannot also be an edge.")
        return data


class JSONTextField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})

    def prepare_value(self, value):
        return value if isinstance(value, str) else json.dumps(value or {}, indent=2) if value else ""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return {}
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise forms.ValidationError("Not valid JSON: nested too deeply.") from None
        if not isinstance(data, dict):
            raise forms.ValidationError("Must be a JSON object.")
        return data


class AppForm(OwnedObjectForm):
    name = forms.CharField(max_length=63, help_text="A DNS label.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    component_ref = forms.CharField(required=False, label="Catalog component", help_text="e.g. component:default/payments-api")
    source_kind = forms.ChoiceField(choices=SourceKind.choices, label="Source")
    repo_url = forms.CharField(
        label="Repository URL", max_length=500,
        help_text="Git: https://host/path, ssh://host/path or user@host:path. Helm: https://host/path or oci://registry/path.",
    )
    path = forms.CharField(required=False, help_text="Path inside the git repository, e.g. deploy/prod ('.' for its root).")
    revision = forms.CharField(required=False, initial="HEAD", help_text="HEAD, a branch, a tag or a commit SHA (git sources).")
    chart = forms.CharField(required=False, help_text="Chart name, e.g. ingress-nginx (Helm).")
    chart_version = forms.CharField(required=False)
    values = JSONTextField(required=False, label="Helm values (JSON)")
    namespace = forms.CharField(max_length=63)
    image = forms.CharField(required=False, help_text="Image without tag, e.g. registry.example.net/payments-api")
    version = forms.CharField(required=False, help_text="Image tag (plain YAML: the git revision).")
    tags = forms.CharField(required=False, help_text="Comma-separated: payments, tier=backend")
    overrides = JSONTextField(required=False, label="Per-environment overrides (JSON)", help_text='{"prod": {"version": "1.2.0"}}')

    fields_from_instance = ("name", "description", "component_ref", "source_kind", "repo_url", "path", "revision", "chart",
                            "chart_version", "values", "namespace", "image", "version", "overrides")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            for name in self.fields_from_instance:
                self.initial.setdefault(name, getattr(self.instance, name))
            self.initial.setdefault("tags", ", ".join(self.instance.tags))


class AppVersionForm(PortalForm):
    version = forms.CharField(required=False, max_length=128)
    chart_version = forms.CharField(required=False, max_length=100)


class RuleForm(PortalForm):
    name = forms.CharField(max_length=63, help_text="A DNS label, unique within the VAN.")
    order = forms.IntegerField(min_value=0, max_value=2 ** 31 - 1, initial=100,  # PostgreSQL's integer column
                               help_text="Earlier rules win when two place the same app on a cluster.")
    app_tags = forms.CharField(label="App tags", help_text="Apps carrying these tags, e.g. payments")
    app_match = forms.ChoiceField(choices=AppMatch.choices, label="Apps must have")
    cluster_selector = forms.CharField(
        required=False, label="Cluster selector",
        help_text="Kubernetes selector syntax: region=eu, tier in (gold,silver), gpu, !legacy. Empty: every cluster of the VAN.",
    )
    environments = forms.MultipleChoiceField(choices=Environment.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                             help_text="None ticked: every environment.")
    sync = forms.ChoiceField(choices=SyncMode.choices)
    prune = forms.BooleanField(
        required=False, initial=False,
        help_text="Automated sync also deletes resources that left the app's source. Off, a source emptied by mistake "
                  "leaves what runs in place.",
    )
    self_heal = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            for name in ("name", "order", "app_match", "cluster_selector", "environments", "sync", "prune", "self_heal"):
                self.initial.setdefault(name, getattr(self.instance, name))
            self.initial.setdefault("app_tags", ", ".join(self.instance.app_tags))
