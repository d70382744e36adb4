"""The apply side of the outbox: turns pending ChangeSets into commits and pushes.

Called only from Celery tasks (``portal.gitops.tasks``). Everything here runs under
``repo_lock`` so one writer at a time touches a repository's branch and its cached
clone, whichever process or machine it runs on.

Exactly once: every commit carries ``Wayline-Change: <id>`` trailers. Before doing
anything a run scans the branch from the last head the portal confirmed
(``GitOpsRepo.known_head``) for trailers of changes still marked pending (a worker
that died after its push but before its database commit) and records them as
applied instead of committing them again, only when the commit whose final trailer
block names a change (committed by Wayline) also holds that change's content.

Fail closed: a repository that is missing, unreadable or replaced (its branch no longer
holds ``known_head``) is never re-created or written to. The attempt stops before
anything is committed, the reason is kept on the repository and on every change
waiting for it (``record_failure``), and the change is tried again later.
"""
from __future__ import annotations

import difflib
import logging
import os
import random
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.gitops.choices import ApprovalDecision, ChangeSetKind, ChangeSetStatus
from portal.gitops.gitrepo import (
    Credentials,
    GitError,
    PushRejected,
    ReadMirror,
    RepoUnavailable,
    WorkingClone,
    scrub,
)
from portal.gitops.messages import TRAILER_APPROVED, TRAILER_CHANGE, trailer_line
from portal.gitops.models import ChangeSet, GitOpsRepo, ManagedFile, content_hash

logger = logging.getLogger(__name__)

BATCH_LIMIT = 500  # changes taken per lock hold
GROUP_LIMIT = 100  # changes folded into one commit at most
PUSH_ATTEMPTS = 30


def credentials_for(repo: GitOpsRepo) -> Credentials:
    return Credentials(url=repo.url, username=repo.username, secret=str(repo.secret or ""))


def open_clone(repo: GitOpsRepo) -> WorkingClone:
    """The repository's working clone, checked against the head the portal last confirmed (never creates the repository)."""
    clone = WorkingClone(repo.pk, credentials_for(repo), repo.branch, known_head=repo.known_head)
    clone.prepare()
    return clone


def mirror_for(repo: GitOpsRepo) -> ReadMirror:
    return ReadMirror(repo.pk, credentials_for(repo), repo.branch, known_head=repo.known_head)


def _fetch(repo: GitOpsRepo, clone: WorkingClone) -> str:
    """The first fetch of a run: it proves the repository is there (clears a recorded outage)."""
    head = clone.fetch()
    if repo.unavailable_reason:
        GitOpsRepo.objects.filter(pk=repo.pk).update(unavailable_reason="", unavailable_since=None)
        repo.unavailable_reason, repo.unavailable_since = "", None
    return head


def _fault_pause_after_push() -> None:
    """Fault-injection hook for the stress rehearsal (``gitops_stress --kill-one``).

    When WAYLINE_GITOPS_FAULT_PAUSE_FILE names a file that does not exist yet, the
    first worker to get here creates it and sleeps, so the rehearsal can SIGKILL it
    after its push and before its database commit: the worst moment to die.
    """
    marker = os.environ.get("WAYLINE_GITOPS_FAULT_PAUSE_FILE")
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    time.sleep(float(os.environ.get("WAYLINE_GITOPS_FAULT_PAUSE_SECONDS", "60")))


def _backoff(attempt: int) -> None:
    time.sleep(min(2.0, 0.05 * (2 ** attempt)) * (0.5 + random.random()))


def unified_diff(path: str, before: str | None, after: str | None, before_label: str, after_label: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        (after or "").splitlines(keepends=True),
        fromfile=f"{before_label}/{path}",
        tofile=f"{after_label}/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def commit_message(changes: list[ChangeSet], approvers: list[str] | None = None) -> str:
    """Subject and body from the changes' messages, a blank line, then the trailer block.

    The block (``Wayline-Change`` lines, then ``Approved-by`` lines, each on one line) is
    the message's last paragraph, the only place ``messages.trailer_block`` reads.
    """
    if len(changes) == 1:
        body = changes[0].message.strip() or f"Wayline change #{changes[0].pk}"  # a subject before the trailers
    else:
        subject = f"Apply {len(changes)} Wayline changes by {changes[0].author_name}"
        body = subject + "\n\n" + "\n".join(f"- #{cs.pk} {cs.message.strip().splitlines()[0]}" for cs in changes)
    trailers = [f"{TRAILER_CHANGE}: {cs.pk}" for cs in changes]
    trailers += [f"{TRAILER_APPROVED}: {trailer_line(who)}" for who in approvers or []]
    return f"{body}\n\n" + "\n".join(trailers) + "\n"


@dataclass
class Plan:
    """What one attempt wrote: commits (sha, changes) and changes set aside as conflicts."""

    commits: list[tuple[str, list[ChangeSet]]] = field(default_factory=list)
    conflicts: dict[int, str] = field(default_factory=dict)
    written: dict[str, tuple[str | None, ChangeSet]] = field(default_factory=dict)


def _conflict_for(clone: WorkingClone, cs: ChangeSet, expected: dict[str, tuple[str, str | None]]) -> str:
    """The diff of files edited outside Wayline that ``cs`` would overwrite ('' when none).

    ``expected`` maps a path to (hash, content) of what the portal last wrote there.
    """
    if cs.kind == ChangeSetKind.RESTORE:
        return ""
    diffs = []
    for f in cs.files.all():
        current = clone.read(f.path)
        current_hash = content_hash(current)
        if current_hash == content_hash(f.content):
            continue  # git already holds what we want: nothing to overwrite
        ours_hash, ours = expected.get(f.path, ("", None))
        if current_hash != ours_hash:
            diffs.append(unified_diff(f.path, ours, current, "wayline", "git"))
    return "".join(diffs)


def _expected_hashes(repo: GitOpsRepo, paths: set[str]) -> dict[str, tuple[str, str | None]]:
    return {
        mf.path: (mf.content_hash, mf.content)
        for mf in ManagedFile.objects.filter(repo=repo, path__in=paths).only("path", "content_hash", "content")
    }


def _record_applied(repo: GitOpsRepo, applied: list[tuple[str, ChangeSet]], head: str) -> None:
    """Mark changes applied at their commits and remember what the portal wrote (one transaction)."""
    from portal.services import audit_record

    now = timezone.now()
    with transaction.atomic():
        latest: dict[str, tuple[str | None, ChangeSet]] = {}
        for sha, cs in applied:
            ChangeSet.objects.filter(pk=cs.pk).update(
                status=ChangeSetStatus.APPLIED, commit_sha=sha, applied_at=now, error="", next_attempt_at=None, updated=now
            )
            cs.status, cs.commit_sha = ChangeSetStatus.APPLIED, sha
            for f in cs.files.all():
                latest[f.path] = (f.content, cs)
            audit_record(actor=None, action="gitops.change.apply", obj=cs, changes={"commit": sha})
        deletes = [path for path, (content, _) in latest.items() if content is None]
        if deletes:
            ManagedFile.objects.filter(repo=repo, path__in=deletes).delete()
        writes = {path: v for path, v in latest.items() if v[0] is not None}
        existing = {mf.path: mf for mf in ManagedFile.objects.filter(repo=repo, path__in=list(writes))}
        to_create, to_update = [], []
        for path, (content, cs) in writes.items():
            digest = content_hash(content)
            mf = existing.get(path)
            if mf is None:
                to_create.append(ManagedFile(repo=repo, path=path, content=content, content_hash=digest, last_changeset=cs,
                                             git_hash=digest, owner_type_id=cs.owner_type_id, owner_id=cs.owner_id))
            else:
                mf.content, mf.content_hash, mf.last_changeset, mf.git_hash = content, digest, cs, digest
                mf.drift_detected_at, mf.updated = None, now
                mf.owner_type_id, mf.owner_id = cs.owner_type_id, cs.owner_id  # the file belongs to whoever wrote it last
                to_update.append(mf)
        ManagedFile.objects.bulk_create(to_create, batch_size=500)
        ManagedFile.objects.bulk_update(
            to_update, ["content", "content_hash", "last_changeset", "git_hash", "drift_detected_at", "updated",
                        "owner_type", "owner_id"], batch_size=500
        )
        GitOpsRepo.objects.filter(pk=repo.pk).update(known_head=head, last_sync_at=now)
        repo.known_head = head
    mirror_for(repo).invalidate()


def _record_conflicts(conflicts: dict[int, str]) -> None:
    from portal.services import audit_record

    with transaction.atomic():
        for pk, diff in conflicts.items():
            ChangeSet.objects.filter(pk=pk).update(
                status=ChangeSetStatus.CONFLICT, conflict_diff=diff, next_attempt_at=None,
                error="A file this change writes was edited outside Wayline; nothing was overwritten.",
                updated=timezone.now(),
            )
            cs = ChangeSet.objects.get(pk=pk)
            audit_record(actor=None, action="gitops.change.conflict", obj=cs, changes={"paths": [f.path for f in cs.files.all()]})


def _pending(repo: GitOpsRepo, limit: int) -> list[ChangeSet]:
    return list(
        ChangeSet.objects.filter(repo=repo, status=ChangeSetStatus.PENDING)
        .select_related("environment")
        .prefetch_related("files")
        .order_by("pk")[:limit]
    )


def _commit_holds(clone: WorkingClone, sha: str, cs: ChangeSet) -> bool:
    """Whether commit ``sha`` has exactly ``cs``'s content at every path it writes (and none where it deletes)."""
    return all(clone.read_at(sha, f.path) == f.content for f in cs.files.all())


def _pushed_at(clone: WorkingClone, candidates: list[str], cs: ChangeSet) -> str:
    """The commit among ``candidates`` (newest first, all naming ``cs`` in their trailers) that really applied it.

    The oldest one holding the change's content, '' when none does: a trailer alone
    (a hand-pushed commit, copied text) never makes a change applied.
    """
    holding = [sha for sha in candidates if _commit_holds(clone, sha, cs)]
    return holding[-1] if holding else ""


def _recover(repo: GitOpsRepo, clone: WorkingClone, head: str, changes: list[ChangeSet]) -> list[ChangeSet]:
    """Record as applied the changes a commit on the branch already applied; return the rest.

    A change counts as applied at a commit only when the commit names it in its trailer
    block and holds its content; one merely named stays pending and is applied normally.
    """
    if repo.known_head == head:
        return changes
    on_branch = clone.trailer_commits_since(repo.known_head, head)
    done = []
    for cs in changes:
        if cs.environment.requires_approval:
            continue  # completed only by merge_approved, after an approval: a pushed look-alike never completes it
        sha = _pushed_at(clone, on_branch[cs.pk], cs) if cs.pk in on_branch else ""
        if sha:
            done.append((sha, cs))
        elif cs.pk in on_branch:
            logger.warning("GitOps repo %s: commit %s names change %s but does not hold its content; applying it",
                           repo.name, on_branch[cs.pk][0][:10], cs.pk)
    if done:
        logger.warning("GitOps repo %s: %d change(s) were pushed by a worker that died; recording them once", repo.name, len(done))
        _record_applied(repo, done, repo.known_head)
    recorded = {cs.pk for _, cs in done}
    return [cs for cs in changes if cs.pk not in recorded]


def apply_pending(repo_id: int) -> int:
    """Apply up to BATCH_LIMIT pending changes of a repository; return how many left pending state."""
    repo = GitOpsRepo.objects.get(pk=repo_id)
    from portal.gitops.gitrepo import repo_lock

    with repo_lock(repo.pk):
        repo.refresh_from_db()  # known_head may have moved while we waited for the lock
        changes = _pending(repo, BATCH_LIMIT)
        if not changes:
            return 0
        clone = open_clone(repo)
        head = _fetch(repo, clone)
        changes = _recover(repo, clone, head, changes)
        direct = [cs for cs in changes if not cs.environment.requires_approval]
        protected = [cs for cs in changes if cs.environment.requires_approval]
        if direct:
            _apply_direct(repo, clone, direct)
        for cs in protected:
            _push_for_approval(repo, clone, cs)
        return len(changes)


def _group_key(cs: ChangeSet) -> tuple:
    return (cs.author_id, cs.author_name, cs.author_email)


def _apply_direct(repo: GitOpsRepo, clone: WorkingClone, changes: list[ChangeSet]) -> None:
    """Commit consecutive changes by the same author together (one commit, one trailer each) and push.

    The whole chain of commits is pushed at once. If the branch moved meanwhile, the
    commits are pushed one at a time, each re-created on the current head just before
    its push (small race window). When the commits that moved the branch touch a file
    we write, the remaining changes are planned again from the new head, so a human
    edit of one of our files becomes a conflict instead of being merged or overwritten.
    """
    rejections = 0
    while changes:
        base = clone.fetch()
        clone.reset_to(base)
        paths = {f.path for cs in changes for f in cs.files.all()}
        plan = _commit_plan(repo, clone, changes, paths)
        if plan.conflicts:
            _record_conflicts(plan.conflicts)
        if not plan.commits:
            return
        try:
            clone.push_sha(plan.commits[-1][0], repo.branch)
            _fault_pause_after_push()
            _record_applied(repo, [(sha, cs) for sha, group in plan.commits for cs in group], plan.commits[-1][0])
            return
        except PushRejected as exc:
            rejections += 1
            last_error = exc
        # One commit at a time on the moving head.
        remaining = [(sha, group, parent) for (sha, group), parent in
                     zip(plan.commits, [base] + [sha for sha, _ in plan.commits[:-1]])]
        pushed: list[tuple[str, ChangeSet]] = []
        base = clone.fetch()
        replan = False
        try:
            while remaining:
                sha, group, parent = remaining[0]
                group_paths = sorted({f.path for cs in group for f in cs.files.all()})
                if parent != base:
                    remaining_paths = {f.path for _, g, _ in remaining for cs in g for f in cs.files.all()}
                    if clone.changed_paths(parent, base) & remaining_paths:
                        replan = True
                        break
                    sha = clone.recommit(sha, base, group_paths, message=commit_message(group),
                                         author_name=group[0].author_name, author_email=group[0].author_email)
                    remaining[0] = (sha, group, base)
                try:
                    clone.push_sha(sha, repo.branch)
                except PushRejected as exc:
                    rejections += 1
                    last_error = exc
                    if rejections > PUSH_ATTEMPTS:
                        raise PushRejected(f"push still rejected after {rejections} attempts: {last_error}") from None
                    if rejections > 5:
                        _backoff(min(rejections - 5, 4))
                    base = clone.fetch()
                    continue
                pushed.extend((sha, cs) for cs in group)
                remaining.pop(0)
                base = sha
        finally:
            if pushed:
                _fault_pause_after_push()
                _record_applied(repo, pushed, pushed[-1][0])
        if not replan:
            return
        logger.info("GitOps repo %s: the branch moved under files we write; planning the rest again", repo.name)
        changes = [cs for _, group, _ in remaining for cs in group]


def _commit_plan(repo: GitOpsRepo, clone: WorkingClone, changes: list[ChangeSet], paths: set[str]) -> Plan:
    """Write and commit ``changes`` on the clone's current head, setting conflicting ones aside."""
    expected = _expected_hashes(repo, paths)
    plan = Plan()
    group: list[ChangeSet] = []
    group_paths: set[str] = set()

    def flush():
        if group:
            group_files = sorted({f.path for cs in group for f in cs.files.all()})
            sha = clone.commit(paths=group_files, message=commit_message(group),
                               author_name=group[0].author_name, author_email=group[0].author_email)
            plan.commits.append((sha, list(group)))
            group.clear()
            group_paths.clear()

    for cs in changes:
        diff = _conflict_for(clone, cs, expected)
        if diff:
            plan.conflicts[cs.pk] = diff
            continue
        cs_paths = {f.path for f in cs.files.all()}
        # A new commit when the author changes (honest authorship), when a path repeats
        # (so each commit's parent holds the state a revert needs) or the group is full.
        if group and (_group_key(group[0]) != _group_key(cs) or cs_paths & group_paths or len(group) >= GROUP_LIMIT):
            flush()
        for f in cs.files.all():
            clone.write(f.path, f.content)
            expected[f.path] = (content_hash(f.content), f.content)
        group.append(cs)
        group_paths |= cs_paths
    flush()
    return plan


def _push_for_approval(repo: GitOpsRepo, clone: WorkingClone, cs: ChangeSet) -> None:
    """Commit a protected change on its own branch ``wayline/change-<id>`` and wait for approval."""
    from portal.services import audit_record

    head = clone.fetch()
    clone.reset_to(head)
    expected = _expected_hashes(repo, {f.path for f in cs.files.all()})
    diff = _conflict_for(clone, cs, expected)
    if diff:
        _record_conflicts({cs.pk: diff})
        return
    for f in cs.files.all():
        clone.write(f.path, f.content)
    sha = clone.commit(paths=[f.path for f in cs.files.all()], message=commit_message([cs]),
                       author_name=cs.author_name, author_email=cs.author_email)
    clone.push(cs.approval_branch, force=True)
    with transaction.atomic():
        # Only the revision we pushed: a newer edit folded in meanwhile leaves it pending, to be pushed again.
        waiting = ChangeSet.objects.filter(pk=cs.pk, status=ChangeSetStatus.PENDING, revision=cs.revision).update(
            status=ChangeSetStatus.AWAITING_APPROVAL, branch_sha=sha, error="", next_attempt_at=None, updated=timezone.now()
        )
        if waiting:
            audit_record(actor=None, action="gitops.change.await_approval", obj=cs,
                         changes={"branch": cs.approval_branch, "revision": cs.revision})
    mirror_for(repo).invalidate()


def merge_approved(changeset_id: int) -> None:
    """Squash an approved change onto the target branch with ``Approved-by`` trailers, then drop its branch."""
    cs = ChangeSet.objects.select_related("repo", "environment").get(pk=changeset_id)
    repo = cs.repo
    from portal.gitops.gitrepo import repo_lock

    with repo_lock(repo.pk):
        cs.refresh_from_db()
        repo.refresh_from_db()
        if cs.status != ChangeSetStatus.AWAITING_APPROVAL or not cs.approved_at:
            return
        clone = open_clone(repo)
        head = _fetch(repo, clone)
        if repo.known_head != head:
            found = clone.trailer_commits_since(repo.known_head, head)
            pushed = _pushed_at(clone, found[cs.pk], cs) if cs.pk in found else ""
            if pushed:
                _record_applied(repo, [(pushed, cs)], repo.known_head)
                clone.delete_remote_branch(cs.approval_branch)
                return
        approvers = [f"{a.user_name} <{a.user_email}>" for a in cs.approvals.filter(decision=ApprovalDecision.APPROVE).order_by("pk")]
        paths = {f.path for f in cs.files.all()}
        last_error: Exception | None = None
        for attempt in range(PUSH_ATTEMPTS):
            head = clone.fetch()
            clone.reset_to(head)
            diff = _conflict_for(clone, cs, _expected_hashes(repo, paths))
            if diff:
                _record_conflicts({cs.pk: diff})
                return
            for f in cs.files.all():
                clone.write(f.path, f.content)
            sha = clone.commit(paths=sorted(paths), message=commit_message([cs], approvers),
                               author_name=cs.author_name, author_email=cs.author_email)
            try:
                clone.push(repo.branch)
            except PushRejected as exc:
                last_error = exc
                _backoff(attempt)
                continue
            clone.delete_remote_branch(cs.approval_branch)
            _record_applied(repo, [(sha, cs)], sha)
            return
        raise PushRejected(f"push still rejected after {PUSH_ATTEMPTS} attempts: {last_error}")


def delete_approval_branch(changeset_id: int) -> None:
    cs = ChangeSet.objects.select_related("repo").get(pk=changeset_id)
    from portal.gitops.gitrepo import repo_lock

    with repo_lock(cs.repo.pk):
        clone = open_clone(cs.repo)
        _fetch(cs.repo, clone)  # never delete a branch of a repository that replaced ours
        clone.delete_remote_branch(cs.approval_branch)


def prune_approval_branches(repo_id: int) -> list[str]:
    """Delete the approval branches of changes that are final (applied, rejected, withdrawn, ...).

    A change withdrawn or rejected while its branch was being pushed can leave the
    branch behind; this is the sweep that removes it. Branches of changes still
    open, and names that are not a change of this repository, are left alone.
    """
    from portal.gitops.choices import FINAL_STATUSES
    from portal.gitops.gitrepo import repo_lock

    repo = GitOpsRepo.objects.get(pk=repo_id)
    with repo_lock(repo.pk):
        clone = open_clone(repo)
        _fetch(repo, clone)
        branches = {}
        for name in clone.remote_branches("wayline/change-"):
            suffix = name.removeprefix("wayline/change-")
            if suffix.isdigit():
                branches[int(suffix)] = name
        final = ChangeSet.objects.filter(repo=repo, pk__in=list(branches), status__in=FINAL_STATUSES).values_list("pk", flat=True)
        pruned = [branches[pk] for pk in final]
        for name in pruned:
            clone.delete_remote_branch(name)
    if pruned:
        mirror_for(repo).invalidate()
    return pruned


def invalidate_mirror(changeset_id: int) -> None:
    repo = ChangeSet.objects.select_related("repo").get(pk=changeset_id).repo
    mirror_for(repo).invalidate()


def mark_failed(changeset_id: int, error: Exception | str) -> None:
    """Record a change as failed with a scrubbed error (credentials never reach the row)."""
    from portal.services import audit_record

    cs = ChangeSet.objects.select_related("repo").get(pk=changeset_id)
    message = scrub(str(error), credentials_for(cs.repo).secrets())
    with transaction.atomic():
        updated = ChangeSet.objects.filter(
            pk=cs.pk, status__in=[ChangeSetStatus.PENDING, ChangeSetStatus.AWAITING_APPROVAL]
        ).update(
            status=ChangeSetStatus.FAILED, error=message, next_attempt_at=None, updated=timezone.now()
        )
        if updated:
            audit_record(actor=None, action="gitops.change.fail", obj=cs, changes={"error": message[:500]})


def record_failure(changeset_id: int, error: Exception, *, attempts: int, retry_at) -> None:
    """Keep why an attempt failed (scrubbed) on the change, which stays open and is tried again at ``retry_at``.

    When the repository itself is unavailable the reason is kept on the repository too and
    on every change waiting for it, since none of them can move until it is back.
    """
    cs = ChangeSet.objects.select_related("repo").get(pk=changeset_id)
    message = scrub(str(error), credentials_for(cs.repo).secrets())
    now = timezone.now()
    with transaction.atomic():
        ChangeSet.objects.filter(pk=cs.pk, status__in=[ChangeSetStatus.PENDING, ChangeSetStatus.AWAITING_APPROVAL]).update(
            error=message, attempts=attempts, next_attempt_at=retry_at, updated=now
        )
        if isinstance(error, RepoUnavailable):
            ChangeSet.objects.filter(repo_id=cs.repo_id, status=ChangeSetStatus.PENDING).exclude(pk=cs.pk).update(
                error=message, attempts=F("attempts") + 1, next_attempt_at=retry_at, updated=now
            )
            record_unavailable(cs.repo, error)


def record_unavailable(repo: GitOpsRepo, error: RepoUnavailable) -> None:
    """Keep on the repository why it cannot be used (scrubbed), and since when."""
    message = scrub(str(error), credentials_for(repo).secrets())
    GitOpsRepo.objects.filter(pk=repo.pk).update(unavailable_reason=message)
    GitOpsRepo.objects.filter(pk=repo.pk, unavailable_since__isnull=True).update(unavailable_since=timezone.now())


def sync_repo(repo_id: int) -> list[ManagedFile]:
    """Compare what the portal last wrote with the branch head; flag files edited outside Wayline."""
    from portal.gitops.selectors import read_mirror

    repo = GitOpsRepo.objects.get(pk=repo_id)
    mirror = read_mirror(repo, force=True)
    now = timezone.now()
    drifted = []
    with transaction.atomic():
        for mf in ManagedFile.objects.filter(repo=repo).select_for_update():
            git_hash = content_hash(mirror.read(mf.path))
            changed = git_hash != mf.git_hash
            if git_hash != mf.content_hash:
                if mf.drift_detected_at is None:
                    mf.drift_detected_at = now
                    changed = True
                drifted.append(mf)
            elif mf.drift_detected_at is not None:
                mf.drift_detected_at = None
                changed = True
            if changed:
                mf.git_hash = git_hash
                mf.save(update_fields=["git_hash", "drift_detected_at", "updated"])
        GitOpsRepo.objects.filter(pk=repo.pk).update(last_sync_at=now, sync_error="", unavailable_reason="",
                                                     unavailable_since=None)
    return drifted


def git_error_text(exc: Exception, repo: GitOpsRepo) -> str:
    return scrub(str(exc), credentials_for(repo).secrets())


__all__ = ["apply_pending", "merge_approved", "delete_approval_branch", "mark_failed", "record_failure", "sync_repo",
           "GitError", "RepoUnavailable"]
