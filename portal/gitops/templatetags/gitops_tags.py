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


@register.filter
def diff_lines(diff: str):
    """Split a unified diff into (css class, line) pairs for a readable, coloured rendering."""
    rows = []
    for line in (diff or "").splitlines():
        if line.startswith(("diff --git", "index ", "--- ", "+++ ", "new file", "deleted file")):
            css = "meta"
        elif line.startswith("@@"):
            css = "hunk"
        elif line.startswith("+"):
            css = "add"
        elif line.startswith("-"):
            css = "del"
        else:
            css = ""
        rows.append((css, line))
    return rows
