"""Demo data for the shared core: teams and users that every app's demo builds on."""
from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from portal import services
from portal.models import MembershipRole, Team

DEMO_PASSWORD = "wayline-demo"

DEMO_TEAMS = [
    ("platform", "Platform", "Runs the hub clusters, ArgoCD and the golden paths."),
    ("payments", "Payments", "Checkout, billing and the payment gateway."),
    ("search", "Search", "Indexing and query services."),
]
DEMO_USERS = [
    # username, full name, team, role
    ("alice", "Alice Andersen", "payments", MembershipRole.MEMBER),
    ("carol", "Carol Chen", "payments", MembershipRole.ADMIN),
    ("bob", "Bob Brown", "search", MembershipRole.MEMBER),
    ("pat", "Pat Patel", "platform", MembershipRole.ADMIN),
    ("victor", "Victor Viewer", None, None),
]
ROLE_WORDS = {MembershipRole.ADMIN: "team admin", MembershipRole.MEMBER: "member", MembershipRole.VIEWER: "viewer"}


@functools.cache
def _demo_password_hash() -> str:
    """Hashed once for every demo user: hashing is slow on purpose."""
    return make_password(DEMO_PASSWORD)


def _user_get_or_create(username: str, full_name: str, **flags):
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        first, last = full_name.split(" ", 1)
        user = User.objects.create(username=username, email=f"{username}@wayline.example", password=_demo_password_hash(),
                                   first_name=first, last_name=last, **flags)
    return user


def seed(*, actor=None):
    """Create the admin, the demo teams and users. Returns the admin, the actor for later seeds."""
    admin = _user_get_or_create("admin", "Ada Admin", is_staff=True, is_superuser=True)
    teams = {}
    for slug, name, description in DEMO_TEAMS:
        teams[slug] = Team.objects.filter(slug=slug).first() or services.team_create(
            actor=admin, slug=slug, name=name, description=description, email=f"{slug}@wayline.example"
        )
    for username, full_name, team_slug, role in DEMO_USERS:
        user = _user_get_or_create(username, full_name)
        if team_slug:
            services.team_membership_set(actor=admin, team=teams[team_slug], user=user, role=role)
    return admin


def demo_logins() -> list[tuple[str, str]]:
    """Each demo login and what it is, read from the database as it is now: teams and roles, and who may
    approve Prod (through ``Environment.objects.restrict(user, "approve")``, the same check the portal makes)."""
    from portal.gitops.models import Environment

    User = get_user_model()
    prod = Environment.most_protected()
    logins = []
    for user in User.objects.filter(username__in=["admin", *(u for u, *_ in DEMO_USERS)]).prefetch_related("memberships__team"):
        if user.is_superuser:
            parts = ["platform admin: everything"]
        else:
            parts = [f"{ROLE_WORDS[m.role]} of {m.team.name}" for m in user.memberships.all()] or ["in no team: reads what is public"]
        if prod is not None and prod.requires_approval and Environment.objects.restrict(user, "approve").filter(pk=prod.pk).exists():
            parts.append(f"approves {prod.name}")
        logins.append((user.username, ", ".join(parts)))
    order = ["admin", *(u for u, *_ in DEMO_USERS)]
    return sorted(logins, key=lambda login: order.index(login[0]))
