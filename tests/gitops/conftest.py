"""Fixtures for the GitOps engine tests: real bare repositories in temp dirs, real pushes."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import make_team, make_user


def git(cwd, *args, env=None) -> str:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(["git", *args], cwd=cwd, env=full_env, check=True, capture_output=True, text=True).stdout


class Bare:
    """A bare repository plus a human's clone of it, to inspect history and push outside edits."""

    def __init__(self, path: Path, human_dir: Path):
        self.path = path
        self.human_dir = human_dir

    def log(self, ref: str = "main", fmt: str = "%H%x1f%an%x1f%ae%x1f%cn%x1f%B%x1e") -> list[list[str]]:
        out = git(self.path, "log", f"--format={fmt}", ref)
        return [rec.strip("\n").split("\x1f") for rec in out.split("\x1e") if rec.strip()]

    def read(self, path: str, ref: str = "main") -> str | None:
        try:
            return git(self.path, "show", f"{ref}:{path}")
        except subprocess.CalledProcessError:
            return None

    def branches(self) -> list[str]:
        return [line.strip() for line in git(self.path, "for-each-ref", "--format=%(refname:short)", "refs/heads").splitlines()]

    def trailer_count(self, change_id: int, ref: str = "main") -> int:
        out = git(self.path, "log", "--format=%B", ref)
        return sum(1 for line in out.splitlines() if line.strip() == f"Wayline-Change: {change_id}")

    def human_push(self, path: str, content: str | None, message: str = "Human edit") -> str:
        """Commit as a human in a separate clone and push to the bare repo (a real outside edit)."""
        if not (self.human_dir / ".git").exists():
            git(self.human_dir.parent, "clone", "-q", str(self.path), str(self.human_dir))
        git(self.human_dir, "fetch", "-q", "origin")
        git(self.human_dir, "reset", "-q", "--hard", "origin/main")
        target = self.human_dir / path
        if content is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        git(self.human_dir, "add", "-A")
        env = {"GIT_AUTHOR_NAME": "Hugh Human", "GIT_AUTHOR_EMAIL": "hugh@example.com",
               "GIT_COMMITTER_NAME": "Hugh Human", "GIT_COMMITTER_EMAIL": "hugh@example.com"}
        git(self.human_dir, "commit", "-q", "-m", message, env=env)
        git(self.human_dir, "push", "-q", "origin", "HEAD:main")
        return git(self.human_dir, "rev-parse", "HEAD").strip()


@pytest.fixture
def bare(tmp_path) -> Bare:
    from portal.gitops.gitrepo import ensure_bare_repo

    path = ensure_bare_repo(tmp_path / "gitops.git", "main")
    return Bare(path, tmp_path / "human")


@pytest.fixture
def repo(db, bare):
    from portal.gitops.models import GitOpsRepo

    return GitOpsRepo.objects.create(name="test-repo", url=str(bare.path), branch="main")


@dataclass
class People:
    alice: object  # author, member of payments
    bob: object  # Prod approver (through the approvers team)
    carol: object  # signed-in, approves nothing
    admin: object
    approvers: object
    payments: object


@pytest.fixture
def people(db) -> People:
    from portal.gitops.models import Environment
    from portal.gitops.services import DEFAULT_ENVIRONMENTS, environments_ensure

    environments_ensure(DEFAULT_ENVIRONMENTS)  # transactional tests flush the data-migration rows
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    admin = make_user("root", superuser=True)
    payments = make_team("payments", members=[alice], actor=admin)
    approvers = make_team("release-managers", members=[bob], actor=admin)
    Environment.objects.filter(slug="prod").update(approver_team=approvers)
    return People(alice, bob, carol, admin, approvers, payments)


@pytest.fixture
def propose(django_capture_on_commit_callbacks):
    """propose_change, with its on-commit apply run (eagerly, as a worker would) before returning."""
    from portal.gitops.services import propose_change

    def _propose(**kwargs):
        kwargs.setdefault("files_to_delete", ())
        kwargs.setdefault("environment", "dev")
        kwargs.setdefault("owner", None)
        with django_capture_on_commit_callbacks(execute=True):
            cs = propose_change(**kwargs)
        cs.refresh_from_db()
        return cs

    return _propose
