"""Providers: where a location's files come from (a git checkout, or a directory as it is)."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import git
from django.conf import settings

from catalog.choices import LocationType


class LocationUnreadable(Exception):
    """The location as a whole cannot be read (clone failed, directory missing, ...)."""


@dataclass
class Checkout:
    root: Path
    commit: str
    base_urls: tuple[str, ...]


def checkout_dir(location_id: int) -> Path:
    return Path(settings.DATA_DIR) / "catalog" / "checkouts" / str(location_id)


def checkout(location, dest: Path | None = None, timeout: float | None = None) -> Checkout:
    """Bring the location's files onto this machine and say which commit they are.

    ``dest``: where to clone instead of the location's own checkout directory (dry runs).
    ``timeout``: seconds after which git is killed and the location reported unreadable (a dry run
    clones inside the request, so it is bounded).
    """
    if location.type == LocationType.PATH:
        root = Path(location.target)
        if not root.is_dir():
            raise LocationUnreadable(f"{location.target} is not a directory on this server")
        commit = ""
        try:
            commit = git.Repo(root, search_parent_directories=True).head.commit.hexsha
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
            pass
        return Checkout(root=root, commit=commit, base_urls=(root.resolve().as_uri(),))
    return _git_checkout(location, dest or checkout_dir(location.pk), timeout)


def _git_env(location) -> dict[str, str]:
    """Transports git may use: the network ones, plus local files only for a local repository
    (which only platform admins may register). Never prompt for credentials."""
    from portal.validators import is_remote_git_url

    protocols = "https:ssh:git" if is_remote_git_url(location.target) else "https:ssh:git:file"
    return {"GIT_ALLOW_PROTOCOL": protocols, "GIT_TERMINAL_PROMPT": "0"}


def _git_checkout(location, target: Path, timeout: float | None = None) -> Checkout:
    branch = location.branch or None
    env = _git_env(location)
    try:
        if (target / ".git").is_dir():
            repo = git.Repo(target)
            repo.git.update_environment(**env)
            origin = repo.remotes.origin
            if origin.url != location.target:
                origin.set_url(location.target)
            repo.git.fetch("--depth=1", "--prune", "--quiet", "--", "origin", branch or "HEAD")
            repo.git.reset("--hard", "FETCH_HEAD")
        else:
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            if timeout:
                repo = _bounded_clone(location.target, target, branch, env, timeout)
            else:
                kwargs = {"depth": 1, "single_branch": True}
                if branch:
                    kwargs["branch"] = branch
                repo = git.Repo.clone_from(location.target, target, env=env, **kwargs)
        try:
            commit = repo.head.commit.hexsha
        except ValueError:  # HEAD names a branch with no commits: an empty repository
            raise LocationUnreadable(f"{location.target}{'@' + branch if branch else ''} has no commits yet") from None
        branch_name = branch or (None if repo.head.is_detached else repo.active_branch.name)
    except git.GitCommandError as exc:
        detail = (exc.stderr or str(exc)).strip().replace("stderr: ", "")
        raise LocationUnreadable(f"git could not read {location.target}{'@' + branch if branch else ''}: {detail}") from exc
    return Checkout(root=target, commit=commit, base_urls=_base_urls(location.target, branch_name, commit))


def _bounded_clone(url: str, target: Path, branch: str | None, env: dict[str, str], timeout: float) -> git.Repo:
    """A shallow clone that is killed, with every process git started, after ``timeout`` seconds."""
    args = ["git", "clone", "--quiet", "--depth=1", "--single-branch", *(["--branch", branch] if branch else []), "--", url, str(target)]
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # git clone, its remote helper and its connection, all at once
        proc.communicate()
        raise LocationUnreadable(f"git could not read {url}{'@' + branch if branch else ''}: no answer within {timeout:g} s") from None
    if proc.returncode != 0:
        raise git.GitCommandError(args, proc.returncode, stderr.decode("utf-8", errors="replace"))
    return git.Repo(target)


def _base_urls(target: str, branch: str | None, commit: str) -> tuple[str, ...]:
    """URL prefixes that point inside this repository (so ``$text: <url>`` placeholders resolve locally)."""
    url = target.rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    urls = [url]
    for ref in filter(None, [branch, commit, "HEAD"]):
        urls += [f"{url}/blob/{ref}", f"{url}/tree/{ref}", f"{url}/-/blob/{ref}", f"{url}/raw/{ref}"]
    return tuple(urls)
