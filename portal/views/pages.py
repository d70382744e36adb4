from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.http import require_POST

from portal import dashboard, selectors, services
from portal.filtersets import AuditEventFilterSet, TeamFilterSet
from portal.forms import PortalForm
from portal.health import run_checks
from portal.middleware import ACTIVE_TEAM_SESSION_KEY
from portal.models import MembershipRole, Team
from portal.tables import AuditEventTable, TeamTable
from portal.views.generic import (
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    get_restricted_object_or_404,
)


def healthz(request):
    """Readiness for Kubernetes probes: 200 when database, broker and GitOps repo answer, else 503
    ("not set up" for a fresh data directory, "fail" for a broken one)."""
    checks = run_checks()
    healthy = all(check.ok for check in checks)
    failing = [check for check in checks if not check.ok]
    # "not set up": a fresh data directory waiting for migrate / gitops_init; "fail": something that worked broke.
    status = "ok" if healthy else "not set up" if all(check.setup for check in failing) else "fail"
    body = {"status": status, "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}}
    return JsonResponse(body, status=200 if healthy else 503)


class HomeView(LoginRequiredMixin, View):
    def get(self, request):
        user = request.user
        cards = [
            {"title": card.title, "url": reverse(card.url_name), "count": card.queryset(user=user).count()}
            for card in dashboard.cards()
        ]
        recent = selectors.audit_event_list(user=user)[:10]
        teams = selectors.teams_of_user(user=user)
        panels = []
        for panel in dashboard.panels():
            context = panel.context(user=user, teams=teams)
            if context is not None:
                panels.append(render_to_string(panel.template, context, request))
        return render(
            request,
            "portal/home.html",
            {"cards": cards, "recent_events": recent, "teams": teams, "panels": panels},
        )


@login_required
@require_POST
def switch_team(request):
    """Remember the chosen team for this session (the team switcher in the header)."""
    slug = request.POST.get("team", "")
    if not selectors.teams_of_user(user=request.user).filter(slug=slug).exists():
        messages.error(request, "You are not a member of that team.")
    else:
        request.session[ACTIVE_TEAM_SESSION_KEY] = slug
    target = request.POST.get("next") or ""
    # A path on this site only; and never redirect(target), which reads a word as a URL name (a 500 when none).
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("portal:home")
    return HttpResponseRedirect(target)


class TeamListView(ObjectListView):
    selector = selectors.team_list
    filterset_class = TeamFilterSet
    table_class = TeamTable
    title = "Teams"
    create_url_name = "portal:team_add"


class TeamDetailView(ObjectDetailView):
    selector = selectors.team_list
    template_name = "portal/team.html"
    lookup_kwargs = ("slug",)

    def get_extra_context(self, obj):
        user = self.request.user
        return {
            "memberships": selectors.membership_list(user=user, team=obj),
            "can_manage": Team.objects.permits(user, "change", obj),
            "member_form": TeamMemberForm(),
        }


class TeamForm(PortalForm):
    slug = forms.SlugField(max_length=63, help_text="Lowercase letters, digits and '-'; cannot change later.")
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    email = forms.EmailField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["slug"].disabled = True
            for name in ("slug", "name", "description", "email"):
                self.initial.setdefault(name, getattr(self.instance, name))


class TeamEditView(ObjectEditView):
    model = Team
    form_class = TeamForm
    lookup_kwargs = ("slug",)

    def check_create_allowed(self):
        if not self.request.user.has_perm("portal.add_team"):
            raise PermissionDenied("Only platform admins create teams.")

    @staticmethod
    def create_service(*, actor, slug, name, description="", email=""):
        return services.team_create(actor=actor, slug=slug, name=name, description=description, email=email)

    @staticmethod
    def update_service(*, actor, obj, slug=None, name, description="", email=""):
        return services.team_update(actor=actor, team=obj, name=name, description=description, email=email)


class TeamMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=MembershipRole.choices, initial=MembershipRole.MEMBER)
    remove = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_username(self):
        username = self.cleaned_data["username"]
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise forms.ValidationError(f"No user named {username!r}.") from None


class TeamMemberView(LoginRequiredMixin, View):
    """Team admins (and platform admins) add, re-role and remove members."""

    def post(self, request, slug):
        team = get_restricted_object_or_404(Team.objects.restrict(request.user, "view"), slug=slug)
        if not Team.objects.permits(request.user, "change", team):
            raise PermissionDenied("Only this team's admins manage its members.")
        form = TeamMemberForm(request.POST)
        if not form.is_valid():
            context = {
                "object": team,
                "memberships": selectors.membership_list(user=request.user, team=team),
                "can_manage": True,
                "member_form": form,
                "model_opts": Team._meta,
            }
            return render(request, "portal/team.html", context, status=400)
        user = form.cleaned_data["username"]
        if form.cleaned_data["remove"]:
            services.team_membership_remove(actor=request.user, team=team, user=user)
            messages.success(request, f"Removed {user.username} from {team}.")
        else:
            services.team_membership_set(actor=request.user, team=team, user=user, role=form.cleaned_data["role"])
            messages.success(request, f"{user.username} is now {form.cleaned_data['role']} of {team}.")
        return redirect(team.get_absolute_url())


class AuditEventListView(ObjectListView):
    selector = selectors.audit_event_list
    filterset_class = AuditEventFilterSet
    table_class = AuditEventTable
    title = "Audit log"
    export_filename = "wayline-audit.csv"


class ProfileView(LoginRequiredMixin, View):
    """The user's own page: teams, and an API token for scripts."""

    def get(self, request):
        return self.render(request, new_key=None)

    def post(self, request):
        key = services.api_token_rotate(actor=request.user)
        messages.success(request, "A new API token was created; any old one no longer works. Copy it now: it is not shown again.")
        return self.render(request, new_key=key)

    def render(self, request, new_key):
        context = {
            "tokens": selectors.api_token_list(user=request.user),
            "new_key": new_key,
            "teams": selectors.teams_of_user(user=request.user),
        }
        return render(request, "portal/profile.html", context)
