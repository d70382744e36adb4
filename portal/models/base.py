"""Base models and the one permission choke point: ``RestrictedQuerySet.restrict``."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

# The base actions guardian grants hold; every domain action (approve, retry, ...) maps onto one of them per model.
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
    ``action`` is a base action (view, change, delete) or one of the model's
    ``domain_actions`` (approve, retry, adopt, ...); models whose rights follow
    another object derive them in ``restrict_derived``.
    """

    def restrict(self, user, action: str = "view") -> "RestrictedQuerySet":
        base = self.model.base_action(action)
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        derived = self.model.restrict_derived(self, user, action)
        if derived is not None:
            return derived
        if user.is_superuser:
            return self
        opts = self.model._meta
        codename = f"{base}_{opts.model_name}"
        if user.has_perm(f"{opts.app_label}.{codename}"):  # global permission (cached on the user per request)
            return self
        allowed = granted_q(self.model, user, codename)
        public = self.model.public_q() if base == "view" else None
        # Public and permission conditions OR-ed in one WHERE: one scan of the table. Public first: the
        # databases evaluate an OR left to right, so most rows pass without probing the grants.
        return self.filter(public | allowed if public is not None else allowed)

    def permits(self, user, action: str, obj) -> bool:
        """Whether ``user`` may ``action`` the one object ``obj``: the same rule as ``restrict``."""
        return self.restrict(user, action).filter(pk=obj.pk).exists()


def granted_q(model, user, codename: str) -> Q:
    """Objects of ``model`` on which ``user``, or a group the user is in, holds the object permission ``codename``.

    Reads django-guardian's tables directly (the model's direct permission
    tables when it has them, else guardian's generic ones), with the same rule as
    ``guardian.shortcuts.get_objects_for_user``. Building that function's
    queryset cost ~8 ms of Python on every page; this is one query for the
    user's groups and two plain subqueries.
    """
    content_type = ContentType.objects.get_for_model(model)
    permission = Q(permission__content_type=content_type, permission__codename=codename)
    holders = [(get_user_obj_perms_model(model), Q(user_id=user.pk))]
    # The user's few groups as values: given "group_id IN (SELECT ... user_groups)" both PostgreSQL and
    # SQLite read every grant of the permission (half the table for a 10,000-entity catalog, ~12 ms)
    # and checked each row's group, instead of looking up the user's groups in the grants index.
    group_ids = list(get_user_model().groups.through.objects.filter(user_id=user.pk).values_list("group_id", flat=True))
    if group_ids:
        holders.append((get_group_obj_perms_model(model), Q(group_id__in=group_ids)))
    conditions = Q(pk__in=[])
    for perm_model, holder in holders:
        rows = perm_model.objects.filter(holder, permission)
        if perm_model.objects.is_generic():
            rows = rows.filter(content_type=content_type).annotate(
                _object=Cast("object_pk", model._meta.pk.target_field if model._meta.pk.is_relation else model._meta.pk)
            ).values("_object")
        else:
            rows = rows.values("content_object_id")
        conditions |= Q(pk__in=rows)
    return conditions


class PortalModel(models.Model):
    """Every Wayline model: timestamps and the restricted manager."""

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    # Domain actions of this model and the base action (view, change, delete) each one needs, e.g.
    # {"retry": "change"}. ``restrict`` and ``permits`` accept these names like the base ones.
    domain_actions: dict[str, str] = {}
    # A model whose rights follow another object names that foreign key here ("van" for a rule): the rule
    # is visible when its VAN is, and changed or deleted by whoever may change the VAN. Derived, never
    # copied, so a change of the parent's owner moves the child's rights at once.
    permission_parent: str | None = None

    class Meta:
        abstract = True

    @classmethod
    def public_q(cls) -> Q | None:
        """Objects every signed-in user may read; ``None`` means none are public."""
        return None

    @classmethod
    def creatable_by(cls, user) -> bool:
        """Whether ``user`` may create one of these at all: platform admins and holders of ``<app>.add_<model>``;
        for a model with a ``permission_parent``, whoever may change some parent (the form or serializer then
        offers only those parents)."""
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if user.is_superuser or user.has_perm(f"{cls._meta.app_label}.add_{cls._meta.model_name}"):
            return True
        if cls.permission_parent is not None:
            parent = cls._meta.get_field(cls.permission_parent).related_model
            return parent.objects.restrict(user, "change").exists()
        return False

    @classmethod
    def base_action(cls, action: str) -> str:
        """The guardian permission (view, change, delete) behind ``action``; ValueError for an unknown one."""
        if action in ACTIONS:
            return action
        if action in cls.domain_actions:
            return cls.domain_actions[action]
        known = ", ".join([*ACTIONS, *cls.domain_actions])
        raise ValueError(f"unknown action {action!r} for {cls._meta.label}; expected one of {known}")

    @classmethod
    def restrict_derived(cls, queryset: "RestrictedQuerySet", user, action: str) -> "RestrictedQuerySet | None":
        """Rights derived from another object (``permission_parent``), or ``None`` for the model's own grants.

        A child is viewed when its parent may be viewed; changing or deleting it is changing its parent.
        Models with their own derivation (change sets follow their owner) override this.
        """
        if cls.permission_parent is None:
            return None
        parent = cls._meta.get_field(cls.permission_parent).related_model
        base = cls.base_action(action)
        parents = parent.objects.restrict(user, "view" if base == "view" else "change")
        return queryset.filter(**{f"{cls.permission_parent}__in": parents.values("pk")})


class CreatedForATeam:
    """Mixin for a model whose objects are created for a team: whoever may edit for some team may create one."""

    @classmethod
    def creatable_by(cls, user) -> bool:
        from portal.selectors import teams_user_can_edit_for

        return super().creatable_by(user) or (bool(user and user.is_authenticated and user.is_active)
                                              and teams_user_can_edit_for(user=user).exists())


class OwnedModel(CreatedForATeam, PortalModel):
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
