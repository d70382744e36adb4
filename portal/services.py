"""Write services of the shared core: audit log, teams, object ownership."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from guardian.shortcuts import assign_perm, remove_perm

from portal.models import AuditEvent, MembershipRole, OwnedModel, Team, TeamMembership

EDITOR_ROLES = {MembershipRole.ADMIN, MembershipRole.MEMBER}


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    team: Team | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that ``actor`` did ``action`` to ``obj``. The single writer of the audit log.

    ``changes`` must never carry secret values: callers pass field names or
    redacted markers for credentials.
    """
    if team is None and isinstance(obj, OwnedModel):
        team = obj.owner_team
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        team=team,
        changes=changes or {},
    )


def _perm(obj: models.Model, action: str) -> str:
    return f"{obj._meta.app_label}.{action}_{obj._meta.model_name}"


def ownership_grant(*, obj: OwnedModel, previous_team: Team | None = None) -> None:
    """Give the owning team's groups their object permissions (and take them from a previous owner)."""
    if previous_team is not None and previous_team.pk != obj.owner_team_id:
        for action in ("view", "change", "delete"):
            remove_perm(_perm(obj, action), previous_team.readers if action == "view" else previous_team.editors, obj)
    team = obj.owner_team
    assign_perm(_perm(obj, "view"), team.readers, obj)
    assign_perm(_perm(obj, "change"), team.editors, obj)
    assign_perm(_perm(obj, "delete"), team.editors, obj)


def _sync_groups(membership: TeamMembership) -> None:
    user, team = membership.user, membership.team
    user.groups.add(team.readers)
    if membership.role in EDITOR_ROLES:
        user.groups.add(team.editors)
    else:
        user.groups.remove(team.editors)
    if membership.role == MembershipRole.ADMIN:
        assign_perm("portal.change_team", user, team)
    else:
        remove_perm("portal.change_team", user, team)


@transaction.atomic
def team_create(*, actor, slug: str, name: str, description: str = "", email: str = "") -> Team:
    """Create a team with its reader and editor groups; the creator (if not an admin) becomes team admin."""
    team = Team(slug=slug, name=name, description=description, email=email)
    # Checked before its groups are named after the slug: a taken slug is the slug's error, not a server error.
    team.full_clean(exclude=["readers", "editors"])
    team.readers = Group.objects.create(name=f"team:{slug}:readers")
    team.editors = Group.objects.create(name=f"team:{slug}:editors")
    team.save()
    audit_record(actor=actor, action="team.create", obj=team, team=team, changes={"name": name})
    if actor is not None and getattr(actor, "is_authenticated", False) and not actor.is_superuser:
        team_membership_set(actor=actor, team=team, user=actor, role=MembershipRole.ADMIN)
    return team


@transaction.atomic
def team_update(*, actor, team: Team, name: str, description: str = "", email: str = "") -> Team:
    """Change a team's display fields (the slug is its identity and stays)."""
    changes = {
        field: value
        for field, value in {"name": name, "description": description, "email": email}.items()
        if getattr(team, field) != value
    }
    for field, value in changes.items():
        setattr(team, field, value)
    team.full_clean()
    team.save()
    audit_record(actor=actor, action="team.update", obj=team, team=team, changes=changes)
    return team


@transaction.atomic
def team_membership_set(*, actor, team: Team, user, role: str, cause: dict | None = None) -> TeamMembership:
    """Add ``user`` to ``team`` with ``role``, or change their role. ``cause``: what made the change
    when it was not the actor's own choice (e.g. the catalog location and commit), kept in the audit row."""
    if role not in MembershipRole.values:
        raise ValueError(f"unknown role {role!r}")
    membership, created = TeamMembership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    _sync_groups(membership)
    audit_record(
        actor=actor,
        action="team.member_add" if created else "team.member_role",
        obj=team,
        team=team,
        changes={"user": user.username, "role": role, **({"cause": cause} if cause else {})},
    )
    return membership


@transaction.atomic
def team_membership_remove(*, actor, team: Team, user, cause: dict | None = None) -> None:
    """Take ``user`` out of ``team`` and its groups (``cause`` as for ``team_membership_set``)."""
    TeamMembership.objects.filter(team=team, user=user).delete()
    user.groups.remove(team.readers, team.editors)
    remove_perm("portal.change_team", user, team)
    audit_record(actor=actor, action="team.member_remove", obj=team, team=team,
                 changes={"user": user.username, **({"cause": cause} if cause else {})})


@transaction.atomic
def api_token_rotate(*, actor) -> str:
    """Replace ``actor``'s API tokens with a new one and return its key (shown once, stored hashed). Scoped tokens
    (a CI pipeline's) are not the user's to rotate here: they go with what holds them."""
    from portal.models import ApiToken
    from portal.models.tokens import hash_token

    ApiToken.objects.filter(user=actor, scope_model="").delete()
    key = ApiToken.new_key()
    ApiToken.objects.create(user=actor, prefix=key[:8], key_hash=hash_token(key))
    audit_record(actor=actor, action="user.token_rotate", obj=None, changes={"user": actor.username})
    return key
