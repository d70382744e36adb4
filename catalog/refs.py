"""Entity references in Backstage form: ``[kind:][namespace/]name``.

Backstage compares refs case-insensitively; Wayline stores and looks them up in
lower case (``component:default/payments``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

DEFAULT_NAMESPACE = "default"
MAX_REF_LENGTH = 400  # the width of the ref columns (a valid kind, namespace and name fit in 191)


class EntityRefError(ValueError):
    pass


@dataclass(frozen=True)
class EntityRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()}:{self.namespace}/{self.name}"

    @cached_property
    def key(self) -> str:
        """The lookup key: the whole ref in lower case."""
        return str(self).lower()


def parse_ref(ref: str, *, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE) -> EntityRef:
    """Parse a ref the way Backstage's ``parseEntityRef`` does, filling the context's defaults."""
    if not isinstance(ref, str) or not ref.strip():
        raise EntityRefError(f"entity reference must be a non-empty string, got {ref!r}")
    return _parse_ref(ref, default_kind, default_namespace)


@lru_cache(maxsize=16384)
def _parse_ref(ref: str, default_kind: str | None, default_namespace: str) -> EntityRef:
    # Cached: an import parses the same few owners, systems and APIs tens of thousands of times.
    kind, sep, rest = ref.partition(":")
    if not sep:
        kind, rest = "", ref
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = "", rest
    if sep and not namespace:
        raise EntityRefError(f"entity reference {ref!r} has an empty namespace")
    kind = kind or default_kind or ""
    if not kind:
        raise EntityRefError(f"entity reference {ref!r} has no kind and none can be inferred")
    if not name:
        raise EntityRefError(f"entity reference {ref!r} has an empty name")
    parsed = EntityRef(kind=kind, namespace=namespace or default_namespace, name=name)
    if len(str(parsed)) > MAX_REF_LENGTH:
        raise EntityRefError(f"entity reference {ref[:60]!r}... is longer than {MAX_REF_LENGTH} characters")
    return parsed


def entity_ref(entity: dict) -> EntityRef:
    meta = entity.get("metadata") or {}
    return EntityRef(kind=entity["kind"], namespace=meta.get("namespace") or DEFAULT_NAMESPACE, name=meta["name"])


def ref_key(ref: str) -> str:
    """Normalise an already complete ref string for lookups."""
    return ref.lower()
