"""Celery tasks of the GitOps engine (queue "gitops"). They take primary keys, are
idempotent and hold the per-repository lock inside the engine.

A failed attempt keeps its reason on the change at once (``engine.record_failure``), with
when it is tried again. A repository that is missing, unreadable or replaced
(``RepoUnavailable``) never fails a change: it waits, retried with backoff by the task and
then by the sweep, until the repository is back. Other errors (a push a hook refuses, ...)
fail the change once the retries are spent.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.db.models import Q
from django.utils import timezone

from portal.celery import app
from portal.gitops import engine, workers
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.gitrepo import GitError, RepoUnavailable
from portal.gitops.models import ChangeSet, GitOpsRepo

logger = logging.getLogger(__name__)

MAX_RETRIES = 8
UNAVAILABLE_RETRY_CAP = 60  # a repository that comes back is used within a minute or so


def _countdown(retries: int, cap: float = 300) -> float:
    return min(cap, 2 ** retries)


def _attempt_failed(task, changeset_id: int, exc: GitError) -> str:
    """Record a failed attempt on the change and retry it later; fail it only when the retries are spent
    (at once when tasks run eagerly) and the repository itself is not the problem."""
    unavailable = isinstance(exc, RepoUnavailable)
    spent = task.request.is_eager or task.request.retries >= MAX_RETRIES
    if spent and not unavailable:
        engine.mark_failed(changeset_id, exc)
        return ChangeSetStatus.FAILED
    countdown = _countdown(task.request.retries, UNAVAILABLE_RETRY_CAP if unavailable else 300)
    attempts = (ChangeSet.objects.filter(pk=changeset_id).values_list("attempts", flat=True).first() or 0) + 1
    engine.record_failure(changeset_id, exc, attempts=attempts, retry_at=timezone.now() + timedelta(seconds=countdown))
    logger.warning("GitOps change %s: %s; trying again in %ss", changeset_id, exc, countdown)
    if spent:
        return ChangeSetStatus.PENDING  # the sweep tries it again at next_attempt_at
    raise task.retry(exc=exc, countdown=countdown)


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
        return _attempt_failed(self, changeset_id, exc)


@shared_task(name="portal.gitops.merge_changeset", bind=True, acks_late=True, max_retries=MAX_RETRIES,
             soft_time_limit=540, time_limit=600)
def merge_changeset(self, changeset_id: int) -> None:
    """Merge an approved change into its target branch."""
    try:
        engine.merge_approved(changeset_id)
    except GitError as exc:
        _attempt_failed(self, changeset_id, exc)


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
        if isinstance(exc, RepoUnavailable):
            engine.record_unavailable(repo, exc)
        logger.warning("GitOps repo %s: check for outside edits failed: %s", repo.name, engine.git_error_text(exc, repo))
        return -1


@shared_task(name="portal.gitops.sweep", acks_late=True, soft_time_limit=280, time_limit=300)
def sweep(stale_seconds: int = 60) -> int:
    """Re-enqueue changes whose task was lost (a killed worker on the filesystem broker, which
    has no redelivery) or whose retries are spent while their repository is unavailable, and
    approved changes not merged yet; check every repository for outside edits.

    A change waiting for a retry (``next_attempt_at`` ahead) is left to it."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_seconds)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    stale = ChangeSet.objects.filter(due, status=ChangeSetStatus.PENDING, updated__lt=cutoff)
    repos = set()
    for pk, repo_id in stale.values_list("pk", "repo_id").order_by("-pk"):
        if repo_id not in repos:
            repos.add(repo_id)
            apply_changeset.delay(pk)
    approved = ChangeSet.objects.filter(
        due, status=ChangeSetStatus.AWAITING_APPROVAL, approved_at__isnull=False, updated__lt=cutoff
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


@worker_ready.connect
def _heartbeat_start(sender, **kwargs):
    """A worker process is ready: it records a heartbeat every few seconds while it runs."""
    queues = [queue.name for queue in sender.app.amqp.queues.consume_from.values()]
    workers.heartbeat_start(sender.hostname, queues)


@worker_shutdown.connect
def _heartbeat_stop(sender, **kwargs):
    workers.heartbeat_stop(sender.hostname)
