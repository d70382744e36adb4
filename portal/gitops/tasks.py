"""Celery tasks of the GitOps engine (queue "gitops"). They take primary keys, are
idempotent and hold the per-repository lock inside the engine."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from portal.celery import app
from portal.gitops import engine
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.gitrepo import GitError
from portal.gitops.models import ChangeSet, GitOpsRepo

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def _countdown(retries: int) -> float:
    return min(300, 2 ** retries)


@shared_task(name="portal.gitops.apply_changeset", bind=True, acks_late=True, max_retries=MAX_RETRIES,
             soft_time_limit=540, time_limit=600)
def apply_changeset(self, changeset_id: int) -> str:
    """Apply a pending change (and the changes queued with it) to its repository."""
    cs = ChangeSet.objects.filter(pk=changeset_id).only("status", "repo_id").first()
    if cs is None or cs.status != ChangeSetStatus.PENDING:
        return cs.status if cs else "missing"
    try:
        while True:
            engine.apply_pending(cs.repo_id)
            cs.refresh_from_db(fields=["status"])
            if cs.status != ChangeSetStatus.PENDING:
                return cs.status
    except GitError as exc:
        ChangeSet.objects.filter(pk=changeset_id).update(attempts=self.request.retries + 1)
        if self.request.retries >= MAX_RETRIES or self.request.is_eager:
            engine.mark_failed(changeset_id, exc)
            return ChangeSetStatus.FAILED
        logger.warning("GitOps change %s: %s; retrying", changeset_id, exc)
        raise self.retry(exc=exc, countdown=_countdown(self.request.retries))


@shared_task(name="portal.gitops.merge_changeset", bind=True, acks_late=True, max_retries=MAX_RETRIES,
             soft_time_limit=540, time_limit=600)
def merge_changeset(self, changeset_id: int) -> None:
    """Merge an approved change into its target branch."""
    try:
        engine.merge_approved(changeset_id)
    except GitError as exc:
        if self.request.retries >= MAX_RETRIES or self.request.is_eager:
            engine.mark_failed(changeset_id, exc)
            return
        raise self.retry(exc=exc, countdown=_countdown(self.request.retries))


@shared_task(name="portal.gitops.delete_change_branch", bind=True, acks_late=True, max_retries=3,
             soft_time_limit=110, time_limit=120)
def delete_change_branch(self, changeset_id: int) -> None:
    """Delete a rejected change's approval branch."""
    try:
        engine.delete_approval_branch(changeset_id)
        engine.invalidate_mirror(changeset_id)
    except GitError as exc:
        if not self.request.is_eager:
            raise self.retry(exc=exc, countdown=_countdown(self.request.retries))


@shared_task(name="portal.gitops.sync_repo", acks_late=True, soft_time_limit=280, time_limit=300)
def sync_repo(repo_id: int) -> int:
    """Flag portal-written files edited outside Wayline; returns how many are drifted (-1: git could not be read,
    the reason is kept on the repository for its page)."""
    try:
        return len(engine.sync_repo(repo_id))
    except GitError as exc:
        repo = GitOpsRepo.objects.get(pk=repo_id)
        GitOpsRepo.objects.filter(pk=repo_id).update(sync_error=engine.git_error_text(exc, repo)[:2000], last_sync_at=timezone.now())
        logger.warning("GitOps repo %s: check for outside edits failed: %s", repo.name, engine.git_error_text(exc, repo))
        return -1


@shared_task(name="portal.gitops.sweep", acks_late=True, soft_time_limit=280, time_limit=300)
def sweep(stale_seconds: int = 60) -> int:
    """Re-enqueue changes whose task was lost (a killed worker on a broker without redelivery),
    approved changes not merged yet, and check every repository for outside edits."""
    cutoff = timezone.now() - timedelta(seconds=stale_seconds)
    stale = ChangeSet.objects.filter(status=ChangeSetStatus.PENDING, updated__lt=cutoff)
    repos = set()
    for pk, repo_id in stale.values_list("pk", "repo_id").order_by("-pk"):
        if repo_id not in repos:
            repos.add(repo_id)
            apply_changeset.delay(pk)
    approved = ChangeSet.objects.filter(
        status=ChangeSetStatus.AWAITING_APPROVAL, approved_at__isnull=False, updated__lt=cutoff
    ).values_list("pk", flat=True)
    for pk in approved:
        merge_changeset.delay(pk)
    for repo_id in GitOpsRepo.objects.values_list("pk", flat=True):
        sync_repo.delay(repo_id)
        prune_branches.delay(repo_id)
    return len(repos)


@shared_task(name="portal.gitops.prune_branches", acks_late=True, soft_time_limit=110, time_limit=120)
def prune_branches(repo_id: int) -> int:
    """Delete approval branches left behind by changes that are final; returns how many."""
    try:
        return len(engine.prune_approval_branches(repo_id))
    except GitError as exc:
        logger.warning("GitOps repo %s: pruning approval branches failed: %s", repo_id, exc)
        return 0


@app.on_after_finalize.connect
def _schedule(sender, **kwargs):
    sender.add_periodic_task(60.0, sweep.s(), name="portal.gitops.sweep every minute")
