"""GitOps pages: repositories with history read from git, change sets, the approval queue,
files edited outside Wayline. Actions only parse input and call services."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from portal.gitops import selectors, services
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.filtersets import ChangeSetFilterSet, GitOpsRepoFilterSet
from portal.gitops.forms import BulkDecisionForm, DecisionForm, GitOpsRepoForm
from portal.gitops.gitrepo import GitError, RepoUnavailable
from portal.gitops.models import ChangeSet, GitOpsRepo, ManagedFile
from portal.gitops.tables import ChangeSetTable, EnvironmentTable, GitOpsRepoTable
from portal.views.generic import (
    ObjectActionView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    get_restricted_object_or_404,
)

HISTORY_PAGE = 30


def _git_read(request, fn, default):
    """Read from git for a page; an unreachable, missing or replaced repo shows a message instead of a 500."""
    try:
        return fn()
    except GitError as exc:
        said = request.__dict__.setdefault("_gitops_read_errors", set())  # one message per reason, however many reads
        if str(exc) not in said:
            said.add(str(exc))
            if isinstance(exc, RepoUnavailable):
                messages.error(request, f"The GitOps repository is unavailable, so what this page reads from git is left out: {exc}")
            else:
                messages.warning(request, f"Could not read the repository: {exc}")
        return default


class RepoListView(ObjectListView):
    selector = selectors.repo_list
    filterset_class = GitOpsRepoFilterSet
    table_class = GitOpsRepoTable
    title = "GitOps repositories"
    create_url_name = "gitops:repo_add"


class RepoDetailView(ObjectDetailView):
    selector = selectors.repo_list
    template_name = "gitops/repo.html"

    def get_extra_context(self, obj):
        request = self.request
        path = request.GET.get("path") or None
        try:
            page = min(max(0, int(request.GET.get("page", "0"))), 10 ** 6)
        except ValueError:
            page = 0
        history = _git_read(request, lambda: selectors.repo_history(repo=obj, user=request.user, path=path,
                                                                    limit=HISTORY_PAGE, skip=page * HISTORY_PAGE), ([], False))
        commits, has_next = history
        if path:
            for commit in commits:
                commit["diff"] = _git_read(request, lambda c=commit: selectors.commit_diff(repo=obj, sha=c["sha"], path=path), "")
        return {
            "commits": commits,
            "path": path,
            "page": page,
            "has_next": has_next,
            "drifted": selectors.files_edited_outside(user=request.user, repo=obj),
            "pending": selectors.changeset_list(user=request.user, filters={"repo": obj, "status": ChangeSetStatus.PENDING})[:20],
            "can_edit": GitOpsRepo.objects.permits(request.user, "change", obj),
            "can_sync": GitOpsRepo.objects.permits(request.user, "sync", obj),
        }


class CommitView(LoginRequiredMixin, View):
    def get(self, request, pk, sha):
        repo = get_restricted_object_or_404(selectors.repo_list(user=request.user), pk=pk)
        try:
            commit = selectors.commit_visible(repo=repo, user=request.user, sha=sha) if _is_sha(sha) else None
        except RepoUnavailable as exc:  # the commit cannot be read, nor whether this user may see it
            return render(request, "gitops/repo_unavailable.html", {"object": repo, "reason": str(exc)}, status=503)
        except GitError:
            commit = None  # no such commit
        if commit is None:
            raise Http404("No such commit")
        diff = _git_read(request, lambda: selectors.commit_diff(repo=repo, sha=commit["sha"]), "")
        return render(request, "gitops/commit.html", {"object": repo, "commit": commit, "diff": diff})


def _is_sha(value: str) -> bool:
    return 4 <= len(value) <= 64 and all(c in "0123456789abcdef" for c in value.lower())


class RepoEditView(ObjectEditView):
    model = GitOpsRepo
    form_class = GitOpsRepoForm
    create_service = services.repo_create
    update_service = services.repo_update


class ChangeSetListView(ObjectListView):
    selector = selectors.changeset_list
    filterset_class = ChangeSetFilterSet
    table_class = ChangeSetTable
    title = "Change sets"


class ChangeSetDetailView(ObjectDetailView):
    selector = selectors.changeset_list
    template_name = "gitops/changeset.html"

    def get_extra_context(self, obj):
        user = self.request.user
        return {
            "files": list(obj.files.all()),
            "approvals": list(obj.approvals.all()),
            "diff": _git_read(self.request, lambda: selectors.changeset_diff(changeset=obj), ""),
            # Buttons shown by the same call that decides the POST (permits), and only in a state that allows them.
            "can_decide": obj.awaits_decision and ChangeSet.objects.permits(user, "approve", obj),
            "decision_form": DecisionForm(initial={"revision": obj.revision}),
            "can_revert": obj.status == ChangeSetStatus.APPLIED and ChangeSet.objects.permits(user, "revert", obj),
            "can_retry": obj.status == ChangeSetStatus.FAILED and ChangeSet.objects.permits(user, "retry", obj),
        }


class ChangeSetStatusView(LoginRequiredMixin, View):
    """The status badge partial; it keeps polling (htmx) until the change is done. With ``detail`` (the change's
    own page) it also swaps in why the last attempt failed and whether a worker is running (out of band)."""

    def get(self, request, pk):
        obj = get_restricted_object_or_404(selectors.changeset_list(user=request.user), pk=pk)
        detail = bool(request.GET.get("detail"))
        return render(request, "gitops/inc/changeset_status.html", {"changeset": obj, "detail": detail, "oob": detail})


class ChangeSetActionView(ObjectActionView):
    """POST-only actions on a change set: approve, reject, revert, retry (permission: ``permits(user, action, cs)``)."""

    selector = selectors.changeset_list

    def perform(self, request, obj):
        form = DecisionForm(request.POST)
        if not form.is_valid():
            raise ValidationError([m for errors in form.errors.values() for m in errors])
        comment, revision = form.cleaned_data["comment"], form.cleaned_data["revision"]
        if self.action in ("approve", "reject") and revision is None:
            raise ValidationError("Say which revision you reviewed: reload the change and decide again.")
        if self.action == "approve":
            services.changeset_approve(actor=request.user, changeset=obj, comment=comment, revision=revision)
            messages.success(request, f"Approved change #{obj.pk}; it is being merged.")
        elif self.action == "reject":
            services.changeset_reject(actor=request.user, changeset=obj, comment=comment, revision=revision)
            messages.success(request, f"Rejected change #{obj.pk}.")
        elif self.action == "revert":
            revert = services.changeset_revert(actor=request.user, changeset=obj, comment=comment)
            messages.success(request, f"Proposed revert #{revert.pk}.")
            return redirect(revert.get_absolute_url())
        elif self.action == "retry":
            services.changeset_retry(actor=request.user, changeset=obj)
            messages.success(request, f"Change #{obj.pk} is queued again.")
        return redirect(obj.get_absolute_url())


class ApprovalQueueView(LoginRequiredMixin, View):
    """The changes the user may decide, each with its diff; several can be approved or rejected at once."""

    def queue(self, request):
        return list(selectors.approval_queue(user=request.user).prefetch_related("files")[:50])

    def get(self, request):
        queue = self.queue(request)
        for cs in queue:
            cs.diff_text = _git_read(request, lambda c=cs: selectors.changeset_diff(changeset=c), "")
        return render(request, "gitops/approval_queue.html", {"queue": queue, "bulk_form": BulkDecisionForm(queue=queue)})

    def post(self, request):
        # Each change is checked like a single decision: permits() on the queue's restricted rows, then the service.
        queue = {cs.pk: cs for cs in self.queue(request)}
        form = BulkDecisionForm(request.POST, queue=queue.values())
        if not form.is_valid():
            for errors in form.errors.values():
                for message in errors:
                    messages.error(request, message)
            return redirect("gitops:approval_queue")
        service = services.changeset_approve if form.cleaned_data["decision"] == "approve" else services.changeset_reject
        done = []
        for pk, revision in form.cleaned_data["change"]:
            try:
                service(actor=request.user, changeset=queue[pk], comment=form.cleaned_data["comment"], revision=revision)
                done.append(f"#{pk}")
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
        if done:
            verb = "Approved" if form.cleaned_data["decision"] == "approve" else "Rejected"
            messages.success(request, f"{verb} {', '.join(done)}.")
        return redirect("gitops:approval_queue")


class EnvironmentListView(ObjectListView):
    selector = selectors.environment_list
    table_class = EnvironmentTable
    title = "Environments"


class ManagedFileView(LoginRequiredMixin, View):
    def get(self, request, pk):
        mf = get_restricted_object_or_404(selectors.managed_file_list(user=request.user), pk=pk)
        from portal.gitops.engine import unified_diff

        current = _git_read(request, lambda: selectors.read_mirror(mf.repo).read(mf.path), None)
        diff = unified_diff(mf.path, mf.content, current, "wayline", "git") if mf.edited_outside else ""
        return render(request, "gitops/managedfile.html", {
            "object": mf, "diff": diff, "git_content": current,
            "can_adopt": ManagedFile.objects.permits(request.user, "adopt", mf),
            "can_restore": ManagedFile.objects.permits(request.user, "restore", mf),
        })


class ManagedFileActionView(ObjectActionView):
    """Adopt the outside edit, or restore Wayline's version through a change set of the file's owner."""

    selector = selectors.managed_file_list

    def perform(self, request, mf):
        if self.action == "adopt":
            services.managed_file_adopt(actor=request.user, managed_file=mf)
            messages.success(request, f"Adopted the outside edit of {mf.path}.")
            return redirect(mf.get_absolute_url())
        cs = services.managed_file_restore(actor=request.user, managed_file=mf)
        messages.success(request, f"Proposed change #{cs.pk} restoring Wayline's version.")
        return redirect(cs.get_absolute_url())


class RepoSyncView(ObjectActionView):
    """Ask for a check of the repository for outside edits; it runs in the background and the page polls it."""

    selector = selectors.repo_list
    action = "sync"

    def perform(self, request, repo):
        services.repo_sync_request(actor=request.user, repo=repo)
        messages.info(request, "Checking for outside edits; this page shows the result when it is done.")
        return redirect(repo.get_absolute_url())


class RepoSyncStatusView(LoginRequiredMixin, View):
    """The check's status partial; it keeps polling (htmx) while the check runs."""

    def get(self, request, pk):
        repo = get_restricted_object_or_404(selectors.repo_list(user=request.user), pk=pk)
        return render(request, "gitops/inc/repo_sync_status.html", {
            "repo": repo, "drifted_count": selectors.files_edited_outside(user=request.user, repo=repo).count(),
        })
