"""Demo GitOps setup: the local bare repository and the environments, with Prod approved by the platform team.

Also the demo's outside edit: a commit pushed to the GitOps repository by someone
who is not Wayline, which the check for outside edits then flags.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import git

from portal.gitops import engine, environments
from portal.gitops.gitrepo import is_local_url, local_path
from portal.gitops.models import Environment, GitOpsRepo
from portal.gitops.services import environments_ensure, gitops_repo_init
from portal.models import Team


def seed(*, actor=None):
    gitops_repo_init(actor=actor)  # explicit setup: creates the bare repo under the data dir when missing, else refuses
    environments_ensure(environments.DEFAULTS)
    platform = Team.objects.filter(slug="platform").first()
    if platform is not None:
        Environment.objects.filter(slug="prod", approver_team__isnull=True).update(approver_team=platform)
    return actor


def outside_edit_push(*, repo: GitOpsRepo, path: str, old: str, new: str, message: str, author: tuple[str, str]) -> bool:
    """Push, as ``author``, a commit replacing ``old`` by ``new`` in ``path`` of a local GitOps repository (once:
    a commit of ``author`` touching ``path`` is found again), then check the repository for outside edits.

    Returns whether a commit was pushed.
    """
    if not is_local_url(repo.url):
        return False
    name, email = author
    bare = git.Repo(local_path(repo.url))
    pushed = False
    if not bare.git.log("-1", "--format=%H", f"--author=<{email}>", repo.branch, "--", path):
        with tempfile.TemporaryDirectory(prefix="wayline-demo-") as scratch:
            clone = git.Repo.clone_from(str(local_path(repo.url)), scratch, branch=repo.branch)
            file = Path(scratch, path)
            content = file.read_text(encoding="utf-8") if file.is_file() else ""
            if old in content:
                file.write_text(content.replace(old, new, 1), encoding="utf-8")
                env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
                clone.git.commit("-q", "-m", message, "--", path, env=env)
                clone.git.push("-q", "origin", f"HEAD:{repo.branch}")
                pushed = True
    engine.sync_repo(repo.pk)
    return pushed
