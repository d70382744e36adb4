"""A Backstage ``scaffolder.backstage.io/v1beta3`` Template as Wayline runs it, and the checks made before a run.

``template_parse`` reads the entity's ``spec`` (one parameter schema or a list of pages, the steps, the output);
``parameters_check`` validates the values a user gives against every page (JSON Schema, with ``required``, ``enum``,
defaults, ``dependencies`` and ``if``/``then``), ``ui:`` hints aside; ``preflight`` then checks each step with those
values: a known action, an ``if:`` that evaluates, and an input its action's schema accepts once rendered (values
that come from an earlier step's output are checked when that step has run). Every problem names the step and the
field, and nothing runs while there is one.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import jsonschema
import regex
from referencing import Registry

PATTERN_SECONDS = 0.25  # a template's `pattern` against a value: longer is refused (backtracking)


def _pattern(validator, pattern, instance, schema):
    """JSON Schema's ``pattern`` with a time limit: a template's regular expression is outside data."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = regex.search(pattern, instance, timeout=PATTERN_SECONDS)
    except TimeoutError:
        yield jsonschema.ValidationError(f"{instance[:40]!r}: the pattern {pattern[:60]!r} takes too long to check")
        return
    except regex.error as exc:
        yield jsonschema.ValidationError(f"the pattern {pattern[:60]!r} is not a regular expression: {exc}")
        return
    if found is None:
        yield jsonschema.ValidationError(f"{instance[:200]!r} does not match {pattern[:200]!r}")


def _matches(pattern: str, text: str) -> bool | str:
    """Whether ``pattern`` finds ``text``, under the time limit; a message (a str) when it cannot be told."""
    try:
        return regex.search(pattern, text, timeout=PATTERN_SECONDS) is not None
    except TimeoutError:
        return f"{text[:40]!r}: the pattern {pattern[:60]!r} takes too long to check"
    except regex.error as exc:
        return f"the pattern {pattern[:60]!r} is not a regular expression: {exc}"


def _pattern_properties(validator, patterns, instance, schema):
    """``patternProperties`` with the same time limit as ``pattern`` (the keys are outside data too)."""
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            found = _matches(pattern, key)
            if isinstance(found, str):
                yield jsonschema.ValidationError(found)
                return
            if found:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    """``additionalProperties``, its keys matched against ``patternProperties`` under the time limit."""
    if not validator.is_type(instance, "object"):
        return
    known, patterns, extras = schema.get("properties") or {}, schema.get("patternProperties") or {}, []
    for key in instance:
        if key in known:
            continue
        matched = False
        for pattern in patterns:
            found = _matches(pattern, key)
            if isinstance(found, str):
                yield jsonschema.ValidationError(found)
                return
            if found:
                matched = True
                break
        if not matched:
            extras.append(key)
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        yield jsonschema.ValidationError(
            f"additional properties are not allowed ({', '.join(repr(k[:60]) for k in sorted(extras)[:10])})")


_Validator = jsonschema.validators.extend(jsonschema.Draft7Validator, {
    "pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties})
_NO_RETRIEVAL = Registry()  # "$ref" resolves inside the schema only: nothing is fetched, no file is read


def schema_validator(schema: dict):
    """A validator of ``schema`` (a template's page or an action's input) that fetches nothing and bounds patterns."""
    return _Validator(schema, registry=_NO_RETRIEVAL)


def _outside_refs(value, where: str) -> list[tuple[str, str]]:
    """``$ref``s of a page that point outside it (a URL, a file): refused, never fetched."""
    out = []
    if isinstance(value, dict):
        ref = value.get("$ref")
        if ref is not None and (not isinstance(ref, str) or not ref.startswith("#")):
            out.append((f"{where}.$ref", f"{str(ref)[:120]!r}: only references inside the page (#/...) are allowed"))
        for key, item in value.items():
            out += _outside_refs(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _outside_refs(item, f"{where}[{index}]")
    return out

from catalog.scaffolder.actions import action_get
from catalog.scaffolder.expressions import DeferredSteps, ExpressionError, render_value, truthy

API_VERSION = "scaffolder.backstage.io/v1beta3"


class TemplateError(ValueError):
    """A template Wayline cannot run; ``problems`` are (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    action: str
    input: dict
    condition: object = None  # the raw ``if:``; None: always


@dataclass(frozen=True)
class Template:
    ref: str
    title: str
    description: str
    owner: str
    type: str
    pages: tuple[dict, ...]
    steps: tuple[Step, ...]
    output: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def parameter_schema(self) -> dict:
        """As ``GET /v2/templates/:namespace/:kind/:name/parameter-schema`` answers."""
        out = {"title": self.title, "description": self.description or None,
               "steps": [{"title": page.get("title") or "Please enter the following information",
                          "description": page.get("description"), "schema": page} for page in self.pages]}
        if "ui:options" in self.metadata:
            out["ui:options"] = self.metadata["ui:options"]
        return _without_none(out)


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def template_parse(data: dict, *, ref: str = "") -> Template:
    """The Template entity ``data`` (apiVersion, kind, metadata, spec) as Wayline runs it; TemplateError otherwise."""
    problems: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise TemplateError([("", "a Template is an object")])
    if data.get("apiVersion") != API_VERSION:
        problems.append(("apiVersion", f"{str(data.get('apiVersion'))[:80]!r} is not {API_VERSION}, the only version "
                                       "Wayline runs"))
    if data.get("kind") != "Template":
        problems.append(("kind", f"{str(data.get('kind'))[:40]!r} is not Template"))
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    raw_pages = spec.get("parameters") or []
    raw_pages = raw_pages if isinstance(raw_pages, list) else [raw_pages]
    pages = []
    for index, page in enumerate(raw_pages):
        where = f"spec.parameters[{index}]"
        if not isinstance(page, dict):
            problems.append((where, "a parameter page is a JSON Schema object"))
            continue
        outside = _outside_refs(page, where)
        problems += outside
        try:
            jsonschema.Draft7Validator.check_schema(_schema_only(page))
        except jsonschema.SchemaError as exc:
            problems.append((where, f"not a JSON Schema: {exc.message}"))
        except RecursionError:
            problems.append((where, "nested too deeply"))
        pages.append(page)
    raw_steps = spec.get("steps")
    if not isinstance(raw_steps, list):
        problems.append(("spec.steps", "a list of steps is required"))
        raw_steps = []
    steps, seen = [], set()
    for index, raw in enumerate(raw_steps):
        where = f"spec.steps[{index}]"
        if not isinstance(raw, dict):
            problems.append((where, "a step is an object with an action"))
            continue
        step_id = raw.get("id") or f"step-{index + 1}"
        action = raw.get("action")
        if not isinstance(step_id, str) or not step_id:
            problems.append((f"{where}.id", "a step's id is text"))
            continue
        if step_id in seen:
            problems.append((f"{where}.id", f"step id {step_id!r} is used twice"))
        seen.add(step_id)
        if not isinstance(action, str) or not action:
            problems.append((f"{where}.action", f"step {step_id}: the action is required"))
            continue
        step_input = raw.get("input") if raw.get("input") is not None else {}
        if not isinstance(step_input, dict):
            problems.append((f"{where}.input", f"step {step_id}: the input is an object"))
            step_input = {}
        steps.append(Step(id=step_id, name=str(raw.get("name") or action), action=action, input=step_input,
                          condition=raw.get("if")))
    if problems:
        raise TemplateError(problems)
    return Template(ref=ref, title=str(metadata.get("title") or metadata.get("name") or ""),
                    description=str(metadata.get("description") or ""), owner=str(spec.get("owner") or ""),
                    type=str(spec.get("type") or ""), pages=tuple(pages), steps=tuple(steps),
                    output=spec.get("output") if isinstance(spec.get("output"), dict) else {}, metadata=metadata)


def _schema_only(value):
    """A page without its ``ui:*`` hints and Backstage's own keys, for JSON Schema (they are not schema keywords)."""
    if isinstance(value, dict):
        return {k: _schema_only(v) for k, v in value.items() if not k.startswith(("ui:", "backstage:"))}
    if isinstance(value, list):
        return [_schema_only(v) for v in value]
    return value


def _with_defaults(schema: dict, values: dict) -> dict:
    """``values`` with each page property's ``default`` filled in where the user gave none."""
    out = dict(values)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in out and isinstance(prop, dict) and "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
    return out


def parameters_check(template: Template, values) -> tuple[dict, list[dict]]:
    """(the values with defaults filled in, errors) for ``values`` against every page; each error names its field
    (``{"field": "name", "message": ...}``) as the form shows it."""
    if not isinstance(values, dict):
        return {}, [{"field": "", "message": "the values are an object"}]
    filled, errors = dict(values), []
    secret = {name for page in template.pages for name, prop in (page.get("properties") or {}).items()
              if isinstance(prop, dict) and (prop.get("ui:field") == "Secret" or prop.get("ui:widget") == "password")}
    for page in template.pages:
        filled = _with_defaults(page, filled)
        try:
            found = list(schema_validator(_schema_only(page)).iter_errors(filled))
        except Exception as exc:  # noqa: BLE001 - recursion, an unresolvable $ref...: the template's fault, said so
            errors.append({"field": "", "message": f"the template's parameters cannot be checked ({type(exc).__name__})"})
            continue
        for error in sorted(found, key=lambda e: list(map(str, e.absolute_path))):
            path = ".".join(map(str, error.absolute_path))
            if error.validator == "required" and not path:
                missing = error.message.split("'")[1] if "'" in error.message else ""
                errors.append({"field": missing, "message": f"{missing or 'a field'} is required"})
            elif error.absolute_path and str(error.absolute_path[0]) in secret:
                # a secret's value is never echoed: the message names the rule it breaks, not what was typed
                errors.append({"field": path, "message": f"{path}: does not satisfy the template's {error.validator!r}"})
            else:
                errors.append({"field": path, "message": error.message})
    hidden = sorted({spelling for name in secret if isinstance(values.get(name), str) and len(values[name]) >= 3
                     for spelling in (repr(values[name]), json.dumps(values[name]), values[name])}, key=len, reverse=True)
    for error in errors:  # a page-level error (anyOf, dependencies) quotes the whole page, secrets too: never them
        for spelling in hidden:
            error["message"] = error["message"].replace(spelling, "***")
    return filled, errors


def preflight(template: Template, parameters: dict, *, user: dict | None = None) -> list[tuple[str, str]]:
    """Problems with running ``template`` with ``parameters`` (already checked), each (field, message); empty when
    every step names a known action whose input schema accepts what the step renders to."""
    problems: list[tuple[str, str]] = []
    context = {"parameters": parameters, "user": user or {}, "steps": DeferredSteps(), "secrets": {}}
    for index, step in enumerate(template.steps):
        where = f"spec.steps[{index}]"
        action = action_get(step.action)
        if action is None:
            problems.append((f"{where}.action", f"step {step.id}: Wayline has no action {step.action!r}"))
            continue
        if step.condition is not None:
            try:
                condition = render_value(step.condition, context, where=f"{where}.if")
            except ExpressionError as exc:
                problems.append((f"{where}.if", f"step {step.id}: {exc}"))
                continue
            if not isinstance(step.condition, str) or "steps" not in str(step.condition):
                if not truthy(condition):
                    continue  # skipped with these values: its input is not checked
        deferred: list[str] = []
        try:
            rendered = render_value(step.input, context, where=f"{where}.input", deferred=deferred)
        except ExpressionError as exc:
            problems.append((f"{where}.input", f"step {step.id}: {exc}"))
            continue
        validator = schema_validator(action.input)
        for error in validator.iter_errors(_without_deferred(rendered)):
            path = ".".join(map(str, error.absolute_path))
            field_where = f"{where}.input" + (f".{path}" if path else "")
            if any(field_where == d or field_where.startswith(d + ".") or d.startswith(field_where + ".") for d in deferred):
                continue  # depends on an earlier step's output: checked when that step has run
            problems.append((field_where, f"step {step.id}: {error.message}"))
    return problems


def _without_deferred(value):
    from catalog.scaffolder.expressions import Deferred

    if isinstance(value, Deferred):
        return "…"
    if isinstance(value, dict):
        return {k: _without_deferred(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_deferred(v) for v in value]
    return value
