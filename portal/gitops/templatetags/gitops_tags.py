import re
from dataclasses import dataclass, field

from django import template

from portal.gitops.choices import ChangeSetStatus

register = template.Library()

_BADGE = {
    ChangeSetStatus.APPLIED: "ok",
    ChangeSetStatus.AWAITING_APPROVAL: "warn",
    ChangeSetStatus.PENDING: "",
    ChangeSetStatus.REJECTED: "danger",
    ChangeSetStatus.CONFLICT: "danger",
    ChangeSetStatus.FAILED: "danger",
}


@register.filter
def status_class(status: str) -> str:
    return _BADGE.get(status, "")


@register.inclusion_tag("gitops/inc/worker_notice.html")
def worker_notice(waiting=True, queue: str = "gitops"):
    """Says "No background worker is running" when the page's work waits on a worker and none is alive.

    ``waiting``: whether something on the page waits (default yes), or change sets, some of them not done.
    """
    from portal.gitops.selectors import workers_alive

    if not isinstance(waiting, bool):
        waiting = any(not cs.is_done for cs in waiting)
    return {"show": waiting and not workers_alive(queue=queue)}


_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_GIT_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")
# Small diffs are shown whole; a larger one starts with every file folded so the page stays short.
DIFF_OPEN_FILES, DIFF_OPEN_LINES = 5, 400


@dataclass
class DiffFile:
    path: str = ""
    added: int = 0
    deleted: int = 0
    rows: list = field(default_factory=list)  # (css class: meta, hunk, add, del or "", line)
    open: bool = True


@dataclass
class Diff:
    files: list
    added: int
    deleted: int


def _strip_label(name: str) -> str:
    """``b/vans/x.yaml`` -> ``vans/x.yaml``: git's a/ and b/ and the labels Wayline gives its own diffs."""
    name = name.split("\t", 1)[0]
    return name.split("/", 1)[1] if "/" in name and name != "/dev/null" else name


@register.filter
def diff_files(diff: str) -> Diff:
    """Split a unified diff (git's, or difflib's without ``diff --git`` lines) into files with their
    added and deleted line counts. Hunk headers give each hunk's length, so a deleted line that reads
    ``--- x`` is counted as a line, not taken for the next file's header."""
    files: list[DiffFile] = []
    current = None
    old_left = new_left = 0
    awaiting_old = False  # a "diff --git" header was read; its "--- " line belongs to the same file
    named = False  # the file's name came from its "diff --git" header
    for line in (diff or "").splitlines():
        if old_left > 0 or new_left > 0:
            if line.startswith("+"):
                css, new_left, current.added = "add", new_left - 1, current.added + 1
            elif line.startswith("-"):
                css, old_left, current.deleted = "del", old_left - 1, current.deleted + 1
            elif line.startswith("\\"):  # "\ No newline at end of file"
                css = "meta"
            else:
                css, old_left, new_left = "", old_left - 1, new_left - 1
            current.rows.append((css, line))
            continue
        header = _GIT_HEADER.match(line)
        if header or (line.startswith("--- ") and not awaiting_old) or current is None:
            current = DiffFile(path=header.group(2) if header else "")
            files.append(current)
            awaiting_old = named = bool(header)
        hunk = _HUNK.match(line)
        if hunk:
            old_left = int(hunk.group(1) if hunk.group(1) is not None else 1)
            new_left = int(hunk.group(2) if hunk.group(2) is not None else 1)
            awaiting_old = False
            current.rows.append(("hunk", line))
            continue
        if line.startswith("--- "):
            awaiting_old = False
            current.path = current.path or _strip_label(line[4:])  # a deleted file keeps its old name
        elif line.startswith("+++ ") and not named and line[4:].split("\t", 1)[0] != "/dev/null":
            current.path = _strip_label(line[4:])
        current.rows.append(("meta", line))
    total_lines = sum(len(f.rows) for f in files)
    for f in files:
        f.path = f.path or "(unnamed)"
        f.open = len(files) <= DIFF_OPEN_FILES and total_lines <= DIFF_OPEN_LINES
    return Diff(files=files, added=sum(f.added for f in files), deleted=sum(f.deleted for f in files))
