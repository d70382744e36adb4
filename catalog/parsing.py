"""Multi-document YAML with line numbers per document and per field.

PyYAML's C loader composes each document to a node tree (which keeps the
line of every key and value) and constructs the plain data from it; the nodes
are kept so an error on ``spec.owner`` can name the line it is on.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import yaml

# The C parser with the *base* resolver: PyYAML's safe resolver runs a Python regex match for every
# scalar while composing; here only plain scalars that could be something other than a string
# (see ``_MAYBE_TYPED``) are resolved, in ``_convert``. Same results, about twice as fast.
try:
    _FastLoader, _SafeLoader = yaml.CBaseLoader, yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _FastLoader, _SafeLoader = yaml.BaseLoader, yaml.SafeLoader


@dataclass
class ParsedDocument:
    """One non-empty YAML document of a file; ``index`` counts non-empty documents from 0."""

    index: int
    data: object
    line: int  # 1-based line where the document's content starts
    text: str  # the document's own source text
    node: yaml.Node | None = field(default=None, repr=False)

    def line_of(self, field_path: str) -> int:
        """The 1-based line of ``field_path`` (dotted, e.g. ``spec.owner`` or ``metadata.tags.1``).

        A missing field gives the line of its nearest present parent.
        """
        node, line = self.node, self.line
        for part in [p for p in field_path.split(".") if p] if field_path else []:
            child = _child(node, part)
            if child is None:
                break
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        return line


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_fallback = yaml.constructor.SafeConstructor()
_resolver = yaml.resolver.Resolver()
# First characters of every implicit (untagged) YAML 1.1 type the safe resolver knows: bool, int,
# float, null, timestamp, merge, value. A plain scalar starting otherwise is a string.
_MAYBE_TYPED = frozenset("-+0123456789.~nNtTfFyYoO<=")


class _NeedsSafeLoader(Exception):
    """A construct the fast path does not handle (merge keys): parse the file with the safe loader."""


def to_python(node):
    """Build plain data from a composed node, as ``SafeLoader`` would, several times faster.

    Plain strings, mappings and sequences (nearly all of a catalog file) are
    converted directly; anything else (numbers, booleans, timestamps, merge
    keys, other tags) goes through PyYAML's own ``SafeConstructor``.
    """
    return _convert(node, set())


def _convert(node, active: set):
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag == _STR:
            value = node.value
            if node.style or (value and value[0] not in _MAYBE_TYPED):  # quoted or block: always a string
                return value
            tag = _resolver.resolve(yaml.ScalarNode, value, (True, False))
            if tag == _STR:
                return value
            if tag == _MERGE:
                raise _NeedsSafeLoader
            node = yaml.ScalarNode(tag, value, node.start_mark, node.end_mark, node.style)
        value = _fallback.construct_object(node, deep=True)
        # Entities are stored as JSON: timestamps stay the text they were written as.
        return node.value if isinstance(value, (datetime.date, bytes)) else value
    if id(node) in active:
        raise yaml.constructor.ConstructorError(None, None, "recursive alias", node.start_mark)
    if isinstance(node, yaml.MappingNode) and tag == _MAP:
        if any(key.tag == _MERGE or (key.value == "<<" and not key.style) for key, _ in node.value):
            if any(key.tag != _MERGE and key.value == "<<" for key, _ in node.value):
                raise _NeedsSafeLoader  # composed by the fast loader: merge keys need the safe one
            return _fallback.construct_object(node, deep=True)
        active.add(id(node))
        result = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, active)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            result[key] = _convert(value_node, active)
        active.discard(id(node))
        return result
    if isinstance(node, yaml.SequenceNode) and tag == _SEQ:
        active.add(id(node))
        result = [_convert(item, active) for item in node.value]
        active.discard(id(node))
        return result
    return _fallback.construct_object(node, deep=True)


def _child(node, part: str):
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == part:
                return key_node, value_node
    elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
        return None, node.value[int(part)]
    return None


@dataclass
class YamlSyntaxError:
    line: int
    message: str


def parse_documents(text: str) -> tuple[list[ParsedDocument], YamlSyntaxError | None]:
    """Split ``text`` into its non-empty documents.

    A syntax error stops reading at that point: the documents before it are
    returned with the error (its line and PyYAML's description).
    """
    try:
        return _parse(text, _FastLoader)
    except _NeedsSafeLoader:
        return _parse(text, _SafeLoader)


def _parse(text: str, loader_class) -> tuple[list[ParsedDocument], YamlSyntaxError | None]:
    documents: list[ParsedDocument] = []
    loader = loader_class(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if isinstance(node, yaml.ScalarNode) and not node.style and node.value in ("", "~", "null", "Null", "NULL"):
                continue
            data = to_python(node)
            start, end = node.start_mark, node.end_mark
            documents.append(
                ParsedDocument(
                    index=len(documents),
                    data=data,
                    line=start.line + 1,
                    text=text[start.index : end.index] if start.index is not None else "",
                    node=node,
                )
            )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        return documents, YamlSyntaxError(line=line, message=f"YAML syntax error: {problem}")
    finally:
        loader.dispose()
    return documents, None
