from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from portal.models.base import PortalModel

slug_validator = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
    "Use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit.",
)


class MembershipRole(models.TextChoices):
    ADMIN = "admin", "Team admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Team(PortalModel):
    """A team: owns catalog entities, clusters, VANs and apps.

    Backed by two Django groups so django-guardian can grant object permissions
    to a whole team: ``readers`` (every member, viewers included) and
    ``editors`` (admins and members).
    """

    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    readers = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team_as_readers")
    editors = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team_as_editors")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("portal:team", kwargs={"slug": self.slug})

    @classmethod
    def public_q(cls) -> Q | None:
        # The team directory is open to every signed-in user.
        return Q(pk__isnull=False)


class TeamMembership(PortalModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_team_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"

    @classmethod
    def public_q(cls) -> Q | None:
        return Q(pk__isnull=False)
