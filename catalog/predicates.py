"""Backstage's filter predicates (``@backstage/filter-predicates``), as ``queryLocations`` and the predicate queries
send them, checked where they enter and matched against plain JSON data.

A predicate is ``{"$all": [...]}``, ``{"$any": [...]}``, ``{"$not": p}`` or an expression: an object whose keys are
dotted paths (``metadata.name``) and whose values are a primitive (equal, ignoring case; numbers compare as text),
``{"$exists": bool}``, ``{"$in": [primitives]}``, ``{"$hasPrefix": str}`` (ignoring case) or ``{"$contains": p}``
(an array with an element the predicate matches). A path that reaches an array matches when any element does, as
Backstage's filters descend through arrays. Unknown operators are refused when the predicate enters (a clear
error naming where), rather than silently matching nothing.
"""
from __future__ import annotations

_MISSING = object()
VALUE_OPERATORS = ("$exists", "$in", "$hasPrefix", "$contains")
MAX_NODES = 1000
MAX_PATH = 256  # characters of a field path
MAX_SEGMENTS = 32  # dotted segments of a field path
MAX_VALUE = 1000  # characters of a value compared


class PredicateError(ValueError):
    """A predicate Wayline cannot read; the message names where in it."""


def _primitive(value) -> bool:
    return isinstance(value, (str, int, float, bool)) and value is not None


def path_refusal(path: str) -> str:
    """Why a field path cannot be read ('' when it can): too long, too many segments, or a segment that is a number
    (a database reads ``spec.-1`` as an array index)."""
    if len(path) > MAX_PATH:
        return f"a field path longer than {MAX_PATH} characters"
    parts = path.split(".")
    if len(parts) > MAX_SEGMENTS:
        return f"a field path of more than {MAX_SEGMENTS} segments"
    if any(part.lstrip("-").isdigit() for part in parts):
        return "a field path segment that is a number"
    return ""


def predicate_check(predicate, *, depth: int = 16, where: str = "", max_nodes: int = MAX_NODES) -> None:
    """Raise PredicateError unless ``predicate`` (None: match everything) is a predicate of at most ``depth`` levels
    and ``max_nodes`` conditions (each value of ``$in`` counts), whose paths and values are of bounded size."""
    counted = [0]

    def walk(node, level: int, at: str) -> None:
        counted[0] += 1
        if counted[0] > max_nodes:
            raise PredicateError(f"more than {max_nodes} conditions")
        if level > depth:
            raise PredicateError(f"{at or 'the predicate'}: nested deeper than {depth} levels")
        if not isinstance(node, dict) or not node:
            raise PredicateError(f"{at or 'the predicate'}: an object with $all, $any, $not or field paths")
        logical = [key for key in node if key in ("$all", "$any", "$not")]
        if logical:
            if len(node) != 1:
                raise PredicateError(f"{at or 'the predicate'}: {logical[0]} stands alone in its object")
            key = logical[0]
            if key == "$not":
                walk(node[key], level + 1, f"{at}.$not" if at else "$not")
                return
            if not isinstance(node[key], list):
                raise PredicateError(f"{at}.{key}: an array of predicates" if at else f"{key}: an array of predicates")
            for index, child in enumerate(node[key]):
                walk(child, level + 1, f"{at}.{key}[{index}]" if at else f"{key}[{index}]")
            return
        for path, value in node.items():
            here = f"{at}.{path}" if at else path
            if not isinstance(path, str) or not path or path.startswith("$"):
                raise PredicateError(f"{here[:80]}: unknown operator (known: $all, $any, $not)")
            if path_refusal(path):
                raise PredicateError(f"{here[:80]}: {path_refusal(path)}")
            if any(isinstance(v, str) and len(v) > MAX_VALUE for v in _strings_in(value)):
                raise PredicateError(f"{here[:80]}: a value longer than {MAX_VALUE} characters")
            if _primitive(value):
                continue
            if not isinstance(value, dict) or len(value) != 1:
                raise PredicateError(f"{here}: a string, number or boolean, or one of {', '.join(VALUE_OPERATORS)}")
            (operator, argument), = value.items()
            if operator == "$exists" and isinstance(argument, bool):
                continue
            if operator == "$in" and isinstance(argument, list) and all(_primitive(v) for v in argument):
                counted[0] += len(argument)
                continue
            if operator == "$hasPrefix" and isinstance(argument, str):
                continue
            if operator == "$contains":
                walk(argument, level + 1, f"{here}.$contains")
                continue
            raise PredicateError(f"{here}: {str(operator)[:40]} with {type(argument).__name__} is not a matcher "
                                 f"Wayline knows ({', '.join(VALUE_OPERATORS)})")

    if predicate is not None:
        walk(predicate, 1, where)
    if counted[0] > max_nodes:
        raise PredicateError(f"more than {max_nodes} conditions")


def _strings_in(value) -> list:
    """The strings a matcher compares: the value itself, or its operator's argument (a list for ``$in``)."""
    if isinstance(value, dict):
        return [v for argument in value.values() for v in (argument if isinstance(argument, list) else [argument])]
    return [value]


def _values(data, parts: list[str]) -> list:
    """Every value at the dotted path ``parts`` of ``data``, descending through arrays."""
    current = [data]
    for part in parts:
        following = []
        for value in current:
            if isinstance(value, list):
                value = [v.get(part, _MISSING) if isinstance(v, dict) else _MISSING for v in value]
                following.extend(v for v in value if v is not _MISSING)
            elif isinstance(value, dict) and part in value:
                following.append(value[part])
        current = following
    flat = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def predicate_text(value) -> str:
    """A primitive as the text it is compared as (lower case; booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _path_values(data, path: str, *, arrays: bool = False) -> list:
    """The values at ``path`` in ``data``: a key may itself hold dots (annotations: ``backstage.io/x``), and arrays
    on the way are descended into. The array found at the end is spread into its elements, or with ``arrays``
    kept whole (what ``$contains`` looks into)."""
    if isinstance(data, dict) and path in data:
        value = data[path]
        return value if isinstance(value, list) and not arrays else [value]
    head, dot, rest = path.partition(".")
    if dot and isinstance(data, dict):
        # the longest key prefix first: metadata.annotations.backstage.io/orphan
        parts = path.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            key, remainder = ".".join(parts[:cut]), ".".join(parts[cut:])
            if cut > 1 and key in data:
                return _path_values(data[key], remainder, arrays=arrays)
        if head in data:
            inner = data[head]
            if isinstance(inner, list):
                return [v for item in inner for v in _path_values(item, rest, arrays=arrays)]
            return _path_values(inner, rest, arrays=arrays)
        return []
    if arrays:
        return []
    return _values(data, [path])


def predicate_match(data: dict, predicate) -> bool:
    """Whether ``data`` (a location's or an entity's JSON) satisfies ``predicate`` (checked beforehand)."""
    if predicate is None:
        return True
    if "$all" in predicate:
        return all(predicate_match(data, child) for child in predicate["$all"])
    if "$any" in predicate:
        return any(predicate_match(data, child) for child in predicate["$any"])
    if "$not" in predicate:
        return not predicate_match(data, predicate["$not"])
    for path, expected in predicate.items():
        values = _path_values(data, path)
        if isinstance(expected, dict):
            (operator, argument), = expected.items()
            if operator == "$exists":
                ok = bool(values) == argument
            elif operator == "$in":
                wanted = {predicate_text(v) for v in argument}
                ok = any(_primitive(v) and predicate_text(v) in wanted for v in values)
            elif operator == "$hasPrefix":
                ok = any(isinstance(v, str) and v.lower().startswith(argument.lower()) for v in values)
            else:  # $contains: the value is an array with an element the predicate matches
                arrays = _path_values(data, path, arrays=True)
                ok = any(isinstance(a, list) and any(_element_matches(e, argument) for e in a) for a in arrays)
        else:
            ok = any(_primitive(v) and predicate_text(v) == predicate_text(expected) for v in values)
        if not ok:
            return False
    return True


def _element_matches(element, predicate) -> bool:
    if isinstance(element, dict):
        return predicate_match(element, predicate)
    return False
