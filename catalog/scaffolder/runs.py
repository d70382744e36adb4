"""Runs of templates: starting one, executing it step by step with checkpoints, cancelling, retrying, dry runs.

``run_create`` checks everything a run needs before it is stored (the template is one the user may see, the values
fit its parameters, every step's action and input are known, the team is one the user may create for) and queues
it after commit. ``run_execute`` (the Celery task ``catalog.scaffolder.run``) takes the run's lease, so one worker
runs it at a time, and goes through the steps: a step recorded completed is a checkpoint, never done again outside
the workspace; the workspace itself is rebuilt from the template's files by doing the workspace steps again. A
worker that dies leaves its lease to expire; the sweep (every minute) queues the run again and another worker
resumes it from the last completed step. A failed run keeps its checkpoints: ``run_retry`` starts it again from
the step that failed.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import traceback
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import (
    FINAL_STATES,
    CatalogIdentity,
    Entity,
    RunState,
    ScaffolderEvent,
    ScaffolderRun,
    ScaffolderRunStep,
    StepState,
)
from catalog.scaffolder import runtime
from catalog.scaffolder.actions import action_get
from catalog.scaffolder.expressions import (
    ExpressionError, budget_clear, budget_start, expression_budget, render_value, truthy,
)
from catalog.scaffolder.template import (
    Template,
    TemplateError,
    parameters_check,
    preflight,
    schema_validator,
    template_parse,
)
from catalog.scaffolder.workspace import WorkspaceError
from portal.services import audit_record, ownership_grant

logger = logging.getLogger(__name__)

MAX_LOG_EVENTS = 2000  # a run's log beyond this is cut (a template looping debug:log cannot fill the database)


class RunRefused(ValidationError):
    """A run that cannot start; ``problems`` are field -> messages (parameters, steps, team)."""


# --- who a run is for ---------------------------------------------------------------------------------------------


def secret_fields(template: Template) -> set[str]:
    """Parameters a page marks ``ui:field: Secret`` (or ``ui:widget: password``): never stored in clear, never logged."""
    out = set()
    for page in template.pages:
        for name, prop in (page.get("properties") or {}).items():
            if isinstance(prop, dict) and (prop.get("ui:field") == "Secret" or prop.get("ui:widget") == "password"):
                out.add(name)
    return out


def run_team(*, actor, values: dict, owner_team=None):
    """The team a run creates for: the one named (``owner_team``, a slug), else the ``owner`` parameter when it names
    a team, else the user's only team. Always one the user may create for; nothing in the values grants that."""
    from catalog.refs import EntityRefError
    from portal.selectors import teams_user_can_edit_for

    editable = teams_user_can_edit_for(user=actor)
    if owner_team:
        team = editable.filter(slug=str(owner_team)).first()
        if team is None:
            raise PermissionDenied(f"You may not create for the team {str(owner_team)[:63]!r}.")
        return team
    owner = values.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise RunRefused({"owner": ["owner: an entity reference (group:default/your-team)"]})
    if isinstance(owner, str) and owner.strip():
        try:
            kind, named = runtime.owner_named(owner)
        except EntityRefError as exc:
            raise RunRefused({"owner": [f"owner: {exc}"]}) from None
        if kind == "team":
            team = editable.filter(slug=named).first()
            if team is None:
                raise PermissionDenied(f"values.owner: you may not create for {owner.strip()[:120]!r}; choose one of "
                                       "your own teams")
            return team
        if (kind, named) != ("user", actor.get_username().lower()):
            raise PermissionDenied(f"values.owner: {owner.strip()[:120]!r} is neither one of your teams nor you")
    teams = list(editable[:2])
    if len(teams) == 1:
        return teams[0]
    if not teams:
        raise PermissionDenied("You are in no team you may create for.")
    raise RunRefused({"owner": ["owner: choose the team the new software belongs to"]})


def user_context(user) -> dict:
    """``${{ user.entity }}`` and ``${{ user.ref }}``: the user's catalog User entity, when the catalog links one."""
    identity = CatalogIdentity.objects.filter(user=user).first()
    if identity is None:
        return {"ref": f"user:default/{user.username}", "entity": {"metadata": {"name": user.username}}}
    entity = Entity.objects.filter(ref=identity.ref).select_related("document").first()
    return {"ref": identity.ref, "entity": entity.document.data if entity is not None else {}}


# --- starting a run -----------------------------------------------------------------------------------------------


def template_entity_get(*, user, ref: str) -> Entity:
    """The Template entity ``ref`` (``template:default/name``) as ``user`` may see it; ``Entity.DoesNotExist`` else."""
    from catalog import selectors
    from catalog.refs import EntityRefError, parse_ref

    try:
        parsed = parse_ref(ref, default_kind="template", default_namespace="default")
    except EntityRefError:
        raise Entity.DoesNotExist from None
    if parsed.kind != "template":
        raise Entity.DoesNotExist
    entity = (selectors.entity_list(user=user).filter(kind__iexact="template", namespace__iexact=parsed.namespace,
                                                      name__iexact=parsed.name)
              .select_related("document", "location").first())
    if entity is None:
        raise Entity.DoesNotExist
    return entity


def checked(template: Template, values, secrets, *, user) -> tuple[dict, dict]:
    """(parameters without secrets, secrets) once the values fit the template and every step is runnable;
    ``RunRefused`` naming each field otherwise."""
    hidden = secret_fields(template)
    strays = sorted(str(k) for k in (secrets or {}) if k not in hidden)
    if strays:  # a secret that is not a Secret parameter would be stored and shown in clear, or override a checked value
        raise RunRefused({f"secrets.{k}": [f"secrets.{k[:60]}: not a secret parameter of the template"] for k in strays})
    filled, errors = parameters_check(template, merged_values(values, secrets))
    if not isinstance(values, dict):
        errors = [{"field": "values", "message": "values: an object of the template's parameters"}]
    redact = _redactor({k: v for k, v in merged_values(values, secrets).items() if k in hidden})
    if errors:
        raise RunRefused({(e["field"] or "values"): [redact(f"{e['field'] or 'values'}: {e['message']}")] for e in errors})
    with expression_budget():  # the whole check in one budget: it runs in a web request
        problems = preflight(template, filled, user=user_context(user))
    if problems:
        raise RunRefused({f: [redact(f"{f}: {m}")] for f, m in problems})
    given_secrets = {k: v for k, v in filled.items() if k in hidden}
    parameters = {k: v for k, v in filled.items() if k not in hidden}
    return parameters, given_secrets


def merged_values(values, secrets) -> dict:
    """The values, with the secrets given apart (the API's ``secrets``, the form's sealed field) over them."""
    return {**(values if isinstance(values, dict) else {}), **(secrets if isinstance(secrets, dict) else {})}


@transaction.atomic
def run_create(*, actor, template_ref: str, values, secrets=None, owner_team: str | None = None) -> ScaffolderRun:
    """Check and store a run of the template ``template_ref``, and queue it after commit."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied("Sign in to run a template.")
    if secrets is not None and not isinstance(secrets, dict):
        raise RunRefused({"secrets": ["secrets: an object of secret values"]})
    entity = template_entity_get(user=actor, ref=template_ref)
    try:
        template = template_parse(entity.document.data, ref=entity.ref)
    except TemplateError as exc:
        raise RunRefused({"template": [f"{entity.ref}: {exc}"]}) from None
    team = run_team(actor=actor, values=merged_values(values, secrets), owner_team=owner_team)
    parameters, secret_values = checked(template, values, secrets, user=actor)
    run = ScaffolderRun(
        template_ref=entity.ref, template_title=template.title, template_location=entity.location,
        template_source_path=entity.source_path, template_commit=entity.commit, template_etag=entity.etag,
        template_data=entity.document.data, parameters=parameters,
        secrets=json.dumps(secret_values) if secret_values else "", created_by=actor, owner_team=team)
    run.save()
    ownership_grant(obj=run)
    ScaffolderRunStep.objects.bulk_create([
        ScaffolderRunStep(run=run, index=i, step_id=s.id, name=s.name, action=s.action)
        for i, s in enumerate(template.steps)])
    audit_record(actor=actor, action="scaffolder.run", obj=run, team=team,
                 changes={"template": entity.ref, "parameters": sorted(parameters)})
    _queue_after_commit(run.pk)
    return run


def _queue_after_commit(run_id: int) -> None:
    from catalog.tasks import scaffolder_run_task

    transaction.on_commit(lambda: scaffolder_run_task.delay(run_id))


def run_cancel(*, actor, run: ScaffolderRun) -> ScaffolderRun:
    """Ask a run to stop: an open run stops at once, a running one after its current step."""
    with transaction.atomic():
        run = ScaffolderRun.objects.select_for_update().get(pk=run.pk)
        if run.is_final:
            raise ValidationError({"state": f"state: the run is {run.state} already"})
        run.cancel_requested = True
        if run.state == RunState.OPEN and not run.holder:
            _finish(run, RunState.CANCELLED, "cancelled before it began")
        else:
            run.save(update_fields=["cancel_requested", "updated"])
        audit_record(actor=actor, action="scaffolder.cancel", obj=run, team=run.owner_team)
    return run


def run_retry(*, actor, run: ScaffolderRun) -> ScaffolderRun:
    """Start a failed (or cancelled) run again from its first step not completed; completed steps stay done."""
    with transaction.atomic():
        run = ScaffolderRun.objects.select_for_update().get(pk=run.pk)
        if run.state not in (RunState.FAILED, RunState.CANCELLED):
            raise ValidationError({"state": f"state: only a failed or cancelled run is retried; this one is {run.state}"})
        if run.state == RunState.CANCELLED and not run.secrets and secret_fields(_template(run)):
            raise ValidationError({"secrets": "secrets: a cancelled run's secrets are gone; start a new run"})
        run.steps.exclude(state=StepState.COMPLETED).update(state=StepState.OPEN, started=None, finished=None, output={})
        run.state, run.error, run.cancel_requested, run.finished, run.holder = RunState.OPEN, "", False, None, ""
        run.save(update_fields=["state", "error", "cancel_requested", "finished", "holder", "updated"])
        _event(run, "log", {"message": f"retried by {actor.username}"})
        audit_record(actor=actor, action="scaffolder.retry", obj=run, team=run.owner_team)
        _queue_after_commit(run.pk)
    return run


# --- executing ----------------------------------------------------------------------------------------------------


class LeaseLost(Exception):
    """Another worker took the run over (this one was too slow to renew): stop without writing."""


def _template(run: ScaffolderRun) -> Template:
    return template_parse(run.template_data, ref=run.template_ref)


def workspace_root(run: ScaffolderRun) -> Path:
    return Path(settings.SCAFFOLDER_WORKSPACES_DIR) / str(run.uid)


def _event(run: ScaffolderRun, type: str, body: dict) -> None:
    ScaffolderEvent.objects.create(run=run, type=type, body=body)


def _redactor(secret_values: dict):
    """Text with every secret value (and its usual spellings: upper and lower case, JSON-escaped, URL-quoted,
    base64) replaced by ``***``. A template that spells a secret some other way can still print it into its own run's
    log, which only the run's team reads; the secret itself is never stored in clear."""
    values = {str(v) for v in secret_values.values() if v not in (None, "") and len(str(v)) >= 3}
    spellings = set()
    for value in values:
        spellings |= {value, value.upper(), value.lower(), json.dumps(value)[1:-1], quote(value, safe=""),
                      base64.b64encode(value.encode()).decode().rstrip("=")}
    hidden = sorted((v for v in spellings if len(v) >= 3), key=len, reverse=True)

    def redact(text: str) -> str:
        for value in hidden:
            text = text.replace(value, "***")
        return text
    return redact


def _finish(run: ScaffolderRun, state: str, message: str, *, error: str = "") -> None:
    run.state, run.finished, run.holder, run.error = state, timezone.now(), "", error
    if state in (RunState.COMPLETED, RunState.CANCELLED):
        run.secrets = ""  # nothing left to use them for
    run.save(update_fields=["state", "finished", "holder", "error", "secrets", "cancel_requested", "output", "updated"])
    if state == RunState.CANCELLED:
        run.steps.filter(state__in=[StepState.OPEN, StepState.PROCESSING]).update(state=StepState.CANCELLED)
        _event(run, "cancelled", {"message": message})
    body = {"message": message, "output": run.output}
    if error:
        body["error"] = {"name": "Error", "message": error}
    _event(run, "completion", body)


def _take(run_id: int, holder: str) -> ScaffolderRun | None:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SCAFFOLDER_LEASE_SECONDS)
    taken = (ScaffolderRun.objects.filter(pk=run_id, state__in=[RunState.OPEN, RunState.PROCESSING])
             .filter(Q(holder="") | Q(holder=holder) | Q(heartbeat__lt=stale) | Q(heartbeat__isnull=True))
             .update(holder=holder, heartbeat=now, state=RunState.PROCESSING, attempts=F("attempts") + 1))
    return ScaffolderRun.objects.filter(pk=run_id).select_related("created_by", "owner_team").first() if taken else None


class _Heartbeat(threading.Thread):
    """Renews the run's lease while a long step runs (a git push may outlast it)."""

    def __init__(self, run_id: int, holder: str):
        super().__init__(daemon=True)
        self.run_id, self.holder, self.stop = run_id, holder, threading.Event()

    def run(self):
        interval = max(0.5, settings.SCAFFOLDER_LEASE_SECONDS / 4)
        try:
            while not self.stop.wait(interval):
                ScaffolderRun.objects.filter(pk=self.run_id, holder=self.holder).update(heartbeat=timezone.now())
        finally:
            connection.close()


def _template_copy(location, source_path: str, dest: Path) -> Path | None:
    """Copy the folder of the template file ``source_path`` of ``location`` into ``dest``; that folder's copy."""
    from catalog.choices import LocationType
    from catalog.sources import checkout

    base = Path(source_path).parent if source_path else Path(".")
    if location is None or ".." in base.parts or base.is_absolute():
        return None
    shutil.rmtree(dest, ignore_errors=True)
    if location.type == LocationType.PATH:
        origin = Path(location.target) / base
        if not origin.is_dir():
            return None
        shutil.copytree(origin, dest / base, symlinks=True)
    else:
        checkout(location, dest=dest / "_clone")
        shutil.copytree(dest / "_clone" / base, dest / base, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".git"))
        shutil.rmtree(dest / "_clone", ignore_errors=True)
    return dest / base


def _source_dir(run: ScaffolderRun, root: Path) -> Path | None:
    """The template's folder for this run: a copy made once, so a resumed run uses the same version."""
    done = root / "template.ok"
    base = Path(run.template_source_path).parent if run.template_source_path else Path(".")
    if done.is_file():
        return root / "template" / base
    copied = _template_copy(run.template_location, run.template_source_path, root / "template")
    if copied is not None:
        done.write_text(run.template_commit or "-")
    return copied


def template_directory_contents(entity: Entity) -> list[dict]:
    """The template's folder as Backstage's ``directoryContents`` (what a dry run of a catalog template reads)."""
    with tempfile.TemporaryDirectory(prefix="wayline-template-") as tmp:
        copied = _template_copy(entity.location, entity.source_path, Path(tmp) / "template")
        return runtime.directory_contents(copied) if copied is not None else []


def run_execute(run_id: int, *, holder: str | None = None) -> str:
    """Execute (or resume) the run ``run_id``; its state afterwards. Nothing happens while another worker holds it."""
    holder = holder or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    run = _take(run_id, holder)
    if run is None:
        return "busy-or-final"
    if run.attempts > 1:
        _event(run, "recovered", {"message": f"resumed by another attempt ({run.attempts}) from the last completed step"})
    heartbeat = _Heartbeat(run.pk, holder)
    heartbeat.start()
    try:
        return _execute(run, holder)
    except LeaseLost:
        logger.warning("scaffolder run %s: taken over by another worker", run.uid)
        return "taken-over"
    finally:
        heartbeat.stop.set()


def _still_mine(run: ScaffolderRun, holder: str) -> ScaffolderRun:
    fresh = ScaffolderRun.objects.select_for_update().filter(pk=run.pk).first()
    if fresh is None or fresh.holder != holder:
        raise LeaseLost
    fresh.heartbeat = timezone.now()
    fresh.save(update_fields=["heartbeat"])
    return fresh


STEP_EXPRESSION_SECONDS = 120.0  # what one step's expressions may take in the worker (a skeleton of many files)
STEP_EXPRESSION_STEPS = 50_000_000


def _execute(run: ScaffolderRun, holder: str) -> str:
    try:
        return _execute_steps(run, holder)
    finally:
        budget_clear()


def _execute_steps(run: ScaffolderRun, holder: str) -> str:
    template = _template(run)
    secret_values = json.loads(run.secrets) if run.secrets else {}
    redact = _redactor(secret_values)
    root = workspace_root(run)
    workspace = root / "workspace"
    shutil.rmtree(workspace, ignore_errors=True)  # rebuilt by the workspace steps: the same on any machine
    workspace.mkdir(parents=True)
    logged = [ScaffolderEvent.objects.filter(run=run).count()]

    def log(message: str, **extra) -> None:
        if logged[0] >= MAX_LOG_EVENTS:
            return
        logged[0] += 1
        if logged[0] == MAX_LOG_EVENTS:
            message = f"the log is cut here ({MAX_LOG_EVENTS} lines)"
        _event(run, "log", {"message": redact(str(message))[:8000], **extra})

    from portal.selectors import teams_user_can_edit_for

    user = run.created_by
    if user is None or not user.is_active or not teams_user_can_edit_for(user=user).filter(pk=run.owner_team_id).exists():
        # checked again on every attempt: a resumed or retried run acts as its author, who may have left the team
        with transaction.atomic():
            run = _still_mine(run, holder)
            _finish(run, RunState.FAILED, "the user who started the run may no longer create for its team",
                    error="the user who started the run may no longer create for its team")
        return run.state
    try:
        template_dir = _source_dir(run, root)
    except Exception as exc:  # noqa: BLE001 - a template that cannot be fetched fails the run, said why
        with transaction.atomic():
            run = _still_mine(run, holder)
            _finish(run, RunState.FAILED, "the template's files could not be read", error=redact(str(exc))[:2000])
        return run.state
    context = {"parameters": {**run.parameters, **secret_values}, "secrets": secret_values,
               "user": user_context(run.created_by) if run.created_by else {}, "steps": {}}
    steps = {row.index: row for row in run.steps.all()}
    published = []
    for index, step in enumerate(template.steps):
        row = steps[index]
        action = action_get(step.action)
        where = f"spec.steps[{index}]"
        if row.state == StepState.COMPLETED and step.action not in runtime.WORKSPACE_ACTIONS:
            context["steps"][step.id] = {"output": row.output}
            if step.action == "publish:git":
                published.append(row.output)
            continue  # a checkpoint: done once, never again
        if row.state == StepState.SKIPPED:
            continue
        if ScaffolderRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
            with transaction.atomic():
                run = _still_mine(run, holder)
                _finish(run, RunState.CANCELLED, f"cancelled before step {step.id}")
            return run.state
        budget_start(STEP_EXPRESSION_SECONDS, STEP_EXPRESSION_STEPS)  # every expression of this step, one budget
        try:
            if step.condition is not None and not truthy(render_value(step.condition, context, where=f"{where}.if")):
                with transaction.atomic():
                    _still_mine(run, holder)
                    ScaffolderRunStep.objects.filter(pk=row.pk).update(state=StepState.SKIPPED, finished=timezone.now())
                    log("skipped: its condition is false", stepId=step.id, status="skipped")
                continue
            step_input = render_value(step.input, context, where=f"{where}.input")
            errors = list(schema_validator(action.input).iter_errors(step_input))
            if errors:
                first = errors[0]
                path = ".".join(map(str, first.absolute_path))
                raise runtime.ActionError(f"{where}.input{'.' + path if path else ''}: {first.message}")
        except (ExpressionError, runtime.ActionError) as exc:
            return _step_failed(run, holder, row, step, redact(str(exc)), log)
        replay = row.state == StepState.COMPLETED  # a workspace step done before: done again to rebuild the workspace
        if not replay:
            with transaction.atomic():
                _still_mine(run, holder)
                ScaffolderRunStep.objects.filter(pk=row.pk).update(state=StepState.PROCESSING, started=timezone.now())
                log(f"Beginning step {step.name}", stepId=step.id, status="processing")
        ctx = runtime.StepContext(
            run_uid=str(run.uid), step_id=step.id, input=step_input, workspace=workspace, template_dir=template_dir,
            user=run.created_by, team=run.owner_team,
            log=(lambda m: None) if replay else (lambda m, _id=step.id: log(m, stepId=_id)), published=list(published))
        handler = runtime.HANDLERS[step.action]
        try:
            if replay:
                output = handler(ctx) if step.action != "debug:log" else row.output
            elif step.action in runtime.DATABASE_ACTIONS:
                with transaction.atomic():
                    _still_mine(run, holder)
                    output = handler(ctx)
                    _step_done(row, output, log, step)
            else:
                output = handler(ctx)
                with transaction.atomic():
                    _still_mine(run, holder)
                    _step_done(row, output, log, step)
        except LeaseLost:
            raise
        except (runtime.ActionError, WorkspaceError, ValidationError, PermissionDenied) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            return _step_failed(run, holder, row, step, redact(message), log)
        except Exception as exc:  # noqa: BLE001 - an action's crash fails its step, recorded; the run can be retried
            logger.error("scaffolder run %s step %s crashed:\n%s", run.uid, step.id,
                         redact("".join(traceback.format_exception(exc)))[-8000:])  # secrets out of the worker's log
            return _step_failed(run, holder, row, step, redact(f"{type(exc).__name__}: {exc}")[:2000], log)
        context["steps"][step.id] = {"output": output}
        if step.action == "publish:git":
            published.append(output)
    try:
        output = render_value(template.output, context, where="spec.output") if template.output else {}
    except ExpressionError as exc:
        output = {"text": [{"title": "Output", "content": f"the template's output could not be rendered: {exc}"}]}
    with transaction.atomic():
        run = _still_mine(run, holder)
        run.output = json.loads(redact(json.dumps(output)))
        _finish(run, RunState.COMPLETED, "Run completed")
    shutil.rmtree(root, ignore_errors=True)
    return run.state


def _step_done(row: ScaffolderRunStep, output: dict, log, step) -> None:
    ScaffolderRunStep.objects.filter(pk=row.pk).update(state=StepState.COMPLETED, output=output or {},
                                                       finished=timezone.now())
    log(f"Finished step {step.name}", stepId=step.id, status="completed")


def _step_failed(run: ScaffolderRun, holder: str, row, step, message: str, log) -> str:
    with transaction.atomic():
        run = _still_mine(run, holder)
        ScaffolderRunStep.objects.filter(pk=row.pk).update(state=StepState.FAILED, finished=timezone.now())
        log(message, stepId=step.id, status="failed")
        _finish(run, RunState.FAILED, f"step {step.id} failed", error=message)
    return run.state


def runs_due(*, stale_seconds: float | None = None) -> list[int]:
    """Runs whose message may be lost (open a while, nobody holding them) or whose worker died (lease expired)."""
    now = timezone.now()
    lease = timedelta(seconds=settings.SCAFFOLDER_LEASE_SECONDS)
    quiet = timedelta(seconds=stale_seconds if stale_seconds is not None else 60)
    return list(ScaffolderRun.objects.filter(
        Q(state=RunState.OPEN, holder="", updated__lt=now - quiet) | Q(state=RunState.PROCESSING, heartbeat__lt=now - lease)
    ).values_list("pk", flat=True)[:200])


# --- dry runs -----------------------------------------------------------------------------------------------------


@dataclass
class DryRun:
    log: list
    directory_contents: list
    output: dict
    steps: list
    record: runtime.DryRunRecord


def run_dry(*, actor, template_data: dict, values, secrets=None, directory_contents=None, owner_team=None,
            template_ref: str = "") -> DryRun:
    """Run the template in a throw-away workspace, as ``actor``, writing nothing: the files it would create and the
    repositories, locations and change sets it would propose. Checked like a run (a dry run is a write)."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied("Sign in to run a template.")
    try:
        template = template_parse(template_data, ref=template_ref)
    except TemplateError as exc:
        raise RunRefused({"template": [f"template: {exc}"]}) from None
    team = run_team(actor=actor, values=merged_values(values, secrets), owner_team=owner_team)
    parameters, secret_values = checked(template, values, secrets, user=actor)
    redact = _redactor(secret_values)
    record = runtime.DryRunRecord()
    events, steps_out = [], []
    context = {"parameters": {**parameters, **secret_values}, "secrets": secret_values, "user": user_context(actor),
               "steps": {}}
    published = []
    # the whole dry run in one expression budget (it runs in a web request), on top of the check's
    with tempfile.TemporaryDirectory(prefix="wayline-dry-run-") as tmp, expression_budget():
        workspace, template_dir = Path(tmp) / "workspace", Path(tmp) / "template"
        workspace.mkdir()
        template_dir.mkdir()
        try:
            runtime.materialise(directory_contents or [], template_dir)
        except runtime.ActionError as exc:
            raise RunRefused({"directoryContents": [str(exc)]}) from None

        def log(message, **extra):
            if len(events) < MAX_LOG_EVENTS:
                events.append({"body": {"message": redact(str(message))[:8000], **extra}})

        for index, step in enumerate(template.steps):
            where = f"spec.steps[{index}]"
            steps_out.append({"id": step.id, "name": step.name, "action": step.action})
            try:
                if step.condition is not None and not truthy(render_value(step.condition, context, where=f"{where}.if")):
                    log("skipped: its condition is false", stepId=step.id, status="skipped")
                    continue
                step_input = render_value(step.input, context, where=f"{where}.input")
                errors = list(schema_validator(action_get(step.action).input).iter_errors(step_input))
                if errors:
                    path = ".".join(map(str, errors[0].absolute_path))
                    raise runtime.ActionError(f"{where}.input{'.' + path if path else ''}: {errors[0].message}")
                log(f"Beginning step {step.name}", stepId=step.id, status="processing")
                ctx = runtime.StepContext(
                    run_uid="dry-run", step_id=step.id, input=step_input, workspace=workspace, template_dir=template_dir,
                    user=actor, team=team, log=lambda m, _id=step.id: log(m, stepId=_id), published=list(published),
                    dry_run=record)
                output = runtime.HANDLERS[step.action](ctx)
            except (ExpressionError, runtime.ActionError, WorkspaceError, ValidationError, PermissionDenied) as exc:
                message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                log(redact(message), stepId=step.id, status="failed")
                break
            log(f"Finished step {step.name}", stepId=step.id, status="completed")
            context["steps"][step.id] = {"output": output}
            if step.action == "publish:git":
                published.append(output)
        try:
            output = render_value(template.output, context, where="spec.output") if template.output else {}
        except ExpressionError as exc:
            output = {"text": [{"title": "Output", "content": str(exc)}]}
        contents = runtime.directory_contents(workspace)
    return DryRun(log=events, directory_contents=contents, output=json.loads(redact(json.dumps(output))),
                  steps=steps_out, record=record)


def run_finished_cleanup(run: ScaffolderRun) -> None:
    shutil.rmtree(workspace_root(run), ignore_errors=True)


__all__ = ["FINAL_STATES", "DryRun", "RunRefused", "run_cancel", "run_create", "run_dry", "run_execute", "run_retry",
           "runs_due", "template_entity_get"]
