"""Providers: where a location's files come from (a git checkout, or a directory as it is)."""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import git
from django.conf import settings

from catalog.choices import LocationType
from portal.netpolicy import not_public

logger = logging.getLogger(__name__)


class LocationUnreadable(Exception):
    """The location as a whole cannot be read (clone failed, directory missing, ...)."""


class TargetRefused(Exception):
    """A location target the URL policy does not allow (the message says what is allowed)."""


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):[^/\s]\S*$")


def git_transport(target: str) -> str:
    """The transport git would use for ``target``: https, http, ssh, git, file, ext, ... ('' if none).

    ``user@host:path`` is ssh; an absolute path is file.
    """
    target = target.strip()
    if _SCP_LIKE.match(target):
        return "ssh"
    match = _SCHEME.match(target)
    if match:
        return match[1].lower()
    return "file" if target.startswith("/") else ""


def _host(target: str) -> str:
    target = target.strip()
    scp = _SCP_LIKE.match(target)
    if scp:
        return scp["host"]
    try:
        return urlsplit(target).hostname or ""
    except ValueError:
        return ""


def _not_public(host: str) -> str:
    """Why ``host`` is not a public address a team's location may name ('' if it is one): ``portal.netpolicy``, with
    the networks an admin allows for git servers (CATALOG_GIT_ALLOWED_NETWORKS). The check runs again right before
    every clone and fetch, so a name pointed elsewhere later is caught then."""
    return not_public(host, getattr(settings, "CATALOG_GIT_ALLOWED_NETWORKS", []))


def _credentials_in(target: str) -> bool:
    """A user name with a password, or any user name in an http(s) URL (where it is a token)."""
    if _SCP_LIKE.match(target.strip()):
        return False
    try:
        parts = urlsplit(target.strip())
    except ValueError:
        return False
    return parts.password is not None or (parts.scheme.lower() in ("http", "https") and parts.username is not None)


def check_network_target(target: str) -> None:
    """The host half of the policy, also checked before every refresh (a name may point elsewhere since)."""
    if _credentials_in(target):
        raise TargetRefused("Put no credentials in the URL: everyone who may see the location would see them.")
    if getattr(settings, "CATALOG_GIT_REFUSE_LOCAL_HOSTS", True):
        reason = _not_public(_host(target))
        if reason:
            raise TargetRefused(f"That host is refused: {reason}. Use the repository's public address.")


def check_target(*, type: str, target: str, trusted: bool) -> None:
    """The URL policy for reading a location, the same for registering, dry runs and analysis.

    Directories on the server, local repositories and ``file://`` are for ``trusted``
    callers (platform admins). A git URL's transport must be one of ``CATALOG_GIT_SCHEMES``
    (https and ssh unless an admin allows more); no URL carries credentials; and for everyone
    else its host must be a public address (``_not_public``), so the portal is no window onto
    what listens on this server or its networks.
    """
    if type == LocationType.PATH:
        if not trusted:
            raise TargetRefused("Only platform admins may register a directory on the server.")
        return
    transport = git_transport(target)
    allowed = [s for s in settings.CATALOG_GIT_SCHEMES if s != "file"]
    if transport == "file":
        if not trusted and not getattr(settings, "CATALOG_ALLOW_LOCAL_GIT", False):
            raise TargetRefused(_allowed_text(allowed) + "; repositories on the Wayline server are for platform admins.")
        return
    if transport not in allowed:
        raise TargetRefused(_allowed_text(allowed) + (f"; {transport}:// is not allowed here." if transport else "."))
    if trusted:
        if _credentials_in(target):
            raise TargetRefused("Put no credentials in the URL: everyone who may see the location would see them.")
        return
    check_network_target(target)


def _allowed_text(schemes: list[str]) -> str:
    forms = [f"{s}://" for s in schemes] + (["git@host:path"] if "ssh" in schemes else [])
    return "Use a git URL of the form " + ", ".join(forms)


@dataclass
class Checkout:
    root: Path
    commit: str
    base_urls: tuple[str, ...]
    blobs: dict[str, str] | None = None  # git's blob id of each tracked regular file at ``commit``, by path


def _blob_ids(repo: git.Repo) -> dict[str, str]:
    """Git's blob id of each tracked regular file at HEAD, by path from the repository's root (one ``git ls-tree``,
    about 30 ms for 10,000 files): a refresh compares these instead of reading and hashing every file. Symbolic
    links and submodules are left out; their files are hashed."""
    blobs = {}
    for entry in repo.git.ls_tree("-r", "-z", "--full-tree", "HEAD").split("\0"):
        meta, tab, path = entry.partition("\t")
        mode, _, rest = meta.partition(" ")
        kind, _, sha = rest.partition(" ")
        if tab and kind == "blob" and mode in ("100644", "100755"):
            blobs[path] = sha
    return blobs


def checkout_dir(location_id: int) -> Path:
    return Path(settings.DATA_DIR) / "catalog" / "checkouts" / str(location_id)


def checkout(location, dest: Path | None = None, timeout: float | None = None) -> Checkout:
    """Bring the location's files onto this machine and say which commit they are.

    ``dest``: where to clone instead of the location's own checkout directory (dry runs).
    ``timeout``: seconds after which git is killed and the location reported unreadable
    (default ``CATALOG_GIT_SECONDS``; requests that clone inside themselves pass less).
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
    """Only the transport the target names (checked by ``check_target``), so a submodule or a redirect
    cannot switch to another; no redirects (they could point anywhere); never prompt for credentials."""
    transport = git_transport(location.target) or "https"
    return {
        "GIT_ALLOW_PROTOCOL": transport, "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.followRedirects", "GIT_CONFIG_VALUE_0": "false",
    }


_BRANCH_MISSING = re.compile(r"Remote branch (\S+) not found|couldn't find remote ref (\S+)")
_NEEDS_CREDENTIALS = ("not found", "Authentication failed", "could not read Username", "Permission denied",
                      "terminal prompts disabled", "Host key verification failed")


def describe_git_failure(target: str, branch: str | None, stderr: str) -> str:
    """What a failed clone or fetch means, without saying what listens where.

    Connection refused, timeouts, TLS errors and "not a git server" read the same, so
    registering locations cannot map the network. A local repository (platform admins only)
    gets git's own words. The whole stderr goes to the log.
    """
    where = f"{target}{'@' + branch if branch else ''}"
    logger.info("git could not read %s: %s", where, stderr.strip())
    if git_transport(target) == "file":
        return f"git could not read {where}: {stderr.strip()}"
    missing = _BRANCH_MISSING.search(stderr)
    if missing:
        return f"git could not read {where}: the repository has no branch {missing[1] or missing[2]}"
    if any(text in stderr for text in _NEEDS_CREDENTIALS):
        return f"git could not read {where}: the repository does not exist or needs credentials Wayline does not have"
    return (f"git could not read {where}: the server could not be reached, or did not answer as a git server, "
            "or the repository is empty; check the URL")


def _git_checkout(location, target: Path, timeout: float | None = None) -> Checkout:
    branch = location.branch or None
    env = _git_env(location)
    timeout = timeout or getattr(settings, "CATALOG_GIT_SECONDS", 300)
    if location.owner_team_id is not None and git_transport(location.target) != "file":
        # A team's location: its host is checked again right before git runs (the name may resolve elsewhere now).
        try:
            check_network_target(location.target)
        except TargetRefused as exc:
            raise LocationUnreadable(f"{location.target}: {exc}") from None
    try:
        if (target / ".git").is_dir():
            repo = git.Repo(target)
            repo.git.update_environment(**env)
            origin = repo.remotes.origin
            if origin.url != location.target:
                origin.set_url(location.target)
            repo.git.fetch("--depth=1", "--prune", "--quiet", "--", "origin", branch or "HEAD", kill_after_timeout=timeout)
            repo.git.reset("--hard", "FETCH_HEAD")
        else:
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            repo = _bounded_clone(location.target, target, branch, env, timeout)
        try:
            commit = repo.head.commit.hexsha
        except ValueError:  # HEAD names a branch with no commits: an empty repository
            if git_transport(location.target) == "file":
                raise LocationUnreadable(f"{location.target}{'@' + branch if branch else ''} has no commits yet") from None
            # Any web server that answers 200 clones as an empty repository over git's "dumb" HTTP: say no more
            # than for a server that is not there.
            raise LocationUnreadable(describe_git_failure(location.target, branch, "empty repository")) from None
        branch_name = branch or (None if repo.head.is_detached else repo.active_branch.name)
    except git.GitCommandError as exc:
        detail = (exc.stderr or str(exc)).strip().replace("stderr: ", "")
        raise LocationUnreadable(describe_git_failure(location.target, branch, detail)) from exc
    try:
        blobs = _blob_ids(repo)
    except git.GitCommandError:  # every file is hashed instead
        blobs = None
    return Checkout(root=target, commit=commit, base_urls=_base_urls(location.target, branch_name, commit), blobs=blobs)


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
