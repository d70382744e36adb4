"""Backstage's scaffolder REST API, under ``/api/scaffolder/v2/``: templates' parameters, the actions, and tasks
(runs) with their events, in Backstage's shapes, so Backstage's scaffolder client works against Wayline.

Templates are read through the catalog's selector and runs through ``ScaffolderRun.objects.restrict``: a template or
run the caller may not see is 404, exactly like a missing one. Every write on a run is checked once, by
``_run_for`` with the action (``cancel``, ``retry``: ``permits``); starting a run or a dry run is checked by the run
services as a write for one of the caller's teams.
"""
from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import StreamingHttpResponse
from rest_framework.response import Response

from catalog import selectors
from catalog.api.backstage import BackstageError, BackstageView
from catalog.scaffolder.actions import ACTIONS
from catalog.scaffolder.expressions import FILTERS
from catalog.scaffolder.template import TemplateError, template_parse
from catalog.models import Entity, ScaffolderEvent, ScaffolderRun
from catalog.scaffolder import runs as run_services
from catalog.scaffolder.runtime import ActionError


class ActionsView(BackstageView):
    def get(self, request):
        return Response([action.as_backstage() for action in ACTIONS.values()])


class TemplatingExtensionsView(BackstageView):
    def get(self, request):
        return Response({"filters": {name: {"description": text} for name, (_, text) in FILTERS.items()},
                         "globals": {"functions": {}, "values": {}}})


def template_get(user, namespace: str, kind: str, name: str):
    """The Template entity ``namespace/name`` as ``user`` may see it, parsed; Backstage's errors otherwise."""
    if kind.lower() != "template":
        raise BackstageError(400, "InputError", "Invalid kind, only 'Template' kind is supported")
    entity = (selectors.entity_list(user=user).filter(kind__iexact="template", namespace__iexact=namespace,
                                                      name__iexact=name).select_related("document").first())
    if entity is None:
        raise BackstageError(404, "NotFoundError", f"Template template:{namespace}/{name} not found")
    try:
        return template_parse(entity.data, ref=entity.ref)
    except TemplateError as exc:
        raise BackstageError(400, "InputError", f"Unsupported template: {exc}") from None


class ParameterSchemaView(BackstageView):
    def get(self, request, namespace, kind, name):
        return Response(template_get(request.user, namespace, kind, name).parameter_schema())


# --- tasks -------------------------------------------------------------------------------------------------------


def _refused(exc: ValidationError) -> BackstageError:
    if hasattr(exc, "message_dict"):
        text = "; ".join(m for messages in exc.message_dict.values() for m in messages)
    else:
        text = "; ".join(exc.messages)
    return BackstageError(400, "InputError", text)


def task_serialise(run: ScaffolderRun) -> dict:
    """A run as Backstage's ``SerializedTask``: the spec it runs (secrets never included), its status and times."""
    data = run.template_data or {}
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    return {
        "id": str(run.uid),
        "spec": {
            "apiVersion": data.get("apiVersion"),
            "parameters": run.parameters,
            "steps": [{"id": s.step_id, "name": s.name, "action": s.action} for s in run.steps.all()],
            "output": spec.get("output") or {},
            "templateInfo": {"entityRef": run.template_ref,
                             "entity": {"metadata": {k: v for k, v in (data.get("metadata") or {}).items()
                                                     if k in ("name", "title", "description", "tags")}}},
            "user": {"ref": f"user:default/{run.created_by.username}" if run.created_by else ""},
        },
        "status": run.state,
        "createdAt": run.created.isoformat().replace("+00:00", "Z"),
        "lastHeartbeatAt": run.heartbeat.isoformat().replace("+00:00", "Z") if run.heartbeat else None,
        "createdBy": f"user:default/{run.created_by.username}" if run.created_by else "",
        "wayline": {"team": run.owner_team.slug, "output": run.output, "error": run.error,
                    "steps": {s.step_id: s.state for s in run.steps.all()}},
    }


def event_serialise(event: ScaffolderEvent, run: ScaffolderRun) -> dict:
    return {"id": event.pk, "taskId": str(run.uid), "type": event.type, "body": event.body,
            "createdAt": event.created.isoformat().replace("+00:00", "Z")}


def _runs(user):
    return (ScaffolderRun.objects.restrict(user, "view")
            .select_related("created_by", "owner_team").prefetch_related("steps"))


def _run_for(request, task_id: str, action: str = "view") -> ScaffolderRun:
    """The run ``task_id`` as the caller may see it (404 like a missing one), and may ``action`` it (403)."""
    try:
        run = _runs(request.user).filter(uid=task_id).first()
    except ValidationError:  # not a UUID
        run = None
    if run is None:
        raise BackstageError(404, "NotFoundError", f"Task with id {str(task_id)[:80]} does not exist")
    if action != "view" and not ScaffolderRun.objects.permits(request.user, action, run):
        raise BackstageError(403, "NotAllowedError", f"You may not {action} this task")
    return run


class TasksView(BackstageView):
    def get(self, request):
        runs = _runs(request.user)
        created_by = request.query_params.getlist("createdBy")
        if created_by:
            names = [c.rsplit("/", 1)[-1].removeprefix("user:") for c in created_by]
            runs = runs.filter(created_by__username__in=names)
        if statuses := request.query_params.getlist("status"):
            runs = runs.filter(state__in=statuses)
        try:
            limit = min(max(int(request.query_params.get("limit", 100)), 1), 1000)
            offset = min(max(int(request.query_params.get("offset", 0)), 0), 2**31)  # databases take no bigger
        except ValueError:
            raise BackstageError(400, "InputError", "limit and offset are numbers") from None
        total = runs.count()
        return Response({"tasks": [task_serialise(r) for r in runs[offset:offset + limit]], "totalTasks": total})

    def post(self, request):
        body = request.data
        ref = body.get("templateRef")
        if not isinstance(ref, str) or not ref:
            raise BackstageError(400, "InputError", "templateRef: the template's entity ref is required")
        try:
            run = run_services.run_create(actor=request.user, template_ref=ref, values=body.get("values", {}),
                                          secrets=body.get("secrets"), owner_team=body.get("owner_team"))
        except Entity.DoesNotExist:
            raise BackstageError(404, "NotFoundError", f"Template {ref[:200]} not found") from None
        except ValidationError as exc:
            raise _refused(exc) from None
        return Response({"id": str(run.uid)}, status=201)


class TaskView(BackstageView):
    def get(self, request, task_id):
        return Response(task_serialise(_run_for(request, task_id)))


class TaskCancelView(BackstageView):
    def post(self, request, task_id):
        run = _run_for(request, task_id, "cancel")
        try:
            run = run_services.run_cancel(actor=request.user, run=run)
        except ValidationError as exc:
            raise BackstageError(409, "ConflictError", "; ".join(exc.messages)) from None
        return Response({"status": run.state})


class TaskRetryView(BackstageView):
    def post(self, request, task_id):
        run = _run_for(request, task_id, "retry")
        try:
            run_services.run_retry(actor=request.user, run=run)
        except ValidationError as exc:
            raise BackstageError(409, "ConflictError", "; ".join(exc.messages)) from None
        return Response({"id": str(run.uid)}, status=201)


def _events_after(run: ScaffolderRun, after) -> list[ScaffolderEvent]:
    events = ScaffolderEvent.objects.filter(run=run).order_by("pk")
    if after not in (None, ""):
        try:
            events = events.filter(pk__gt=int(after))
        except ValueError:
            raise BackstageError(400, "InputError", "after: an event id (a number)") from None
    return list(events[:1000])


class TaskEventsView(BackstageView):
    def get(self, request, task_id):
        run = _run_for(request, task_id)
        return Response([event_serialise(e, run) for e in _events_after(run, request.query_params.get("after"))])


STREAM_POLL = 0.5


class TaskEventStreamView(BackstageView):
    """``text/event-stream``: each event as ``event: <type>`` and ``data: <the event as JSON>``, until the run ends
    (after its completion event) or ``SCAFFOLDER_STREAM_SECONDS`` pass; ``id:`` lets the client resume with Last-Event-ID."""

    def get(self, request, task_id):
        run = _run_for(request, task_id)
        after = request.query_params.get("after") or request.headers.get("Last-Event-ID")
        first = _events_after(run, after)  # checked (a bad `after` is a 400) before the stream starts

        def stream():
            # Django closes the request's database connection when the response is closed (request_finished).
            events, last, deadline = first, after, time.monotonic() + settings.SCAFFOLDER_STREAM_SECONDS
            while True:
                for event in events:
                    last = event.pk
                    yield f"id: {event.pk}\nevent: {event.type}\ndata: {json.dumps(event_serialise(event, run))}\n\n"
                    if event.type == "completion":
                        return
                if time.monotonic() > deadline:
                    return
                time.sleep(STREAM_POLL)
                events = _events_after(run, last)

        response = StreamingHttpResponse(stream(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


class DryRunView(BackstageView):
    """``POST /v2/dry-run``: ``{template, values, secrets, directoryContents}`` as Backstage takes it (or
    ``templateRef`` for a template in the catalog); answers the log, the files and the output, writing nothing."""

    def post(self, request):
        body = request.data
        template_data, template_dir, ref = body.get("template"), body.get("directoryContents") or [], ""
        if template_data is None and isinstance(body.get("templateRef"), str):
            try:
                entity = run_services.template_entity_get(user=request.user, ref=body["templateRef"])
            except Entity.DoesNotExist:
                raise BackstageError(404, "NotFoundError", f"Template {body['templateRef'][:200]} not found") from None
            template_data, ref = entity.document.data, entity.ref
            if not template_dir:
                try:
                    template_dir = run_services.template_directory_contents(entity)
                except ActionError as exc:
                    raise BackstageError(400, "InputError", f"{entity.ref}: {exc}") from None
        if not isinstance(template_data, dict):
            raise BackstageError(400, "InputError", "template: the Template entity (an object) is required")
        if not isinstance(template_dir, list):
            raise BackstageError(400, "InputError", "directoryContents: a list of {path, base64Content}")
        try:
            result = run_services.run_dry(actor=request.user, template_data=template_data, values=body.get("values", {}),
                                          secrets=body.get("secrets"), directory_contents=template_dir,
                                          owner_team=body.get("owner_team"), template_ref=ref)
        except ValidationError as exc:
            raise _refused(exc) from None
        except PermissionDenied as exc:
            raise BackstageError(403, "NotAllowedError", str(exc)) from None
        record = result.record
        return Response({"log": result.log, "directoryContents": result.directory_contents, "output": result.output,
                         "steps": result.steps,
                         "wayline": {"repositories": record.repositories, "locations": record.locations,
                                     "apps": record.apps, "changeSets": record.change_sets}})
