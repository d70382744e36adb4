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
import logging

import orjson
import os
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from catalog.parsing import ParsedDocument, parse_documents
from catalog.placeholders import LocationReader, PlaceholderError, limit, resolve_placeholders
from catalog.refs import entity_ref
from catalog.relations import derive_relations
from catalog.validation import EntityInvalid, validate_entity

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 2 * 1024 * 1024
# Default of CATALOG_MAX_LOCATION_BYTES: what all the entities of one location may weigh together.
MAX_LOCATION_BYTES = 256 * 1024 * 1024


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
    size: int = 0  # bytes of the document as stored (JSON)


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
    """The file's git blob id (sha1 of ``blob <size>\\0`` and its bytes): the same id ``Checkout.blobs`` gives a
    tracked file, so a fingerprint means the same bytes whichever of the two computed it."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def entity_hash(data: dict, path: str, doc_index: int) -> str:
    payload = json.dumps([data, path, doc_index], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(payload.encode()).hexdigest()


def _text_hash(text: str, path: str, doc_index: int) -> str:
    """The hash of a document without placeholders: its text decides its content (cheaper than JSON)."""
    return hashlib.sha1(f"{PROCESSING_VERSION}\0{path}\0{doc_index}\0{text}".encode()).hexdigest()


MAX_GLOBSTARS = 2  # "**" segments in one pattern: each more multiplies the walk (Python 3.11's Path.glob)


class PatternRefused(ValueError):
    pass


def normalise_pattern(pattern: str) -> str:
    """``pattern`` with repeated ``**`` segments collapsed; refused with more than ``MAX_GLOBSTARS`` of them."""
    parts: list[str] = []
    for part in pattern.lstrip("/").split("/"):
        if part == "**" and parts and parts[-1] == "**":
            continue
        parts.append(part)
    if parts.count("**") > MAX_GLOBSTARS:
        raise PatternRefused(f"{pattern!r} has more than {MAX_GLOBSTARS} '**' segments")
    return "/".join(parts)


def _glob(root: Path, pattern: str, links: list[str]) -> list[Path]:
    """The files under ``root`` that ``pattern`` matches, in order, none of them inside ``.git`` or leading out of
    ``root``. ``links``: the symbolic links under ``root`` (``_links_under``)."""
    pattern = normalise_pattern(pattern)
    if any(ch in pattern for ch in "*?["):
        matches = root.glob(pattern)
    else:
        candidate = root / pattern
        matches = [candidate] if candidate.exists() else []
    prefix = len(str(root)) + 1
    found = []
    for path in matches:
        text = str(path)
        parts = text[prefix:].split("/")
        if ".git" in parts or not path.is_file():
            continue
        # Only a path through a symbolic link (or with "..") can lead out: the others are not resolved, which
        # was most of an unchanged refresh of 10,000 files.
        if (".." in parts or any(text == link or text.startswith(link + "/") for link in links)) \
                and not _inside(path, root):
            continue
        found.append(path)
    return sorted(found)


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _links_under(root: Path) -> list[str]:
    """Every symbolic link under ``root`` (not inside ``.git``), as absolute path strings; read from directory
    entries, without a system call per file."""
    links, stack = [], [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        links.append(entry.path)
                    elif entry.is_dir(follow_symlinks=False) and entry.name != ".git":
                        stack.append(entry.path)
        except OSError:
            continue
    return links


def _inside(path: Path, root: Path) -> bool:
    """False for a symlink that leads out of the location (a repository must not read the server's files), into a
    loop, or into the checkout's own ``.git``."""
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):  # a symbolic link loop: Python 3.11 raises RuntimeError
        return False
    if resolved != root and root not in resolved.parents:
        return False
    return ".git" not in resolved.relative_to(root).parts


def process_document(data, *, reader: LocationReader | None, path: str, text: str | None = None) -> tuple[dict, list]:
    """Resolve, validate and derive relations for one document; raise ``EntityInvalid``/``PlaceholderError``.

    ``text``: the document's source; when it has no ``$`` at all there is no placeholder to look for.
    """
    if reader is not None and (text is None or "$" in text):
        data = resolve_placeholders(data, reader=reader, file_path=path)
    entity = validate_entity(data)
    return entity, derive_relations(entity)


def process_tree(root: Path, patterns: list[str], *, base_urls: tuple[str, ...] = (),
                 previous: dict[str, dict] | None = None, processes: int = 1,
                 blobs: dict[str, str] | None = None) -> ProcessResult:
    """Read every file matching ``patterns`` under ``root`` (and the targets of Location entities).

    ``previous`` holds the fingerprints of the last run (``ProcessResult.fingerprints``): a file
    whose fingerprint still matches is skipped. Files are read in rounds (the patterns, then the
    targets their Location entities name, ...); within a round they are parsed and validated
    independently (by ``processes`` processes for a big round), then merged in file order, so which
    of two documents defining the same ref wins does not depend on who read it.

    ``blobs``: git's blob id of each tracked file (``Checkout.blobs``), which stands for the file's bytes in its
    fingerprint, so an unchanged file is known without reading it; other files are hashed.
    """
    root = root.resolve()
    blobs = blobs or {}
    previous = previous or {}
    result = ProcessResult()
    seen_refs: dict[str, ProcessedEntity] = {}
    budget = _Budget(limit("CATALOG_MAX_LOCATION_BYTES", MAX_LOCATION_BYTES))
    queue: list[tuple[str, str | None]] = [(pattern, None) for pattern in patterns]
    done: set[str] = set()
    globbed: set[str] = set()  # each pattern is walked once, however many Location entities name it
    links: list[str] | None = None  # the tree's symbolic links, listed once
    while queue:
        steps: list[tuple] = []  # in order: ("error", e) | ("skipped", relative, fingerprint) | ("read", index)
        to_read: list[tuple[Path, str, str | None]] = []
        for pattern, from_file in queue:
            if pattern in globbed:
                continue
            globbed.add(pattern)
            try:
                if links is None:
                    links = _links_under(root)
                files = _glob(root, pattern, links)
            except PatternRefused as exc:
                steps.append(("error", ProcessingError(path=from_file or pattern, message=str(exc), code="unreadable")))
                continue
            if not files and from_file is None:
                steps.append(("error", ProcessingError(path=pattern, message=f"no file matches {pattern!r} in this location",
                                                       code="unreadable")))
            for file_path in files:
                relative = file_path.relative_to(root).as_posix()
                if relative in done:
                    continue
                done.add(relative)
                if not _utf8(relative):
                    # Python reads such a name with surrogates, which no column, hash or page can hold: the file is
                    # named (bytes it cannot show replaced) and not read, refresh after refresh until it is renamed.
                    shown = relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    steps.append(("error", ProcessingError(path=shown, message="the file name is not valid UTF-8: "
                                                           "rename it to have it read", code="unreadable")))
                    continue
                result.files.append(relative)
                sha = blobs.get(relative) or _sha(file_path)
                old = previous.get(relative)
                if (old and sha and old.get("sha") == sha and old.get("v") == PROCESSING_VERSION
                        and all(_sha(root / dep) == dep_sha for dep, dep_sha in old.get("deps", {}).items())):
                    steps.append(("skipped", relative, old))
                else:
                    steps.append(("read", len(to_read)))
                    to_read.append((file_path, relative, sha))
        outcomes = read_files(root, base_urls, [(path, relative) for path, relative, _ in to_read], processes=processes,
                              placeholder_budget=max(budget.left, 0))
        budget.left -= sum(outcome.placeholder_bytes for outcome in outcomes)
        queue = []
        for step in steps:
            if step[0] == "error":
                result.errors.append(step[1])
                continue
            if step[0] == "skipped":
                _, relative, fingerprint = step
                result.skipped.add(relative)
                result.fingerprints[relative] = fingerprint
                targets = fingerprint.get("targets", [])
            else:
                _, relative, sha = to_read[step[1]]
                outcome = outcomes[step[1]]
                targets = _merge(outcome, result, seen_refs, budget)
                result.fingerprints[relative] = {"sha": sha, "v": PROCESSING_VERSION, "deps": outcome.deps,
                                                 "targets": targets}
            queue.extend((target, relative) for target in targets)
    return result


@dataclass
class FileOutcome:
    """One file read on its own: its errors and entities in document order, and the files it read."""

    items: list = field(default_factory=list)  # ProcessingError, or (ProcessedEntity, targets, target errors)
    deps: dict[str, str | None] = field(default_factory=dict)
    placeholder_bytes: int = 0  # read through placeholders


@dataclass
class _Budget:
    """Bytes the entities of one location may still take (CATALOG_MAX_LOCATION_BYTES).

    Files left unchanged since the last run are not counted: their entities were within it then.
    """

    left: int


def _merge(outcome: FileOutcome, result: ProcessResult, seen_refs: dict[str, ProcessedEntity],
           budget: _Budget | None = None) -> list[str]:
    """Add one file's outcome to ``result``; a ref an earlier document defined is a conflict. Returns its targets."""
    targets: list[str] = []
    for item in outcome.items:
        if isinstance(item, ProcessingError):
            result.errors.append(item)
            continue
        entity, entity_targets, target_errors = item
        if budget is not None:
            budget.left -= entity.size
            if budget.left < 0:
                result.errors.append(ProcessingError(
                    path=entity.path, doc_index=entity.doc_index, line=entity.line, entity_ref=entity.key,
                    message=f"the location's entities are over {limit('CATALOG_MAX_LOCATION_BYTES', MAX_LOCATION_BYTES)} "
                            "bytes together; this one and those after it are not stored", code="unreadable"))
                continue
        first = seen_refs.get(entity.key)
        if first is not None:
            document = ParsedDocument(index=entity.doc_index, data=entity.data, line=entity.line, text=entity.text,
                                      first_line=entity.line, source=entity.text)
            result.errors.append(ProcessingError(
                path=entity.path, doc_index=entity.doc_index, line=document.line_of("metadata.name"),
                field="metadata.name", message=f"{entity.key} is already defined in {first.path} document {first.doc_index}",
                entity_ref=entity.key, code="conflict",
            ))
            continue
        seen_refs[entity.key] = entity
        result.entities.append(entity)
        result.errors.extend(target_errors)
        targets.extend(entity_targets)
    return targets


# Below this many files a round is read in this process: starting another costs more than it saves.
PARALLEL_MIN_FILES = 200


def read_files(root: Path, base_urls: tuple[str, ...], files: list[tuple[Path, str]], *,
               processes: int = 1, placeholder_budget: int | None = None) -> list[FileOutcome]:
    """``read_file`` for each of ``files``, in order; a big batch is split between ``processes`` processes.

    Parsing and validating is pure Python: on a 2-core machine a second process
    takes half of it (10,000 entities: ~0.5 s of a ~4 s import). The other
    processes are forked, only from a single-threaded process (a Celery prefork
    or solo worker, ``catalog_import``); they inherit the loaded schemas and
    touch no database. One that cannot start or fails leaves its share to this
    process, so the outcome is the same either way. ``placeholder_budget``: bytes all
    placeholders may read (split evenly between the processes), so a location's reads stop
    at its limit instead of being measured after everything is in memory.
    """
    # Forking a process with other threads running could copy a lock one of them holds: then stay single.
    if processes < 2 or len(files) < PARALLEL_MIN_FILES or threading.active_count() > 1:
        return _read_chunk(root, base_urls, files, placeholder_budget)
    size = -(-len(files) // processes)
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    share = None if placeholder_budget is None else placeholder_budget // len(chunks)
    outcomes: list[list[FileOutcome] | None] = [None] * len(chunks)
    calls: dict[int, _ForkedCall] = {}
    try:
        for index, chunk in enumerate(chunks[1:], start=1):
            try:
                calls[index] = _ForkedCall(_read_chunk, root, base_urls, chunk, share)
            except OSError as exc:
                logger.warning("catalog: reading %d files in this process instead (%s)", len(chunk), exc)
                break
        outcomes[0] = _read_chunk(root, base_urls, chunks[0], share)
    finally:
        for index, call in calls.items():  # always collected, so no child is left behind as a zombie
            try:
                outcomes[index] = call.result()
            except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as exc:
                logger.warning("catalog: a reader process failed, reading its %d files here (%s)", len(chunks[index]), exc)
    return [outcome for index, chunk in enumerate(chunks)
            for outcome in (outcomes[index] if outcomes[index] is not None else _read_chunk(root, base_urls, chunk, share))]


class _ForkedCall:
    """``fn(*args)`` run in a forked child process; ``result()`` waits for it and returns what it returned.

    Plain ``os.fork`` and a pipe rather than ``multiprocessing``: a Celery prefork
    worker's pool processes are daemonic, and multiprocessing refuses to start
    children from a daemonic process.
    """

    def __init__(self, fn, *args):
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:
            status = 1
            try:
                os.close(read_fd)
                try:
                    payload = pickle.dumps((True, fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
                    status = 0
                except BaseException as exc:  # reported to the parent, which reads the share itself
                    payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(payload)
            finally:
                os._exit(status)  # no atexit handlers, no flushing of buffers or closing of connections copied from the parent
        os.close(write_fd)
        self.pid, self._read_fd = pid, read_fd

    def result(self):
        # Read before waiting: a child blocks writing a result bigger than the pipe's buffer until it is read.
        with os.fdopen(self._read_fd, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if not payload:
            raise RuntimeError(f"reader process exited with code {os.waitstatus_to_exitcode(status)}")
        ok, value = pickle.loads(payload)
        if not ok:
            raise RuntimeError(value)
        return value


def _read_chunk(root: Path, base_urls: tuple[str, ...], files: list[tuple[Path, str]],
                placeholder_budget: int | None = None) -> list[FileOutcome]:
    reader = LocationReader(root, base_urls, budget=placeholder_budget)
    return [read_file(file_path, relative, reader) for file_path, relative in files]


def read_file(file_path: Path, relative: str, reader: LocationReader) -> FileOutcome:
    """Parse, resolve, validate and derive relations for every document of one file, on its own."""
    outcome = FileOutcome()
    reader.reads.clear()
    read_before = reader.total_bytes
    _process_file(file_path, relative, reader, outcome.items)
    outcome.placeholder_bytes = reader.total_bytes - read_before
    # A target that is missing (or not a file) is a dependency too, as None: the file naming it is read again once it
    # appears, though the file itself did not change.
    outcome.deps = {path.relative_to(reader.root).as_posix(): _sha(path) for path in reader.reads}
    return outcome


def _process_file(file_path: Path, relative: str, reader, items: list) -> None:
    """Append one file's errors and ``(entity, targets, target errors)`` to ``items``, in document order."""
    try:
        if file_path.stat().st_size > MAX_FILE_BYTES:
            items.append(ProcessingError(path=relative, message=f"file is larger than {MAX_FILE_BYTES} bytes", code="unreadable"))
            return
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        items.append(ProcessingError(path=relative, message=f"cannot read file: {exc}", code="unreadable"))
        return
    documents, syntax_errors = parse_documents(text)
    for syntax_error in syntax_errors:
        items.append(ProcessingError(path=relative, line=syntax_error.line, doc_index=syntax_error.doc_index,
                                     message=syntax_error.message))
    for document in documents:
        ref_hint = _ref_hint(document.data)
        try:
            reads_before = reader.read_count
            reader.document_bytes = 0
            entity, relations = process_document(document.data, reader=reader, path=relative, text=document.text)
            size = _document_size(entity, document.text, placeholders=reader.read_count != reads_before,
                                  most=reader.max_document)
            if size > reader.max_document:
                raise PlaceholderError("", f"the entity is {size} bytes as stored; at most {reader.max_document} bytes "
                                           "are allowed (CATALOG_MAX_DOCUMENT_BYTES)")
        except (EntityInvalid, PlaceholderError) as exc:
            error = exc.error if isinstance(exc, EntityInvalid) else exc
            items.append(
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
        processed = ProcessedEntity(
            key=entity_ref(entity).key,
            data=entity,
            path=relative,
            doc_index=document.index,
            line=document.line,
            text=document.text,
            hash=entity_hash(entity, relative, document.index) if reader.read_count != reads_before
            else _text_hash(document.text, relative, document.index),
            relations=relations,
            size=size,
        )
        target_errors: list[ProcessingError] = []
        targets = _location_targets(entity, relative, document, target_errors, reader) if entity["kind"] == "Location" else []
        items.append((processed, targets, target_errors))


def _document_size(entity: dict, text: str, *, placeholders: bool, most: int) -> int:
    """The stored size of a document: exact (JSON) when placeholders added to it or its YAML is near ``most``,
    else the YAML's length, which is close and costs nothing."""
    if not placeholders and len(text) < most // 2:
        return len(text)
    try:
        return len(orjson.dumps(entity))
    except (orjson.JSONEncodeError, TypeError):  # an integer beyond 64 bits
        return len(json.dumps(entity, default=str))


MAX_LOCATION_TARGETS = 1000


def _location_targets(entity: dict, relative: str, document, errors: list, reader: LocationReader) -> list[str]:
    spec = entity.get("spec") or {}
    raw = ([spec["target"]] if spec.get("target") else []) + list(spec.get("targets") or [])
    if len(raw) > MAX_LOCATION_TARGETS:
        errors.append(ProcessingError(path=relative, doc_index=document.index, line=document.line_of("spec.targets"),
                                      field="spec.targets", message=f"more than {MAX_LOCATION_TARGETS} targets; "
                                      "none is read (use a glob)", entity_ref=_ref_hint(entity)))
        return []
    targets = []
    for i, target in enumerate(raw):
        field_name = "spec.target" if spec.get("target") and i == 0 else f"spec.targets.{i - (1 if spec.get('target') else 0)}"
        inside = next((target[len(base):] for base in reader.base_urls if target.startswith(base)), None)
        if inside is not None:
            target = "/" + inside  # a URL into this same repository: read it from the checkout
        if urlparse(target).scheme:
            errors.append(
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
