from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from addons import grafana, selectors, services
from addons.models import DashboardPin
from addons.registry import ADDONS
from portal.forms import apply_validation_error
from portal.views.generic import get_permitted_object_or_404


class AddOnListView(LoginRequiredMixin, View):
    def get(self, request):
        return render(request, "addons/addon_list.html", {"addons": ADDONS})


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
