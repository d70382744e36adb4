"""Backstage's scaffolder REST API, under ``/api/scaffolder/v2/``: what a template asks for and the actions Wayline
runs, in Backstage's shapes, so Backstage's scaffolder client can read them. Templates are read through the
catalog's selector (``restrict``): a template the caller may not see is 404, exactly like a missing one. Tasks (runs)
come with the scaffolder's run engine."""
from __future__ import annotations

from rest_framework.response import Response

from catalog import selectors
from catalog.api.backstage import BackstageError, BackstageView
from catalog.scaffolder.actions import ACTIONS
from catalog.scaffolder.expressions import FILTERS
from catalog.scaffolder.template import TemplateError, template_parse


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
