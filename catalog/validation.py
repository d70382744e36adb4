"""Entity validation as Backstage does it, in the same order and with the same verdicts.

1. Policies (``@backstage/catalog-model`` ``EntityPolicies``): default namespace,
   no foreign root fields, field formats (names, namespaces, labels,
   annotations, tags, links), then the ``Entity`` JSON Schema.
2. The kind validator for the entity's kind (its ``<Kind>.<version>`` schema).
   A kind/apiVersion no validator claims is rejected, as catalog-backend
   rejects an entity that no processor recognises.

The schemas live in ``catalog/schemas/`` (Backstage's own files); their
``$ref``s are inlined once and the results compiled with fastjsonschema, which
is what lets an import validate thousands of entities per second.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import fastjsonschema

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
ROOT_FIELDS = ("apiVersion", "kind", "metadata", "spec", "relations", "status")

# (kind, schema file) in the order catalog-backend's BuiltinKindsEntityProcessor tries them; Template
# comes from the scaffolder's processor.
KIND_SCHEMAS = {
    "API": "API.v1alpha1",
    "Component": "Component.v1alpha1",
    "Resource": "Resource.v1alpha1",
    "Group": "Group.v1alpha1",
    "Location": "Location.v1alpha1",
    "User": "User.v1alpha1",
    "System": "System.v1alpha1",
    "Domain": "Domain.v1alpha1",
    "Template": "Template.v1beta3",
}


@dataclass(frozen=True)
class FieldError:
    """Why a document is not a valid entity: the field (dotted path) and a message."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field or '<root>'}: {self.message}"


class EntityInvalid(Exception):
    def __init__(self, error: FieldError):
        super().__init__(str(error))
        self.error = error


# --- Backstage's field format rules (KubernetesValidatorFunctions / CommonValidatorFunctions) ---

_DNS_LABEL = re.compile(r"^[a-z0-9]+(?:-+[a-z0-9]+)*$")
_OBJECT_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_KIND = re.compile(r"^[a-zA-Z][a-z0-9A-Z]*$")
_API_VERSION_SUFFIX = re.compile(r"^[a-z0-9A-Z]+$")
_TAG = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")


def is_dns_label(value) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_DNS_LABEL.match(value))


def is_dns_subdomain(value) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 253 and all(is_dns_label(part) for part in value.split("."))


def _prefix_and_or_suffix(value, is_prefix, is_suffix) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return is_suffix(parts[0])
    if len(parts) == 2:
        return is_prefix(parts[0]) and is_suffix(parts[1])
    return False


def is_object_name(value) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_OBJECT_NAME.match(value))


def is_api_version(value) -> bool:
    return _prefix_and_or_suffix(
        value, is_dns_subdomain, lambda s: 1 <= len(s) <= 63 and bool(_API_VERSION_SUFFIX.match(s))
    )


def is_kind(value) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_KIND.match(value))


def is_label_key(value) -> bool:
    return _prefix_and_or_suffix(value, is_dns_subdomain, is_object_name)


def is_label_value(value) -> bool:
    return value == "" or is_object_name(value)


def is_tag(value) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_TAG.match(value))


def is_url(value) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return bool(parsed.scheme) and bool(parsed.netloc or parsed.path)


_EXPECTATIONS = {
    is_api_version: "a string that is a valid apiVersion, e.g. backstage.io/v1alpha1",
    is_kind: "a string that is a sequence of [a-zA-Z0-9] starting with a letter, at most 63 characters in total",
    is_object_name: "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total",
    is_dns_label: "a string that is a sequence of [a-z0-9] separated by [-], at most 63 characters in total",
    is_label_key: "a string that is a valid label key ([prefix/]name)",
    is_label_value: "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total",
    is_tag: "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total",
    is_url: "a valid URL",
}


def _require(field: str, value, check) -> None:
    if value is None:
        raise EntityInvalid(FieldError(field, f"{field} must have a value"))
    if not check(value):
        expectation = _EXPECTATIONS.get(check)
        found = value if isinstance(value, str) else json.dumps(value)
        detail = f" expected {expectation} but found {found!r}." if expectation else ""
        raise EntityInvalid(FieldError(field, f'"{field}" is not valid;{detail}'))


def _optional(field: str, value, check) -> None:
    if value is not None:
        _require(field, value, check)


def _enforce_field_formats(entity: dict) -> None:
    meta = entity["metadata"]
    _require("apiVersion", entity.get("apiVersion"), is_api_version)
    _require("kind", entity.get("kind"), is_kind)
    _require("metadata.name", meta.get("name"), is_object_name)
    _optional("metadata.namespace", meta.get("namespace"), is_dns_label)
    for key, value in _mapping_items(meta.get("labels")):
        _require(f"metadata.labels.{key}", key, is_label_key)
        _require(f"metadata.labels.{key}", value, is_label_value)
    for key, value in _mapping_items(meta.get("annotations")):
        _require(f"metadata.annotations.{key}", key, is_label_key)
        _require(f"metadata.annotations.{key}", value, lambda v: isinstance(v, str))
    for i, tag in enumerate(_sequence(meta.get("tags"))):
        _require(f"metadata.tags.{i}", tag, is_tag)
    for i, link in enumerate(_sequence(meta.get("links"))):
        link = link if isinstance(link, dict) else {}
        _require(f"metadata.links.{i}.url", link.get("url"), is_url)
        _optional(f"metadata.links.{i}.title", link.get("title"), lambda v: isinstance(v, str) and bool(v))
        _optional(f"metadata.links.{i}.icon", link.get("icon"), is_object_name)


def _mapping_items(value):
    return value.items() if isinstance(value, dict) else ()


def _sequence(value):
    return value if isinstance(value, list) else ()


# --- JSON Schemas ---


def _load(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def _inline_refs(node, documents: dict[str, dict], current: dict):
    """Replace every ``$ref`` by the schema it names (the Backstage schemas have no cycles)."""
    if isinstance(node, list):
        return [_inline_refs(item, documents, current) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target_doc_name, _, fragment = node["$ref"].partition("#")
        document = documents[target_doc_name] if target_doc_name else current
        if fragment:
            target = next(
                definition
                for definition in document.get("definitions", {}).values()
                if definition.get("$id") == f"#{fragment}"
            )
        else:
            target = document
        return _inline_refs(copy.deepcopy(target), documents, document)
    return {
        key: _inline_refs(value, documents, current)
        for key, value in node.items()
        if key not in ("$id", "$schema", "examples", "definitions")
    }


@lru_cache(maxsize=1)
def _schema_documents() -> dict[str, dict]:
    return {"Entity": _load("Entity"), "EntityMeta": _load("EntityMeta"), "common": _load("common")}


@lru_cache(maxsize=None)
def compiled_schema(name: str):
    documents = _schema_documents()
    schema = _inline_refs(_load(name), documents, _load(name))
    return fastjsonschema.compile(schema, use_default=False, use_formats=False)


def _schema_error(exc: fastjsonschema.JsonSchemaValueException) -> FieldError:
    path = [str(part) for part in (exc.path or [])[1:]]  # drop fastjsonschema's leading "data"
    location = "/" + "/".join(path) if path else "<root>"
    if exc.rule == "required" and isinstance(exc.rule_definition, list) and isinstance(exc.value, dict):
        missing = next((key for key in exc.rule_definition if key not in exc.value), exc.rule_definition[0])
        return FieldError(".".join([*path, missing]), f"{location} must have required property '{missing}'")
    if exc.rule == "additionalProperties":
        return FieldError(".".join(path), f"{location} must NOT have additional properties")
    if exc.rule == "type":
        return FieldError(".".join(path), f"{location} must be {exc.rule_definition}")
    if exc.rule == "enum":
        return FieldError(".".join(path), f"{location} must be equal to one of the allowed values {exc.rule_definition}")
    message = exc.message.replace("data.", "").replace("data ", "")
    return FieldError(".".join(path), f"{location} {message}")


def _check_schema(name: str, entity: dict) -> fastjsonschema.JsonSchemaValueException | None:
    try:
        compiled_schema(name)(entity)
    except fastjsonschema.JsonSchemaValueException as exc:
        return exc
    return None


def validate_entity(entity) -> dict:
    """Validate one document; return the entity (namespace defaulted) or raise ``EntityInvalid``.

    The entity passed in is not modified.
    """
    if not isinstance(entity, dict) or ("apiVersion" not in entity and "kind" not in entity):
        raise EntityInvalid(FieldError("", "not a catalog entity: the document has no apiVersion and kind"))
    metadata = entity.get("metadata")
    if not isinstance(metadata, dict):
        raise EntityInvalid(FieldError("metadata", "metadata must be an object with a name"))
    # DefaultNamespaceEntityPolicy
    if "namespace" not in metadata:
        entity = {**entity, "metadata": {**metadata, "namespace": "default"}}
    # NoForeignRootFieldsEntityPolicy
    for key in entity:
        if key not in ROOT_FIELDS:
            raise EntityInvalid(FieldError(key, f"Entity has forbidden root field {key}"))
    _enforce_field_formats(entity)
    kind = entity["kind"]
    schema_name = KIND_SCHEMAS.get(kind)
    # SchemaValidEntityPolicy. Every kind schema starts with ``allOf: [Entity, ...]``, so for a known
    # kind one pass checks the Entity schema first and then the kind's: the same first error, half the work.
    if schema_name is None:
        exc = _check_schema("Entity", entity)
        if exc is not None:
            raise EntityInvalid(_schema_error(exc))
        raise EntityInvalid(FieldError("kind", f"no validator for kind {kind!r} (supported: {', '.join(KIND_SCHEMAS)})"))
    exc = _check_schema(schema_name, entity)
    if exc is not None:
        error = _schema_error(exc)
        if exc.rule == "enum" and error.field in ("kind", "apiVersion"):
            raise EntityInvalid(
                FieldError("apiVersion", f"apiVersion {entity['apiVersion']!r} is not supported for kind {kind}")
            )
        raise EntityInvalid(error)
    return entity
