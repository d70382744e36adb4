"""Owners of GitOps writes: every change set belongs to one owner object.

An owner (a VAN, a VAN's add-on installation; a scaffolder run or an
infrastructure claim later) is a team-owned model (or one whose rights follow its
``permission_parent``, as an add-on's follow its VAN) that mixes in ``GitOpsOwner``
and is registered with ``register_owner`` in its app's ``ready()``. It answers
the questions the engine must never take from a request:

* ``gitops_root()``: the only folder of the repository it may write (``vans/<name>/``);
* ``gitops_repo()``: which repository (``None``: the default one);
* ``gitops_environment(paths, hints)``: the environment whose policy a change to
  ``paths`` falls under (Prod when it touches a Prod placement);
* ``owner_team`` and ``visibility`` (from ``OwnedModel``): who may read its
  change sets and files (the team's readers), who may act on them (those who may
  change the owner).

Rights on change sets and managed files are derived from the owner at every
query (``owner_q``), never copied onto the rows, so handing a VAN to another
team moves its whole git history with it.
"""
from __future__ import annotations

from typing import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

_OWNER_MODELS: list[type] = []


class GitOpsOwner:
    """Mixin for a model whose files live under one root of a GitOps repository."""

    def gitops_root(self) -> str:
        """The folder this owner may write, relative to the repository root, ending in '/'."""
        raise NotImplementedError

    def gitops_repo(self):
        """The GitOpsRepo to write to; ``None`` means the default repository."""
        return None

    def gitops_environment(self, paths: Iterable[str], hints: Iterable[str] = ()) -> str:
        """Slug of the environment whose approval policy governs a change to ``paths``.

        ``hints`` are environments the caller knows the change also leaves (a
        removed cluster's); the result is at least as protected as each of them.
        """
        raise NotImplementedError

    def gitops_label(self) -> str:
        """How the owner is named in change messages and pages (e.g. 'VAN demo')."""
        return f"{self._meta.verbose_name} {self}"


def register_owner(model: type) -> None:
    """Make ``model`` an owner of change sets (call from the app's ``ready()``)."""
    if not issubclass(model, GitOpsOwner):
        raise TypeError(f"{model.__name__} must mix in GitOpsOwner")
    if model not in _OWNER_MODELS:
        _OWNER_MODELS.append(model)


def owner_models() -> list[type]:
    return list(_OWNER_MODELS)


def owner_of(owner_type_id: int | None, owner_id: int | None):
    """The owner object behind a (content type, id) pair, or ``None`` when it is gone or unowned."""
    if owner_type_id is None or owner_id is None:
        return None
    model = ContentType.objects.get_for_id(owner_type_id).model_class()
    if model not in _OWNER_MODELS:
        return None
    return model.objects.filter(pk=owner_id).first()


def owner_key(owner) -> tuple[ContentType, int]:
    if type(owner) not in _OWNER_MODELS:
        raise TypeError(f"{type(owner).__name__} is not a registered GitOps owner")
    return ContentType.objects.get_for_model(owner), owner.pk


def owner_q(user, action: str, prefix: str = "") -> Q:
    """Rows (change sets, managed files) whose owner lets ``user`` do ``action``.

    ``view`` is the owning team's readers (viewers included), not "public":
    an owner's files name its team's private apps, so a public VAN does not make
    its diffs public. Any other action needs ``change`` on the owner.
    """
    from portal.models.base import granted_q

    condition = Q(pk__in=[])
    content_types = ContentType.objects.get_for_models(*_OWNER_MODELS)  # one query for every owner kind, then cached
    for model in _OWNER_MODELS:
        content_type = content_types[model]
        if action == "view" and model.permission_parent is not None:
            # an owner without a team of its own (a VAN's add-on): its parent's readers
            parent = model._meta.get_field(model.permission_parent).related_model
            readers = parent.objects.filter(granted_q(parent, user, f"view_{parent._meta.model_name}"))
            owners = model.objects.filter(**{f"{model.permission_parent}__in": readers.values("pk")})
        elif action == "view":
            owners = model.objects.filter(granted_q(model, user, f"view_{model._meta.model_name}"))
        else:
            owners = model.objects.restrict(user, "change")
        condition |= Q(**{f"{prefix}owner_type": content_type, f"{prefix}owner_id__in": owners.values("pk")})
    return condition
