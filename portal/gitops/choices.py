"""Choice lists of the GitOps engine."""
from django.db import models


class ChangeSetStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    REJECTED = "rejected", "Rejected"
    CONFLICT = "conflict", "Conflict"
    FAILED = "failed", "Failed"
    WITHDRAWN = "withdrawn", "Withdrawn"  # a later edit of its owner made it a no-op before it was applied


# Statuses in which a change may still be updated in place by a newer edit of its owner.
OPEN_STATUSES = {"pending", "awaiting_approval"}


# Statuses a ChangeSet never leaves.
FINAL_STATUSES = {ChangeSetStatus.APPLIED, ChangeSetStatus.REJECTED, ChangeSetStatus.CONFLICT, ChangeSetStatus.FAILED,
                  ChangeSetStatus.WITHDRAWN}


class ChangeSetKind(models.TextChoices):
    CHANGE = "change", "Change"
    REVERT = "revert", "Revert"
    RESTORE = "restore", "Restore portal version"


class ApprovalDecision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"
