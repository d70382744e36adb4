"""Placeholder resolution, as Backstage's PlaceholderProcessor does it, before validation.

An object with exactly one key ``$text``, ``$json`` or ``$yaml`` whose value is a
string is replaced by the content it points at: a path relative to the file
(or a URL inside the same location). Any other ``$``-key is left alone, as in
Backstage. A placeholder that cannot be read is an error for that entity.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from catalog.parsing import YamlError, load_yaml

RESOLVERS = ("text", "json", "yaml")

# Defaults of CATALOG_MAX_PLACEHOLDER_BYTES / CATALOG_MAX_DOCUMENT_BYTES: room for a large OpenAPI document, while
# one location cannot make the database, a worker or an API page carry tens of megabytes per entity.
MAX_PLACEHOLDER_BYTES = 512 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024


def limit(name: str, default: int) -> int:
    from django.conf import settings

    return int(getattr(settings, name, default))


class TooLarge(Exception):
    """A placeholder target over its limit, or reads that would make the document too large."""


@dataclass
class PlaceholderError(Exception):
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class LocationReader:
    """Reads files inside one checked-out location, refusing anything outside it.

    ``base_urls`` are URL prefixes that also mean "this location" (the git URL
    the location was registered with), so ``$text: <base url>/apis/x.yaml`` works.
    """

    def __init__(self, root: Path, base_urls: tuple[str, ...] = (), budget: int | None = None):
        self.root = root.resolve()
        self.total_bytes = 0  # read through placeholders by this reader
        self.budget = budget  # what it may read in all (the location's share), None: no bound
        self.reads: set[Path] = set()  # files read through placeholders (a file's dependencies)
        self.read_count = 0
        self.document_bytes = 0  # read through placeholders for the current document (reset per document)
        self.max_placeholder = limit("CATALOG_MAX_PLACEHOLDER_BYTES", MAX_PLACEHOLDER_BYTES)
        self.max_document = limit("CATALOG_MAX_DOCUMENT_BYTES", MAX_DOCUMENT_BYTES)
        # Longest first, so ``<repo>/blob/main/`` wins over ``<repo>/``.
        self.base_urls = tuple(sorted({url.rstrip("/") + "/" for url in base_urls if url}, key=len, reverse=True))

    def resolve(self, target: str, *, relative_to: str) -> Path:
        """The file that ``target`` (as written in ``relative_to``, a location-relative path) names."""
        for base in self.base_urls:
            if target.startswith(base):
                return self._inside(PurePosixPath(target[len(base):]))
        if urlparse(target).scheme:
            raise FileNotFoundError(f"{target} is outside this location; only files in the same location can be read")
        if target.startswith("/"):
            return self._inside(PurePosixPath(target.lstrip("/")))
        return self._inside(PurePosixPath(relative_to).parent / target)

    def _inside(self, relative: PurePosixPath) -> Path:
        try:
            path = (self.root / relative).resolve()
        except RuntimeError:  # a symbolic link loop (Python 3.11 raises this, not OSError)
            raise FileNotFoundError(f"{relative} is a symbolic link loop") from None
        if path != self.root and self.root not in path.parents or ".git" in path.relative_to(self.root).parts:
            raise FileNotFoundError(f"{relative} is outside this location")
        return path

    def read_text(self, target: str, *, relative_to: str) -> str:
        """The file's text; its size is checked before it is read, so a huge file is never loaded."""
        path = self.resolve(target, relative_to=relative_to)
        self.reads.add(path)
        self.read_count += 1
        size = path.stat().st_size
        if size > self.max_placeholder:
            raise TooLarge(f"is {size} bytes; a placeholder may read at most {self.max_placeholder} bytes")
        if self.document_bytes + size > self.max_document:
            raise TooLarge(f"would make this entity's placeholders read more than {self.max_document} bytes in all")
        if self.budget is not None and self.total_bytes + size > self.budget:
            raise TooLarge("would take the location's placeholders past CATALOG_MAX_LOCATION_BYTES")
        self.document_bytes += size
        self.total_bytes += size
        return path.read_text(encoding="utf-8")


def resolve_placeholders(data, *, reader: LocationReader, file_path: str, field: str = ""):
    """Return ``data`` with every placeholder replaced; raise ``PlaceholderError`` naming the field."""
    if isinstance(data, list):
        return [
            resolve_placeholders(item, reader=reader, file_path=file_path, field=f"{field}.{i}" if field else str(i))
            for i, item in enumerate(data)
        ]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        (key, value), = data.items()
        if isinstance(key, str) and key.startswith("$") and key[1:] in RESOLVERS and isinstance(value, str):
            return _read(key[1:], value, reader=reader, file_path=file_path, field=field)
    return {
        key: resolve_placeholders(value, reader=reader, file_path=file_path, field=f"{field}.{key}" if field else str(key))
        for key, value in data.items()
    }


def _read(resolver: str, target: str, *, reader: LocationReader, file_path: str, field: str):
    try:
        content = reader.read_text(target, relative_to=file_path)
    except TooLarge as exc:
        raise PlaceholderError(field, f"${resolver} placeholder {target!r} {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PlaceholderError(field, f"${resolver} placeholder {target!r} could not be read: {reason}") from None
    if resolver == "text":
        return content
    try:
        return json.loads(content) if resolver == "json" else load_yaml(content)
    except (ValueError, YamlError) as exc:
        raise PlaceholderError(field, f"${resolver} placeholder {target!r} is not valid {resolver}: {exc}") from None
