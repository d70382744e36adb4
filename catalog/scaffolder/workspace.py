"""A run's workspace, and ``fetch:template``'s copy of a skeleton into it.

Every path is checked before anything is written: a ``targetPath`` or a rendered file name that would leave the
workspace (``..``, an absolute path, a drive, a backslash), and any symbolic link in the skeleton, are errors naming
the file; files are created, never followed. File contents and names are rendered with the sandboxed expressions
(``${{ values.name }}``); files matching ``copyWithoutTemplating`` are copied as they are; with
``templateFileExtension`` only files with that extension are rendered, and lose it.
"""
from __future__ import annotations

import fnmatch
import os
import stat
from pathlib import Path, PurePosixPath

from catalog.scaffolder.expressions import ExpressionError, render_string

MAX_FILES = 2000
MAX_BYTES = 50 * 1024 * 1024


class WorkspaceError(ValueError):
    """A path or file the workspace refuses; the message names it."""


def relative_path(text, *, field: str) -> PurePosixPath:
    """``text`` as a path inside the workspace (empty: its root); WorkspaceError when it would leave it."""
    if text in (None, ""):
        return PurePosixPath(".")
    if not isinstance(text, str) or "\\" in text or "\x00" in text or any(ord(c) < 32 for c in text):
        raise WorkspaceError(f"{field}: {str(text)[:120]!r} is not a plain relative path")
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise WorkspaceError(f"{field}: {text[:120]!r} leaves the workspace")
    return path


def _inside(workspace: Path, relative: PurePosixPath, *, field: str) -> Path:
    target = (workspace / relative).resolve(strict=False)
    root = workspace.resolve()
    if target != root and root not in target.parents:
        raise WorkspaceError(f"{field}: {str(relative)[:120]!r} leaves the workspace")
    return workspace / relative


def render_skeleton(skeleton: Path, workspace: Path, *, values: dict, target_path: str = "",
                    copy_without_templating=(), template_file_extension: bool | str = False,
                    where: str = "input", plain: bool = False) -> list[str]:
    """Copy ``skeleton`` into ``workspace``/``target_path``, rendering names and contents; the relative paths written.

    Nothing is written when anything is refused: every file is read, checked and rendered first. ``plain``: names
    and contents are copied as they are (``fetch:plain``), with the same checks.
    """
    base = relative_path(target_path, field=f"{where}.targetPath")
    extension = ".njk" if template_file_extension is True else (template_file_extension or "")
    if extension and not extension.startswith("."):
        extension = "." + extension
    context = {"values": values}
    if os.path.islink(skeleton) or not os.path.isdir(skeleton):
        raise WorkspaceError(f"{where}.url: the skeleton is not a folder (a symbolic link is refused)")
    planned: dict[PurePosixPath, bytes] = {}
    total = 0
    for directory, subdirectories, files in os.walk(skeleton, followlinks=False):
        subdirectories.sort()
        for name in sorted(subdirectories + files):
            source = Path(directory) / name
            relative_source = source.relative_to(skeleton).as_posix()
            mode = os.lstat(source).st_mode
            if stat.S_ISLNK(mode):
                raise WorkspaceError(f"{where}.url: {relative_source}: a symbolic link in the skeleton is refused")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise WorkspaceError(f"{where}.url: {relative_source}: not a file or a folder")
        for name in sorted(files):
            source = Path(directory) / name
            relative_source = source.relative_to(skeleton).as_posix()
            if len(planned) >= MAX_FILES:
                raise WorkspaceError(f"{where}.url: more than {MAX_FILES} files in the skeleton")
            raw = source.read_bytes()
            total += len(raw)
            if total > MAX_BYTES:
                raise WorkspaceError(f"{where}.url: the skeleton holds more than {MAX_BYTES // (1024 * 1024)} MiB")
            verbatim = plain or any(fnmatch.fnmatch(relative_source, pattern) for pattern in copy_without_templating or ())
            render_content = not verbatim and (not extension or relative_source.endswith(extension))
            name_template = relative_source[:-len(extension)] if extension and relative_source.endswith(extension) else relative_source
            try:
                rendered_name = name_template if plain else render_string(
                    name_template, context, where=f"{where}.url: {relative_source} (name)")
            except ExpressionError as exc:
                raise WorkspaceError(str(exc)) from None
            if not isinstance(rendered_name, str) or not rendered_name.strip():
                raise WorkspaceError(f"{where}.url: {relative_source}: its name renders to nothing")
            name_path = relative_path(rendered_name, field=f"{where}.url: {relative_source} (name)")
            if name_path == PurePosixPath(".") or any(len(part.encode()) > 255 for part in name_path.parts):
                raise WorkspaceError(f"{where}.url: {relative_source}: its name renders to {rendered_name[:80]!r}, "
                                     "not a file name")
            relative = base / name_path
            if render_content:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    content = raw  # a binary file: copied as it is
                else:
                    try:
                        rendered = render_string(text, context, where=f"{where}.url: {relative_source}")
                    except ExpressionError as exc:
                        raise WorkspaceError(str(exc)) from None
                    content = (rendered if isinstance(rendered, str) else str(rendered)).encode()
            else:
                content = raw
            if relative in planned:
                raise WorkspaceError(f"{where}.url: {relative_source}: renders to {relative}, written twice")
            planned[relative] = content
    for relative in planned:  # a file cannot also be the folder of another
        clash = next((parent for parent in relative.parents if parent in planned), None)
        if clash is not None:
            raise WorkspaceError(f"{where}.url: {clash} is both a file and the folder of {relative}")
    written = []
    for relative, content in planned.items():
        target = _inside(workspace, relative, field=f"{where}.targetPath")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            raise WorkspaceError(f"{where}: {relative}: a symbolic link in the workspace is refused")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(target, flags, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        written.append(relative.as_posix())
    return written
