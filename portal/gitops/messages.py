"""Commit-message text: what users may type into it, and the trailer block the portal writes.

A portal commit message is the change's text, a blank line, then the trailer block:
``Wayline-Change: <id>`` lines followed by ``Approved-by: Name <email>`` lines
(``engine.commit_message``). Only that final block is read back (``trailer_block``);
a trailer-looking line anywhere else is text. User text is refused when it has a
line git would read as a trailer, or a control character (``commit_text_clean``),
so it can neither forge a trailer nor hide one.
"""
from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

TRAILER_CHANGE = "Wayline-Change"
TRAILER_APPROVED = "Approved-by"

# git's default trailer syntax: a token of letters, digits and '-', a ':' separator, then whitespace.
_TRAILER_LIKE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*:[ \t]")
_CHANGE_LINE_RE = re.compile(rf"{TRAILER_CHANGE}: ([0-9]+)")
_APPROVED_LINE_RE = re.compile(rf"{TRAILER_APPROVED}: (\S.*)")


def commit_text_clean(text: str, *, field: str) -> str:
    """User text for a commit message (a change message, a revert comment), checked and with trailing whitespace stripped.

    Raises ``ValidationError({field: ...})`` naming the field and the line when a line
    looks like a git trailer (``Token: value``) or the text has a control character
    other than newline and tab (carriage returns included).
    """
    for number, line in enumerate(text.split("\n"), start=1):
        for char in line:
            if char != "\t" and unicodedata.category(char) == "Cc":
                raise ValidationError({field: (
                    f"{field}: line {number} has a control character (U+{ord(char):04X}); "
                    "use plain lines of text."
                )})
        if _TRAILER_LIKE_RE.match(line.lstrip(" \t")):
            token = line.lstrip(" \t").split(":", 1)[0]
            raise ValidationError({field: (
                f"{field}: line {number} looks like a git trailer ({token!r} followed by ': '); "
                "the portal adds trailers itself. Put a space before the colon or reword the line."
            )})
    return text.rstrip()


def trailer_line(value: str) -> str:
    """``value`` made safe for one trailer line: whitespace and control characters collapse to single spaces."""
    return " ".join("".join(" " if c.isspace() or unicodedata.category(c) == "Cc" else c for c in value).split())


def trailer_block(body: str) -> tuple[list[int], list[str]]:
    """The change ids and approvers of the trailer block the portal writes at the end of a commit message.

    Only the last paragraph counts, only when a paragraph precedes it (a subject is
    never a trailer block), and only when every non-empty line of it is
    ``Wayline-Change: <digits>`` (at least one, first) or ``Approved-by: <text>``
    (after them). Anything else gives ``([], [])``.
    """
    lines = body.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    blank = [i for i, line in enumerate(lines) if not line.strip()]
    if not blank or not any(line.strip() for line in lines[: blank[-1]]):
        return [], []
    ids: list[int] = []
    approvers: list[str] = []
    for line in lines[blank[-1] + 1:]:
        change = _CHANGE_LINE_RE.fullmatch(line)
        if change and not approvers:
            ids.append(int(change.group(1)))
            continue
        approved = _APPROVED_LINE_RE.fullmatch(line)
        if approved and ids:
            approvers.append(approved.group(1).rstrip())
            continue
        return [], []
    return ids, approvers
