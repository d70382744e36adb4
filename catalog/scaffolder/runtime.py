"""What each action does when a step runs: the handlers behind ``catalog.scaffolder.actions``.

A handler takes a ``StepContext`` and returns the step's output. The workspace actions (``fetch:*``,
``catalog:write``, ``debug:log``) only write inside the run's workspace, so a resumed run simply does them again.
The others reach outside it and are written so that doing one twice is doing it once: ``publish:git`` marks the
repository it creates with the run's id and recognises it on a second attempt; ``catalog:register`` and
``wayline:app`` only write the database, in the same transaction as the step's checkpoint (``DATABASE_ACTIONS``).
Every one acts as the run's user, for the run's team, through the services every page uses.
"""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

import yaml
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from catalog.scaffolder.expressions import ExpressionError, parse_repo_url
from catalog.scaffolder.workspace import WorkspaceError, relative_path, render_skeleton

RUN_TRAILER = "Wayline-Run"
_NAME = __import__("re").compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# Actions whose only effect is database rows: the engine runs them in the transaction that records the step done.
DATABASE_ACTIONS = frozenset({"catalog:register", "wayline:app", "wayline:pipeline"})
# Actions that only write the workspace: a resumed run does them again to rebuild it.
WORKSPACE_ACTIONS = frozenset({"fetch:template", "fetch:plain", "catalog:write", "debug:log"})


class ActionError(Exception):
    """A step that cannot do what it was asked; the message names the field (``input.repoUrl: ...``)."""


@dataclass
class DryRunRecord:
    """What a dry run would have done outside the workspace."""

    repositories: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    change_sets: list[dict] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)


@dataclass
class StepContext:
    run_uid: str
    step_id: str
    input: dict
    workspace: Path
    template_dir: Path | None
    user: object
    team: object
    log: Callable[[str], None]
    published: list  # outputs of this run's publish:git steps so far
    dry_run: DryRunRecord | None = None

    @property
    def is_dry_run(self) -> bool:
        return self.dry_run is not None


def _skeleton(ctx: StepContext) -> Path:
    url = ctx.input.get("url")
    if ctx.template_dir is None:
        raise ActionError("input.url: the template's files are not available to this run")
    if isinstance(url, str) and ("://" in url or url.startswith(("git@", "/"))):
        raise ActionError(f"input.url: {url[:120]!r}: only folders beside the template (./skeleton) are fetched")
    try:
        relative = relative_path(url, field="input.url")
    except WorkspaceError as exc:
        raise ActionError(str(exc)) from None
    # A symbolic link anywhere on the way (``./escape/sub`` with ``escape -> /``) would read outside the template's
    # folder: the resolved folder must still be inside it.
    root = ctx.template_dir.resolve()
    resolved = (ctx.template_dir / relative).resolve()
    if resolved != root and root not in resolved.parents:
        raise ActionError(f"input.url: {url[:120]!r} leads outside the template's folder (through a symbolic link)")
    return ctx.template_dir / relative


def fetch_template(ctx: StepContext) -> dict:
    written = render_skeleton(
        _skeleton(ctx), ctx.workspace, values=ctx.input.get("values") or {}, target_path=ctx.input.get("targetPath") or "",
        copy_without_templating=(ctx.input.get("copyWithoutTemplating") or ctx.input.get("copyWithoutRender") or ()),
        template_file_extension=ctx.input.get("templateFileExtension") or False)
    ctx.log(f"fetched {len(written)} files from {ctx.input.get('url')}")
    return {}


def fetch_plain(ctx: StepContext) -> dict:
    written = render_skeleton(_skeleton(ctx), ctx.workspace, values={}, target_path=ctx.input.get("targetPath") or "",
                              plain=True)
    ctx.log(f"fetched {len(written)} files from {ctx.input.get('url')} as they are")
    return {}


def owner_named(owner: str, *, default_namespace: str = "default") -> tuple[str, str]:
    """Whom an owner ref names, read as ingestion reads it (case ignored; a bare name is a Group of
    ``default_namespace``): ``("team", slug)`` for a Group, ``("user", username)`` for a User of the default
    namespace, else ``("other", ref)``. The one rule for every owner a run is checked against. Raises EntityRefError."""
    from catalog.refs import parse_ref
    from catalog.services import team_slug_for

    ref = parse_ref(owner.strip(), default_kind="group", default_namespace=default_namespace)
    kind, namespace, name = ref.kind.lower(), ref.namespace.lower(), ref.name.lower()
    if kind == "group":
        return "team", team_slug_for(namespace, name)
    if kind == "user" and namespace == "default":
        return "user", name
    return "other", f"{kind}:{namespace}/{name}"


def _names_team(owner, team) -> bool:
    from catalog.refs import EntityRefError

    try:
        return isinstance(owner, str) and owner_named(owner) == ("team", team.slug)
    except EntityRefError:
        return False


def _owner_check(ctx: StepContext, owner, where: str) -> None:
    """An owner a step writes must be the run's team: nobody scaffolds into another team's ownership."""
    if owner in (None, ""):
        return
    if not _names_team(owner, ctx.team):
        raise ActionError(f"{where}: {str(owner)[:120]!r} is not the run's team ({ctx.team.slug}); a run creates only "
                          "what its own team owns")


def catalog_write(ctx: StepContext) -> dict:
    entity = ctx.input.get("entity")
    spec = entity.get("spec") if isinstance(entity.get("spec"), dict) else {}
    _owner_check(ctx, spec.get("owner"), "input.entity.spec.owner")
    try:
        relative = relative_path(ctx.input.get("filePath") or "catalog-info.yaml", field="input.filePath")
    except WorkspaceError as exc:
        raise ActionError(str(exc)) from None
    target = ctx.workspace / relative
    if target.is_symlink():
        raise ActionError(f"input.filePath: {relative} is a symbolic link")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(entity, sort_keys=False))
    ctx.log(f"wrote {relative}")
    return {}


def debug_log(ctx: StepContext) -> dict:
    if ctx.input.get("message"):
        ctx.log(str(ctx.input["message"]))
    listing = ctx.input.get("listWorkspace")
    if listing:
        for path in workspace_files(ctx.workspace):
            if listing == "with-contents":
                ctx.log(f"{path}:\n{(ctx.workspace / path).read_text(errors='replace')[:4000]}")
            else:
                ctx.log(path)
    return {}


def workspace_files(workspace: Path) -> list[str]:
    """The files under ``workspace``; a symbolic link anywhere is an error (reading it could read the server's disk)."""
    out = []
    for directory, subdirectories, files in os.walk(workspace, followlinks=False):
        subdirectories[:] = sorted(d for d in subdirectories if d != ".git")
        for name in sorted(subdirectories + files):
            full = Path(directory) / name
            if full.is_symlink():
                raise ActionError(f"{full.relative_to(workspace).as_posix()}: a symbolic link is refused")
        for name in sorted(files):
            out.append((Path(directory) / name).relative_to(workspace).as_posix())
    return out


def directory_contents(workspace: Path) -> list[dict]:
    """The workspace as Backstage's dry run answers it: path, base64 content, executable."""
    out = []
    for path in workspace_files(workspace):
        full = workspace / path
        out.append({"path": path, "base64Content": base64.b64encode(full.read_bytes()).decode(),
                    "executable": bool(full.stat().st_mode & 0o111)})
    return out


# --- publish:git ------------------------------------------------------------------------------------------------


def _repo_names(ctx: StepContext) -> tuple[str, str]:
    try:
        parts = parse_repo_url(ctx.input.get("repoUrl"))
    except ExpressionError as exc:
        raise ActionError(f"input.repoUrl: {exc}") from None
    owner = parts.get("owner") or parts.get("organization") or ctx.team.slug
    repo = parts["repo"]
    if owner != ctx.team.slug:  # repositories are kept per team: a run creates only under its own
        raise ActionError(f"input.repoUrl: owner {owner[:80]!r} is not the run's team ({ctx.team.slug}); a run creates "
                          "repositories for its own team only")
    for name, value in (("owner", owner), ("repo", repo)):
        if not _NAME.match(value) or value.endswith((".git", ".lock")) or ".." in value:
            raise ActionError(f"input.repoUrl: {name} {value[:80]!r} is not a plain repository name "
                              "(letters, digits, '.', '_', '-')")
    return owner, repo


def published_repo_path(owner: str, repo: str) -> Path:
    return Path(settings.SCAFFOLDER_REPOS_DIR) / owner / f"{repo}.git"


def published_remote_url(owner: str, repo: str) -> str:
    return settings.SCAFFOLDER_GIT_URL.format(owner=owner, repo=repo)


def _git(*args, cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **(env or {}), "GIT_TERMINAL_PROMPT": "0"},
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise ActionError(f"git {args[0]}: {(result.stderr or result.stdout).strip()[:500]}")
    return result.stdout.strip()


def _marker(path: Path) -> Path:
    return path / "wayline-run"


def _run_commit(path: Path, branch: str, run_uid: str) -> str | None:
    """The commit on ``branch`` this run pushed, if it did."""
    result = subprocess.run(["git", "log", "-1", "--format=%H%n%B", branch], cwd=path, capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        return None
    commit, _, body = result.stdout.partition("\n")
    return commit if f"{RUN_TRAILER}: {run_uid}" in body else None


def _workspace_commit(ctx: StepContext, source: Path, branch: str) -> tuple[Path, str]:
    """The workspace (``source``) as one commit authored by the run's user, with the run's trailer."""
    name = ctx.user.get_full_name() or ctx.user.username
    email = ctx.user.email or f"{ctx.user.username}@wayline.invalid"
    identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": "Wayline",
                "GIT_COMMITTER_EMAIL": "wayline@wayline.invalid"}
    work = ctx.workspace.parent / f"publish-{ctx.step_id}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    _git("init", "--quiet", f"--initial-branch={branch}", cwd=work)
    _git("add", "--all", cwd=work)
    message = (ctx.input.get("gitCommitMessage") or "initial commit").strip()
    _git("commit", "--quiet", "--allow-empty", "-m", f"{message}\n\n{RUN_TRAILER}: {ctx.run_uid}", cwd=work, env=identity)
    return work, _git("rev-parse", "HEAD", cwd=work)


def _publish_remote(ctx: StepContext, push_url: str, owner: str, repo: str, branch: str, source: Path, output: dict):
    """``SCAFFOLDER_GIT_PUSH_URL``: push to a git server that creates the repository on first push (or where it was
    created empty). A branch already there is this run's own commit (a resumed run) or refuses the step."""
    remote = {k: v for k, v in output.items() if k != "repoPath"}
    heads = _git("ls-remote", "--heads", push_url, f"refs/heads/{branch}") if not ctx.is_dry_run else ""
    if heads:
        probe = ctx.workspace.parent / f"probe-{ctx.step_id}"
        shutil.rmtree(probe, ignore_errors=True)
        _git("init", "--quiet", "--bare", str(probe))
        _git("fetch", "--quiet", "--depth=1", push_url, f"refs/heads/{branch}:refs/heads/{branch}", cwd=probe)
        commit = _run_commit(probe, branch, ctx.run_uid)
        shutil.rmtree(probe, ignore_errors=True)
        if commit is None:
            raise ActionError(f"input.repoUrl: the repository {owner}/{repo} exists already with a branch {branch}")
        ctx.log(f"the repository {owner}/{repo} was published by this run already (commit {commit[:12]})")
        return {**remote, "commitHash": commit}
    if ctx.is_dry_run:
        ctx.dry_run.repositories.append(f"{owner}/{repo}")
        ctx.log(f"would push the workspace to {remote['remoteUrl']} ({branch})")
        return {**remote, "commitHash": ""}
    work, commit = _workspace_commit(ctx, source, branch)
    _git("push", "--quiet", push_url, f"HEAD:refs/heads/{branch}", cwd=work)  # refused if another push got there
    shutil.rmtree(work, ignore_errors=True)
    ctx.log(f"pushed the repository {owner}/{repo} ({remote['remoteUrl']}) at {commit[:12]}")
    return {**remote, "commitHash": commit}


def publish_git(ctx: StepContext) -> dict:
    owner, repo = _repo_names(ctx)
    branch = ctx.input.get("defaultBranch") or "main"
    from portal.validators import git_branch_validator

    try:
        git_branch_validator(branch)
    except ValidationError as exc:
        raise ActionError(f"input.defaultBranch: {exc.messages[0]}") from None
    path = published_repo_path(owner, repo)
    remote = published_remote_url(owner, repo)
    output = {"remoteUrl": remote, "repoContentsUrl": f"{remote.removesuffix('.git')}/blob/{branch}",
              "repoPath": f"{owner}/{repo}"}
    source = ctx.workspace
    if ctx.input.get("sourcePath"):
        try:
            source = ctx.workspace / relative_path(ctx.input["sourcePath"], field="input.sourcePath")
        except WorkspaceError as exc:
            raise ActionError(str(exc)) from None
    if settings.SCAFFOLDER_GIT_PUSH_URL:
        push_url = settings.SCAFFOLDER_GIT_PUSH_URL.format(owner=owner, repo=repo)
        return _publish_remote(ctx, push_url, owner, repo, branch, source, output)
    mine = _marker(path).is_file() and _marker(path).read_text().strip() == ctx.run_uid
    if path.exists() and not mine:
        raise ActionError(f"input.repoUrl: the repository {owner}/{repo} exists already")
    if ctx.is_dry_run:
        ctx.dry_run.repositories.append(f"{owner}/{repo}")
        ctx.log(f"would create the repository {owner}/{repo} and push the workspace to {branch}")
        return {**output, "commitHash": ""}
    if mine and (commit := _run_commit(path, branch, ctx.run_uid)):
        ctx.log(f"the repository {owner}/{repo} was created by this run already (commit {commit[:12]})")
        return {**output, "commitHash": commit}
    if not mine:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()  # atomic: of two runs naming one repository, one gets it
        except FileExistsError:
            raise ActionError(f"input.repoUrl: the repository {owner}/{repo} exists already") from None
        _marker(path).write_text(ctx.run_uid + "\n")
        _git("init", "--bare", "--quiet", f"--initial-branch={branch}", str(path))
        _marker(path).write_text(ctx.run_uid + "\n")
    work, commit = _workspace_commit(ctx, source, branch)
    _git("push", "--quiet", str(path), f"HEAD:refs/heads/{branch}", cwd=work)
    _git("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=path)
    subprocess.run(["git", "update-server-info"], cwd=path, capture_output=True, timeout=60)  # for dumb-HTTP serving
    shutil.rmtree(work, ignore_errors=True)
    ctx.log(f"created the repository {owner}/{repo} ({remote}) at {commit[:12]}")
    return {**output, "commitHash": commit}


def published_by_run(ctx: StepContext, url: str) -> tuple[str, str, str] | None:
    """(owner, repo, branch) when ``url`` is inside a repository an earlier ``publish:git`` step of this run created
    (only that action's handler writes ``repoPath``; a template cannot set a step's output)."""
    for output in ctx.published:
        contents, repo_path = output.get("repoContentsUrl"), output.get("repoPath")
        if isinstance(contents, str) and isinstance(repo_path, str) and url.startswith(contents.rstrip("/") + "/"):
            owner, _, repo = repo_path.partition("/")
            return owner, repo, contents.rstrip("/").rsplit("/blob/", 1)[1]
    return None


# --- catalog:register ---------------------------------------------------------------------------------------------


def catalog_register(ctx: StepContext) -> dict:
    from catalog.choices import LocationType
    from catalog.models import Location
    from catalog.services import location_register

    if ctx.input.get("catalogInfoUrl"):
        url = ctx.input["catalogInfoUrl"]
    else:
        path = (ctx.input.get("catalogInfoPath") or "/catalog-info.yaml").lstrip("/")
        url = f"{ctx.input['repoContentsUrl'].rstrip('/')}/{path}"
    published = published_by_run(ctx, url) if ctx.input.get("repoContentsUrl") or "/blob/" in url else None
    if published is not None:
        owner, repo, branch = published
        contents = f"{published_remote_url(owner, repo).removesuffix('.git')}/blob/{branch}/"
        try:
            file_path = relative_path(url[len(contents):], field="input.catalogInfoPath")
        except WorkspaceError as exc:
            raise ActionError(str(exc)) from None
        target, kind, trusted = published_repo_path(owner, repo).as_uri(), LocationType.GIT, True
    else:
        if "/blob/" not in url:
            raise ActionError(f"input.catalogInfoUrl: {url[:160]!r}: give <repository>/blob/<branch>/<file>")
        target, _, rest = url.partition("/blob/")
        branch, _, file_path = rest.partition("/")
        target, kind, trusted = target + (".git" if not target.endswith(".git") else ""), LocationType.GIT, False
    if published is not None:
        if any(ch in str(file_path) for ch in "*?[]{},"):
            # one file, read and checked below: a pattern or a list would register files nobody checked
            raise ActionError(f"input.catalogInfoPath: {str(file_path)[:120]!r}: one file, not a pattern or a list")
        if ctx.is_dry_run:
            candidate = ctx.workspace / str(file_path)
            text = candidate.read_text(errors="replace") if candidate.is_file() and not candidate.is_symlink() else None
        else:
            text = _published_file(published_repo_path(owner, repo), branch, str(file_path))
        if text is None:  # fail closed: what cannot be read cannot be checked
            raise ActionError(f"input.catalogInfoPath: {str(file_path)[:120]!r} is not a file of the published repository")
        refused = owners_refused(text, team=ctx.team, user=ctx.user, where=str(file_path))
        if refused:
            raise ActionError(f"input: {refused}")
    existing = Location.objects.filter(type=kind, target=target, branch=branch, path=str(file_path)).first()
    if ctx.is_dry_run:
        ctx.dry_run.locations.append(url)
        ctx.log(f"would register {url} for {ctx.team.slug}")
        return {"catalogInfoUrl": url, "entityRef": ""}
    if existing is not None and existing.owner_team_id == ctx.team.pk:
        location = existing  # registered by an earlier attempt, or by hand: the same location
    else:
        try:
            location = location_register(actor=ctx.user, type=kind, target=target, branch=branch, path=str(file_path),
                                         owner_team=ctx.team, visibility="public", published_by_wayline=trusted)
        except ValidationError as exc:
            raise ActionError(f"input: {'; '.join(exc.messages)}") from None
        except PermissionDenied as exc:
            raise ActionError(f"input: {exc}") from None
    entity_ref = ""
    if published is not None:
        entity_ref = _entity_ref_in(published_repo_path(*published[:2]), published[2], str(file_path))
    ctx.log(f"registered {url} for {ctx.team.slug}" + (f" ({entity_ref})" if entity_ref else ""))
    return {"catalogInfoUrl": url, "entityRef": entity_ref, "locationId": location.pk}


def _published_file(repo: Path, branch: str, file_path: str) -> str | None:
    result = subprocess.run(["git", "show", f"{branch}:{file_path}"], cwd=repo, capture_output=True, text=True,
                            timeout=60, errors="replace")
    return result.stdout if result.returncode == 0 else None


OWNERLESS_REFUSED = {"group", "user", "location"}


def owners_refused(text: str, *, team, user, where: str) -> str:
    """Why the catalog file a run publishes may not be registered for ``team``, or "": each entity is owned by the
    run's team (or by the user who started it), and none is a Group, a User or a Location (which would add members
    to teams or pull in files nobody checked). Whatever a parameter or a skeleton put in the file, it grants nothing."""
    from catalog.parsing import parse_documents
    from catalog.refs import EntityRefError

    documents, errors = parse_documents(text)
    if errors:
        return f"{where}:{errors[0].line}: {errors[0].message}"
    for document in documents:
        data = document.data if isinstance(document.data, dict) else {}
        metadata, spec = data.get("metadata"), data.get("spec")
        # plain values only where ownership is decided: a placeholder ($text, $json, $yaml) would be resolved by
        # ingestion after this check, so a kind, a name or an owner must be written out
        if not isinstance(data.get("kind"), str) or not isinstance(metadata, dict) or not isinstance(spec, dict) \
                or any(key.startswith("$") for key in (*data, *metadata, *spec) if isinstance(key, str)) \
                or not all(isinstance(metadata.get(key, ""), str) for key in ("name", "namespace")):
            return (f"{where}:{document.line}: kind, metadata.name, metadata.namespace and spec must be written out "
                    "(no placeholders) in a catalog file a run registers")
        kind, name = data["kind"].lower(), metadata.get("name")
        namespace = (metadata.get("namespace") or "default").lower()
        label = f"{where}:{document.line}: {kind or 'entity'} {str(name)[:80]!r}"
        if kind in OWNERLESS_REFUSED:
            return f"{label}: a run registers no {kind.title()} entities"
        owner = spec.get("owner")
        if not isinstance(owner, str) or not owner.strip():
            return f"{label}: spec.owner is missing; it must be group:default/{team.slug}"
        try:  # a bare owner is in the entity's own namespace, as ingestion reads it
            named = owner_named(owner, default_namespace=namespace)
        except EntityRefError as exc:
            return f"{label}: spec.owner: {exc}"
        if named in (("team", team.slug), ("user", user.get_username().lower())):
            continue
        return f"{label}: spec.owner {owner.strip()[:120]!r} is not the run's team (group:default/{team.slug})"
    return ""


def _entity_ref_in(repo: Path, branch: str, file_path: str) -> str:
    """The first entity's ref in ``file_path`` of the published repository (what Backstage's output names)."""
    result = subprocess.run(["git", "show", f"{branch}:{file_path}"], cwd=repo, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return ""
    try:
        document = next(yaml.safe_load_all(result.stdout), None)
    except yaml.YAMLError:
        return ""
    if not isinstance(document, dict) or not isinstance(document.get("metadata"), dict):
        return ""
    metadata = document["metadata"]
    return f"{str(document.get('kind', '')).lower()}:{metadata.get('namespace') or 'default'}/{metadata.get('name')}"


# --- wayline:app ---------------------------------------------------------------------------------------------------


def wayline_app(ctx: StepContext) -> dict:
    from django.db import transaction

    from van.models import App
    from van.services import app_create, publish_outcomes

    _owner_check(ctx, ctx.input.get("owner"), "input.owner")
    name = ctx.input["name"]
    fields = {k: ctx.input[k] for k in ("path", "image", "version", "tags") if ctx.input.get(k) not in (None, "")}
    fields.setdefault("path", ".")
    if ctx.input.get("componentRef"):
        fields["component_ref"] = ctx.input["componentRef"]
    if App.objects.filter(name=name).exists():
        raise ActionError(f"input.name: an app named {name!r} exists already")
    try:
        with publish_outcomes() as outcomes, transaction.atomic():
            app = app_create(actor=ctx.user, name=name, owner_team=ctx.team, namespace=ctx.input["namespace"],
                             repo_url=ctx.input["repoUrl"], **fields)
            changesets = [o.changeset for o in outcomes if o.changeset is not None]
            described = [_change_described(cs, ctx.user) for cs in changesets]
            if ctx.is_dry_run:
                ctx.dry_run.apps.append(name)
                ctx.dry_run.change_sets.extend(described)
                transaction.set_rollback(True)  # the dry run's app and change sets are never kept
    except ValidationError as exc:
        raise ActionError("; ".join(f"input.{key}: {' '.join(v)}" for key, v in exc.message_dict.items())
                          if hasattr(exc, "message_dict") else f"input: {'; '.join(exc.messages)}") from None
    for change in described:
        what = "would propose a change set" if ctx.is_dry_run else f"proposed change set #{change['id']}"
        ctx.log(f"{what} to {change['environment']} ({change['fileCount']} files)")
    if not changesets:
        ctx.log("no distribution rule places this app yet: no change set was proposed")
    return {"app": name, "appId": None if ctx.is_dry_run else app.pk,
            "changeSets": [] if ctx.is_dry_run else [cs.pk for cs in changesets]}


def _change_described(changeset, user) -> dict:
    """A change set as the run's log and a dry run show it: its files only where ``user`` may see its owner (a VAN
    of another team whose rule places the app), else how many; never that owner's name."""
    from portal.gitops.models import ChangeSet

    files = sorted(changeset.files.values_list("path", flat=True))
    visible = ChangeSet.objects.permits(user, "view", changeset)
    return {"id": changeset.pk, "environment": changeset.environment.slug, "fileCount": len(files),
            "files": files if visible else []}


# --- wayline:pipeline ----------------------------------------------------------------------------------------------


def wayline_pipeline(ctx: StepContext) -> dict:
    """The golden CI pipeline of the app a previous step created, on a VAN the user may change whose Argo Events +
    Workflows add-on is on; skipped (said so) when there is none. The webhook secret is not kept by the run: the
    pipeline's page gives a new one, shown once."""
    from django.urls import reverse

    from addons.models import CiPipeline
    from addons.services import pipeline_create
    from van.models import App, Van

    vans = (Van.objects.restrict(ctx.user, "change").filter(addons__slug="argo-workflows", addons__enabled=True)
            .distinct().order_by("name"))
    wanted = (ctx.input.get("van") or "").strip()
    if wanted:
        vans = vans.filter(name=wanted)
        if not vans:  # another team's VAN is refused like a missing one, without saying whether it exists
            raise ActionError(f"input.van: no VAN you may change named {wanted[:63]!r} runs Argo Events + Workflows")
    vans = list(vans[:2])
    if not vans:
        ctx.log("no VAN you may change runs Argo Events + Workflows: no CI pipeline was set up (turn the add-on on "
                "and set one up from the app's CI page)")
        return {"pipelineId": None, "van": ""}
    if len(vans) > 1:
        raise ActionError("input.van: more than one VAN you may change runs Argo Events + Workflows; name one")
    van = vans[0]
    if ctx.is_dry_run:
        ctx.log(f"would set up the CI pipeline of {ctx.input['app']} on VAN {van.name}")
        return {"pipelineId": None, "van": van.name}
    app = App.objects.filter(name=ctx.input["app"], owner_team=ctx.team).first()
    published = {p.get("remoteUrl") for p in ctx.published}
    if app is None or not App.objects.permits(ctx.user, "change", app) or app.repo_url not in published:
        # only the app this run created (its repository is the one the run published): the step sets up nothing
        # for software the run did not make
        raise ActionError(f"input.app: this run created no app named {str(ctx.input['app'])[:63]!r}")
    existing = CiPipeline.objects.filter(app=app).first()
    if existing is not None:
        if existing.created_by_id != ctx.user.pk or existing.van_id != van.pk:
            raise ActionError(f"input.app: {app.name} has a CI pipeline already")  # which VAN is not said
        pipeline = existing  # set up by an earlier attempt of this run
    else:
        try:
            pipeline = pipeline_create(actor=ctx.user, app=app, van=van, branch=ctx.input.get("branch") or "main",
                                       test_image=ctx.input.get("testImage") or "python:3.12-slim",
                                       test_command=ctx.input.get("testCommand") or "make test")
        except ValidationError as exc:
            fields = {"test_image": "testImage", "test_command": "testCommand", "__all__": "van"}
            raise ActionError("; ".join(f"input.{fields.get(key, key)}: {' '.join(v)}" for key, v in exc.message_dict.items())
                              if hasattr(exc, "message_dict") else f"input: {'; '.join(exc.messages)}") from None
    page = reverse("addons:app_pipeline", kwargs={"pk": app.pk})
    ctx.log(f"set up the CI pipeline of {app.name} on VAN {pipeline.van.name}; for the git server's webhook, choose "
            f"'New webhook secret' on its page ({page}): the secret is shown there once, never kept by the run")
    return {"pipelineId": pipeline.pk, "van": pipeline.van.name, "pipelineUrl": page}


HANDLERS: dict[str, Callable[[StepContext], dict]] = {
    "fetch:template": fetch_template,
    "fetch:plain": fetch_plain,
    "catalog:write": catalog_write,
    "debug:log": debug_log,
    "publish:git": publish_git,
    "catalog:register": catalog_register,
    "wayline:app": wayline_app,
    "wayline:pipeline": wayline_pipeline,
}


def materialise(directory_contents_list: list, target: Path) -> None:
    """Backstage's ``directoryContents`` (a dry run's template files) written into ``target``, paths checked."""
    for index, item in enumerate(directory_contents_list or []):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise ActionError(f"directoryContents[{index}]: each item has a path and a base64Content")
        try:
            relative = relative_path(item["path"], field=f"directoryContents[{index}].path")
            content = base64.b64decode(item.get("base64Content") or "", validate=True)
        except WorkspaceError as exc:
            raise ActionError(str(exc)) from None
        except ValueError:
            raise ActionError(f"directoryContents[{index}].base64Content: not base64") from None
        if relative == PurePosixPath("."):
            raise ActionError(f"directoryContents[{index}].path: empty")
        full = target / relative
        try:
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_bytes(content)
        except OSError:  # "a" and "a/b": a path both a file and a folder
            raise ActionError(f"directoryContents[{index}].path: {item['path'][:120]!r} clashes with another "
                              "item's path") from None
