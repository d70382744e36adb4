"""Read selectors of the GitOps engine. History and diffs come from git, not the database."""
from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from portal.gitops.choices import ApprovalDecision, ChangeSetStatus
from portal.gitops.gitrepo import ReadMirror
from portal.gitops.models import Approval, ChangeSet, Environment, GitOpsRepo, ManagedFile


def read_mirror(repo: GitOpsRepo, force: bool = False) -> ReadMirror:
    """The repository's read-only mirror on this machine, fetched if older than a few seconds.

    Raises ``RepoUnavailable`` when the repository is missing, unreadable or replaced.
    """
    from portal.gitops.engine import mirror_for

    mirror = mirror_for(repo)
    mirror.refresh(force=force)
    return mirror


def workers_alive(*, queue: str = "gitops") -> bool:
    """Whether a Celery worker consuming ``queue`` sent a heartbeat lately (always, when tasks run eagerly).

    Pages whose work waits on a worker say so when this is false.
    """
    from datetime import timedelta

    from django.utils import timezone

    from portal.celery import app
    from portal.gitops.models import WorkerHeartbeat
    from portal.gitops.workers import ALIVE_SECONDS

    if app.conf.task_always_eager:
        return True
    cutoff = timezone.now() - timedelta(seconds=ALIVE_SECONDS)
    return WorkerHeartbeat.objects.filter(last_seen__gte=cutoff, queues__contains=f",{queue},").exists()


def repo_list(*, user, filters: dict | None = None) -> QuerySet[GitOpsRepo]:
    """Repositories the user may see, with the pending and drifted counts of what the user may see in them."""
    pending = (changeset_list(user=user).filter(repo=OuterRef("pk"), status=ChangeSetStatus.PENDING)
               .order_by().values("repo").annotate(n=Count("pk")).values("n"))
    drifted = (managed_file_list(user=user).filter(repo=OuterRef("pk"), drift_detected_at__isnull=False)
               .order_by().values("repo").annotate(n=Count("pk")).values("n"))
    return (
        GitOpsRepo.objects.restrict(user, "view")
        .filter(**(filters or {}))
        .annotate(pending_count=Coalesce(Subquery(pending), 0), drift_count=Coalesce(Subquery(drifted), 0))
        .order_by("name")
    )


def environment_list(*, user, filters: dict | None = None) -> QuerySet[Environment]:
    return Environment.objects.restrict(user, "view").filter(**(filters or {})).select_related("approver_team")


def changeset_list(*, user, filters: dict | None = None) -> QuerySet[ChangeSet]:
    """ChangeSets the user may see, newest first."""
    return (
        ChangeSet.objects.restrict(user, "view")
        .filter(**(filters or {}))
        .select_related("repo", "environment", "author")
        .order_by("-pk")
    )


def approval_queue(*, user) -> QuerySet[ChangeSet]:
    """Changes waiting for a decision that ``user`` may approve (their environment's approvers; never their own)."""
    return (
        ChangeSet.objects.restrict(user, "approve")
        .filter(status=ChangeSetStatus.AWAITING_APPROVAL, approved_at__isnull=True)
        .select_related("repo", "environment", "author")
        .order_by("pk")
    )


def changesets_of_owner(*, user, owner, limit: int = 10) -> list[ChangeSet]:
    """An owner's latest change sets that ``user`` may see (a VAN page's "Changes" panel)."""
    from portal.gitops.owners import owner_key

    owner_type, owner_id = owner_key(owner)
    return list(changeset_list(user=user, filters={"owner_type": owner_type, "owner_id": owner_id})[:limit])


def changes_not_in_git(*, user, owner, prefixes: list[str]) -> list[ChangeSet]:
    """The owner's changes under any of ``prefixes`` whose files git does not hold: those still pending or
    awaiting approval, and those rejected, in conflict or failed since the last one applied there. What a
    page marks next to a value that is not what git holds (as far as ``user`` may see the changes)."""
    from django.db.models import Max, Q

    from portal.gitops.choices import OPEN_STATUSES
    from portal.gitops.owners import owner_key

    owner_type, owner_id = owner_key(owner)
    touching = Q()
    for prefix in prefixes:
        touching |= Q(files__path__startswith=prefix)
    mine = ChangeSet.objects.filter(touching, owner_type=owner_type, owner_id=owner_id)
    last_applied = mine.filter(status=ChangeSetStatus.APPLIED).aggregate(pk=Max("pk"))["pk"] or 0
    unsettled = {*OPEN_STATUSES, ChangeSetStatus.REJECTED, ChangeSetStatus.CONFLICT, ChangeSetStatus.FAILED}
    return list(
        changeset_list(user=user, filters={"owner_type": owner_type, "owner_id": owner_id, "status__in": unsettled})
        .filter(touching).filter(Q(status__in=OPEN_STATUSES) | Q(pk__gt=last_applied)).distinct().order_by("pk")
    )


def approval_list(*, user, filters: dict | None = None) -> QuerySet[Approval]:
    return Approval.objects.restrict(user, "view").filter(**(filters or {})).select_related("changeset", "user")


def managed_file_list(*, user, filters: dict | None = None) -> QuerySet[ManagedFile]:
    return ManagedFile.objects.restrict(user, "view").filter(**(filters or {})).select_related("repo", "last_changeset")


def files_edited_outside(*, user, repo: GitOpsRepo | None = None, paths: list[str] | None = None) -> QuerySet[ManagedFile]:
    """Portal-written files whose content in git no longer matches what the portal wrote.

    Other apps call this with their objects' paths to show "edited outside Wayline".
    """
    filters: dict = {"drift_detected_at__isnull": False}
    if repo is not None:
        filters["repo"] = repo
    if paths is not None:
        filters["path__in"] = paths
    return managed_file_list(user=user, filters=filters)


def repo_history(*, repo: GitOpsRepo, user, path: str | None = None, limit: int = 50, skip: int = 0) -> tuple[list[dict], bool]:
    """Commits of the repo's branch (optionally touching ``path``), read from git, that ``user`` may see,
    and whether git has more beyond this page.

    A commit is shown when every change set recorded at it is visible to the user;
    commits the portal did not make (no change set records them) are shown to
    platform admins only. Approvers come from the approval rows, never from the
    message text.
    """
    commits = read_mirror(repo).log(path=path, limit=limit, skip=skip)
    return _visible_commits(commits, repo=repo, user=user), len(commits) == limit


def _visible_commits(commits: list[dict], *, repo: GitOpsRepo, user) -> list[dict]:
    shas = [c["sha"] for c in commits]
    recorded: dict[str, list[int]] = {}
    for pk, sha in ChangeSet.objects.filter(repo=repo, commit_sha__in=shas).values_list("pk", "commit_sha"):
        recorded.setdefault(sha, []).append(pk)
    visible = set(changeset_list(user=user).filter(repo=repo, commit_sha__in=shas).values_list("pk", flat=True))
    see_all = user.is_superuser or user.has_perm("gitops.view_changeset")
    approvers: dict[int, list[str]] = {}
    for cs_id, name, email in (Approval.objects.filter(changeset_id__in=visible, decision=ApprovalDecision.APPROVE)
                               .order_by("pk").values_list("changeset_id", "user_name", "user_email")):
        approvers.setdefault(cs_id, []).append(f"{name} <{email}>")
    shown = []
    for commit in commits:
        ids = sorted(recorded.get(commit["sha"], []))
        if (ids and all(i in visible for i in ids)) or see_all:
            commit["change_ids"] = ids
            commit["approved_by"] = [who for i in ids for who in approvers.get(i, [])]
            commit["outside"] = not ids
            shown.append(commit)
    return shown


def commit_visible(*, repo: GitOpsRepo, user, sha: str) -> dict | None:
    """One commit of the repo with its change sets and approvers, or None when missing or not visible to ``user``."""
    commits = read_mirror(repo).log(rev=sha, limit=1)
    shown = _visible_commits(commits, repo=repo, user=user)
    return shown[0] if shown else None


def commit_diff(*, repo: GitOpsRepo, sha: str, path: str | None = None) -> str:
    return read_mirror(repo).show_diff(sha, path)


def changeset_diff(*, changeset: ChangeSet) -> str:
    """The change's diff: its commit once applied, its approval branch while waiting, else computed from its files."""
    from portal.gitops.engine import unified_diff

    mirror = read_mirror(changeset.repo)
    if changeset.commit_sha:
        return mirror.show_diff(changeset.commit_sha)
    if changeset.branch_sha:
        try:
            return mirror.show_diff(changeset.branch_sha)
        except Exception:  # noqa: BLE001 - branch gone (rejected): fall back to the stored files
            pass
    parts = []
    for f in changeset.files.all():
        parts.append(unified_diff(f.path, mirror.read(f.path), f.content, "a", "b"))
    return "".join(parts)
