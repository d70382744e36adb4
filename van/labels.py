"""Tags, Kubernetes label selectors and deterministic names: pure functions, no Django.

Tags are how ops describe clusters and apps: a plain tag (``gpu``) or a
``key=value`` tag (``region=eu``). On a cluster they become labels of its ArgoCD
cluster Secret (a plain tag is a label with an empty value), and distribution
rules select clusters with Kubernetes label selectors over those labels.

The rule syntax for a cluster selector is Kubernetes' own selector string,
comma separated requirements:

    region=eu            equality (matchLabels)
    region!=eu           inequality (NotIn [eu]; also matches clusters without the key)
    tier in (gold,silver)
    tier notin (bronze)
    gpu                  the key exists (plain tag or any value)
    !legacy              the key does not exist
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from portal.crd_validation import DNS_LABEL_RE, label_key_errors, label_value_errors

# Label prefixes Wayline and ArgoCD write themselves; a tag may not shadow them.
RESERVED_PREFIXES = ("wayline.io", "argocd.argoproj.io", "kubernetes.io", "k8s.io")

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class LabelError(ValueError):
    """A tag, label or selector that Kubernetes would refuse; the message says which part and why."""


@dataclass(frozen=True, order=True)
class Tag:
    key: str
    value: str = ""

    @property
    def plain(self) -> bool:
        return self.value == ""

    def __str__(self) -> str:
        return self.key if self.plain else f"{self.key}={self.value}"


def tag_parse(text: str) -> Tag:
    """Parse one tag (``gpu`` or ``region=eu``); raise :class:`LabelError` saying what is wrong."""
    text = text.strip()
    key, eq, value = text.partition("=")
    key, value = key.strip(), value.strip()
    errors = label_key_errors(key)
    if eq and value == "":
        errors.append(f"tag {text!r}: the value after '=' is empty (write the plain tag {key!r} instead)")
    errors += label_value_errors(value, key=key)
    prefix = key.rpartition("/")[0]
    if prefix and any(prefix == p or prefix.endswith("." + p) for p in RESERVED_PREFIXES):
        errors.append(f"tag {text!r}: the prefix {prefix!r} is reserved for Wayline, ArgoCD and Kubernetes")
    if errors:
        raise LabelError("; ".join(errors))
    return Tag(key, value)


def tags_parse(raw: str | list[str] | tuple[str, ...]) -> list[Tag]:
    """Parse tags from a comma/whitespace separated string or a list; sorted, duplicates dropped.

    Raises :class:`LabelError` listing every bad tag; one key may carry only one value.
    """
    items = list(raw) if isinstance(raw, (list, tuple)) else re.split(r"[,\s]+", raw or "")
    tags: dict[str, Tag] = {}
    errors = []
    for position, item in enumerate(i.strip() for i in items):
        if not item:
            continue
        try:
            tag = tag_parse(item)
        except LabelError as exc:
            errors.append(f"tag {position + 1}: {exc}")
            continue
        previous = tags.get(tag.key)
        if previous is not None and previous != tag:
            errors.append(f"tag {position + 1}: {item!r} conflicts with {str(previous)!r} (one value per key)")
            continue
        tags[tag.key] = tag
    if errors:
        raise LabelError("; ".join(errors))
    return sorted(tags.values())


def tags_to_labels(tags: list[Tag] | list[str]) -> dict[str, str]:
    """Labels for an object carrying these tags (a plain tag is a label with an empty value)."""
    parsed = [t if isinstance(t, Tag) else tag_parse(t) for t in tags]
    return {t.key: t.value for t in parsed}


# --- selectors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values

    def negated(self) -> "Requirement":
        opposite = {"In": "NotIn", "NotIn": "In", "Exists": "DoesNotExist", "DoesNotExist": "Exists"}
        return Requirement(self.key, opposite[self.operator], self.values)

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        if len(self.values) == 1:
            return f"{self.key}{'=' if self.operator == 'In' else '!='}{self.values[0]}"
        return f"{self.key} {self.operator.lower()} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements: what a Kubernetes LabelSelector means."""

    requirements: tuple[Requirement, ...] = field(default_factory=tuple)

    def matches(self, labels: dict[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def and_(self, *more: Requirement) -> "Selector":
        return selector_normalise(self.requirements + tuple(more))

    def to_k8s(self) -> dict:
        """The ``LabelSelector`` object: single-value ``In`` become matchLabels, the rest matchExpressions."""
        match_labels: dict[str, str] = {}
        expressions = []
        for r in self.requirements:
            if r.operator == "In" and len(r.values) == 1 and r.key not in match_labels:
                match_labels[r.key] = r.values[0]
            else:
                item = {"key": r.key, "operator": r.operator}
                if r.operator in ("In", "NotIn"):
                    item["values"] = list(r.values)
                expressions.append(item)
        out: dict = {}
        if match_labels:
            out["matchLabels"] = match_labels
        if expressions:
            out["matchExpressions"] = expressions
        return out

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.requirements)

    def satisfiable(self) -> bool:
        """Whether some label set satisfies every requirement (label values are unbounded)."""
        by_key: dict[str, list[Requirement]] = {}
        for r in self.requirements:
            by_key.setdefault(r.key, []).append(r)
        for reqs in by_key.values():
            must_exist = any(r.operator in ("In", "Exists") for r in reqs)
            if must_exist and any(r.operator == "DoesNotExist" for r in reqs):
                return False
            allowed = None
            for r in reqs:
                if r.operator == "In":
                    allowed = set(r.values) if allowed is None else allowed & set(r.values)
            if allowed is not None:
                for r in reqs:
                    if r.operator == "NotIn":
                        allowed -= set(r.values)
                if not allowed:
                    return False
        return True


def selector_normalise(requirements) -> Selector:
    """Sort and de-duplicate requirements so equal selectors render identically."""
    unique = {(r.key, r.operator, tuple(sorted(r.values))): r for r in requirements}
    return Selector(tuple(Requirement(k, o, v) for (k, o, v) in sorted(unique)))


_REQ_SET = re.compile(r"^(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$", re.IGNORECASE)
_REQ_EQ = re.compile(r"^(?P<key>[^\s!=(),]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=(),]*)$")
_REQ_EXISTS = re.compile(r"^(?P<neg>!)?\s*(?P<key>[^\s!=(),]+)$")


def _split_requirements(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def selector_parse(text: str, *, allow_reserved: bool = False) -> Selector:
    """Parse the rule syntax (Kubernetes selector strings) into a :class:`Selector`.

    An empty string selects everything. Raises :class:`LabelError` naming the
    requirement (by position) and what is wrong with it.
    """
    text = (text or "").strip()
    if not text:
        return Selector()
    requirements = []
    errors = []
    for position, part in enumerate(_split_requirements(text), start=1):
        where = f"requirement {position} ({part!r})"
        if not part:
            errors.append(f"requirement {position}: empty (stray comma?)")
            continue
        values: tuple[str, ...] = ()
        if m := _REQ_SET.match(part):
            key, op = m["key"], "In" if m["op"].lower() == "in" else "NotIn"
            values = tuple(v.strip() for v in m["values"].split(",") if v.strip())
            if not values:
                errors.append(f"{where}: '{m['op']}' needs at least one value")
                continue
        elif m := _REQ_EQ.match(part):
            key, op, values = m["key"], "NotIn" if m["op"] == "!=" else "In", (m["value"],)
        elif m := _REQ_EXISTS.match(part):
            key, op = m["key"], "DoesNotExist" if m["neg"] else "Exists"
        else:
            errors.append(
                f"{where}: not understood; write key, !key, key=value, key!=value, "
                "key in (a,b) or key notin (a,b)"
            )
            continue
        problems = label_key_errors(key)
        for value in values:
            problems += label_value_errors(value, key=key)
        prefix = key.rpartition("/")[0]
        if not allow_reserved and prefix and any(prefix == p or prefix.endswith("." + p) for p in RESERVED_PREFIXES):
            problems.append(f"the prefix {prefix!r} is reserved (use the rule's environment field instead)")
        if problems:
            errors.append(f"{where}: " + "; ".join(problems))
            continue
        requirements.append(Requirement(key, op, tuple(sorted(set(values)))))
    if errors:
        raise LabelError("; ".join(errors))
    return selector_normalise(requirements)


def selector_from_k8s(obj: dict) -> Selector:
    """Read a Kubernetes ``LabelSelector`` object back into a :class:`Selector`."""
    requirements = [Requirement(k, "In", (v,)) for k, v in (obj.get("matchLabels") or {}).items()]
    for expr in obj.get("matchExpressions") or []:
        if expr["operator"] not in OPERATORS:
            raise LabelError(f"unknown operator {expr['operator']!r} for key {expr['key']!r}")
        requirements.append(Requirement(expr["key"], expr["operator"], tuple(sorted(expr.get("values") or ()))))
    return selector_normalise(requirements)


def selector_minus(selector: Selector, earlier: list[Selector], *, limit: int = 64) -> list[Selector]:
    """Split ``selector AND NOT earlier[0] AND NOT earlier[1] ...`` into disjoint selectors.

    A label selector cannot express NOT of a conjunction, but ``not (a and b and c)``
    is the disjoint union of ``not a``, ``a and not b``, ``a and b and not c``; each
    requirement has an exact negation. Unsatisfiable pieces are dropped. Used so that
    when two rules would place the same app on the same cluster, the earlier rule
    wins and ArgoCD never sees two generators producing one Application.
    Raises :class:`LabelError` when the split would need more than ``limit`` selectors.
    """
    pieces = [selector] if selector.satisfiable() else []
    for other in earlier:
        if not other.requirements:
            return []
        next_pieces = []
        for piece in pieces:
            if not piece.and_(*other.requirements).satisfiable():
                next_pieces.append(piece)
                continue
            prefix: tuple[Requirement, ...] = ()
            for requirement in other.requirements:
                candidate = piece.and_(*prefix, requirement.negated())
                if candidate.satisfiable():
                    next_pieces.append(candidate)
                prefix += (requirement,)
        pieces = next_pieces
        if len(pieces) > limit:
            raise LabelError(
                f"selector {str(selector)!r} overlaps earlier rules in too many ways "
                f"({len(pieces)} disjoint parts, {limit} at most); narrow it or reorder the rules"
            )
    return pieces


# --- names -------------------------------------------------------------------------------------


def short_name(name: str, limit: int) -> str:
    """``name`` if it fits in ``limit`` characters, else a truncation plus an 8-hex hash of the whole.

    Deterministic, stays a valid DNS label when ``name`` is one, and two different
    long names sharing a prefix still get different results.
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = name[: limit - 9].rstrip("-.")
    return f"{head}-{digest}"


def dns_label_errors(name: str, *, what: str = "name") -> list[str]:
    if not name:
        return [f"{what} is empty"]
    if len(name) > 63:
        return [f"{what} {name!r} is {len(name)} characters long; 63 at most"]
    if not DNS_LABEL_RE.match(name):
        return [f"{what} {name!r} must be lowercase letters, digits and '-', starting and ending with a letter or digit"]
    return []
