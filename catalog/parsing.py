"""Multi-document YAML read the way Backstage reads it, with line numbers per document and per field.

Backstage parses catalog files with the npm ``yaml`` package (``parseAllDocuments``):
the YAML 1.2 core schema (``yes``, ``on`` and ``2024-01-02`` stay strings; ``<<``
is an ordinary key), a duplicate key is an error, and a broken document is an
error of its own while the documents around it still load. yaml-rs (Rust,
built on the saphyr parser) applies the same rules and builds the Python data
directly, about ten times faster than PyYAML composing a node tree first.

Each document is cut out of the file at its ``---`` / ``...`` markers (at
column 0 they always end a document, even inside a block scalar) and parsed
on its own. Line numbers of fields are only needed to report an error: then,
and only then, PyYAML composes that one document to find the field's line.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import yaml
import yaml_rs

try:
    _LineLoader = yaml.CBaseLoader
except AttributeError:  # PyYAML built without libyaml
    _LineLoader = yaml.BaseLoader

# A document marker: "---" or "..." at column 0, then whitespace or the end of the line.
_MARKER = re.compile(r"^(---|\.\.\.)(?=[ \t\r\n]|$)", re.M)
# npm yaml (Backstage's parser) refuses documents whose aliases expand too far (maxAliasCount 100). Replayed
# events are counted, not bytes: 100 expansions per anchor keeps a big aliased string from multiplying memory.
_ALIAS_LIMITS = yaml_rs.AliasLimits(max_total_replayed_events=10_000, max_alias_expansions_per_anchor=100)
_ERROR_AT = re.compile(r"\bline (\d+)(?:, column \d+)?")


@dataclass
class ParsedDocument:
    """One non-empty YAML document of a file; ``index`` counts non-empty documents from 0."""

    index: int
    data: object
    line: int  # 1-based line where the document's content starts
    text: str  # the document's own source text
    first_line: int = 1  # 1-based line of ``source`` in the file
    source: str = field(default="", repr=False)  # the document as cut from the file (markers included)

    def line_of(self, field_path: str) -> int:
        """The 1-based line of ``field_path`` (dotted, e.g. ``spec.owner`` or ``metadata.tags.1``).

        A missing field gives the line of its nearest present parent.
        """
        node = _compose(self.source)
        if node is None:
            return self.line
        line = self.line
        for part in [p for p in field_path.split(".") if p] if field_path else []:
            child = _child(node, part)
            if child is None:
                break
            key_node, node = child
            line = (key_node or node).start_mark.line + self.first_line
        return line


@dataclass
class YamlSyntaxError:
    """A document that is not valid YAML; ``doc_index`` is the index it takes among the file's documents."""

    line: int
    message: str
    doc_index: int


def parse_documents(text: str) -> tuple[list[ParsedDocument], list[YamlSyntaxError]]:
    """Split ``text`` into its non-empty documents, and the documents that are not valid YAML.

    Empty documents (nothing, or an explicit ``null``) are skipped, as Backstage skips them.
    """
    documents: list[ParsedDocument] = []
    errors: list[YamlSyntaxError] = []
    index = 0
    for first_line, source in _split(text.removeprefix("\ufeff")):
        if not source.strip():
            continue
        try:
            data = load_yaml(source)
        except YamlError as exc:
            at = exc.line if exc.line is not None or exc.duplicate is None else _duplicate_line(source, exc.duplicate)
            line = first_line - 1 + at if at is not None else first_line + _content_offset(source)
            errors.append(YamlSyntaxError(line=line, message=f"YAML syntax error: {exc.problem}", doc_index=index))
            index += 1
            continue
        if data is None:
            continue
        offset = _content_offset(source)
        documents.append(ParsedDocument(
            index=index, data=data, line=first_line + offset, text=_content(source, offset),
            first_line=first_line, source=source,
        ))
        index += 1
    return documents, errors


class YamlError(ValueError):
    def __init__(self, problem: str, line: int | None = None, duplicate: str | None = None):
        super().__init__(problem)
        self.problem, self.line, self.duplicate = problem, line, duplicate


def load_yaml(text: str):
    """One YAML document as JSON-compatible data (YAML 1.2 core schema); raise ``YamlError``.

    As JSON (and so Backstage) has them: keys are strings, and ``.nan``/``.inf`` are null.
    """
    try:
        data = yaml_rs.loads(text, parse_datetime=False, alias_limits=_ALIAS_LIMITS,
                             duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except yaml_rs.YAMLDecodeError as exc:
        message = str(exc).strip()
        at = _ERROR_AT.search(message.splitlines()[0]) if message else None
        problem = message.splitlines()[-1].strip() if message else "unreadable YAML"
        duplicate = re.match(r"duplicate mapping key: '(.*)'$", problem)
        if duplicate:
            problem = f"map keys must be unique; {duplicate.group(1)!r} appears twice"
        raise YamlError(problem, int(at.group(1)) if at else None, duplicate.group(1) if duplicate else None) from None
    return data if _json_safe(data) else _to_json(data)


def _json_safe(value) -> bool:
    """True when ``value`` has only string keys and finite numbers (nearly always: no copy needed)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _json_safe(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _json_safe(item):
                return False
        return True
    return kind is not float or math.isfinite(value)


def _to_json(value):
    if isinstance(value, dict):
        return {_json_key(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_key(key) -> str:
    """A key as JavaScript would name it: true -> "true", 1 -> "1", a complex key ``? [a, b]`` -> '["a", "b"]'."""
    return key if isinstance(key, str) else json.dumps(_to_json(key))


def _split(text: str) -> list[tuple[int, str]]:
    """``(first line, source)`` of each document: cut before a ``---`` line and after a ``...`` line.

    A ``---`` that follows only comments and directives starts the same document.
    """
    chunks: list[tuple[int, str]] = []
    start, line = 0, 1
    for marker in _MARKER.finditer(text):
        position = marker.start()
        if marker.group(1) == "---":
            if position == start or not _has_content(text[start:position]):
                continue
            end = position
        else:
            end = text.find("\n", position)
            end = len(text) if end < 0 else end + 1
        chunks.append((line, text[start:end]))
        line += text.count("\n", start, end)
        start = end
    chunks.append((line, text[start:]))
    return chunks


def _has_content(source: str) -> bool:
    return any(stripped and stripped[0] not in "#%" for stripped in (ln.strip() for ln in source.splitlines()))


def _content_offset(source: str) -> int:
    """Lines before the document's content: blank lines, comments, directives and a bare ``---``."""
    for offset, raw in enumerate(source.splitlines()):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#%":
            continue
        if _MARKER.match(raw) and raw[3:].strip()[:1] in ("", "#"):
            continue
        return offset
    return 0


def _content(source: str, offset: int) -> str:
    """The document's source from its first content line, without a closing ``...`` line."""
    lines = source.splitlines(keepends=True)[offset:]
    while lines and (not lines[-1].strip() or (lines[-1].startswith("...") and _MARKER.match(lines[-1]))):
        lines.pop()
    return "".join(lines)


def _compose(source: str):
    """PyYAML's node tree of one document (for line numbers), or None when PyYAML cannot read it."""
    try:
        return next((node for node in yaml.compose_all(source, Loader=_LineLoader) if node is not None), None)
    except yaml.YAMLError:
        return None


def _child(node, part: str):
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == part:
                return key_node, value_node
    elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
        return None, node.value[int(part)]
    return None


def _duplicate_line(source: str, key: str) -> int | None:
    """The 1-based line (within ``source``) of the second occurrence of mapping key ``key``."""
    stack = [_compose(source)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value == key and key in seen:
                        return key_node.start_mark.line + 1
                    seen.add(key_node.value)
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None
