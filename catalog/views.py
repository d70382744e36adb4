from __future__ import annotations

import csv
import json

import yaml
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.views import View

from catalog import selectors, services
from catalog.choices import KINDS, LocationStatus
from catalog.filtersets import EntityFilterSet, LocationFilterSet, dropdown_values
from catalog.forms import EntitySettingsForm, LocationForm
from catalog.graph import relation_graph_svg
from catalog.models import Entity, Location
from catalog.models.entities import entity_url
from catalog.tables import LocationTable
from portal.api.parsers import loads
from portal.views.generic import (
    ObjectActionView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    get_restricted_object_or_404,
    page_number,
)


class EntityListView(LoginRequiredMixin, View):
    """The catalog: filters, search, sorting and pagination; an htmx request gets only the table.

    Same selector and FilterSet as the API. Rows are read as plain values of
    the list columns and drawn by a small template: with 10,000 entities the
    page stays within a few queries and well under 50 ms.
    """

    template_name = "catalog/entity_list.html"
    partial_template_name = "catalog/inc/entity_table.html"
    title = "Catalog"
    filterset_class = EntityFilterSet
    per_page = 25
    sorts = ("name", "kind", "type", "owner", "lifecycle", "system")
    columns = ("kind", "namespace", "name", "title", "description", "type", "lifecycle", "owner", "system", "tags")

    def get_queryset(self):
        return selectors.entity_list_light(user=self.request.user)

    def get(self, request):
        queryset = self.get_queryset()
        filterset = self.filterset_class(request.GET or None, queryset=queryset, request=request)
        rows = filterset.qs if not filterset.is_bound or filterset.is_valid() else queryset.none()
        sort = request.GET.get("sort", "name")
        if sort.removeprefix("-") not in self.sorts:  # one "-" at most: "--name" is no sort key either
            sort = "name"
        if request.GET.get("export") == "csv":
            return self.export_csv(rows.order_by(sort, "ref").values(*self.columns))
        number = page_number(request)
        filtered = any(request.GET.get(name) for name in filterset.filters)

        def read(number):
            return selectors.entity_page(rows, order_by=[sort, "ref"], offset=(number - 1) * self.per_page,
                                         limit=self.per_page, fields=self.columns, filtered=filtered)

        page = read(number)
        if number > page.num_pages:  # past the end (page=99999999999999999999999): the last page
            page = read(page.num_pages)
        for row in page.rows:
            row["html"] = entity_row_html(row)
        get = request.GET.get
        partial = request.htmx and not request.htmx.boosted
        dropdowns = dropdown_values(queryset) if not partial else {"type": [], "lifecycle": [], "namespace": []}
        context = {
            "title": self.title,
            "filterset": filterset,
            "page": page,
            "sort": sort,
            "sort_columns": [(name, name.capitalize()) for name in self.sorts],
            "selects": [
                ("kind", "Kind", KINDS, get("kind", "")),
                ("type", "Type", dropdowns["type"], get("type", "")),
                ("lifecycle", "Lifecycle", dropdowns["lifecycle"], get("lifecycle", "")),
                ("namespace", "Namespace", dropdowns["namespace"], get("namespace", "")),
            ],
            "texts": [("owner", "Owner", get("owner", "")), ("tag", "Tag", get("tag", "")),
                      ("system", "System", get("system", ""))],
            "can_register_location": Location.creatable_by(request.user),  # the check LocationCreateView makes
        }
        return render(request, self.partial_template_name if partial else self.template_name, context)

    def export_csv(self, rows) -> HttpResponse:
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="catalog.csv"'
        writer = csv.writer(response)
        writer.writerow(self.columns)
        for row in rows.iterator():
            writer.writerow([",".join(row[c]) if c == "tags" else row[c] for c in self.columns])
        return response


def _short_ref(ref: str) -> str:
    return ref.split(":", 1)[-1].removeprefix("default/")


def entity_row_html(row: dict) -> str:
    """One ``<tr>`` of the catalog table, escaped here rather than by 10+ template lookups per row.

    With 25 rows the template loop was the largest single cost of the page
    (~500 variable resolutions); this builds the same markup directly.
    """
    name = escape(row["name"])
    label = f'{escape(row["title"])} <small class="muted">{name}</small>' if row["title"] else name
    tags = "".join(f'<span class="tag">{escape(tag)}</span>' for tag in row["tags"] or [])
    cells = (
        f'<td><a href="{escape(entity_url(row["kind"], row["namespace"], row["name"]))}">{label}</a></td>',
        f'<td>{escape(row["kind"])}</td>',
        f'<td>{escape(row["type"])}</td>',
        f'<td>{escape(_short_ref(row["owner"]))}</td>',
        f'<td>{escape(row["lifecycle"])}</td>',
        f'<td>{escape(_short_ref(row["system"]))}</td>',
        f'<td>{tags}</td>',
        f'<td class="free">{escape(Truncator(row["description"]).chars(120))}</td>',
    )
    return mark_safe("<tr>" + "".join(cells) + "</tr>")  # every value above is escaped


class TemplateListView(EntityListView):
    """The "Create" page: Template entities from the catalog (running them is a later issue)."""

    template_name = "catalog/template_list.html"
    title = "Create"

    def get_queryset(self):
        return selectors.entity_list_light(user=self.request.user, filters={"kind": "Template"})


class EntityDetailView(ObjectDetailView):
    selector = selectors.entity_list
    template_name = "catalog/entity.html"

    def get_object(self):
        ref = f"{self.kwargs['kind']}:{self.kwargs['namespace']}/{self.kwargs['name']}".lower()
        return get_restricted_object_or_404(
            selectors.entity_list(user=self.request.user)
            .select_related("location", "owner_team", "team", "document")
            .defer("location__fingerprints", "location__last_report"),
            ref=ref,
        )

    def get_extra_context(self, obj):
        user = self.request.user
        relations = selectors.entity_relations(user=user, entity=obj)
        for relation in relations:
            relation.target_url = (
                entity_url(relation.target_kind, relation.target_namespace, relation.target_name)
                if relation.target_name else ""
            )
        data = obj.data
        return {
            "relations": relations,
            "graph_svg": mark_safe(relation_graph_svg(obj, relations)),  # built with escape() throughout
            "links": [link for link in data["metadata"].get("links") or [] if isinstance(link, dict)],
            "annotations": sorted((data["metadata"].get("annotations") or {}).items()),
            "labels": sorted((data["metadata"].get("labels") or {}).items()),
            "spec_json": json.dumps(data.get("spec") or {}, indent=2, sort_keys=True),
            "api_definition": _api_definition(obj) if obj.kind == "API" else None,
            "template": _template_outline(obj) if obj.kind == "Template" else None,
            "profile": (data.get("spec") or {}).get("profile") if obj.kind in ("User", "Group") else None,
            "can_edit": Entity.objects.permits(user, "change", obj),
            "deployments": _deployments(user, obj),
        } | _live_context(user, obj) | _grafana_context(user, obj) | _workloads_context(obj)


class EntityDashboardsView(EntityDetailView):
    """The entity page's Grafana panel (loaded by htmx after the page: it asks each VAN's Grafana)."""

    template_name = "addons/inc/entity_dashboards.html"

    def get_extra_context(self, obj):
        from addons.selectors import entity_dashboards

        return entity_dashboards(user=self.request.user, ref=obj.ref, annotations=obj.data["metadata"].get("annotations") or {})


class EntityWorkloadsView(EntityDetailView):
    """The entity page's Kubernetes panel (loaded by htmx after the page, then polled: it asks clusters)."""

    template_name = "van/inc/entity_workloads.html"

    def get_extra_context(self, obj):
        from van.status.workloads import entity_workloads

        return {"workloads": entity_workloads(user=self.request.user, ref=obj.ref, annotations=_annotations(obj)),
                "workloads_url": self.request.path}


class EntityLiveStatusView(EntityDetailView):
    """The entity page's live status panel alone (htmx polls it); 404 like the entity for whoever may not see it."""

    template_name = "van/inc/live_status.html"

    def get_extra_context(self, obj):
        return _live_context(self.request.user, obj)


def _grafana_context(user, entity: Entity) -> dict:
    """Backstage's Grafana annotations: a panel of the dashboards ``grafana/dashboard-selector`` picks (loaded after
    the page), and ``grafana/overview-dashboard`` embedded when it is on one of the entity's VANs' Grafana."""
    from addons.selectors import DASHBOARD_SELECTOR, OVERVIEW_DASHBOARD, entity_grafana_vans, overview_embed

    annotations = entity.data["metadata"].get("annotations") or {}
    if not ({DASHBOARD_SELECTOR, OVERVIEW_DASHBOARD} & set(annotations)):
        return {}
    vans = entity_grafana_vans(user=user, ref=entity.ref)
    overview = overview_embed(annotations, vans)
    from addons.grafana import origin

    kwargs = {"kind": entity.kind.lower(), "namespace": entity.namespace, "name": entity.name}
    return {"grafana_overview": overview, "frame_origins": {origin(overview)} if overview else set(),
            "grafana_selector": DASHBOARD_SELECTOR in annotations,
            "dashboards_url": reverse("catalog:entity_dashboards", kwargs=kwargs)}


def _annotations(entity: Entity) -> dict:
    annotations = entity.data["metadata"].get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _workloads_context(entity: Entity) -> dict:
    """Backstage's Kubernetes annotations: a Workloads panel on Components that carry one (loaded after the page)."""
    from van.status.workloads import wants_workloads

    if entity.kind != "Component" or not wants_workloads(_annotations(entity)):
        return {}
    return {"workloads_url": reverse("catalog:entity_workloads", kwargs={
        "kind": entity.kind.lower(), "namespace": entity.namespace, "name": entity.name})}


def _live_context(user, entity: Entity) -> dict:
    """Live status of what the entity deploys: for Components, or any entity with Backstage's Argo CD annotations."""
    from van.status.selectors import ARGOCD_APP_NAME, ARGOCD_APP_SELECTOR, entity_rows

    annotations = entity.data["metadata"].get("annotations") or {}
    if entity.kind != "Component" and not ({ARGOCD_APP_NAME, ARGOCD_APP_SELECTOR} & set(annotations)):
        return {}
    rows, chosen = entity_rows(user=user, ref=entity.ref, annotations=annotations)
    return {"live_rows": rows, "live_by": "entity", "live_chosen": chosen,
            "live_url": reverse("catalog:entity_status", kwargs={"kind": entity.kind.lower(), "namespace": entity.namespace,
                                                                 "name": entity.name})}


def _deployments(user, entity: Entity) -> list[dict] | None:
    """Where a Component's apps run, from the VAN app's selectors (None for other kinds)."""
    if entity.kind != "Component":
        return None
    from van.selectors import deployments_of_component

    return deployments_of_component(user=user, component_ref=entity.ref)


def _api_definition(entity: Entity) -> dict:
    """An API's definition: OpenAPI summarised as operations; anything else as text."""
    spec = entity.data.get("spec") or {}
    text = spec.get("definition") if isinstance(spec.get("definition"), str) else ""
    result = {"type": spec.get("type", ""), "text": text, "openapi": None}
    if spec.get("type") == "openapi" and text:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            return result
        if isinstance(document, dict) and isinstance(document.get("paths"), dict):
            operations = []
            for path, item in document["paths"].items():
                if not isinstance(item, dict):
                    continue
                for method, operation in item.items():
                    if method.lower() in ("get", "put", "post", "delete", "patch", "head", "options") and isinstance(operation, dict):
                        operations.append({"method": method.upper(), "path": path,
                                           "summary": operation.get("summary") or operation.get("description") or "",
                                           "operation_id": operation.get("operationId", "")})
            info = document.get("info") if isinstance(document.get("info"), dict) else {}
            servers = [s.get("url") for s in document.get("servers") or [] if isinstance(s, dict)]
            result["openapi"] = {"title": info.get("title", ""), "version": info.get("version", ""),
                                 "description": info.get("description", ""), "servers": servers,
                                 "operations": operations}
    return result


def _template_outline(entity: Entity) -> dict:
    """A software template's parameter pages and steps, for reading (running templates comes later)."""
    spec = entity.data.get("spec") or {}
    pages = spec.get("parameters") or []
    pages = pages if isinstance(pages, list) else [pages]
    parameters = []
    for page in pages:
        if not isinstance(page, dict):
            continue
        properties = page.get("properties") if isinstance(page.get("properties"), dict) else {}
        required = set(page.get("required") or [])
        parameters.append({
            "title": page.get("title", ""),
            "fields": [{"name": name, "title": (prop or {}).get("title", "") if isinstance(prop, dict) else "",
                        "type": (prop or {}).get("type", "") if isinstance(prop, dict) else "",
                        "required": name in required}
                       for name, prop in properties.items()],
        })
    steps = [{"id": step.get("id", ""), "name": step.get("name", ""), "action": step.get("action", "")}
             for step in spec.get("steps") or [] if isinstance(step, dict)]
    return {"parameters": parameters, "steps": steps}


class EntityEditView(ObjectEditView):
    model = Entity
    form_class = EntitySettingsForm
    template_name = "catalog/entity_edit.html"
    update_service = staticmethod(services.entity_settings_update)

    def check_create_allowed(self):
        raise Http404("Entities come from their locations.")


class LocationListView(ObjectListView):
    selector = selectors.location_list
    filterset_class = LocationFilterSet
    table_class = LocationTable
    title = "Catalog locations"
    create_url_name = "catalog:location_add"


class LocationDetailView(ObjectDetailView):
    selector = selectors.location_list
    template_name = "catalog/location.html"

    def get_extra_context(self, obj):
        user = self.request.user
        return {
            "errors": selectors.location_errors(user=self.request.user, location=obj),
            "entities": selectors.entity_list_light(user=user, filters={"location": obj}).order_by("kind", "name")[:200],
            "can_edit": Location.objects.permits(user, "change", obj),
            # Its first read (and every refresh) is a worker's job: the page says when none runs.
            "waiting_on_worker": obj.status == LocationStatus.PENDING,
        }


class LocationCreateView(ObjectEditView):
    model = Location
    form_class = LocationForm
    template_name = "catalog/location_edit.html"
    create_service = staticmethod(services.location_register)


class _LocationActionView(LoginRequiredMixin, View):
    def changeable_location(self, pk) -> Location:
        user = self.request.user
        try:
            return Location.objects.restrict(user, "change").get(pk=pk)
        except Location.DoesNotExist:
            if Location.objects.restrict(user, "view").filter(pk=pk).exists():
                raise PermissionDenied("You may not change this location.") from None
            raise Http404 from None


class LocationRefreshView(_LocationActionView):
    def post(self, request, pk):
        location = self.changeable_location(pk)
        services.location_refresh_request(actor=request.user, location=location)
        messages.success(request, f"Refresh of {location} queued.")
        return redirect(location.get_absolute_url())


class LocationDeleteView(_LocationActionView):
    def post(self, request, pk):
        location = self.changeable_location(pk)
        services.location_delete(actor=request.user, location=location)
        messages.success(request, f"Removed {location} and its entities.")
        return redirect("catalog:location_list")


# --- the scaffolder: a template's form, runs ------------------------------------------------------------------------


class TemplateRunView(LoginRequiredMixin, View):
    """A template's parameter pages, one at a time (Next, Back, Create), then the run.

    Values entered on earlier pages travel in the form (a JSON hidden field) and are checked again on every page:
    each page against its JSON Schema, all of them and every step before the run is created (``run_create``).
    Only users who may create for a team see the form (403 otherwise); a template the user may not see is 404.
    """

    template_name = "catalog/template_run.html"

    def setup_template(self, request, namespace, name):
        from catalog.models import ScaffolderRun
        from catalog.scaffolder.runs import template_entity_get
        from catalog.scaffolder.template import TemplateError, template_parse

        try:
            self.entity = template_entity_get(user=request.user, ref=f"template:{namespace}/{name}")
        except Entity.DoesNotExist:
            raise Http404("No such template") from None
        if not ScaffolderRun.creatable_by(request.user):
            raise PermissionDenied("You may run templates once you are a member of a team.")
        try:
            self.template = template_parse(self.entity.document.data, ref=self.entity.ref)
            self.problem = ""
        except TemplateError as exc:
            self.template, self.problem = None, str(exc)

    def _form(self, index, data=None, values=None):
        from catalog.scaffolder.forms import ParameterPageForm

        page = self.template.pages[index] if self.template and self.template.pages else {}
        form = ParameterPageForm(data, page=page, user=self.request.user, prefix=f"p{index}")
        if data is None:
            form.initial_from(values or {})
        return form

    def _render(self, request, index, form, values, errors=(), status=200):
        from catalog.scaffolder.runs import secret_fields
        from portal.crypto import encrypt

        pages = self.template.pages if self.template else ()
        hidden = secret_fields(self.template) if self.template else set()
        secrets = {k: v for k, v in values.items() if k in hidden}
        # Secrets from earlier pages travel sealed (encrypted for this user), never as text in the page.
        sealed = encrypt(json.dumps({"user": request.user.pk, "secrets": secrets})) if secrets else ""
        return render(request, self.template_name, {
            "entity": self.entity, "template": self.template, "problem": self.problem, "form": form, "index": index,
            "pages": [p.get("title") or f"Step {i + 1}" for i, p in enumerate(pages)] or ["Review"],
            "is_last": index >= max(len(pages) - 1, 0), "errors": errors, "secrets_sealed": sealed,
            "values_json": json.dumps({k: v for k, v in values.items() if k not in hidden}),
        }, status=status)

    def _unsealed(self, request) -> dict:
        """The secrets of earlier pages, when the sealed field is this user's; nothing otherwise."""
        from portal.crypto import DecryptionError, decrypt

        try:
            sealed = json.loads(decrypt(request.POST.get("secrets_sealed") or ""))
        except (DecryptionError, ValueError):
            return {}
        if not isinstance(sealed, dict) or sealed.get("user") != request.user.pk or not isinstance(sealed.get("secrets"), dict):
            return {}
        return sealed["secrets"]

    def get(self, request, namespace, name):
        self.setup_template(request, namespace, name)
        return self._render(request, 0, self._form(0) if self.template else None, {})

    def post(self, request, namespace, name):
        from catalog.scaffolder.runs import RunRefused, run_create
        from catalog.scaffolder.template import Template, parameters_check

        self.setup_template(request, namespace, name)
        if self.template is None:
            return self._render(request, 0, None, {}, status=400)
        try:
            values = loads(request.POST.get("values_json") or "{}")
            index = int(request.POST.get("index", 0))
        except ValueError:
            values, index = {}, 0
        values = (values if isinstance(values, dict) else {}) | self._unsealed(request)
        index = min(max(index, 0), max(len(self.template.pages) - 1, 0))
        form = self._form(index, request.POST)
        form.is_valid()
        page_fields = set(form.fields)
        values = {k: v for k, v in values.items() if k not in page_fields} | form.values()
        if request.POST.get("go") == "back":
            return self._render(request, max(index - 1, 0), self._form(max(index - 1, 0), values=values), values)
        if self.template.pages:  # this page against its own schema first
            one = Template(ref="", title="", description="", owner="", type="", pages=(self.template.pages[index],), steps=())
            _, errors = parameters_check(one, values)
            mine = [e for e in errors if e["field"].split(".")[0] in page_fields or not e["field"]]
            if mine:
                if request.htmx and request.POST.get("go") == "preview":  # the errors where the preview would be
                    return render(request, "catalog/inc/run_preview.html", {"errors": [e["message"] for e in mine]})
                for error in mine:
                    name_ = error["field"].split(".")[0]
                    form.add_error(name_ if name_ in form.fields else None, error["message"])
                return self._render(request, index, form, values, status=400)
        if request.POST.get("go") == "next" and index < len(self.template.pages) - 1:
            return self._render(request, index + 1, self._form(index + 1, values=values), values)
        if request.POST.get("go") == "preview":
            return self._preview(request, values)
        try:
            run = run_create(actor=request.user, template_ref=self.entity.ref, values=values)
        except RunRefused as exc:
            problems = [m for messages_ in exc.message_dict.values() for m in messages_]
            return self._render(request, index, form, values, errors=problems, status=400)
        except PermissionDenied as exc:
            return self._render(request, index, form, values, errors=[str(exc)], status=403)
        return redirect(run.get_absolute_url())


    def _preview(self, request, values):
        """What Create would do, run dry (checked like a run: a dry run is a write) and written nowhere: the files,
        repositories, locations, apps and change sets, and the log; as a fragment under the form (htmx)."""
        from catalog.scaffolder.runs import RunRefused, run_dry, template_directory_contents

        context = {"errors": [], "result": None}
        status = 200
        try:
            context["result"] = run_dry(actor=request.user, template_data=self.entity.document.data, values=values,
                                        template_ref=self.entity.ref,
                                        directory_contents=template_directory_contents(self.entity))
        except RunRefused as exc:  # htmx swaps only a 200: the errors show where the preview would
            context["errors"] = [m for messages_ in exc.message_dict.values() for m in messages_]
            status = 200 if request.htmx else 400
        except PermissionDenied as exc:
            context["errors"], status = [str(exc)], 403
        if context["result"] is not None:
            context["files"] = sorted(item["path"] for item in context["result"].directory_contents)
            context["failed"] = any(e["body"].get("status") == "failed" for e in context["result"].log)
        page = render(request, "catalog/inc/run_preview.html", context, status=status)
        if request.htmx:
            return page
        # without htmx (no script): the form page again, the preview under it
        response = self._render(request, len(self.template.pages) - 1 if self.template.pages else 0,
                                self._form(max(len(self.template.pages) - 1, 0), values=values), values, status=status)
        response.content = response.content.replace(b'<div id="preview"></div>',
                                                    b'<div id="preview">' + page.content + b"</div>")
        return response


def run_list(*, user):
    from catalog.models import ScaffolderRun

    return ScaffolderRun.objects.restrict(user, "view").select_related("owner_team", "created_by")


class RunListView(LoginRequiredMixin, View):
    """Run history: mine, or my teams' (``?who=team``), newest first; a constant number of queries."""

    template_name = "catalog/run_list.html"
    per_page = 50

    def get(self, request):
        runs = run_list(user=request.user)
        who = request.GET.get("who", "mine")
        if who == "team":
            from portal.selectors import teams_of_user

            runs = runs.filter(owner_team__in=teams_of_user(user=request.user))
        else:
            who = "mine"
            runs = runs.filter(created_by=request.user)
        if state := request.GET.get("state"):
            runs = runs.filter(state=state)
        return render(request, self.template_name, {"runs": list(runs[: self.per_page]), "who": who,
                                                    "state": request.GET.get("state", "")})


class RunDetailView(ObjectDetailView):
    """A run: its steps, its log (live while it runs: htmx polls the ``?part=progress`` fragment), its output."""

    selector = staticmethod(run_list)
    template_name = "catalog/run.html"
    lookup_kwargs = ("uid",)

    def get_extra_context(self, obj):
        from catalog.models import ScaffolderEvent, ScaffolderRun

        events = list(ScaffolderEvent.objects.filter(run=obj).order_by("pk")[:2000])
        links = []
        for link in (obj.output or {}).get("links") or []:
            if not isinstance(link, dict):
                continue
            href = link.get("url") or ""
            if link.get("entityRef"):
                kind, _, rest = str(link["entityRef"]).partition(":")
                namespace, _, name = rest.partition("/")
                href = entity_url(kind, namespace, name) if name else ""
            links.append({"title": link.get("title") or href, "href": href if str(href).startswith(("/", "https://")) else ""})
        steps = list(obj.steps.all())
        from portal.gitops.models import ChangeSet

        ids = [i for s in steps for i in (s.output or {}).get("changeSets") or [] if isinstance(i, int)]
        changesets = list(ChangeSet.objects.restrict(self.request.user, "view").filter(pk__in=ids)
                          .select_related("environment")) if ids else []
        return {"steps": steps, "events": events, "links": links, "changesets": changesets,
                "texts": [t for t in (obj.output or {}).get("text") or [] if isinstance(t, dict)],
                "can_change": ScaffolderRun.objects.permits(self.request.user, "cancel", obj)}

    def get(self, request, **kwargs):
        if request.GET.get("part") == "progress":
            obj = self.get_object()
            return render(request, "catalog/inc/run_progress.html", {"object": obj, **self.get_extra_context(obj)})
        return super().get(request, **kwargs)


class RunCancelView(ObjectActionView):
    selector = staticmethod(run_list)
    action = "cancel"
    lookup_kwargs = ("uid",)

    def perform(self, request, obj):
        from catalog.scaffolder.runs import run_cancel

        run_cancel(actor=request.user, run=obj)
        messages.success(request, "Cancelled." if obj.state == "open" else "The run stops after its current step.")
        return _see_other(obj.get_absolute_url())


class RunRetryView(ObjectActionView):
    selector = staticmethod(run_list)
    action = "retry"
    lookup_kwargs = ("uid",)

    def perform(self, request, obj):
        from catalog.scaffolder.runs import run_retry

        run_retry(actor=request.user, run=obj)
        messages.success(request, "Retrying from the first step not completed.")
        return _see_other(obj.get_absolute_url())


def _see_other(url):
    response = redirect(url)
    response.status_code = 303
    return response
