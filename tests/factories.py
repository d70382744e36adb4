"""Object factories for tests: real services, so permissions and audit rows are real too."""
from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from portal import services as portal_services
from portal.models import MembershipRole

_seq = itertools.count(1)


def make_user(username: str | None = None, *, superuser: bool = False, password: str = "pw-Wayline-123"):
    username = username or f"user{next(_seq)}"
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.com", password)
    return User.objects.create_user(username, f"{username}@example.com", password, first_name=username.title())


def make_team(slug: str | None = None, *, members=(), admins=(), viewers=(), actor=None):
    slug = slug or f"team-{next(_seq)}"
    actor = actor or make_user(f"admin-{slug}", superuser=True)
    team = portal_services.team_create(actor=actor, slug=slug, name=slug.replace("-", " ").title())
    for role, users in ((MembershipRole.MEMBER, members), (MembershipRole.ADMIN, admins), (MembershipRole.VIEWER, viewers)):
        for user in users:
            portal_services.team_membership_set(actor=actor, team=team, user=user, role=role)
    return team


def make_cluster(team, *, name: str | None = None, visibility: str = "public", tags="", environment="dev", actor=None):
    from van.services import cluster_create

    actor = actor or make_user(superuser=True)
    return cluster_create(
        actor=actor,
        name=name or f"cluster-{next(_seq)}",
        api_url="https://kube.example.test:6443",
        owner_team=team,
        environment=environment,
        provider="other",
        tags=tags,
        visibility=visibility,
    )
