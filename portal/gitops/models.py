"""GitOps engine models: repositories, environments, change sets (the outbox), approvals
and the files the portal manages in git.

The git history itself is the audit trail: commits, diffs and authorship are read
from git, never copied into the database. The database keeps only what git cannot
say: which change is pending, who must approve it, and the content the portal last
wrote to each file (to notice edits made outside Wayline).
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse

from portal.crypto import EncryptedTextField
from portal.gitops.choices import ApprovalDecision, ChangeSetKind, ChangeSetStatus
from portal.models import PortalModel
from portal.validators import git_branch_validator, git_url_validator


def content_hash(content: str | None) -> str:
    """SHA-256 of a file's text; empty string for an absent file."""
    if content is None:
        return ""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class GitOpsRepo(PortalModel):
    """A git repository the portal commits to (local path, file://, ssh or https URL).

    ``secret`` (an HTTPS token/password or an SSH private key) is encrypted at rest
    and handed to git only through the environment of the git process, never in a
    URL, an argument, a log line or a page.
    """

    name = models.SlugField(max_length=100, unique=True)
    url = models.CharField(max_length=500, validators=[git_url_validator],
                           help_text="Local path, file://, ssh:// (or user@host:path) or https:// URL.")
    branch = models.CharField(max_length=200, default="main", validators=[git_branch_validator])
    username = models.CharField(max_length=200, blank=True, help_text="User for HTTPS credentials.")
    secret = EncryptedTextField(blank=True, help_text="HTTPS token/password or SSH private key; stored encrypted.")
    is_default = models.BooleanField(default=False)
    known_head = models.CharField(
        max_length=64, blank=True, help_text="Last branch head the portal confirmed; trailer scans for crash recovery start here."
    )
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # A check for outside edits asked for on the repository page runs in the background; the page polls these.
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True, help_text="Why the last check could not read the repository (scrubbed).")
    # Set while the repository is missing, unreadable or replaced: nothing is written to it until it is back.
    unavailable_reason = models.TextField(blank=True, help_text="Why the repository cannot be used now (scrubbed).")
    unavailable_since = models.DateTimeField(null=True, blank=True)

    domain_actions = {"sync": "change"}

    class Meta:
        ordering = ["name"]
        verbose_name = "GitOps repository"
        verbose_name_plural = "GitOps repositories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("gitops:repo", kwargs={"pk": self.pk})

    @property
    def has_credentials(self) -> bool:
        return bool(self.secret)

    @property
    def sync_running(self) -> bool:
        """A check was asked for and has not finished since."""
        return self.sync_requested_at is not None and (self.last_sync_at is None or self.last_sync_at < self.sync_requested_at)

    @classmethod
    def public_q(cls) -> Q | None:
        # The GitOps repo is the platform's audit trail: every signed-in user may read it.
        return Q(pk__isnull=False)


class Environment(PortalModel):
    """A deployment context (Dev, QA, Staging, Prod). Changes to a protected one wait for approval."""

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)
    requires_approval = models.BooleanField(default=False)
    approver_team = models.ForeignKey(
        "portal.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Members (admins and members) of this team may approve changes.",
    )
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    domain_actions = {"approve": "change"}

    class Meta:
        ordering = ["order", "name"]
        permissions = [("approve_environment", "Approve changes to any environment")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("gitops:environment_list")

    @classmethod
    def public_q(cls) -> Q | None:
        return Q(pk__isnull=False)

    @classmethod
    def restrict_derived(cls, queryset, user, action):
        """``approve``: the environment's named approvers and the editors (admins, members) of its approver
        team; platform admins and holders of ``gitops.approve_environment`` everywhere."""
        if action != "approve":
            return None
        if user.is_superuser or user.has_perm("gitops.approve_environment"):
            return queryset
        named = cls.approvers.through.objects.filter(user_id=user.pk).values("environment_id")
        groups = user.groups.values("pk")
        return queryset.filter(Q(pk__in=named) | Q(approver_team__editors__in=groups))

    @property
    def protection(self) -> tuple[bool, int]:
        """How protected: one that requires approval before one that does not, then the later in order."""
        return (self.requires_approval, self.order)

    @classmethod
    def most_protected(cls, slugs=None) -> "Environment | None":
        """The most protected environment (of ``slugs``, or of all): the order of ``protection``."""
        environments = cls.objects.all() if slugs is None else cls.objects.filter(slug__in=slugs)
        return environments.order_by("-requires_approval", "-order", "-pk").first()


QUEUED_LONG_SECONDS = 15


class ChangeSet(PortalModel):
    """One portal change to the GitOps repo: the outbox row written in the same
    transaction as the change that caused it, applied later by a worker."""

    repo = models.ForeignKey(GitOpsRepo, on_delete=models.PROTECT, related_name="changesets")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="changesets")
    kind = models.CharField(max_length=16, choices=ChangeSetKind.choices, default=ChangeSetKind.CHANGE)
    status = models.CharField(max_length=24, choices=ChangeSetStatus.choices, default=ChangeSetStatus.PENDING)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=200)
    author_email = models.CharField(max_length=254)
    message = models.TextField()
    commit_sha = models.CharField(max_length=64, blank=True)
    branch_sha = models.CharField(max_length=64, blank=True, help_text="Head of the approval branch.")
    error = models.TextField(blank=True)
    conflict_diff = models.TextField(blank=True)
    reverts = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reverted_by")
    approved_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a change whose last attempt failed (see error) is tried again.",
    )
    # The owner (portal.gitops.owners): its root bounds the paths, its team and environment policy decide
    # who reads and acts on this change. Empty: a platform admin's raw change, for admins only.
    owner_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    owner_id = models.PositiveBigIntegerField(null=True, blank=True)
    owner_label = models.CharField(max_length=200, blank=True, help_text="The owner as it was named when proposed.")
    revision = models.PositiveIntegerField(
        default=1, help_text="Bumped each time a newer edit updates this open change in place; approvals name the revision they saw.",
    )
    contributors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+",
        help_text="Everyone whose edit is in this change (it may have been updated in place); none of them approves it.",
    )

    domain_actions = {"approve": "change", "reject": "change", "retry": "change", "revert": "change"}

    class Meta:
        ordering = ["-pk"]
        verbose_name = "change set"
        indexes = [models.Index(fields=["repo", "status"]), models.Index(fields=["owner_type", "owner_id", "status"])]

    def __str__(self) -> str:
        first_line = self.message.splitlines()[0] if self.message else ""
        return f"#{self.pk} {first_line}"[:120]

    def get_absolute_url(self) -> str:
        return reverse("gitops:changeset", kwargs={"pk": self.pk})

    @property
    def approval_branch(self) -> str:
        return f"wayline/change-{self.pk}"

    @property
    def is_done(self) -> bool:
        from portal.gitops.choices import FINAL_STATUSES

        return self.status in FINAL_STATUSES or (self.status == ChangeSetStatus.AWAITING_APPROVAL and not self.approved_at)

    @property
    def retrying(self) -> bool:
        """An attempt failed (``error`` says why) and the change is tried again (at ``next_attempt_at``)."""
        return bool(self.error) and not self.is_done

    @property
    def queued_long(self) -> bool:
        """Pending for a while without any attempt failing: its worker may be busy, stopped, or have lost the task."""
        from datetime import timedelta

        from django.utils import timezone

        return (self.status == ChangeSetStatus.PENDING and not self.error and self.updated is not None
                and self.updated < timezone.now() - timedelta(seconds=QUEUED_LONG_SECONDS))

    @property
    def awaits_decision(self) -> bool:
        return self.status == ChangeSetStatus.AWAITING_APPROVAL and not self.approved_at

    @property
    def owner(self):
        from portal.gitops.owners import owner_of

        if not hasattr(self, "_owner"):
            self._owner = owner_of(self.owner_type_id, self.owner_id)
        return self._owner

    @classmethod
    def restrict_derived(cls, queryset, user, action):
        """Rights follow the owner and the environment, never the row itself.

        view: the owner's team readers, the environment's approvers, platform admins;
        approve / reject: the environment's approvers, never the change's author;
        retry / revert / change: whoever may change the owner; delete: nobody (history stays).
        """
        from portal.gitops.owners import owner_q

        approvable = Environment.objects.restrict(user, "approve").values("pk")
        if action in ("approve", "reject"):
            return queryset.filter(environment__in=approvable).exclude(author_id=user.pk).exclude(contributors=user)
        base = cls.base_action(action)
        if user.is_superuser or user.has_perm(f"gitops.{base}_changeset"):
            return queryset
        if base == "view":
            return queryset.filter(owner_q(user, "view") | Q(environment__in=approvable))
        if base == "delete":
            return queryset.none()
        return queryset.filter(owner_q(user, "change"))


class ChangeSetFile(models.Model):
    """A file a ChangeSet writes (``content``) or deletes (``content`` is NULL)."""

    changeset = models.ForeignKey(ChangeSet, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1000)
    content = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["changeset", "path"], name="unique_changeset_path")]

    def __str__(self) -> str:
        return self.path

    @property
    def is_delete(self) -> bool:
        return self.content is None


class Approval(PortalModel):
    """An approver's decision on a ChangeSet to a protected environment."""

    changeset = models.ForeignKey(ChangeSet, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    user_name = models.CharField(max_length=200)
    user_email = models.CharField(max_length=254)
    decision = models.CharField(max_length=16, choices=ApprovalDecision.choices)
    comment = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=1, help_text="The revision of the change the approver saw.")

    permission_parent = "changeset"

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.user_name} {self.get_decision_display().lower()} #{self.changeset_id}"

    def get_absolute_url(self) -> str:
        return reverse("gitops:changeset", kwargs={"pk": self.changeset_id})


class ManagedFile(PortalModel):
    """A file the portal wrote, with the content it wrote (to notice edits made outside Wayline)."""

    repo = models.ForeignKey(GitOpsRepo, on_delete=models.CASCADE, related_name="managed_files")
    path = models.CharField(max_length=1000)
    content = models.TextField()
    content_hash = models.CharField(max_length=64)
    last_changeset = models.ForeignKey(ChangeSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    git_hash = models.CharField(max_length=64, blank=True, help_text="Hash of the file in git at the last sync ('' = absent).")
    drift_detected_at = models.DateTimeField(null=True, blank=True)
    owner_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    owner_id = models.PositiveBigIntegerField(null=True, blank=True)

    domain_actions = {"adopt": "change", "restore": "change"}

    class Meta:
        ordering = ["repo", "path"]
        constraints = [models.UniqueConstraint(fields=["repo", "path"], name="unique_managed_file")]

    def __str__(self) -> str:
        return self.path

    def get_absolute_url(self) -> str:
        return reverse("gitops:managedfile", kwargs={"pk": self.pk})

    @property
    def edited_outside(self) -> bool:
        return self.drift_detected_at is not None

    @property
    def owner(self):
        from portal.gitops.owners import owner_of

        return owner_of(self.owner_type_id, self.owner_id)

    @classmethod
    def restrict_derived(cls, queryset, user, action):
        """Files follow the owner that wrote them: its team reads them, its editors adopt or restore them."""
        from portal.gitops.owners import owner_q

        base = cls.base_action(action)
        if user.is_superuser or user.has_perm(f"gitops.{base}_managedfile"):
            return queryset
        if base == "delete":
            return queryset.none()
        return queryset.filter(owner_q(user, "view" if base == "view" else "change"))


class WorkerHeartbeat(models.Model):
    """A running Celery worker, refreshed every few seconds (``portal.gitops.workers``).

    Remote control (``inspect ping``) is off on the filesystem broker, so liveness is
    read from here: pages whose work waits on a worker say when none is running.
    """

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.CharField(max_length=500, help_text="Queues it consumes, as ',a,b,'.")
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname
