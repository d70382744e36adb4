"""Relations derived from entity specs, in both directions, as Backstage's built-in processor emits them."""
from __future__ import annotations

from catalog.refs import EntityRef, EntityRefError, entity_ref, parse_ref
from catalog.validation import EntityInvalid, FieldError

OWNED_BY, OWNER_OF = "ownedBy", "ownerOf"
PART_OF, HAS_PART = "partOf", "hasPart"
DEPENDS_ON, DEPENDENCY_OF = "dependsOn", "dependencyOf"
PROVIDES_API, API_PROVIDED_BY = "providesApi", "apiProvidedBy"
CONSUMES_API, API_CONSUMED_BY = "consumesApi", "apiConsumedBy"
MEMBER_OF, HAS_MEMBER = "memberOf", "hasMember"
CHILD_OF, PARENT_OF = "childOf", "parentOf"

RELATION_TYPES = (
    OWNED_BY, OWNER_OF, PART_OF, HAS_PART, DEPENDS_ON, DEPENDENCY_OF, PROVIDES_API, API_PROVIDED_BY,
    CONSUMES_API, API_CONSUMED_BY, MEMBER_OF, HAS_MEMBER, CHILD_OF, PARENT_OF,
)

REVERSE = {
    OWNED_BY: OWNER_OF, OWNER_OF: OWNED_BY, PART_OF: HAS_PART, HAS_PART: PART_OF, DEPENDS_ON: DEPENDENCY_OF,
    DEPENDENCY_OF: DEPENDS_ON, PROVIDES_API: API_PROVIDED_BY, API_PROVIDED_BY: PROVIDES_API,
    CONSUMES_API: API_CONSUMED_BY, API_CONSUMED_BY: CONSUMES_API, MEMBER_OF: HAS_MEMBER, HAS_MEMBER: MEMBER_OF,
    CHILD_OF: PARENT_OF, PARENT_OF: CHILD_OF,
}
CANONICAL = {name.lower(): name for name in RELATION_TYPES}

# kind -> [(spec field, default kind of the target, relation from this entity, reverse relation)]
_RULES: dict[str, list[tuple[str, str | None, str, str]]] = {
    "Component": [
        ("owner", "Group", OWNED_BY, OWNER_OF),
        ("subcomponentOf", "Component", PART_OF, HAS_PART),
        ("providesApis", "API", PROVIDES_API, API_PROVIDED_BY),
        ("consumesApis", "API", CONSUMES_API, API_CONSUMED_BY),
        ("dependsOn", None, DEPENDS_ON, DEPENDENCY_OF),
        ("dependencyOf", None, DEPENDENCY_OF, DEPENDS_ON),
        ("system", "System", PART_OF, HAS_PART),
    ],
    "API": [("owner", "Group", OWNED_BY, OWNER_OF), ("system", "System", PART_OF, HAS_PART)],
    "Resource": [
        ("owner", "Group", OWNED_BY, OWNER_OF),
        ("dependsOn", None, DEPENDS_ON, DEPENDENCY_OF),
        ("dependencyOf", None, DEPENDENCY_OF, DEPENDS_ON),
        ("system", "System", PART_OF, HAS_PART),
    ],
    "System": [("owner", "Group", OWNED_BY, OWNER_OF), ("domain", "Domain", PART_OF, HAS_PART)],
    "Domain": [("owner", "Group", OWNED_BY, OWNER_OF), ("subdomainOf", "Domain", PART_OF, HAS_PART)],
    "User": [("memberOf", "Group", MEMBER_OF, HAS_MEMBER)],
    "Group": [
        ("parent", "Group", CHILD_OF, PARENT_OF),
        ("children", "Group", PARENT_OF, CHILD_OF),
        ("members", "User", HAS_MEMBER, MEMBER_OF),
    ],
    "Template": [("owner", "Group", OWNED_BY, OWNER_OF)],
}


def spec_ref(entity: dict, field: str, default_kind: str | None) -> EntityRef | None:
    """The ref in ``spec.<field>`` with the entity's namespace as default; ``None`` if absent."""
    value = (entity.get("spec") or {}).get(field)
    if value is None:
        return None
    namespace = entity["metadata"].get("namespace") or "default"
    try:
        return parse_ref(value, default_kind=default_kind, default_namespace=namespace)
    except EntityRefError as exc:
        raise EntityInvalid(FieldError(f"spec.{field}", str(exc))) from None


def derive_relations(entity: dict) -> list[tuple[str, str, str]]:
    """``(source ref key, type, target ref key)`` for every relation the entity's spec implies, both directions."""
    rules = _RULES.get(entity["kind"])
    if not rules:
        return []
    self_key = entity_ref(entity).key
    namespace = entity["metadata"].get("namespace") or "default"
    spec = entity.get("spec") or {}
    relations: list[tuple[str, str, str]] = []
    for field, default_kind, forward, reverse in rules:
        value = spec.get(field)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for i, item in enumerate(values):
            try:
                target = parse_ref(item, default_kind=default_kind, default_namespace=namespace).key
            except EntityRefError as exc:
                where = f"spec.{field}.{i}" if isinstance(value, list) else f"spec.{field}"
                raise EntityInvalid(FieldError(where, str(exc))) from None
            relations.append((self_key, forward, target))
            relations.append((target, reverse, self_key))
    return relations
