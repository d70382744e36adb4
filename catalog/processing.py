"""The ingestion pipeline for one location, without the database.

Ordered steps per document, as Backstage's processors: parse (multi-document
YAML), resolve placeholders, validate (policies + kind validator), emit
relations. ``Location`` entities found on the way add their ``targets`` (paths
or globs relative to their file) to the same run. An invalid document becomes
a ``ProcessingError`` and never stops the rest.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from catalog.parsing import parse_documents
from catalog.placeholders import LocationReader, PlaceholderError, resolve_placeholders
from catalog.refs import entity_ref
from catalog.relations import derive_relations
from catalog.validation import EntityInvalid, validate_entity

MAX_FILE_BYTES = 2 * 1024 * 1024


@dataclass
class ProcessedEntity:
    key: str  # lower-case ref, e.g. component:default/payments
    data: dict
    path: str
    doc_index: int
    line: int
    text: str
    hash: str
    relations: list[tuple[str, str, str]]


@dataclass
class ProcessingError:
    path: str
    message: str
    doc_index: int | None = None
    line: int | None = None
    field: str = ""
    entity_ref: str = ""
    # invalid: the document is not a valid entity; conflict: a valid entity whose ref another
    # document already supplies; unreadable: the file or location could not be read.
    code: str = "invalid"

    def __str__(self) -> str:
        return describe_error(self)


def describe_error(error) -> str:
    """``path document N line L: field: message``, for a processing error or a stored LocationError."""
    where = error.path
    if error.doc_index is not None:
        where += f" document {error.doc_index}"
    if error.line is not None:
        where += f" line {error.line}"
    return f"{where}: {error.field + ': ' if error.field else ''}{error.message}"


@dataclass
class ProcessResult:
    entities: list[ProcessedEntity] = field(default_factory=list)
    errors: list[ProcessingError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # Files whose bytes (and the files their placeholders read) are unchanged since the last run:
    # not parsed again; their entities and errors stay as stored.
    skipped: set[str] = field(default_factory=set)
    fingerprints: dict[str, dict] = field(default_factory=dict)


# Bump when parsing or validation changes meaning, so every file is processed again once.
PROCESSING_VERSION = 2  # 2: YAML 1.2 core schema, as Backstage parses


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return None


def entity_hash(data: dict, path: str, doc_index: int) -> str:
    payload = json.dumps([data, path, doc_index], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(payload.encode()).hexdigest()


def _text_hash(text: str, path: str, doc_index: int) -> str:
    """The hash of a document without placeholders: its text decides its content (cheaper than JSON)."""
    return hashlib.sha1(f"{PROCESSING_VERSION}\0{path}\0{doc_index}\0{text}".encode()).hexdigest()


def _glob(root: Path, pattern: str) -> list[Path]:
    pattern = pattern.lstrip("/")
    if any(ch in pattern for ch in "*?["):
        matches = root.glob(pattern)
    else:
        candidate = root / pattern
        matches = [candidate] if candidate.exists() else []
    return sorted(
        p for p in matches
        if p.is_file() and ".git" not in p.relative_to(root).parts and _inside(p, root)
    )


def _inside(path: Path, root: Path) -> bool:
    """False for a symlink that leads out of the location (a repository must not read the server's files)."""
    resolved = path.resolve()
    return resolved == root or root in resolved.parents


def process_document(data, *, reader: LocationReader | None, path: str, text: str | None = None) -> tuple[dict, list]:
    """Resolve, validate and derive relations for one document; raise ``EntityInvalid``/``PlaceholderError``.

    ``text``: the document's source; when it has no ``$`` at all there is no placeholder to look for.
    """
    if reader is not None and (text is None or "$" in text):
        data = resolve_placeholders(data, reader=reader, file_path=path)
    entity = validate_entity(data)
    return entity, derive_relations(entity)


def process_tree(root: Path, patterns: list[str], *, base_urls: tuple[str, ...] = (),
                 previous: dict[str, dict] | None = None) -> ProcessResult:
    """Read every file matching ``patterns`` under ``root`` (and the targets of Location entities).

    ``previous`` holds the fingerprints of the last run (``ProcessResult.fingerprints``): a file
    whose fingerprint still matches is skipped.
    """
    root = root.resolve()
    previous = previous or {}
    reader = LocationReader(root, base_urls)
    result = ProcessResult()
    seen_refs: dict[str, ProcessedEntity] = {}
    queue: list[tuple[str, str | None]] = [(pattern, None) for pattern in patterns]
    done: set[str] = set()
    while queue:
        pattern, from_file = queue.pop(0)
        files = _glob(root, pattern)
        if not files and from_file is None:
            result.errors.append(ProcessingError(path=pattern, message=f"no file matches {pattern!r} in this location", code="unreadable"))
        for file_path in files:
            relative = file_path.relative_to(root).as_posix()
            if relative in done:
                continue
            done.add(relative)
            result.files.append(relative)
            sha = _sha(file_path)
            old = previous.get(relative)
            if (old and sha and old.get("sha") == sha and old.get("v") == PROCESSING_VERSION
                    and all(_sha(root / dep) == dep_sha for dep, dep_sha in old.get("deps", {}).items())):
                result.skipped.add(relative)
                result.fingerprints[relative] = old
                targets = old.get("targets", [])
            else:
                reader.reads.clear()
                targets = _process_file(file_path, relative, reader, result, seen_refs)
                deps = {path.relative_to(root).as_posix(): _sha(path) for path in reader.reads if path.is_file()}
                result.fingerprints[relative] = {"sha": sha, "v": PROCESSING_VERSION, "deps": deps, "targets": targets}
            for target in targets:
                queue.append((target, relative))
    return result


def _process_file(file_path: Path, relative: str, reader, result: ProcessResult, seen_refs) -> list[str]:
    """Process one file into ``result``; return the location-relative targets of its Location entities."""
    targets: list[str] = []
    try:
        if file_path.stat().st_size > MAX_FILE_BYTES:
            result.errors.append(ProcessingError(path=relative, message=f"file is larger than {MAX_FILE_BYTES} bytes", code="unreadable"))
            return targets
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result.errors.append(ProcessingError(path=relative, message=f"cannot read file: {exc}", code="unreadable"))
        return targets
    documents, syntax_errors = parse_documents(text)
    for syntax_error in syntax_errors:
        result.errors.append(ProcessingError(path=relative, line=syntax_error.line, doc_index=syntax_error.doc_index,
                                             message=syntax_error.message))
    for document in documents:
        ref_hint = _ref_hint(document.data)
        try:
            reads_before = reader.read_count
            entity, relations = process_document(document.data, reader=reader, path=relative, text=document.text)
        except (EntityInvalid, PlaceholderError) as exc:
            error = exc.error if isinstance(exc, EntityInvalid) else exc
            result.errors.append(
                ProcessingError(
                    path=relative,
                    doc_index=document.index,
                    line=document.line_of(error.field),
                    field=error.field,
                    message=error.message,
                    entity_ref=ref_hint,
                )
            )
            continue
        key = entity_ref(entity).key
        if key in seen_refs:
            first = seen_refs[key]
            result.errors.append(
                ProcessingError(
                    path=relative,
                    doc_index=document.index,
                    line=document.line_of("metadata.name"),
                    field="metadata.name",
                    message=f"{key} is already defined in {first.path} document {first.doc_index}",
                    entity_ref=key,
                    code="conflict",
                )
            )
            continue
        processed = ProcessedEntity(
            key=key,
            data=entity,
            path=relative,
            doc_index=document.index,
            line=document.line,
            text=document.text,
            hash=entity_hash(entity, relative, document.index) if reader.read_count != reads_before
            else _text_hash(document.text, relative, document.index),
            relations=relations,
        )
        seen_refs[key] = processed
        result.entities.append(processed)
        if entity["kind"] == "Location":
            targets.extend(_location_targets(entity, relative, document, result, reader))
    return targets


def _location_targets(entity: dict, relative: str, document, result: ProcessResult, reader: LocationReader) -> list[str]:
    spec = entity.get("spec") or {}
    raw = ([spec["target"]] if spec.get("target") else []) + list(spec.get("targets") or [])
    targets = []
    for i, target in enumerate(raw):
        field_name = "spec.target" if spec.get("target") and i == 0 else f"spec.targets.{i - (1 if spec.get('target') else 0)}"
        inside = next((target[len(base):] for base in reader.base_urls if target.startswith(base)), None)
        if inside is not None:
            target = "/" + inside  # a URL into this same repository: read it from the checkout
        if urlparse(target).scheme:
            result.errors.append(
                ProcessingError(
                    path=relative,
                    doc_index=document.index,
                    line=document.line_of(field_name),
                    field=field_name,
                    message=f"target {target!r} is a URL; register it as its own location",
                    entity_ref=entity_ref(entity).key,
                    code="unreadable",
                )
            )
            continue
        joined = PurePosixPath(target.lstrip("/")) if target.startswith("/") else PurePosixPath(relative).parent / target
        parts: list[str] = []
        for part in joined.parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        targets.append("/".join(parts))
    return targets


def _ref_hint(data) -> str:
    """A best-effort ref for an invalid document, so its error can say which entity it was."""
    if not isinstance(data, dict):
        return ""
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    kind, name = data.get("kind"), meta.get("name")
    if not isinstance(kind, str) or not isinstance(name, str):
        return ""
    return f"{kind}:{meta.get('namespace') or 'default'}/{name}".lower()
