"""Base models and the one permission choke point: ``RestrictedQuerySet.restrict``."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from guardian.shortcuts import get_objects_for_user

ACTIONS = ("view", "change", "delete")


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public (every signed-in user may read)"
    PRIVATE = "private", "Private (owning team only)"


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can narrow itself to what a user may do.

    ``restrict(user, action)`` is the only place that decides object visibility:
    pages, tables, filters, form dropdowns and the API all start from it.
    Rules: platform admins (superusers) and holders of the global
    ``<app>.<action>_<model>`` permission get everything; others get objects on
    which they (or one of their teams' groups) hold the django-guardian object
    permission; for ``view``, public objects are added for every signed-in user.
    """

    def restrict(self, user, action: str = "view") -> "RestrictedQuerySet":
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        opts = self.model._meta
        perm = f"{opts.app_label}.{action}_{opts.model_name}"
        allowed = get_objects_for_user(user, perm, klass=self, accept_global_perms=True, with_superuser=True)
        public = self.model.public_q() if action == "view" else None
        if public is None:
            return allowed
        if allowed.query.annotations.keys() == self.query.annotations.keys():
            # Permission and public conditions OR-ed in one WHERE: one scan of the table, where
            # ``pk IN (SELECT pk FROM <same table> WHERE ...)`` read it twice (big catalogs on PostgreSQL).
            return allowed | self.filter(public)
        return self.filter(Q(pk__in=allowed.values("pk")) | public)

    def permits(self, user, action: str, obj) -> bool:
        """Whether ``user`` may ``action`` the one object ``obj``: the same rule as ``restrict``."""
        return self.restrict(user, action).filter(pk=obj.pk).exists()


class PortalModel(models.Model):
    """Every Wayline model: timestamps and the restricted manager."""

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def public_q(cls) -> Q | None:
        """Objects every signed-in user may read; ``None`` means none are public."""
        return None


class OwnedModel(PortalModel):
    """A model owned by a team, public or private.

    Object permissions for the owning team's groups are granted by
    ``portal.services.ownership_grant`` whenever a service creates the object or
    changes its owner.
    """

    owner_team = models.ForeignKey(
        "portal.Team", on_delete=models.PROTECT, related_name="+", verbose_name="owning team"
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)

    class Meta:
        abstract = True

    @classmethod
    def public_q(cls) -> Q | None:
        return Q(visibility=Visibility.PUBLIC)
