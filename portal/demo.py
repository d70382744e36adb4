"""Demo data for the shared core: teams and users that every app's demo builds on."""
from __future__ import annotations

from django.contrib.auth import get_user_model

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


def seed(*, actor=None):
    """Create the admin, the demo teams and users. Returns the admin, the actor for later seeds."""
    User = get_user_model()
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        admin = User.objects.create_superuser("admin", "admin@wayline.example", DEMO_PASSWORD, first_name="Ada", last_name="Admin")
    teams = {}
    for slug, name, description in DEMO_TEAMS:
        teams[slug] = Team.objects.filter(slug=slug).first() or services.team_create(
            actor=admin, slug=slug, name=name, description=description, email=f"{slug}@wayline.example"
        )
    for username, full_name, team_slug, role in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            first, last = full_name.split(" ", 1)
            user = User.objects.create_user(username, f"{username}@wayline.example", DEMO_PASSWORD, first_name=first, last_name=last)
        if team_slug:
            services.team_membership_set(actor=admin, team=teams[team_slug], user=user, role=role)
    return admin
