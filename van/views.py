from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from portal.forms import apply_validation_error
from portal.views.generic import ObjectDetailView, ObjectEditView, ObjectListView, get_restricted_object_or_404
from van import selectors, services
from van.filtersets import AppFilterSet, ClusterFilterSet, RuleFilterSet, VanFilterSet
from van.forms import AppForm, AppVersionForm, ClusterForm, RuleForm, VanForm
from van.labels import LabelError
from van.models import App, Cluster, DistributionRule, Van
from van.rendering import placement_diff, unmatched_rules
from van.rendering.spec import ENVIRONMENTS
from van.tables import AppTable, ClusterTable, RuleTable, VanTable


def _can(user, model, obj, action="change") -> bool:
    return model.objects.restrict(user, action).filter(pk=obj.pk).exists()


def _matrix(spec, placement) -> dict:
    """Rows of the apps x clusters placement matrix (only apps some rule selects)."""
    clusters = [c.name for c in spec.clusters]
    rows = []
    for app in sorted(spec.apps, key=lambda a: a.name):
        placed = placement.clusters_of(app.name)
        if placed or any(r.selects_app(app) for r in spec.rules):
            rows.append({"app": app.name, "cells": [placed.get(c, "") for c in clusters]})
    return {"clusters": clusters, "environments": [c.environment for c in spec.clusters], "rows": rows}


# --- clusters ------------------------------------------------------------------------------------


class ClusterListView(ObjectListView):
    selector = selectors.cluster_list
    filterset_class = ClusterFilterSet
    table_class = ClusterTable
    title = "Clusters"
    create_url_name = "van:cluster_add"
    export_filename = "wayline-clusters.csv"


class ClusterDetailView(ObjectDetailView):
    selector = selectors.cluster_list
    template_name = "van/cluster.html"

    def get_extra_context(self, obj):
        return {
            "can_edit": _can(self.request.user, Cluster, obj),
            "placed": selectors.placements_of_cluster(cluster=obj),
        }


class ClusterEditView(ObjectEditView):
    """Edit a cluster; for a VAN member, changing tags previews the placement change (htmx) before saving."""

    model = Cluster
    form_class = ClusterForm
    template_name = "van/cluster_edit.html"
    create_service = services.cluster_create
    update_service = services.cluster_update

    def post(self, request, **kwargs):
        if request.htmx and request.POST.get("_preview"):
            return render(request, "van/inc/rule_preview.html", {"preview": self.tag_preview(request.POST.get("tags", ""))})
        return super().post(request, **kwargs)

    def tag_preview(self, raw_tags: str) -> dict | None:
        cluster = self.object
        if cluster is None or cluster.van_id is None:
            return None
        try:
            tags = services.tags_parse(raw_tags)
        except ValidationError as exc:
            return {"error": "; ".join(exc.messages)}
        clusters = list(Cluster.objects.filter(van_id=cluster.van_id))
        edited = [c for c in clusters if c.pk != cluster.pk]
        draft = next(c for c in clusters if c.pk == cluster.pk)
        draft.tags = tags
        apps, rules = list(App.objects.all()), list(DistributionRule.objects.filter(van_id=cluster.van_id))
        before = selectors.van_spec(van=cluster.van, clusters=list(Cluster.objects.filter(van_id=cluster.van_id)), apps=apps, rules=rules)
        after = selectors.van_spec(van=cluster.van, clusters=edited + [draft], apps=apps, rules=rules)
        diff = placement_diff(before, after)
        return {"matrix": _matrix(after, diff.after), "added": diff.added, "removed": diff.removed, "flag": None,
                "prod": cluster.environment == "prod" and bool(diff.added or diff.removed)}


# --- VANs ----------------------------------------------------------------------------------------


class VanListView(ObjectListView):
    selector = selectors.van_list
    filterset_class = VanFilterSet
    table_class = VanTable
    title = "VANs"
    create_url_name = "van:van_add"
    export_filename = "wayline-vans.csv"


def topology(spec) -> dict:
    """Positions for the SVG: the hub in the middle, edges on a circle around it."""
    width, height, cx, cy, radius = 640, 380, 320, 190, 150
    edges = []
    count = max(len(spec.edges), 1)
    for index, edge in enumerate(spec.edges):
        angle = -math.pi / 2 + 2 * math.pi * index / count + (math.pi / count if count > 1 else math.pi)
        edges.append({"name": edge.name, "environment": edge.environment, "x": round(cx + radius * math.cos(angle)),
                      "y": round(cy + radius * math.sin(angle)), "tags": [str(t) for t in edge.tags]})
    return {"width": width, "height": height, "hub": {"name": spec.hub.name, "environment": spec.hub.environment, "x": cx, "y": cy,
            "tags": [str(t) for t in spec.hub.tags]}, "edges": edges}


class VanDetailView(ObjectDetailView):
    selector = selectors.van_list
    template_name = "van/van.html"

    def get_extra_context(self, obj):
        context = {"can_edit": _can(self.request.user, Van, obj), "rules": list(obj.rules.all()),
                   "changesets": list(selectors.van_changesets(van=obj))}
        try:
            spec, placement = selectors.van_placement(van=obj)
        except ValueError:
            return context | {"no_hub": True}
        return context | {
            "spec": spec,
            "topology": topology(spec),
            "matrix": _matrix(spec, placement),
            "unmatched": dict(unmatched_rules(spec)),
        }


class VanEditView(ObjectEditView):
    model = Van
    form_class = VanForm
    create_service = services.van_create
    update_service = services.van_update


# --- apps ----------------------------------------------------------------------------------------


class AppListView(ObjectListView):
    selector = selectors.app_list
    filterset_class = AppFilterSet
    table_class = AppTable
    title = "Apps"
    create_url_name = "van:app_add"
    export_filename = "wayline-apps.csv"


class AppDetailView(ObjectDetailView):
    selector = selectors.app_list
    template_name = "van/app.html"

    def get_extra_context(self, obj):
        return {
            "can_edit": _can(self.request.user, App, obj),
            "placements": selectors.placements_of_app(app_name=obj.name),
            "releases": selectors.app_releases(app=obj)[:50],
            "version_form": AppVersionForm(initial={"version": obj.version, "chart_version": obj.chart_version}),
        }


class AppEditView(ObjectEditView):
    model = App
    form_class = AppForm
    create_service = services.app_create
    update_service = services.app_update


class _AppActionView(LoginRequiredMixin, View):
    def get_app(self, pk) -> App:
        app = get_restricted_object_or_404(selectors.app_list(user=self.request.user), pk=pk)
        if not _can(self.request.user, App, app):
            raise PermissionDenied("You may not change this app.")
        return app


class AppVersionView(_AppActionView):
    """Upgrade: set a new image (or chart) version; one ChangeSet per VAN the app runs in."""

    def post(self, request, pk):
        app = self.get_app(pk)
        form = AppVersionForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                release = services.app_version_set(actor=request.user, app=app, **form.cleaned_data)
                messages.success(request, f"{app} set to {release.version or release.chart_version}; "
                                          f"{release.changesets.count()} change set(s) proposed.")
                return redirect(app.get_absolute_url())
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return render(request, "van/app.html", {
            "object": app, "model_opts": App._meta, "can_edit": True, "version_form": form,
            "placements": selectors.placements_of_app(app_name=app.name), "releases": selectors.app_releases(app=app)[:50],
        }, status=400)


class AppRollbackView(_AppActionView):
    def post(self, request, pk, release_pk):
        app = self.get_app(pk)
        release = app.releases.filter(pk=release_pk).first()
        if release is None:
            raise Http404
        try:
            services.app_rollback(actor=request.user, app=app, release=release)
            messages.success(request, f"Rolling {app} back to {release.version or release.chart_version}.")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        return redirect(app.get_absolute_url())


# --- distribution rules --------------------------------------------------------------------------


class RuleListView(ObjectListView):
    selector = selectors.rule_list
    filterset_class = RuleFilterSet
    table_class = RuleTable
    title = "Distribution rules"
    export_filename = "wayline-rules.csv"


class RuleDetailView(ObjectDetailView):
    selector = selectors.rule_list
    template_name = "van/rule.html"

    def get_extra_context(self, obj):
        spec, placement = selectors.van_placement(van=obj.van)
        placed = [(app, cluster) for app, clusters in sorted(placement.by_app.items()) for cluster, rule in sorted(clusters.items()) if rule == obj.name]
        return {"can_edit": _can(self.request.user, DistributionRule, obj), "placed": placed,
                "unmatched": dict(unmatched_rules(spec)).get(obj.name)}


class RuleEditView(LoginRequiredMixin, View):
    """Create or edit a rule with a live preview (htmx) of the placement it produces; saving commits one ChangeSet."""

    template_name = "van/rule_edit.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        user = request.user
        if "pk" in kwargs:
            self.object = get_restricted_object_or_404(selectors.rule_list(user=user), pk=kwargs["pk"])
            self.van = self.object.van
        else:
            self.object = None
            self.van = get_restricted_object_or_404(selectors.van_list(user=user), pk=kwargs["van_pk"])
        if not _can(user, Van, self.van):
            raise PermissionDenied("You may not change this VAN's rules.")
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None):
        return RuleForm(data=data, instance=self.object, user=self.request.user)

    def render_page(self, form, status=200, preview=None):
        return render(self.request, self.template_name, {
            "form": form, "object": self.object, "van": self.van, "model_opts": DistributionRule._meta,
            "preview": preview if preview is not None else self.preview(form.initial if not form.is_bound else None),
        }, status=status)

    def preview(self, data):
        """What saving would change: the placement matrix after the edit and the Applications added/removed."""
        from van.models import DistributionRule as Rule

        if data is None:
            return None
        rules = [r for r in self.van.rules.all() if self.object is None or r.pk != self.object.pk]
        try:
            draft = Rule(
                van=self.van, name=data.get("name") or "draft", order=int(data.get("order") or 0),
                app_tags=services.tags_parse(data.get("app_tags") or "", field="app_tags"),
                app_match=data.get("app_match") or "all",
                cluster_selector=services.selector_clean(data.get("cluster_selector") or ""),
                environments=[e for e in (data.get("environments") or []) if e in ENVIRONMENTS],
                sync=data.get("sync") or "automated",
            )
        except (ValidationError, ValueError, LabelError) as exc:
            return {"error": "; ".join(getattr(exc, "messages", [str(exc)]))}
        clusters = list(Cluster.objects.filter(van=self.van))
        apps = list(App.objects.all())
        before = selectors.van_spec(van=self.van, clusters=clusters, apps=apps, rules=list(self.van.rules.all()))
        after = selectors.van_spec(van=self.van, clusters=clusters, apps=apps, rules=rules + [draft])
        diff = placement_diff(before, after)
        flagged = dict(unmatched_rules(after)).get(draft.name)
        env_of = {c.name: c.environment for c in after.clusters}
        return {"matrix": _matrix(after, diff.after), "added": diff.added, "removed": diff.removed, "flag": flagged,
                "prod": any(env_of.get(cluster) == "prod" for _, _, cluster in diff.added + diff.removed)}

    def get(self, request, **kwargs):
        return self.render_page(self.form())

    def post(self, request, **kwargs):
        data = request.POST
        if request.htmx and data.get("_preview"):
            values = {k: data.get(k) for k in data} | {"environments": data.getlist("environments")}
            return render(request, "van/inc/rule_preview.html", {"preview": self.preview(values), "van": self.van})
        form = self.form(data)
        if form.is_valid():
            try:
                if self.object is None:
                    rule = services.rule_create(actor=request.user, van=self.van, **form.cleaned_data)
                    messages.success(request, f"Added rule {rule.name}; its ApplicationSets were proposed as a change set.")
                else:
                    rule = services.rule_update(actor=request.user, obj=self.object, **form.cleaned_data)
                    messages.success(request, f"Saved rule {rule.name}.")
                return redirect(rule.get_absolute_url())
            except ValidationError as exc:
                apply_validation_error(form, exc)
        values = {k: data.get(k) for k in data} | {"environments": data.getlist("environments")}
        return self.render_page(form, status=400, preview=self.preview(values))
