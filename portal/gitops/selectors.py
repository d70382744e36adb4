"""Read selectors of the GitOps engine. History and diffs come from git, not the database."""
from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.gitrepo import ReadMirror
from portal.gitops.models import Approval, ChangeSet, Environment, GitOpsRepo, ManagedFile


def read_mirror(repo: GitOpsRepo, force: bool = False) -> ReadMirror:
    """The repository's read-only mirror on this machine, fetched if older than a few seconds."""
    from portal.gitops.engine import credentials_for

    mirror = ReadMirror(repo.pk, credentials_for(repo), repo.branch)
    mirror.refresh(force=force)
    return mirror


def repo_list(*, user, filters: dict | None = None) -> QuerySet[GitOpsRepo]:
    """Repositories the user may see, with pending and drifted counts."""
    return (
        GitOpsRepo.objects.restrict(user, "view")
        .filter(**(filters or {}))
        .annotate(
            pending_count=Count("changesets", filter=Q(changesets__status=ChangeSetStatus.PENDING), distinct=True),
            drift_count=Count("managed_files", filter=Q(managed_files__drift_detected_at__isnull=False), distinct=True),
        )
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
    """Changes waiting for a decision in environments ``user`` approves (never their own)."""
    qs = changeset_list(user=user, filters={"status": ChangeSetStatus.AWAITING_APPROVAL, "approved_at__isnull": True})
    if not user.is_authenticated:
        return qs.none()
    qs = qs.exclude(author=user)
    if user.is_superuser:
        return qs
    return qs.filter(
        Q(environment__approvers=user)
        | Q(environment__approver_team__memberships__user=user, environment__approver_team__memberships__role__in=["admin", "member"])
    ).distinct()


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


def repo_history(*, repo: GitOpsRepo, path: str | None = None, limit: int = 50, skip: int = 0) -> list[dict]:
    """Commits of the repo's branch (optionally touching ``path``), read from git."""
    return read_mirror(repo).log(path=path, limit=limit, skip=skip)


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
