"""The only module of the GitOps engine that runs git.

* ``ensure_bare_repo`` creates a bare repository with an initial commit. Only explicit
  setup calls it (``manage.py gitops_init``, ``manage.py demo``, the stress rehearsal):
  nothing re-creates a repository that went missing.
* ``probe`` checks that a repository is there and is the one Wayline wrote to
  (``/healthz``); ``WorkingClone.fetch`` and ``ReadMirror.refresh`` check the same on
  every read and raise ``RepoUnavailable``, so nothing is pushed to, or read from, a
  repository that vanished or was replaced.
* ``repo_lock`` serialises writers of one GitOps repo across processes and
  machines: a PostgreSQL advisory lock when the database is PostgreSQL, else an
  ``fcntl`` file lock (the embedded, single-machine fallback).
* ``WorkingClone`` is the cached clone a worker commits and pushes from.
* ``ReadMirror`` is a bare mirror the web process reads history and diffs from.

Credentials never appear in a URL or an argument: HTTPS secrets reach git through
``GIT_ASKPASS`` reading the git process's environment, SSH keys through a ``0600``
key file named in ``GIT_SSH_COMMAND`` that exists only while one git command that
talks to the remote runs (``_remote_env``). Every git error is scrubbed (``scrub``)
before it is logged, stored or shown.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import git
from django.conf import settings
from django.db import connection

from portal.gitops.messages import TRAILER_CHANGE, trailer_block
from portal.logging import redact

WAYLINE_NAME = "Wayline"
WAYLINE_EMAIL = "wayline@noreply.wayline.invalid"


def _portal_trailers(committer_name: str, committer_email: str, body: str) -> tuple[list[int], list[str]]:
    """The trailer block of a commit Wayline committed; nothing for anyone else's commits."""
    if (committer_name, committer_email) != (WAYLINE_NAME, WAYLINE_EMAIL):
        return [], []
    return trailer_block(body)


class GitError(Exception):
    """A git operation failed; the message is already scrubbed of credentials."""


class PushRejected(GitError):
    """The remote refused the push because its branch moved (push again on the new head)."""


class PushRefused(GitError):
    """The remote refused the push for another reason (a hook, permissions): pushing again at once won't help."""


class RepoUnavailable(GitError):
    """The repository is missing, unreadable, or not the one Wayline wrote to (replaced, history rewritten).

    ``summary`` names the repository and the problem without git's output (for ``/healthz``,
    which anyone may read); ``str()`` adds git's scrubbed output.
    """

    def __init__(self, summary: str, detail: str = ""):
        self.summary = summary
        super().__init__(f"{summary} ({detail})" if detail else summary)


# A push refused because the branch moved under us (or the remote lost a race for the ref lock).
_BRANCH_MOVED = re.compile(r"\[rejected\]|fetch first|non-fast-forward|stale info|failed to update ref|cannot lock ref"
                           r"|incorrect old value")


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask credentials in git output: known secret values and anything ``redact`` recognises."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            for line in secret.splitlines():
                if len(line.strip()) >= 8:
                    text = text.replace(line.strip(), "***")
    return redact(text)


def gitops_root() -> Path:
    root = Path(settings.DATA_DIR) / "gitops"
    root.mkdir(parents=True, exist_ok=True)
    return root


KEY_DIR_PREFIX = "wayline-git-key-"
_STALE_KEY_SECONDS = 900  # longer than any git command may run (tasks are killed after 600 s)
_key_files_cleaned = False


def remove_stale_key_files() -> None:
    """Delete SSH keys an older Wayline left on disk: the ``keys`` folder under the data dir, and key folders of
    this user's processes killed while git ran (once per process, on first use of git)."""
    global _key_files_cleaned
    if _key_files_cleaned:
        return
    _key_files_cleaned = True
    shutil.rmtree(Path(settings.DATA_DIR) / "gitops" / "keys", ignore_errors=True)
    cutoff = time.time() - _STALE_KEY_SECONDS
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).glob(f"{KEY_DIR_PREFIX}*"):
            with contextlib.suppress(OSError):
                info = entry.lstat()
                if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)


def display_url(url: str) -> str:
    """The repository's URL as pages and ``/healthz`` may show it: without any user or password."""
    return redact(re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@", r"\1", url.strip()))


def is_local_url(url: str) -> bool:
    return url.startswith("/") or url.startswith("file://") or url.startswith(".")


def local_path(url: str) -> Path:
    return Path(url[len("file://"):] if url.startswith("file://") else url)


def ensure_bare_repo(path: str | os.PathLike, branch: str | None = None) -> Path:
    """Create a bare repository at ``path`` whose ``branch`` has an initial commit (idempotent).

    For explicit setup only (``services.gitops_repo_init``, tests, the stress rehearsal).
    """
    branch = branch or settings.WAYLINE_GITOPS_BRANCH
    path = Path(path)
    if not (path / "HEAD").exists():
        path.mkdir(parents=True, exist_ok=True)
        git.Repo.init(path, bare=True, initial_branch=branch)
    bare = git.Repo(path)
    try:
        bare.git.rev_parse("--verify", f"refs/heads/{branch}")
        return path
    except git.GitCommandError:
        pass
    readme = (
        "# GitOps repository managed by Wayline\n\n"
        "Files under this repository are written by the Wayline portal; see docs/gitops-layout.md\n"
        "in the Wayline source for the layout. Edits made here directly are detected.\n"
    )
    env = _identity_env(WAYLINE_NAME, WAYLINE_EMAIL)
    blob = bare.git.hash_object("-w", "--stdin", istream=_bytes_stream(readme))
    tree = bare.git.mktree(istream=_bytes_stream(f"100644 blob {blob}\tREADME.md\n"))
    commit = bare.git.commit_tree(tree, "-m", "Initialise GitOps repository", env=env)
    bare.git.update_ref(f"refs/heads/{branch}", commit)
    bare.git.symbolic_ref("HEAD", f"refs/heads/{branch}")
    return path


def is_local_repository(url: str) -> bool:
    """Whether a local path or file:// URL names a git repository (bare or not) on this server."""
    try:
        git.Repo(local_path(url))
        return True
    except (git.NoSuchPathError, git.InvalidGitRepositoryError):
        return False


def local_git_dir(url: str) -> Path | None:
    """The git directory of a local repository (bare or not), None when there is none at the path."""
    path = local_path(url)
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        return path
    if (path / ".git" / "HEAD").is_file():
        return path / ".git"
    return None


def _missing(url: str) -> RepoUnavailable:
    path = local_path(url)
    if path.exists():
        return RepoUnavailable(f"the GitOps repository {path} is not a git repository; restore it")
    return RepoUnavailable(f"the GitOps repository {path} is missing; restore it or run manage.py gitops_init")


def _no_branch(url: str, branch: str, known_head: str) -> RepoUnavailable:
    if known_head:
        return RepoUnavailable(
            f"the GitOps repository {display_url(url)} has no branch {branch}, which held commit {known_head[:12]} "
            "that Wayline wrote: it was replaced or the branch deleted; nothing was pushed. Restore it, or run "
            "manage.py gitops_init --accept-current-head to start over")
    return RepoUnavailable(f"the GitOps repository {display_url(url)} has no branch {branch}; run manage.py gitops_init "
                           "for a local repository, or push an initial commit to it")


def _replaced(url: str, branch: str, known_head: str) -> RepoUnavailable:
    return RepoUnavailable(
        f"the GitOps repository {display_url(url)} was replaced or its history rewritten: branch {branch} no longer "
        f"contains commit {known_head[:12]}, the last one Wayline confirmed; nothing was pushed. Restore the "
        "repository, or run manage.py gitops_init --accept-current-head once you have checked its history")


def probe(credentials: Credentials, branch: str, known_head: str = "", timeout: float = 10.0) -> str:
    """The branch head of a repository that is there and holds ``known_head``; raises ``RepoUnavailable`` otherwise.

    A local repository is read in place; a remote one answers ``ls-remote`` (whether its
    history still holds ``known_head`` is checked by the next fetch, which has the objects).
    """
    url = credentials.url
    if is_local_url(url):
        git_dir = local_git_dir(url)
        if git_dir is None:
            raise _missing(url)
        runner, env = _GitBase(git_dir, credentials), {"GIT_DIR": str(git_dir)}
        try:
            head = runner.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", env=env,
                              timeout=timeout).strip()
        except GitError:
            raise _no_branch(url, branch, known_head) from None
        if known_head and head != known_head:
            try:
                runner.run("merge-base", "--is-ancestor", known_head, head, env=env, timeout=timeout)
            except GitError:
                raise _replaced(url, branch, known_head) from None
        return head
    runner = _GitBase(Path(tempfile.gettempdir()), credentials)
    try:
        out = runner.run("ls-remote", "--heads", url, f"refs/heads/{branch}", timeout=timeout)
    except GitError as exc:
        raise RepoUnavailable(f"the GitOps repository {display_url(url)} could not be read", str(exc)) from None
    heads = [line.split("\t", 1)[0] for line in out.splitlines() if line.endswith(f"\trefs/heads/{branch}")]
    if not heads:
        raise _no_branch(url, branch, known_head)
    return heads[0]


def remote_head(url: str, branch: str) -> str:
    """The branch head of a local repository ('' when it has none)."""
    try:
        return git.Repo(local_path(url)).git.rev_parse("--verify", f"refs/heads/{branch}").strip()
    except (git.GitCommandError, git.NoSuchPathError, git.InvalidGitRepositoryError):
        return ""


def _bytes_stream(text: str):
    stream = tempfile.TemporaryFile()
    stream.write(text.encode("utf-8"))
    stream.seek(0)
    return stream


def _identity_env(author_name: str, author_email: str) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": author_name,
        "GIT_AUTHOR_EMAIL": author_email,
        "GIT_COMMITTER_NAME": WAYLINE_NAME,
        "GIT_COMMITTER_EMAIL": WAYLINE_EMAIL,
    }


@contextlib.contextmanager
def repo_lock(repo_id: int, timeout: float = 300.0):
    """Hold the per-repository writer lock (PostgreSQL advisory lock, else a file lock)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"wayline-gitops-{repo_id}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = %s", [f"{int(timeout * 1000)}ms"])
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    lock_dir = gitops_root() / "locks"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"repo-{repo_id}.lock", "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise GitError(f"timed out after {timeout:.0f}s waiting for the lock of GitOps repo {repo_id}") from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _dir_name(repo_id: int, url: str) -> str:
    return f"repo-{repo_id}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"


@dataclass
class Credentials:
    url: str
    username: str = ""
    secret: str = field(default="", repr=False)

    def secrets(self) -> tuple[str, ...]:
        return (self.secret,) if self.secret else ()


# Git commands that talk to the remote: the only ones that get credentials.
_REMOTE_COMMANDS = {"clone", "fetch", "push", "ls-remote"}


class _GitBase:
    """Runs git with the repository's credentials in the process environment only."""

    def __init__(self, directory: Path, credentials: Credentials):
        remove_stale_key_files()
        self.directory = directory
        self.credentials = credentials

    @contextlib.contextmanager
    def _remote_env(self):
        """The environment that gives one git command the credentials; an SSH key is on disk only inside this block.

        The key goes to a new ``0700`` folder in the system temp dir (``0600`` file) and is
        deleted when the command ends, failed or not.
        """
        env = {"GIT_TERMINAL_PROMPT": "0"}
        cred = self.credentials
        if cred.secret and cred.url.startswith(("http://", "https://")):
            askpass = gitops_root() / "askpass.sh"  # reads the secret from the environment; holds none itself
            if not askpass.exists():
                askpass.write_text(
                    '#!/bin/sh\ncase "$1" in\n  Username*) printf "%s" "$WAYLINE_GIT_USERNAME" ;;\n'
                    '  *) printf "%s" "$WAYLINE_GIT_PASSWORD" ;;\nesac\n'
                )
                askpass.chmod(0o700)
            env.update(GIT_ASKPASS=str(askpass), WAYLINE_GIT_USERNAME=cred.username or "git", WAYLINE_GIT_PASSWORD=cred.secret)
            yield env
            return
        if not cred.secret:
            yield env
            return
        key_dir = tempfile.mkdtemp(prefix=KEY_DIR_PREFIX)  # 0700
        try:
            key_file = os.path.join(key_dir, "id")
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
            with os.fdopen(fd, "w") as handle:
                handle.write(cred.secret.rstrip("\n") + "\n")
            env["GIT_SSH_COMMAND"] = (f"ssh -i {shlex.quote(key_file)} -o IdentitiesOnly=yes "
                                      "-o StrictHostKeyChecking=accept-new")
            yield env
        finally:
            shutil.rmtree(key_dir, ignore_errors=True)

    def run(self, *args: str, env: dict[str, str] | None = None, input_text: str | None = None, cwd: Path | None = None,
            timeout: float | None = None) -> str:
        return self.run_bytes(*args, env=env, input_bytes=None if input_text is None else input_text.encode("utf-8"),
                              cwd=cwd, timeout=timeout).decode("utf-8", errors="replace")

    def run_bytes(self, *args: str, env: dict[str, str] | None = None, input_bytes: bytes | None = None,
                  cwd: Path | None = None, timeout: float | None = None) -> bytes:
        """Run git and return its raw stdout (file contents keep their exact bytes and line endings)."""
        remote = args[0] in _REMOTE_COMMANDS
        with self._remote_env() if remote else contextlib.nullcontext({"GIT_TERMINAL_PROMPT": "0"}) as git_env:
            try:
                proc = subprocess.run(
                    ["git", *args],
                    cwd=cwd or self.directory,
                    env={**os.environ, **git_env, **(env or {})},
                    input=input_bytes,
                    capture_output=True,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise GitError(f"git {args[0]} failed: no answer within {timeout:.0f}s") from None
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", errors="replace").strip()
            stdout = proc.stdout.decode("utf-8", errors="replace").strip()
            output = scrub(f"{stderr} {stdout}".strip(), self.credentials.secrets())
            message = f"git {args[0]} failed: {output}"
            if args[0] == "push" and _BRANCH_MOVED.search(output):
                raise PushRejected(message)
            if args[0] == "push" and "rejected" in output:
                raise PushRefused(message)
            raise GitError(message)
        return proc.stdout


class WorkingClone(_GitBase):
    """The cached working clone of one repository on this machine (callers hold ``repo_lock``).

    ``known_head`` is the last branch head the portal confirmed: every fetch checks that the
    branch still holds it, and pushes to the branch go only over the head last fetched
    (``--force-with-lease``), so a repository that vanished or was replaced is never written to.
    """

    def __init__(self, repo_id: int, credentials: Credentials, branch: str, known_head: str = ""):
        super().__init__(gitops_root() / "clones" / _dir_name(repo_id, credentials.url), credentials)
        self.branch = branch
        self.known_head = known_head
        self.fetched_head = ""
        self.repo: git.Repo | None = None

    @property
    def remote_ref(self) -> str:
        return f"refs/remotes/origin/{self.branch}"

    def _check_local(self) -> None:
        if is_local_url(self.credentials.url) and local_git_dir(self.credentials.url) is None:
            raise _missing(self.credentials.url)

    def prepare(self) -> None:
        """Clone if missing; repair a clone a killed worker left half-way (stale locks, bad state)."""
        self._check_local()
        if (self.directory / ".git").exists():
            for stale in (".git/index.lock", ".git/HEAD.lock", f".git/refs/heads/{self.branch}.lock"):
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / stale).unlink()
            try:
                self.run("rev-parse", "--git-dir")
                self.run("remote", "set-url", "origin", self.credentials.url)
            except GitError:
                shutil.rmtree(self.directory, ignore_errors=True)
        if not (self.directory / ".git").exists():
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(self.directory, ignore_errors=True)
            try:
                self.run("clone", "--no-checkout", "--origin", "origin", self.credentials.url, str(self.directory),
                         cwd=self.directory.parent)
            except GitError as exc:
                shutil.rmtree(self.directory, ignore_errors=True)
                raise RepoUnavailable(f"the GitOps repository {display_url(self.credentials.url)} could not be read",
                                      str(exc)) from None
            self.run("config", "gc.auto", "0")
            self.run("config", "core.autocrlf", "false")  # bytes in git are exactly the bytes the portal wrote
        self.repo = git.Repo(self.directory)

    def fetch(self) -> str:
        """Fetch the branch and return the remote head SHA; ``RepoUnavailable`` when the repository is missing,
        unreadable, has no such branch, or its branch no longer holds ``known_head``."""
        self._check_local()
        try:
            self.run("fetch", "--quiet", "--prune", "origin", f"+refs/heads/{self.branch}:{self.remote_ref}")
        except GitError as exc:
            if "couldn't find remote ref" in str(exc):
                raise _no_branch(self.credentials.url, self.branch, self.known_head) from None
            raise RepoUnavailable(f"the GitOps repository {display_url(self.credentials.url)} could not be read",
                                  str(exc)) from None
        head = self.run("rev-parse", self.remote_ref).strip()
        if self.known_head and head != self.known_head:
            try:
                self.run("merge-base", "--is-ancestor", self.known_head, head)
            except GitError:
                raise _replaced(self.credentials.url, self.branch, self.known_head) from None
        self.fetched_head = head
        return head

    def reset_to(self, sha: str) -> None:
        self.run("checkout", "--quiet", "--force", "-B", "wayline-work", sha)
        self.run("clean", "-fdxq")

    def read(self, path: str) -> str | None:
        target = self.directory / path
        if not target.is_file():
            return None
        return target.read_bytes().decode("utf-8", errors="replace")

    def write(self, path: str, content: str | None) -> None:
        target = self.directory / path
        if content is None:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8"))

    def commit(self, *, paths: list[str], message: str, author_name: str, author_email: str) -> str:
        """Stage ``paths`` and commit (empty commits allowed, so every change leaves its trailer)."""
        if paths:
            # A delete of a path git never had is a no-op; `git add` would refuse its pathspec.
            tracked = {p for p in self.run("ls-files", "-z", "--", *paths).split("\0") if p}
            stage = [p for p in paths if p in tracked or (self.directory / p).exists()]
            if stage:
                self.run("add", "--all", "--", *stage)
        self.run("commit", "--quiet", "--allow-empty", "--no-verify", "-F", "-",
                 env=_identity_env(author_name, author_email), input_text=message)
        return self.run("rev-parse", "HEAD").strip()

    def changed_paths(self, base: str, head: str) -> set[str]:
        out = self.run("diff", "--name-only", "--no-renames", base, head)
        return {line for line in out.splitlines() if line}

    def recommit(self, old_sha: str, new_parent: str, paths: list[str], *, message: str, author_name: str,
                 author_email: str) -> str:
        """Re-create commit ``old_sha`` (which set ``paths``) on ``new_parent``, with git plumbing and a private index.

        Only valid when nothing between the old and the new parent touched ``paths``:
        the result is exactly ``new_parent`` plus our files.
        """
        out = self.run("ls-tree", "-z", old_sha, "--", *paths)
        present = {}
        for entry in out.split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                mode, _, blob = meta.split()
                present[path] = (mode, blob)
        index_info = "".join(
            f"{present[p][0]} {present[p][1]}\t{p}\n" if p in present else f"0 {'0' * 40}\t{p}\n" for p in paths
        )
        env = {"GIT_INDEX_FILE": str(self.directory / ".git" / "wayline-recommit-index")}
        self.run("read-tree", new_parent, env=env)
        self.run("update-index", "--index-info", env=env, input_text=index_info)
        tree = self.run("write-tree", env=env).strip()
        return self.run("commit-tree", tree, "-p", new_parent, "-F", "-",
                        env=_identity_env(author_name, author_email), input_text=message).strip()

    def _lease(self, ref: str) -> list[str]:
        # The target branch moves only from the head we fetched: a push never lands in a repository
        # that was emptied or replaced since (the remote refuses it as "stale info").
        if ref == self.branch and self.fetched_head:
            return [f"--force-with-lease=refs/heads/{ref}:{self.fetched_head}"]
        return []

    def push_sha(self, sha: str, ref: str) -> None:
        self.run("push", "--porcelain", *self._lease(ref), "origin", f"{sha}:refs/heads/{ref}")
        if ref == self.branch:
            self.fetched_head = sha  # the branch is where we put it: the next push of a chain goes on from here

    def push(self, ref: str, *, force: bool = False) -> None:
        if force:  # an approval branch: Wayline's alone, replaced whole
            self.run("push", "--porcelain", "origin", f"+HEAD:refs/heads/{ref}")
        else:
            self.push_sha(self.run("rev-parse", "HEAD").strip(), ref)

    def remote_branches(self, prefix: str) -> list[str]:
        """Names of the remote's branches starting with ``prefix``."""
        out = self.run("ls-remote", "--heads", "origin", f"refs/heads/{prefix}*")
        return [line.split("\t", 1)[1].removeprefix("refs/heads/") for line in out.splitlines() if "\t" in line]

    def delete_remote_branch(self, ref: str) -> None:
        with contextlib.suppress(GitError):
            self.run("push", "--quiet", "origin", "--delete", f"refs/heads/{ref}")

    def read_at(self, sha: str, path: str) -> str | None:
        """The exact text of ``path`` at commit ``sha`` (decoded like ``read``), None when the commit has no such file."""
        try:
            return self.run_bytes("show", f"{sha}:{path}").decode("utf-8", errors="replace")
        except GitError:
            return None

    def trailer_ids_since(self, base: str, head: str) -> dict[int, str]:
        """Map change id -> SHA of the newest commit in ``base..head`` whose trailer block names it."""
        return {change_id: shas[0] for change_id, shas in self.trailer_commits_since(base, head).items()}

    def trailer_commits_since(self, base: str, head: str) -> dict[int, list[str]]:
        """Map change id -> SHAs (newest first) of the commits in ``base..head`` whose trailer block names it.

        Only commits Wayline committed count, and only the final trailer block of their
        message (``messages.trailer_block``). A trailer says where to look, not that the
        change is there: callers check the commit's content before trusting it.
        """
        if base:
            try:
                self.run("merge-base", "--is-ancestor", base, head)
                rev_range = f"{base}..{head}"
            except GitError:
                rev_range = head  # history was rewritten: scan all of it
        else:
            rev_range = head
        out = self.run("log", "--format=%H%x1f%cn%x1f%ce%x1f%B%x1e", f"--grep=^{TRAILER_CHANGE}: ", rev_range)
        found: dict[int, list[str]] = {}
        for record in out.split("\x1e"):
            if record.count("\x1f") < 3:
                continue
            sha, cn, ce, body = record.split("\x1f", 3)
            for change_id in _portal_trailers(cn, ce, body)[0]:
                found.setdefault(change_id, []).append(sha.strip())
        return found


class ReadMirror(_GitBase):
    """A bare mirror for reading history and diffs, refreshed at most every few seconds.

    A refresh that finds the repository missing, or its branch without ``known_head``,
    raises ``RepoUnavailable``: pages say so instead of showing another repository's history.
    """

    REFRESH_SECONDS = 2.0

    def __init__(self, repo_id: int, credentials: Credentials, branch: str, known_head: str = ""):
        super().__init__(gitops_root() / "mirrors" / (_dir_name(repo_id, credentials.url) + ".git"), credentials)
        self.branch = branch
        self.known_head = known_head

    def invalidate(self) -> None:
        """Make the next read fetch (the engine calls this after it pushes)."""
        with contextlib.suppress(FileNotFoundError):
            (self.directory / "wayline-fetched").unlink()

    def refresh(self, force: bool = False) -> None:
        stamp = self.directory / "wayline-fetched"
        if not force and stamp.exists() and time.time() - stamp.stat().st_mtime < self.REFRESH_SECONDS:
            return
        url = self.credentials.url
        if is_local_url(url) and local_git_dir(url) is None:
            raise _missing(url)
        lock_path = self.directory.parent / (self.directory.name + ".lock")
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if not (self.directory / "HEAD").exists():
                    self.run("init", "--quiet", "--bare", str(self.directory), cwd=self.directory.parent)
                    self.run("remote", "add", "origin", url)
                self.run("remote", "set-url", "origin", url)
                try:
                    self.run("fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/heads/*")
                except GitError as exc:
                    raise RepoUnavailable(f"the GitOps repository {display_url(url)} could not be read", str(exc)) from None
                if self.known_head:
                    if not self.ref_exists(self.branch):
                        raise _no_branch(url, self.branch, self.known_head)
                    try:
                        self.run("merge-base", "--is-ancestor", self.known_head, f"refs/heads/{self.branch}")
                    except GitError:
                        raise _replaced(url, self.branch, self.known_head) from None
                stamp.touch()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def head(self, ref: str | None = None) -> str:
        return self.run("rev-parse", f"refs/heads/{ref or self.branch}").strip()

    def ref_exists(self, ref: str) -> bool:
        try:
            self.run("rev-parse", "--verify", "--quiet", f"refs/heads/{ref}")
            return True
        except GitError:
            return False

    def log(self, *, ref: str | None = None, rev: str | None = None, path: str | None = None, limit: int = 50,
            skip: int = 0) -> list[dict]:
        """Commits newest first: sha, author, committer, date, subject, body, change ids and approvers.

        ``change_ids`` and ``approved_by`` come from the final trailer block of commits
        Wayline committed only. ``approved_by`` is commit text, not proof of approval:
        pages show approvals from the database rows.
        """
        args = ["log", f"--max-count={limit}", f"--skip={skip}",
                "--format=%H%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%aI%x1f%s%x1f%B%x1e", rev or f"refs/heads/{ref or self.branch}"]
        if path:
            args += ["--", path]
        try:
            out = self.run(*args)
        except GitError:
            if rev is None and not self.ref_exists(ref or self.branch):
                return []  # a branch nothing was committed to yet has no history
            raise
        commits = []
        for record in out.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, an, ae, cn, ce, date, subject, body = record.split("\x1f", 7)
            change_ids, approved_by = _portal_trailers(cn, ce, body)
            commits.append({
                "sha": sha, "short_sha": sha[:10], "author_name": an, "author_email": ae, "committer_name": cn,
                "committer_email": ce, "date": date, "subject": subject, "body": body.strip(),
                "change_ids": change_ids, "approved_by": approved_by,
            })
        return commits

    def show_diff(self, sha: str, path: str | None = None) -> str:
        args = ["show", "--format=", "--patch", "--no-color", sha]
        if path:
            args += ["--", path]
        return self.run(*args)

    def diff(self, base: str, head: str) -> str:
        return self.run("diff", "--no-color", f"{base}...{head}")

    def read(self, path: str, rev: str | None = None) -> str | None:
        try:
            return self.run_bytes("show", f"{rev or 'refs/heads/' + self.branch}:{path}").decode("utf-8", errors="replace")
        except GitError:
            return None

    def paths(self, rev: str | None = None) -> list[str]:
        out = self.run("ls-tree", "-r", "--name-only", rev or f"refs/heads/{self.branch}")
        return [line for line in out.splitlines() if line]
