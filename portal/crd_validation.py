"""Validate Kubernetes objects against a CustomResourceDefinition's ``openAPIV3Schema``.

jsonschema does the checking; this module adapts Kubernetes' structural-schema
extensions to plain JSON Schema so nothing is weakened:

- ``x-kubernetes-int-or-string``: integer or string.
- ``x-kubernetes-preserve-unknown-fields``: unknown keys are kept (and, with no
  type, any value is accepted).
- an object schema with ``properties`` and neither of the above nor
  ``additionalProperties`` is closed: Kubernetes would prune an unknown field, so a
  field we render but the CRD does not know is a bug and is reported.
- ``nullable: true`` admits ``null``.
- ``metadata`` is checked with ObjectMeta's own rules (names, namespaces, label
  keys and values), as the API server does before the CRD schema applies.

Errors name the object, the field path and, for YAML text, the file and line.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

CONFORMANCE_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "conformance"

# Label key: optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_NAME_RE = re.compile(rf"^{_NAME}$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

def label_key_errors(key: str) -> list[str]:
    """Why ``key`` is not a valid Kubernetes label key (empty list when it is)."""
    errors = []
    if not key:
        return ["the label key is empty"]
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            errors.append(f"label key {key!r}: the prefix before '/' is empty")
        elif len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix):
            errors.append(
                f"label key {key!r}: the prefix {prefix!r} must be a DNS subdomain "
                "(lowercase letters, digits, '-' and '.', 253 characters at most)"
            )
    if not name:
        errors.append(f"label key {key!r}: the name after the prefix is empty")
    elif len(name) > 63:
        errors.append(f"label key {key!r}: the name {name!r} is {len(name)} characters long; 63 at most")
    elif not _NAME_RE.match(name):
        errors.append(
            f"label key {key!r}: the name {name!r} may contain only letters, digits, '-', '_' and '.', "
            "and must start and end with a letter or digit"
        )
    return errors


def label_value_errors(value: str, *, key: str = "") -> list[str]:
    """Why ``value`` is not a valid Kubernetes label value (empty list when it is)."""
    where = f"value {value!r}" + (f" of key {key!r}" if key else "")
    if value == "":
        return []
    if len(value) > 63:
        return [f"{where} is {len(value)} characters long; 63 at most"]
    if not _NAME_RE.match(value):
        return [f"{where} may contain only letters, digits, '-', '_' and '.', and must start and end with a letter or digit"]
    return []


@dataclass(frozen=True)
class SchemaError:
    path: str  # dotted field path, e.g. spec.template.spec.destination.server
    message: str
    file: str = ""
    line: int | None = None
    document: str = ""  # kind/namespace/name

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "") if self.file else ""
        prefix = ", ".join(p for p in (where, self.document, f"field {self.path or '(root)'}") if p)
        return f"{prefix}: {self.message}"


class CRDValidationError(ValueError):
    def __init__(self, errors: list[SchemaError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _adapt(schema: dict) -> dict:
    """Translate one structural schema node (recursively) into plain JSON Schema."""
    schema = dict(schema)
    preserve = schema.pop("x-kubernetes-preserve-unknown-fields", False)
    int_or_string = schema.pop("x-kubernetes-int-or-string", False)
    nullable = schema.pop("nullable", False)
    for key in [k for k in schema if k.startswith("x-kubernetes-")]:
        schema.pop(key)
    if "properties" in schema:
        schema["properties"] = {k: _adapt(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _adapt(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        schema["items"] = _adapt(schema["items"])
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in schema:
            schema[combinator] = [_adapt(s) for s in schema[combinator]]
    if "not" in schema:
        schema["not"] = _adapt(schema["not"])
    if int_or_string:
        schema.pop("type", None)
        schema["anyOf"] = schema.get("anyOf", []) + [{"type": "integer"}, {"type": "string"}]
    if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema and not preserve:
        schema["additionalProperties"] = False
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


@dataclass(frozen=True)
class CRDSchema:
    group: str
    kind: str
    version: str
    validator: jsonschema.protocols.Validator

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@lru_cache(maxsize=None)
def crd_load(path: str) -> dict[str, CRDSchema]:
    """Every served version of the CRD at ``path``, keyed by ``group/version``."""
    crd = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    out = {}
    for version in crd["spec"]["versions"]:
        raw = copy.deepcopy(version["schema"]["openAPIV3Schema"])
        # Kubernetes validates metadata itself (ObjectMeta); the CRD only says "object".
        raw.setdefault("properties", {})["metadata"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        # Every object may carry apiVersion and kind, whether or not the CRD spells them out.
        raw["properties"].setdefault("apiVersion", {"type": "string"})
        raw["properties"].setdefault("kind", {"type": "string"})
        schema = _adapt(raw)
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        out[f"{group}/{version['name']}"] = CRDSchema(
            group=group,
            kind=kind,
            version=version["name"],
            validator=validator_class(schema, format_checker=jsonschema.FormatChecker()),
        )
    return out


@lru_cache(maxsize=1)
def conformance_registry() -> dict[tuple[str, str], CRDSchema]:
    """(apiVersion, kind) -> schema for every CRD under ``../shared/conformance``."""
    registry = {}
    for path in sorted(CONFORMANCE_DIR.glob("**/*.yaml")):  # the providers' CRDs sit one folder deeper
        try:
            text = path.read_text()
        except OSError:
            continue
        if "kind: CustomResourceDefinition" not in text:
            continue
        for api_version, schema in crd_load(str(path)).items():
            registry[(api_version, schema.kind)] = schema
    return registry


# Argo Events' CRDs leave ``spec`` open; upstream's JSON Schema (``argo-events/schema.json``) types it, so objects of
# these kinds are checked against that too, closed the same way as a CRD's schema.
ARGO_EVENTS_KINDS = ("EventSource", "Sensor", "EventBus")


@lru_cache(maxsize=None)
def argo_events_validator(kind: str):
    """A validator of ``argoproj.io/v1alpha1`` ``kind`` by Argo Events' typed JSON Schema; None without the file."""
    path = CONFORMANCE_DIR / "argo-events" / "schema.json"
    if not path.is_file():
        return None
    definitions = {name: _adapt(node) for name, node in json.loads(path.read_text())["definitions"].items()}
    root = dict(definitions[f"io.argoproj.events.v1alpha1.{kind}"])
    # ObjectMeta is checked by _metadata_errors, as for CRDs; the rest by upstream's types
    root["properties"] = dict(root["properties"], metadata={"type": "object"})
    schema = {**root, "definitions": definitions}
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def _metadata_errors(metadata: dict, *, namespaced: bool) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    name = metadata.get("name")
    if not name:
        errors.append(("metadata.name", "is required"))
    elif len(name) > 253 or not _DNS_SUBDOMAIN_RE.match(name):
        errors.append(("metadata.name", f"{name!r} is not a DNS subdomain (lowercase, '-', '.', 253 characters at most)"))
    namespace = metadata.get("namespace")
    if namespaced and namespace is not None and (len(namespace) > 63 or not DNS_LABEL_RE.match(namespace)):
        errors.append(("metadata.namespace", f"{namespace!r} is not a DNS label"))
    for key, value in (metadata.get("labels") or {}).items():
        for problem in label_key_errors(key):
            errors.append((f"metadata.labels.{key}", problem))
        if not isinstance(value, str):
            errors.append((f"metadata.labels.{key}", f"value {value!r} is not a string"))
        else:
            for problem in label_value_errors(value, key=key):
                errors.append((f"metadata.labels.{key}", problem))
    for key, value in (metadata.get("annotations") or {}).items():
        for problem in label_key_errors(key):
            errors.append((f"metadata.annotations.{key}", problem))
        if not isinstance(value, str):
            errors.append((f"metadata.annotations.{key}", f"value {value!r} is not a string"))
    return errors


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_object(obj: dict, *, registry: dict | None = None, file: str = "", lines: dict | None = None) -> list[SchemaError]:
    """Errors of one object against the CRD of its apiVersion/kind (empty list when valid).

    ``lines`` maps field paths (tuples) to line numbers, from :func:`validate_yaml_text`.
    """
    registry = registry if registry is not None else conformance_registry()
    document = f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"

    def line_of(parts) -> int | None:
        if not lines:
            return None
        parts = tuple(parts)
        while parts not in lines and parts:
            parts = parts[:-1]
        return lines.get(parts)

    key = (obj.get("apiVersion"), obj.get("kind"))
    schema = registry.get(key)
    if schema is None:
        return [SchemaError("apiVersion", f"no CRD known for apiVersion {key[0]!r} kind {key[1]!r}", file, line_of(()), document)]
    errors = []
    validators = [schema.validator]
    if key[0] == "argoproj.io/v1alpha1" and key[1] in ARGO_EVENTS_KINDS and (typed := argo_events_validator(key[1])):
        validators.append(typed)
    found = [e for validator in validators for e in validator.iter_errors(obj)]
    for error in sorted(found, key=lambda e: list(map(str, e.absolute_path))):
        parts = list(error.absolute_path)
        errors.append(SchemaError(_path(parts), error.message, file, line_of(parts), document))
    for path, message in _metadata_errors(obj.get("metadata") or {}, namespaced=True):
        errors.append(SchemaError(path, message, file, line_of(path.split(".")[:2]), document))
    return errors


def _line_map(node, prefix=(), out=None) -> dict:
    out = {} if out is None else out
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _line_map(value_node, prefix + (key_node.value,), out)
            out[prefix + (key_node.value,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, prefix + (index,), out)
    return out


def validate_yaml_text(text: str, *, file: str = "", registry: dict | None = None) -> list[SchemaError]:
    """Validate every document of a YAML stream; errors carry file and line."""
    errors = []
    nodes = list(yaml.compose_all(text))
    documents = list(yaml.safe_load_all(text))
    for node, document in zip(nodes, documents):
        if document is None:
            continue
        if not isinstance(document, dict):
            errors.append(SchemaError("", "document is not a mapping", file, node.start_mark.line + 1))
            continue
        errors += validate_object(document, registry=registry, file=file, lines=_line_map(node))
    return errors


def assert_valid(obj: dict, *, file: str = "") -> None:
    """Raise :class:`CRDValidationError` if ``obj`` does not conform to its CRD."""
    errors = validate_object(obj, file=file)
    if errors:
        raise CRDValidationError(errors)
