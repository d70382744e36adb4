"""Multi-document YAML with line numbers per document and per field.

PyYAML's C loader composes each document to a node tree (which keeps the
line of every key and value) and constructs the plain data from it; the nodes
are kept so an error on ``spec.owner`` can name the line it is on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import yaml

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


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
    documents: list[ParsedDocument] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
                continue
            data = loader.construct_document(node)
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
