from __future__ import annotations

from django.contrib import messages
from django.contrib.messages import ERROR, INFO, SUCCESS, WARNING
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from portal.forms import apply_validation_error
from portal.gitops.choices import ChangeSetStatus
from portal.views.generic import ObjectDetailView, ObjectEditView, ObjectListView, get_permitted_object_or_404
from van import selectors, services
from van.filtersets import AppFilterSet, ClusterFilterSet, RuleFilterSet, VanFilterSet
from van.forms import AppForm, AppVersionForm, ClusterForm, RuleForm, VanForm
from van.models import App, Cluster, DistributionRule, Van
from van.tables import AppTable, ClusterTable, RuleTable, VanTable


# --- what a save did in git ----------------------------------------------------------------------


def _publish_message(van, changeset, blockers) -> tuple[int, str]:
    """One VAN's line after a save: committed, on its way, waiting, refused, nothing to change, or blocked and how to unblock."""
    if blockers:
        fixes = " ".join(f"{b.problem}: {b.fix}." for b in blockers)
        return WARNING, (f"Saved, but nothing was committed for VAN {van}: it cannot publish yet. {fixes} "
                         "The save that fixes the last of these publishes the VAN; its page lists what is left.")
    if changeset is None:
        return INFO, f"Nothing changed in git for VAN {van}: its files already say this (in git, or in a change set on its way)."
    number = f"change set #{changeset.pk}"
    if changeset.status == ChangeSetStatus.WITHDRAWN:
        return INFO, f"Nothing to commit for VAN {van}: this save undid what {number} was waiting to write, so it was withdrawn."
    if changeset.status == ChangeSetStatus.APPLIED:
        return SUCCESS, f"Committed for VAN {van}: {number} ({changeset.commit_sha[:10]})."
    refused = {ChangeSetStatus.CONFLICT: "conflicts with what git holds", ChangeSetStatus.FAILED: "failed",
               ChangeSetStatus.REJECTED: "was rejected"}
    if changeset.status in refused:
        return ERROR, (f"Not committed for VAN {van}: {number} {refused[changeset.status]}. "
                       "Open it to see why, then retry it or save again.")
    if changeset.environment.requires_approval and not changeset.approved_at:
        return WARNING, (f"Proposed for VAN {van} as {number}; it touches {changeset.environment.name}, so it is committed "
                         "once an approver approves it on its page.")
    return INFO, f"Proposed for VAN {van} as {number}; the GitOps worker commits it shortly (the VAN page shows when, or why not)."


def _report_publishing(request, outcomes, *, nothing: str = "") -> None:
    """Tell the next page what a save did in each VAN it touched; only VANs the user may see are named, so
    ``nothing`` (said when it touched none of those) must hold whatever happened in VANs they may not see."""
    rows = selectors.van_publish_report(user=request.user, outcomes=outcomes) if outcomes else []
    if not rows and nothing:
        messages.info(request, nothing)
    for row in rows:
        messages.add_message(request, *_publish_message(row["van"], row["changeset"], row["blockers"]))


class _ReportsPublishing:
    """An edit view whose successful save (a redirect) says what it did in git, or why it committed nothing."""

    nothing_published = ""

    def post(self, request, **kwargs):
        with services.publish_outcomes() as outcomes:
            response = super().post(request, **kwargs)
        if response.status_code == 302:
            _report_publishing(request, outcomes, nothing=self.nothing_published)
        return response


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
            "can_edit": Cluster.objects.permits(self.request.user, "change", obj),
            **_live_context(self.request.user, cluster=obj),
            **_findings_context(self.request.user, cluster=obj),
            **_dashboards_context(self.request.user, obj, "cluster"),
            "shown_van": obj.van if obj.van_visible else None,
            "placed": selectors.placements_of_cluster(cluster=obj, user=self.request.user),
            "pending": selectors.pending_changes(user=self.request.user, van=obj.van if obj.van_visible else None,
                                                 paths=[f"clusters/{obj.name}/", f"hub/clusters/{obj.name}.yaml"]),
        }


class ClusterEditView(_ReportsPublishing, ObjectEditView):
    """Edit a cluster; for a VAN member, changing tags previews the placement change (htmx) before saving."""

    nothing_published = "No VAN you can see includes this cluster, so nothing was committed for it."
    model = Cluster
    form_class = ClusterForm
    template_name = "van/cluster_edit.html"
    create_service = services.cluster_create
    update_service = services.cluster_update

    def get_form_context(self):
        van = self.object.van if self.object is not None and self.object.van_id else None
        return {"shown_van": van if van is not None and Van.objects.permits(self.request.user, "view", van) else None}

    def post(self, request, **kwargs):
        if request.htmx and request.POST.get("_preview") and self.object is not None:
            preview = selectors.cluster_tag_preview(cluster=self.object, raw_tags=request.POST.get("tags", ""),
                                                    sealing_cert=request.POST.get("sealing_cert", ""),
                                                    credentials=request.POST.get("credentials", ""), user=request.user)
            return render(request, "van/inc/rule_preview.html", {"preview": preview})
        return super().post(request, **kwargs)


# --- VANs ----------------------------------------------------------------------------------------


class VanListView(ObjectListView):
    selector = selectors.van_list
    filterset_class = VanFilterSet
    table_class = VanTable
    title = "VANs"
    create_url_name = "van:van_add"
    export_filename = "wayline-vans.csv"


class VanDetailView(ObjectDetailView):
    selector = selectors.van_list
    template_name = "van/van.html"

    def get_extra_context(self, obj):
        return {"can_edit": Van.objects.permits(self.request.user, "change", obj), "rules": list(obj.rules.all()),
                "pending": selectors.pending_changes(user=self.request.user, van=obj),
                "blockers": selectors.publish_blocker_rows(user=self.request.user, van=obj),
                "changesets": selectors.van_changesets(van=obj, user=self.request.user)} | selectors.van_overview(
                    van=obj, user=self.request.user) | _live_context(self.request.user, van=obj) | _dashboards_context(
                    self.request.user, obj, "van")


class VanLiveStatusView(ObjectDetailView):
    """The VAN page's live status panel alone (htmx polls it): the hub's state, a health summary, every Application."""

    selector = selectors.van_list
    template_name = "van/inc/live_status.html"

    def get_extra_context(self, obj):
        return _live_context(self.request.user, van=obj)


class VanEditView(_ReportsPublishing, ObjectEditView):
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
            "can_edit": App.objects.permits(self.request.user, "change", obj),
            "placements": selectors.placements_of_app(app_name=obj.name, user=self.request.user),
            "releases": list(selectors.app_releases(app=obj, user=self.request.user)[:50]),
            "version_form": AppVersionForm(initial={"version": obj.version, "chart_version": obj.chart_version}),
        } | _live_context(self.request.user, app=obj) | _findings_context(self.request.user, app=obj) | _dashboards_context(
            self.request.user, obj, "app")


class AppLiveStatusView(ObjectDetailView):
    """The app page's live status panel alone (htmx polls it); 404 like the app for whoever may not see it."""

    selector = selectors.app_list
    template_name = "van/inc/live_status.html"

    def get_extra_context(self, obj):
        return _live_context(self.request.user, app=obj)


class ClusterLiveStatusView(ObjectDetailView):
    selector = selectors.cluster_list
    template_name = "van/inc/live_status.html"

    def get_extra_context(self, obj):
        return _live_context(self.request.user, cluster=obj)


def _dashboards_context(user, obj, kind: str) -> dict:
    """Grafana dashboards pinned to the page (``addons``), and whether ``user`` may pin more (who may change ``obj``)."""
    from addons.selectors import pins_shown

    return pins_shown(user=user, target=obj, kind=kind) | {"can_pin": type(obj).objects.permits(user, "change", obj)}


def _findings_context(user, *, app=None, cluster=None) -> dict:
    from van.status.selectors import findings_shown

    return {"findings": findings_shown(user=user, app=app, cluster=cluster), "findings_by": "app" if app is not None else "cluster"}


def _live_context(user, *, app=None, cluster=None, van=None) -> dict:
    from van.status.selectors import VAN_PANEL_ROWS, health_counts, hub_connection, live_rows

    if van is not None:
        summary = health_counts(user=user, van=van)
        return {"live_rows": live_rows(user=user, van=van, limit=VAN_PANEL_ROWS), "live_by": "van", "live_summary": summary,
                "live_total": sum(summary.values()), "live_url": reverse("van:van_status", kwargs={"pk": van.pk}),
                "live_hub": hub_connection(van=van)}
    if app is not None:
        return {"live_rows": live_rows(user=user, app=app), "live_by": "app", "live_url": reverse("van:app_status", kwargs={"pk": app.pk})}
    return {"live_rows": live_rows(user=user, cluster=cluster), "live_by": "cluster",
            "live_url": reverse("van:cluster_status", kwargs={"pk": cluster.pk})}


class AppEditView(_ReportsPublishing, ObjectEditView):
    """Add or edit an app; changing its tags (or visibility, owner) previews the Applications every VAN would add or remove (htmx)."""

    nothing_published = "No VAN you can see has a rule selecting this app's tags, so nothing was committed for it."
    model = App
    form_class = AppForm
    template_name = "van/app_edit.html"
    create_service = services.app_create
    update_service = services.app_update

    def post(self, request, **kwargs):
        if request.htmx and request.POST.get("_preview"):
            preview = selectors.app_edit_preview(user=request.user, app=self.object, data=request.POST)
            return render(request, "van/inc/app_preview.html", {"preview": preview})
        return super().post(request, **kwargs)


class _AppActionView(LoginRequiredMixin, View):
    def get_app(self, pk) -> App:
        return get_permitted_object_or_404(selectors.app_list(user=self.request.user), self.request.user, "change", pk=pk)


class AppVersionView(_AppActionView):
    """Upgrade: set a new image (or chart) version; one ChangeSet per VAN the app runs in."""

    def post(self, request, pk):
        app = self.get_app(pk)
        form = AppVersionForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                with services.publish_outcomes() as outcomes:
                    release = services.app_version_set(actor=request.user, app=app, **form.cleaned_data)
                messages.success(request, f"{app} set to {release.version or release.chart_version}; "
                                          f"{selectors.app_releases(app=app, user=request.user).get(pk=release.pk).changesets.count()} change set(s) "
                                          "proposed.")  # those the user may see: another team's private VANs are not counted
                _report_publishing(request, outcomes, nothing=AppEditView.nothing_published)
                return redirect(app.get_absolute_url())
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return render(request, "van/app.html", {
            "object": app, "model_opts": App._meta, "can_edit": True, "version_form": form,
            "placements": selectors.placements_of_app(app_name=app.name, user=request.user), "releases": list(selectors.app_releases(app=app, user=request.user)[:50]),
        }, status=400)


class AppRollbackView(_AppActionView):
    def post(self, request, pk, release_pk):
        app = self.get_app(pk)
        release = app.releases.filter(pk=release_pk).first()
        if release is None:
            raise Http404
        try:
            with services.publish_outcomes() as outcomes:
                services.app_rollback(actor=request.user, app=app, release=release)
            messages.success(request, f"Rolling {app} back to {release.version or release.chart_version}.")
            _report_publishing(request, outcomes, nothing=AppEditView.nothing_published)
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
        return {"can_edit": DistributionRule.objects.permits(self.request.user, "change", obj),
                "pending": selectors.pending_changes(user=self.request.user, van=obj.van, paths=[f"hub/applicationsets/{obj.name}/"]),
                } | selectors.rule_placements(rule=obj, user=self.request.user)


class RuleEditView(LoginRequiredMixin, View):
    """Create or edit a rule with a live preview (htmx) of the placement it produces; saving proposes one ChangeSet
    (or says why it cannot yet: the preview lists what keeps the VAN from publishing)."""

    template_name = "van/rule_edit.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        user = request.user
        # A rule's rights are its VAN's (DistributionRule.permission_parent): the same check either way.
        if "pk" in kwargs:
            self.object = get_permitted_object_or_404(selectors.rule_list(user=user), user, "change", pk=kwargs["pk"])
            self.van = self.object.van
        else:
            self.object = None
            self.van = get_permitted_object_or_404(selectors.van_list(user=user), user, "change", pk=kwargs["van_pk"])
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None):
        return RuleForm(data=data, instance=self.object, user=self.request.user)

    def render_page(self, form, status=200, preview=None):
        return render(self.request, self.template_name, {
            "form": form, "object": self.object, "van": self.van, "model_opts": DistributionRule._meta,
            "preview": preview if preview is not None else self.preview(form.initial if not form.is_bound else None),
        }, status=status)

    def preview(self, data):
        return selectors.rule_preview(user=self.request.user, van=self.van, rule=self.object, data=data)

    def posted_preview(self, data) -> dict:
        """The preview of the posted form, its ``order`` parsed by the form's own field (never by ``int()``)."""
        values = {k: data.get(k) for k in data} | {"environments": data.getlist("environments")}
        try:
            values["order"] = RuleForm.base_fields["order"].clean(values.get("order") or 0)
        except ValidationError as exc:
            return {"error": f"Order: {' '.join(exc.messages)}"}
        return self.preview(values)

    def get(self, request, **kwargs):
        return self.render_page(self.form())

    def post(self, request, **kwargs):
        data = request.POST
        if request.htmx and data.get("_preview"):
            return render(request, "van/inc/rule_preview.html", {"preview": self.posted_preview(data), "van": self.van})
        form = self.form(data)
        if form.is_valid():
            try:
                with services.publish_outcomes() as outcomes:
                    if self.object is None:
                        rule = services.rule_create(actor=request.user, van=self.van, **form.cleaned_data)
                    else:
                        rule = services.rule_update(actor=request.user, obj=self.object, **form.cleaned_data)
                messages.success(request, f"{'Added' if self.object is None else 'Saved'} rule {rule.name}.")
                _report_publishing(request, outcomes, nothing=f"Rule {rule.name} did not change, so nothing was committed.")
                return redirect(rule.get_absolute_url())
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return self.render_page(form, status=400, preview=self.posted_preview(data))
