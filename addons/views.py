import json

from django import forms
from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from addons import grafana, selectors, services
from addons.models import CustomAddon, DashboardPin
from addons.pipelines import pipeline_name, registry_secret_name
from addons.registry import definitions
from portal.forms import apply_validation_error, form_submit
from portal.views.generic import (
    ObjectActionView, ObjectDetailView, ObjectEditView, get_permitted_object_or_404, get_restricted_object_or_404,
)


class AddOnListView(LoginRequiredMixin, View):
    def get(self, request):
        from addons.registry import builtins

        return render(request, "addons/addon_list.html", {"addons": list(definitions().values()), "builtin_slugs": set(builtins()),
                                                          "can_add": CustomAddon.creatable_by(request.user)})


class CustomAddonForm(forms.Form):
    """A tool from its Helm chart or git repository, pinned, for the clusters carrying some tags."""

    slug = forms.CharField(max_length=40, help_text="A DNS label: names its folder addons/<van>/<slug>/ and its ApplicationSets.")
    name = forms.CharField(max_length=80)
    summary = forms.CharField(max_length=300)
    upstream = forms.CharField(max_length=300, help_text="https:// address of the project.")
    source_kind = forms.ChoiceField(label="Source", choices=[("helm", "Helm chart repository"), ("git", "Git repository path")])
    repo_url = forms.CharField(label="Repository URL", max_length=300, help_text="Helm: https:// or oci://. Git: https:// or ssh://.")
    chart = forms.CharField(required=False, max_length=100, help_text="Helm only: the chart's name.")
    path = forms.CharField(required=False, max_length=200, help_text="Git only: the folder in the repository.")
    version = forms.CharField(max_length=60, help_text="Helm: an exact chart version. Git: a full commit or a version tag.")
    namespace = forms.CharField(max_length=63)
    placement = forms.ChoiceField(choices=[("tagged", "clusters with every tag"), ("every-cluster", "every cluster"), ("hub", "the hub")])
    tags = forms.CharField(required=False, max_length=500, help_text="For tagged placement: e.g. logging, region=eu.")
    values = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
                             help_text="Default Helm values (YAML mapping).")

    def __init__(self, *args, user=None, active_team=None, instance=None, **kwargs):
        super().__init__(*args, **kwargs)

    def clean_values(self):
        import yaml

        text = self.cleaned_data["values"]
        if not text.strip():
            return None
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ValidationError(f"not YAML{f' (line {mark.line + 1})' if mark else ''}: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(values, dict):
            raise ValidationError("a YAML mapping of Helm values")
        try:  # stored as JSON: a date or other YAML-only value must be quoted
            json.dumps(values)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"only JSON values (quote dates and times): {exc}") from None
        return values


class ToolUpgradeForm(forms.Form):
    version = forms.CharField(max_length=60, help_text="Helm: an exact chart version. Git: a full commit or a version tag.")
    values = CustomAddonForm.base_fields["values"]
    clean_values = CustomAddonForm.clean_values


class CustomAddonUpgradeView(LoginRequiredMixin, View):
    """Upgrade a tool ops added (platform admins): *Preview* shows, per VAN where it is on, the diff of its files
    (a dry run, checked like the upgrade); *Upgrade* proposes them, one change set per VAN."""

    def _tool(self, request, slug):
        return get_permitted_object_or_404(CustomAddon.objects.restrict(request.user, "view"), request.user, "change", slug=slug)

    def _render(self, request, tool, form, preview=None, status=200):
        return render(request, "addons/tool_upgrade.html", {"object": tool, "form": form, "preview": preview}, status=status)

    def get(self, request, slug):
        import yaml

        tool = self._tool(request, slug)
        source = tool.definition["sources"][0]
        pinned = (source.get("helm") or {}).get("version") or (source.get("git") or {}).get("revision", "")
        values = yaml.safe_dump(source["values"], sort_keys=False) if source.get("values") else ""
        return self._render(request, tool, ToolUpgradeForm(initial={"version": pinned, "values": values}))

    def post(self, request, slug):
        tool = self._tool(request, slug)
        form = ToolUpgradeForm(request.POST)
        if request.POST.get("_preview"):
            preview = form_submit(form, lambda: services.custom_addon_upgrade_preview(user=request.user, custom=tool,
                                                                                       **form.cleaned_data))
            if preview is not None:
                return self._render(request, tool, form, preview=preview)
        elif form_submit(form, lambda: services.custom_addon_upgrade(actor=request.user, obj=tool, **form.cleaned_data)):
            messages.success(request, f"{tool.slug} pinned to {form.cleaned_data['version']}: a change set per VAN where it is on.")
            return redirect(tool.get_absolute_url())
        return self._render(request, tool, form, status=400)


class CustomAddonAddView(ObjectEditView):
    """Ops add a tool (platform admins): it is then listed and turned on per VAN like a built-in."""

    model = CustomAddon
    form_class = CustomAddonForm
    create_service = staticmethod(services.custom_addon_create)


# --- add-ons of a VAN: the matrix, turning one on or off, its settings ------------------------------------------


class VanAddonsView(ObjectDetailView):
    """Which add-on runs on which cluster of a VAN, on or off; its readers see it, its editors act on it."""

    template_name = "addons/van_addons.html"

    @staticmethod
    def selector(*, user):
        from van.selectors import van_list

        return van_list(user=user)

    def get_extra_context(self, obj):
        return selectors.van_addon_matrix(van=obj) | {"can_change": type(obj).objects.permits(self.request.user, "change", obj)}


class _AddonAction(ObjectActionView):
    selector = staticmethod(selectors.installation_list)
    service = None
    done = ""

    def perform(self, request, obj):
        type(self).service(actor=request.user, installation=obj)
        messages.success(request, f"{obj.definition.name if obj.definition else obj.slug} {self.done} on VAN {obj.van.name}: "
                                  "the change is proposed.")
        response = redirect(obj.get_absolute_url())
        response.status_code = 303
        return response


class VanAddonAddView(LoginRequiredMixin, View):
    """Turn on, for a VAN, an add-on it has no row for yet (a tool ops added later): change on the VAN."""

    def post(self, request, pk, slug):
        van = _van(request, pk)
        try:
            installation = services.addon_add(actor=request.user, van=van, slug=slug)
            messages.success(request, f"{installation.definition.name} turned on on VAN {van.name}: the change is proposed.")
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        response = redirect("addons:van_addons", pk=van.pk)
        response.status_code = 303
        return response


class AddonEnableView(_AddonAction):
    action, service, done = "enable", staticmethod(services.addon_enable), "turned on"


class AddonDisableView(_AddonAction):
    action, service, done = "disable", staticmethod(services.addon_disable), "turned off"


def settings_form_class(definition):
    """A form for an add-on's settings, built from its JSON Schema (the server validates against the schema again)."""
    fields = {}
    for name, prop in (definition.settings_schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        common = {"label": prop.get("title", name), "help_text": prop.get("description", ""), "required": False}
        kind = prop.get("type")
        if "enum" in prop:
            fields[name] = forms.ChoiceField(choices=[(v, v) for v in prop["enum"]], **common)
        elif kind == "boolean":
            fields[name] = forms.BooleanField(**common)
        elif kind == "integer":
            fields[name] = forms.IntegerField(min_value=prop.get("minimum"), max_value=prop.get("maximum"), **common)
        elif kind == "array" and isinstance(prop.get("items"), dict) and "enum" in prop["items"]:
            fields[name] = forms.MultipleChoiceField(choices=[(v, v) for v in prop["items"]["enum"]],
                                                     widget=forms.CheckboxSelectMultiple, **common)
        else:
            fields[name] = forms.CharField(max_length=prop.get("maxLength", 300), **common)
    return type("AddonSettingsForm", (forms.Form,), fields)


class AddonSettingsView(LoginRequiredMixin, View):
    """An add-on's settings for whoever may change its VAN; saving proposes the new values through a change set."""

    def _installation(self, request, pk):
        installation = get_permitted_object_or_404(selectors.installation_list(user=request.user), request.user, "change", pk=pk)
        if installation.definition is None:
            raise Http404("No such add-on.")
        return installation

    def _render(self, request, installation, form, status=200):
        return render(request, "addons/addon_settings.html", {"object": installation, "form": form,
                                                              "definition": installation.definition}, status=status)

    def get(self, request, pk):
        installation = self._installation(request, pk)
        definition = installation.definition
        initial = definition.settings_defaults() | installation.settings
        return self._render(request, installation, settings_form_class(definition)(initial=initial))

    def post(self, request, pk):
        installation = self._installation(request, pk)
        form = settings_form_class(installation.definition)(request.POST)
        if form_submit(form, lambda: services.addon_settings_set(actor=request.user, installation=installation, settings={
                k: v for k, v in form.cleaned_data.items() if v not in ("", None, [])})):
            messages.success(request, f"Saved the settings of {installation.definition.name} on VAN {installation.van.name}.")
            return redirect(installation.get_absolute_url())
        return self._render(request, installation, form, status=400)


class _NoEcho(forms.Textarea):
    """A textarea that never writes back what was typed: a form sent back with an error shows no secret value."""

    def format_value(self, value):
        return None


class SealForm(forms.Form):
    cluster = forms.ChoiceField(help_text="The cluster whose controller alone can open it.")
    namespace = forms.CharField(max_length=63)
    name = forms.CharField(max_length=253, help_text="The Secret's name.")
    scope = forms.ChoiceField(choices=[("strict", "strict: this name in this namespace"),
                                       ("namespace-wide", "namespace-wide: any name in this namespace"),
                                       ("cluster-wide", "cluster-wide: any name, any namespace")], initial="strict")
    data = forms.CharField(widget=_NoEcho(attrs={"rows": 5, "spellcheck": "false", "autocomplete": "off"}),
                           help_text="One KEY=value per line. Sealed in memory; the values are never stored or shown again.")

    def __init__(self, *args, clusters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cluster"].choices = [(c, c) for c in clusters]

    def clean_data(self):
        out = {}
        for number, line in enumerate(self.cleaned_data["data"].splitlines(), start=1):
            if not line.strip():
                continue
            key, eq, value = line.partition("=")
            if not eq or not key.strip():
                raise ValidationError(f"line {number}: not KEY=value")
            if key.strip() in out:
                raise ValidationError(f"line {number}: {key.strip()!r} twice")
            out[key.strip()] = value
        if not out:
            raise ValidationError("at least one KEY=value")
        return out


class SecretSealView(LoginRequiredMixin, View):
    """Seal a Secret for one cluster of a VAN and commit it through the Sealed Secrets add-on (change on the VAN)."""

    def _installation(self, request, pk):
        installation = get_permitted_object_or_404(selectors.installation_list(user=request.user), request.user, "change", pk=pk)
        if installation.slug != "sealed-secrets":
            raise Http404("No such add-on.")
        return installation

    def _render(self, request, installation, form, status=200):
        from van.models import Cluster

        sealed = installation.sealed_secrets.order_by("cluster", "namespace", "name")
        return render(request, "addons/secret_seal.html", {"object": installation, "form": form, "sealed": sealed,
                                                           "clusters": Cluster.objects.filter(van=installation.van)
                                                           .order_by("name").values("name", "environment", "sealing_cert")},
                      status=status)

    def _clusters(self, installation):
        from van.models import Cluster

        return list(Cluster.objects.filter(van=installation.van).order_by("name").values_list("name", flat=True))

    def get(self, request, pk):
        installation = self._installation(request, pk)
        return self._render(request, installation, SealForm(clusters=self._clusters(installation)))

    def post(self, request, pk):
        installation = self._installation(request, pk)
        form = SealForm(request.POST, clusters=self._clusters(installation))
        record = form_submit(form, lambda: services.secret_seal(actor=request.user, installation=installation, **form.cleaned_data))
        if record is not None:
            messages.success(request, f"Sealed {record.namespace}/{record.name} for {record.cluster}: the change is proposed.")
            response = redirect("addons:secret_seal", pk=installation.pk)
            response.status_code = 303
            return response
        return self._render(request, installation, form, status=400)


class ClaimForm(forms.Form):
    name = forms.CharField(max_length=40, help_text="A DNS label: names the claim's folder claims/<van>/<name>/.")
    environment = forms.ChoiceField(help_text="Its approval policy: a Prod claim's changes wait for approval.")
    node_count = forms.IntegerField(min_value=1, max_value=100)
    node_size = forms.ChoiceField(choices=[(s, s) for s in ("small", "medium", "large")])

    def __init__(self, *args, editing=False, **kwargs):
        from portal.gitops.models import Environment

        super().__init__(*args, **kwargs)
        self.fields["environment"].choices = list(Environment.objects.order_by("order", "slug").values_list("slug", "name"))
        if editing:  # a claim keeps its name and environment
            del self.fields["name"], self.fields["environment"]


class VanClaimsView(LoginRequiredMixin, View):
    """A VAN's infrastructure claims: desired values (observed ones come with the hub's status) and a form to add
    one. Seen by the VAN's readers; added by whoever may change the VAN."""

    def _render(self, request, van, form, status=200):
        from addons.models import InfraClaim
        from portal.gitops.choices import ChangeSetStatus
        from portal.gitops.models import ChangeSet

        claims = list(InfraClaim.objects.filter(van=van).order_by("name"))
        waiting = set(ChangeSet.objects.filter(owner_type__model="infraclaim", owner_id__in=[c.pk for c in claims],
                                               status=ChangeSetStatus.AWAITING_APPROVAL).values_list("owner_id", flat=True))
        can_change = type(van).objects.permits(request.user, "change", van)
        return render(request, "addons/claims.html", {"object": van, "claims": claims, "waiting": waiting,
                                                      "form": form if can_change else None}, status=status)

    def get(self, request, pk):
        from van.selectors import van_list

        van = get_restricted_object_or_404(van_list(user=request.user), pk=pk)
        return self._render(request, van, ClaimForm(initial={"node_count": 3, "node_size": "medium"}))

    def post(self, request, pk):
        van = _van(request, pk)
        form = ClaimForm(request.POST)
        claim = form_submit(form, lambda: services.claim_create(actor=request.user, van=van, **form.cleaned_data))
        if claim is not None:
            messages.success(request, f"Claim {claim.name} proposed.")
            response = redirect("addons:van_claims", pk=van.pk)
            response.status_code = 303
            return response
        return self._render(request, van, form, status=400)


class ClaimEditView(LoginRequiredMixin, View):
    """Change a claim's node count or size (change on its VAN); a Prod claim's change waits for approval."""

    def _claim(self, request, pk):
        from addons.models import InfraClaim

        return get_permitted_object_or_404(InfraClaim.objects.restrict(request.user, "view").select_related("van"),
                                           request.user, "change", pk=pk)

    def get(self, request, pk):
        claim = self._claim(request, pk)
        form = ClaimForm(editing=True, initial={"node_count": claim.node_count, "node_size": claim.node_size})
        return render(request, "addons/claim_edit.html", {"object": claim, "form": form})

    def post(self, request, pk):
        claim = self._claim(request, pk)
        form = ClaimForm(request.POST, editing=True)
        if form_submit(form, lambda: services.claim_update(actor=request.user, obj=claim, **form.cleaned_data)):
            messages.success(request, f"Claim {claim.name}: the change is proposed.")
            return redirect(claim.get_absolute_url())
        return render(request, "addons/claim_edit.html", {"object": claim, "form": form}, status=400)


class ClaimDeleteView(ObjectActionView):
    """Stop declaring a claim (change on its VAN): its Workspace leaves git; the infrastructure is kept."""

    selector = staticmethod(selectors.claim_list)
    action = "delete"

    def perform(self, request, obj):
        van, name = obj.van, obj.name
        services.claim_delete(actor=request.user, obj=obj)
        messages.success(request, f"Claim {name}: its removal from git is proposed; the infrastructure is kept.")
        response = redirect("addons:van_claims", pk=van.pk)
        response.status_code = 303
        return response


# --- Grafana: a VAN's settings, and dashboards pinned to app, cluster and VAN pages ------------------------------


class GrafanaForm(forms.Form):
    grafana_url = forms.CharField(label="Grafana URL", required=False, max_length=500,
                                  help_text="The hub's Grafana as users' browsers reach it; empty removes Grafana.")
    grafana_token = forms.CharField(label="Service-account token", required=False, widget=forms.PasswordInput(render_value=False),
                                    help_text="Viewer role. Write-only: empty keeps the stored token.")


def _van(request, pk):
    from van.selectors import van_list

    return get_permitted_object_or_404(van_list(user=request.user), request.user, "change", pk=pk)


class GrafanaSettingsView(LoginRequiredMixin, View):
    """A VAN's Grafana (URL and token), for whoever may change the VAN; saving checks the connection and says how it went."""

    def get(self, request, pk):
        van = _van(request, pk)
        form = GrafanaForm(initial={"grafana_url": van.grafana_url})
        return render(request, "addons/grafana_settings.html", {"object": van, "form": form})

    def post(self, request, pk):
        van = _van(request, pk)
        form = GrafanaForm(request.POST)
        if form.is_valid():
            try:
                services.van_grafana_set(actor=request.user, van=van, url=form.cleaned_data["grafana_url"],
                                         token=form.cleaned_data["grafana_token"])
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                if grafana.configured(van):
                    try:
                        found = grafana.dashboards(van)
                        messages.success(request, f"Grafana saved: {len(found)} dashboard(s) readable with the token.")
                    except grafana.GrafanaError as exc:
                        messages.warning(request, f"Grafana saved, but {exc}")
                elif van.grafana_url:
                    messages.warning(request, "Grafana URL saved; add a service-account token so Wayline can list its dashboards.")
                else:
                    messages.success(request, "Grafana removed from this VAN.")
                return redirect(van.get_absolute_url())
        return render(request, "addons/grafana_settings.html", {"object": van, "form": form}, status=400)


def _target(request, kind, pk):
    """The object a dashboard is pinned to, for a write: 404 when invisible or an unknown kind, 403 when not changeable."""
    if kind not in selectors.KINDS:
        raise Http404("No such page.")
    return get_permitted_object_or_404(selectors.target_selector(kind)(user=request.user), request.user, "change", pk=pk)


def _grafana_van(request, target):
    """The VAN (from ?van= or the form) whose Grafana the pin comes from: one of the target's VANs the user may see."""
    wanted = request.POST.get("van") or request.GET.get("van")
    for van in selectors.grafana_vans(user=request.user, target=target):
        if str(van.pk) == str(wanted):
            return type(van).objects.get(pk=van.pk)
    raise Http404("No such VAN.")


class DashboardPickView(LoginRequiredMixin, View):
    """The dashboards of a VAN's Grafana, to pin one on a page (listing them is checked like pinning)."""

    def get(self, request, kind, pk):
        target = _target(request, kind, pk)
        van = _grafana_van(request, target)
        query = request.GET.get("q", "")[:100]
        try:
            found, error = grafana.dashboards(van, query=query), ""
        except grafana.GrafanaError as exc:
            found, error = [], str(exc)
        pinned = set(DashboardPin.objects.filter(van=van, target_id=target.pk, target_type__model=kind).values_list("uid", flat=True))
        return render(request, "addons/dashboard_pick.html", {
            "target": target, "kind": kind, "van": van, "dashboards": found, "error": error, "q": query, "pinned": pinned})


class DashboardPinView(LoginRequiredMixin, View):
    def post(self, request, kind, pk):
        target = _target(request, kind, pk)
        van = _grafana_van(request, target)
        try:
            pin = services.dashboard_pin(actor=request.user, van=van, target=target, uid=request.POST.get("uid", ""))
            messages.success(request, f"Pinned {pin.title} from VAN {van.name}'s Grafana.")
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        response = redirect(target.get_absolute_url())
        response.status_code = 303
        return response


class DashboardUnpinView(LoginRequiredMixin, View):
    def post(self, request, pin_pk):
        from van.models import Van

        pin = DashboardPin.objects.filter(pk=pin_pk, van__in=Van.objects.restrict(request.user, "view").values("pk")).first()
        if pin is None or pin.target_type.model not in selectors.KINDS:
            raise Http404("No such pin.")
        target = _target(request, pin.target_type.model, pin.target_id)
        services.dashboard_unpin(actor=request.user, pin=pin)
        messages.success(request, f"Unpinned {pin.title}.")
        response = redirect(target.get_absolute_url())
        response.status_code = 303
        return response


# --- an app's golden CI pipeline ------------------------------------------------------------------------------------


class PipelineForm(forms.Form):
    van = forms.ChoiceField(label="VAN", help_text="Whose hub runs the pipeline: a VAN with Argo Events + Workflows on.")
    branch = forms.CharField(max_length=200, initial="main", help_text="Pushes to this branch run the pipeline.")
    test_image = forms.CharField(max_length=300, initial="python:3.12-slim", help_text="The image the tests run in.")
    test_command = forms.CharField(max_length=500, initial="make test", help_text="One line of shell, run in the checkout.")

    def __init__(self, *args, vans=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # a pipeline stays on its hub: delete it to move it
            del self.fields["van"]
        else:
            self.fields["van"].choices = [(v.pk, v.name) for v in vans]


class AppPipelineView(LoginRequiredMixin, View):
    """An app's CI pipeline: how it runs and its last change, for the app's readers; set up, changed and deleted by
    whoever may change the app. The webhook secret is shown once, in the answer to setting it up."""

    template_name = "addons/pipeline.html"

    @staticmethod
    def _vans(user):
        """The VANs a pipeline may be set up on: ones ``user`` may change (so may see), with Argo on."""
        from van.models import Van

        return list(Van.objects.restrict(user, "change").filter(addons__slug="argo-workflows", addons__enabled=True)
                    .order_by("name"))

    def _render(self, request, app, form=None, status=200, webhook_secret=""):
        from portal.gitops.models import ChangeSet
        from van.models import App

        pipeline = selectors.pipeline_list(user=request.user).filter(app=app).first()
        can_change = App.objects.permits(request.user, "change", app)
        if form is None and can_change:
            form = (PipelineForm(editing=True, initial={"branch": pipeline.branch, "test_image": pipeline.test_image,
                                                        "test_command": pipeline.test_command})
                    if pipeline else PipelineForm(vans=self._vans(request.user)))
        last = None
        if pipeline is not None:
            last = ChangeSet.objects.filter(owner_type__model="cipipeline", owner_id=pipeline.pk).order_by("-pk").first()
        return render(request, self.template_name, {
            "object": app, "pipeline": pipeline, "last_change": last, "form": form if can_change else None,
            "webhook_service": f"{pipeline_name(app.name)}-eventsource-svc", "registry_secret": registry_secret_name(app.name),
            "namespace": pipeline_name(app.name),
            "webhook_secret": webhook_secret, "public_url": django_settings.WAYLINE_PUBLIC_URL,
        }, status=status)

    def get(self, request, pk):
        from van.selectors import app_list

        return self._render(request, get_restricted_object_or_404(app_list(user=request.user), pk=pk))

    def post(self, request, pk):
        from addons.models import CiPipeline
        from van.selectors import app_list

        app = get_permitted_object_or_404(app_list(user=request.user), request.user, "change", pk=pk)
        pipeline = selectors.pipeline_list(user=request.user).filter(app=app).first()
        if pipeline is None and CiPipeline.objects.filter(app=app).exists():
            raise Http404("No such CI pipeline.")  # on a VAN the user may not see: as if it were not there
        if pipeline is not None:
            form = PipelineForm(request.POST, editing=True)
            if form_submit(form, lambda: services.pipeline_update(actor=request.user, obj=pipeline, **form.cleaned_data)):
                messages.success(request, "CI pipeline: the change is proposed.")
                return redirect("addons:app_pipeline", pk=app.pk)
            return self._render(request, app, form, status=400)
        vans = self._vans(request.user)
        form = PipelineForm(request.POST, vans=vans)

        def create():
            fields = dict(form.cleaned_data)
            chosen = str(fields.pop("van"))
            van = next((v for v in vans if str(v.pk) == chosen), None)
            return services.pipeline_create(actor=request.user, app=app, van=van, **fields)

        created = form_submit(form, create)
        if created is None:
            return self._render(request, app, form, status=400)
        messages.success(request, f"CI pipeline of {app.name} proposed on VAN {created.van.name}.")
        return self._render(request, app, status=201, webhook_secret=created.webhook_secret)


class PipelineSecretsRotateView(ObjectActionView):
    """New webhook secret (and version-bump token) for a pipeline, shown once on its page, as at set-up: for a
    pipeline a golden-path run set up, or a secret that has leaked."""

    selector = staticmethod(selectors.pipeline_list)
    action = "change"

    def perform(self, request, obj):
        secret = services.pipeline_secrets_rotate(actor=request.user, obj=obj)
        messages.success(request, f"CI pipeline of {obj.app.name}: new secrets proposed; the old token no longer works.")
        view = AppPipelineView()
        view.request = request
        return view._render(request, obj.app, webhook_secret=secret)


class PipelineDeleteView(ObjectActionView):
    """Stop an app's CI pipeline: its files leave git in one change set, its token stops working."""

    selector = staticmethod(selectors.pipeline_list)
    action = "delete"

    def perform(self, request, obj):
        app = obj.app
        services.pipeline_delete(actor=request.user, obj=obj)
        messages.success(request, f"CI pipeline of {app.name}: its removal is proposed.")
        response = redirect("addons:app_pipeline", pk=app.pk)
        response.status_code = 303
        return response
