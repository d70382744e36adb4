"""Read selectors of the shared core."""
from __future__ import annotations

from django.db.models import Count, QuerySet

from portal.models import ApiToken, AuditEvent, MembershipRole, Team, TeamMembership


def team_list(*, user, filters: dict | None = None) -> QuerySet[Team]:
    """Teams the user may see, with member counts."""
    qs = Team.objects.restrict(user, "view").annotate(member_count=Count("memberships"))
    return qs.filter(**(filters or {})).order_by("name")  # GROUP BY drops Meta.ordering


def teams_of_user(*, user) -> QuerySet[Team]:
    """Teams ``user`` belongs to (any role)."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).distinct().order_by("name")


def teams_user_can_edit_for(*, user) -> QuerySet[Team]:
    """Teams whose objects ``user`` may create or edit: all for admins, else where they are admin or member."""
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.order_by("name")
    return (
        Team.objects.filter(
            memberships__user=user, memberships__role__in=[MembershipRole.ADMIN, MembershipRole.MEMBER]
        )
        .distinct()
        .order_by("name")
    )


def membership_list(*, user, team: Team) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.restrict(user, "view").filter(team=team).select_related("user")


def audit_event_list(*, user, filters: dict | None = None) -> QuerySet[AuditEvent]:
    """Audit rows the user may read, newest first."""
    return (
        AuditEvent.objects.restrict(user, "view")
        .filter(**(filters or {}))
        .select_related("actor", "team", "content_type")
    )


def api_token_list(*, user) -> list[ApiToken]:
    """The user's own API tokens (prefix and dates only; keys are never stored). A scoped token's label (which names
    its object, e.g. "CI pipeline of payments-api") is ``shown_label`` only while the user may still see that object."""
    from django.apps import apps

    tokens = list(ApiToken.objects.filter(user=user))
    scoped: dict[str, set] = {}
    for token in tokens:
        if token.scoped:
            scoped.setdefault(token.scope_model, set()).add(token.scope_pk)
    visible = set()
    for label, pks in scoped.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        visible |= {(label, pk) for pk in model.objects.restrict(user, "view").filter(pk__in=pks).values_list("pk", flat=True)}
    for token in tokens:
        token.shown_label = token.label if (token.scope_model, token.scope_pk) in visible else ""
    return tokens
