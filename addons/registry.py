"""The golden-path add-ons Wayline knows, as declarative definitions.

A definition is data (``addons/definitions/<slug>.yaml`` for the built-ins; a tool from git has the same shape):
where the tool comes from, pinned (a Helm chart version, or a git commit or version tag), its default values,
where it runs (the hub, every cluster, or the clusters with some tags), the settings a VAN owner may change (a JSON
Schema, validated on the server) and the add-ons it needs. ``addons/definition.schema.json`` is the format; adding a
built-in is adding a file. Every definition is checked where it enters, with errors naming the file and the field.
"""
from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from django.core.exceptions import ValidationError

from portal.validators import _url_problem, git_remote_url_validator, helm_repo_url_validator
from van.labels import LabelError, tag_parse

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DEFINITIONS_DIR = HERE / "definitions"
SCHEMA_FILE = HERE / "definition.schema.json"
VALUES_KEY = "x-wayline-values"  # in a settings property: "<source>:<dotted.path>" of the Helm value it sets
PLACEMENT_LABELS = {"hub": "hub only", "every-cluster": "every cluster", "tagged": "tagged clusters"}


class DefinitionError(ValueError):
    """A definition that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Source:
    """One chart or git path of an add-on: rendered as its own Application."""

    name: str
    kind: str  # "helm" or "git"
    repo_url: str
    version: str  # the chart version, or the git commit / version tag
    chart: str = ""
    path: str = ""
    values: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class AddOnDefinition:
    slug: str
    name: str
    summary: str
    upstream: str
    placement: str  # "hub", "every-cluster" or "tagged"
    namespace: str
    sources: tuple[Source, ...]
    upstream_version: str = ""
    tags: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    default_enabled: bool = True
    settings_schema: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def placement_label(self) -> str:
        label = PLACEMENT_LABELS[self.placement]
        return f"{label}: {', '.join(self.tags)}" if self.tags else label

    def settings_defaults(self) -> dict:
        return {name: copy.deepcopy(prop["default"]) for name, prop in self.settings_schema.get("properties", {}).items()
                if isinstance(prop, dict) and "default" in prop}

    def settings_clean(self, data: dict | None) -> tuple[dict, dict[str, str]]:
        """(settings with defaults filled in, {field: error}) for what a user sent; unknown fields are errors."""
        cleaned = self.settings_defaults() | dict(data or {})
        errors: dict[str, str] = {}
        for error in sorted(Draft202012Validator(self.settings_schema).iter_errors(cleaned), key=lambda e: list(e.path)):
            if error.validator == "additionalProperties" and not error.path:
                known = set(self.settings_schema.get("properties", {}))
                for name in sorted(set(cleaned) - known):
                    errors.setdefault(name, f"{self.name} has no setting {name!r}")
                continue
            name = str(error.path[0]) if error.path else "settings"
            prop = self.settings_schema.get("properties", {}).get(name)
            hint = prop.get("description") if isinstance(prop, dict) else None
            message = f"{error.instance!r} is not valid here: {hint}" if error.validator == "pattern" and hint else error.message
            errors.setdefault(name, message)
        return cleaned, errors

    def values_for(self, source: Source, settings: dict) -> dict:
        """``source``'s Helm values: its defaults, with each setting written where its ``x-wayline-values`` says."""
        values = copy.deepcopy(source.values)
        for name, prop in self.settings_schema.get("properties", {}).items():
            target = prop.get(VALUES_KEY) if isinstance(prop, dict) else None
            if not target or name not in settings:
                continue
            source_name, _, dotted = target.partition(":")
            if source_name != source.name:
                continue
            *parents, leaf = values_path(dotted)
            node = values
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = copy.deepcopy(settings[name])
        return values


def values_path(dotted: str) -> list[str]:
    """Keys of a Helm values path as ``helm --set`` writes it: dots separate, a backslash keeps a dot in a key
    (``grafana\\.ini.server.root_url``)."""
    return [part.replace("\x00", ".") for part in dotted.replace("\\.", "\x00").split(".")]


@lru_cache(maxsize=1)
def _definition_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def definition_parse(data, origin: str) -> AddOnDefinition:
    """One definition from parsed YAML or JSON; ``DefinitionError`` naming ``origin`` (a file) and the field."""
    errors = sorted(_definition_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise DefinitionError(f"{origin}: {_where(first.absolute_path)}: {first.message}")
    slug = data["slug"]
    settings_schema = data.get("settings") or {"type": "object", "properties": {}, "additionalProperties": False}
    try:
        Draft202012Validator.check_schema(settings_schema)
    except SchemaError as exc:
        raise DefinitionError(f"{origin}: settings: not a JSON Schema: {exc.message}") from None
    if settings_schema.get("type") != "object":
        raise DefinitionError(f"{origin}: settings: must be a schema of type object")
    sources = tuple(
        Source(name=s["name"], kind="helm", repo_url=s["helm"]["repoURL"], chart=s["helm"]["chart"],
               version=s["helm"]["version"], values=s.get("values") or {})
        if "helm" in s else
        Source(name=s["name"], kind="git", repo_url=s["git"]["repoURL"], path=s["git"]["path"],
               version=s["git"]["revision"], values=s.get("values") or {})
        for s in data["sources"])
    for index, source in enumerate(sources):  # the project's own URL rules: no credentials, no template or shell text
        check = helm_repo_url_validator if source.kind == "helm" else git_remote_url_validator
        try:
            check(source.repo_url)
        except ValidationError as exc:
            raise DefinitionError(f"{origin}: sources[{index}].{source.kind}.repoURL: {' '.join(exc.messages)}") from None
    if problem := _url_problem(data["upstream"]):
        raise DefinitionError(f"{origin}: upstream: {problem}")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise DefinitionError(f"{origin}: sources: two sources share a name")
    validator = Draft202012Validator(settings_schema)
    for name, prop in (settings_schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        target = prop.get(VALUES_KEY)
        if target is not None:
            source_name, _, dotted = str(target).partition(":")
            if source_name not in names or not dotted or "" in values_path(dotted):
                raise DefinitionError(f"{origin}: settings.properties.{name}.{VALUES_KEY}: {target!r} is not "
                                      f"'<source>:<dotted.path>' with a source of this add-on ({', '.join(names)})")
        if "default" in prop:
            problem = next(iter(validator.evolve(schema=prop).iter_errors(prop["default"])), None)
            if problem is not None:
                raise DefinitionError(f"{origin}: settings.properties.{name}.default: {problem.message}")
    for position, text in enumerate(data.get("tags", ())):
        try:
            tag_parse(text)
        except LabelError as exc:
            raise DefinitionError(f"{origin}: tags[{position}]: {exc}") from None
    if slug in data.get("needs", ()):
        raise DefinitionError(f"{origin}: needs: an add-on cannot need itself")
    return AddOnDefinition(
        slug=slug, name=data["name"], summary=data["summary"], upstream=data["upstream"],
        upstream_version=data.get("upstream_version", ""), placement=data["placement"], tags=tuple(data.get("tags", ())),
        namespace=data["namespace"], sources=sources, needs=tuple(data.get("needs", ())),
        provides=tuple(data.get("provides", ())), default_enabled=data.get("default_enabled", True),
        settings_schema=settings_schema)


def definition_load(text: str, origin: str) -> AddOnDefinition:
    """A definition from YAML text (a built-in's file, or one read from a tool's git repository)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise DefinitionError(f"{origin}:{where}: not YAML: {getattr(exc, 'problem', None) or exc}") from None
    return definition_parse(data, origin)


def check_needs(definitions: dict[str, AddOnDefinition]) -> None:
    """Every add-on needed exists and needs form no cycle; ``DefinitionError`` naming the add-on."""
    for definition in definitions.values():
        for need in definition.needs:
            if need not in definitions:
                raise DefinitionError(f"{definition.slug}: needs: no add-on {need!r}")
    state: dict[str, str] = {}

    def visit(slug: str, trail: tuple[str, ...]) -> None:
        if state.get(slug) == "done":
            return
        if state.get(slug) == "open":
            raise DefinitionError(f"{slug}: needs: a cycle ({' -> '.join(trail + (slug,))})")
        state[slug] = "open"
        for need in definitions[slug].needs:
            visit(need, trail + (slug,))
        state[slug] = "done"

    for slug in sorted(definitions):
        visit(slug, ())


@lru_cache(maxsize=1)
def builtins() -> dict[str, AddOnDefinition]:
    """The built-in definitions by slug, in file-name order; a bad file fails loudly (it ships with Wayline)."""
    out: dict[str, AddOnDefinition] = {}
    for path in sorted(DEFINITIONS_DIR.glob("*.yaml")):
        definition = definition_load(path.read_text(), f"addons/definitions/{path.name}")
        if definition.slug != path.stem:
            raise DefinitionError(f"addons/definitions/{path.name}: slug: {definition.slug!r} is not the file's name")
        out[definition.slug] = definition
    check_needs(out)
    return out


def _custom(slug: str, data) -> AddOnDefinition | None:
    """A stored tool's definition, read back through the same checks; one this Wayline no longer accepts is None,
    logged, never guessed at."""
    try:
        return definition_parse(data, f"custom add-on {slug}")
    except DefinitionError as exc:
        logger.warning("skipping %s", exc)
        return None


def custom_definitions(slug: str | None = None) -> dict[str, AddOnDefinition]:
    """The tools ops added (``CustomAddon``) that still parse, by slug (only ``slug``'s when given); one query."""
    from addons.models import CustomAddon

    rows = CustomAddon.objects.order_by("slug")
    if slug is not None:
        rows = rows.filter(slug=slug)
    parsed = ((name, _custom(name, data)) for name, data in rows.values_list("slug", "definition"))
    return {name: definition for name, definition in parsed if definition is not None}


def definitions() -> dict[str, AddOnDefinition]:
    """Every add-on a VAN may turn on: the built-ins, then the tools ops added."""
    return builtins() | custom_definitions()


def missing_needs(chosen: set[str], definitions: dict[str, AddOnDefinition] | None = None) -> dict[str, list[str]]:
    """For each chosen add-on, the add-ons it needs that are not chosen (empty when the choice holds together)."""
    definitions = builtins() if definitions is None else definitions
    return {slug: [need for need in definitions[slug].needs if need not in chosen]
            for slug in sorted(chosen) if slug in definitions and any(need not in chosen for need in definitions[slug].needs)}


def addon_get(slug: str) -> AddOnDefinition | None:
    """A built-in by slug, else the tool ops added under it (one query), else None."""
    return builtins().get(slug) or custom_definitions(slug).get(slug)
