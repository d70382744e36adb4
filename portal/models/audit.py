from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from portal.models.base import RestrictedQuerySet


class AuditEventQuerySet(RestrictedQuerySet):
    def restrict(self, user, action: str = "view"):
        """Audit rows are read-only: admins see all, others their teams' rows and their own rows about no team.

        A user's own action can land in another team's object (an app upgrade re-publishes every VAN that
        places the app); that row names the other team's VAN, its rule and its paths, so it stays the team's.
        """
        if action != "view" or user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser or user.has_perm("portal.view_auditevent"):
            return self
        return self.filter(Q(actor=user, team__isnull=True) | Q(team__memberships__user=user)).distinct()


class AuditEvent(models.Model):
    """Who did what to which object, and when. Written only by ``portal.services.audit_record``."""

    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    action = models.CharField(max_length=64, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    team = models.ForeignKey("portal.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changes = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"
