"""GitOps pages: repositories with history read from git, change sets, the approval queue,
files edited outside Wayline. Actions only parse input and call services."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views import View

from portal.gitops import selectors, services
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.filtersets import ChangeSetFilterSet, GitOpsRepoFilterSet
from portal.gitops.forms import DecisionForm, GitOpsRepoForm
from portal.gitops.gitrepo import GitError
from portal.gitops.models import ChangeSet, GitOpsRepo
from portal.gitops.tables import ChangeSetTable, EnvironmentTable, GitOpsRepoTable
from portal.views.generic import ObjectDetailView, ObjectEditView, ObjectListView, get_restricted_object_or_404

HISTORY_PAGE = 30


def _git_read(request, fn, default):
    """Read from git for a page; an unreachable repo shows a message instead of a 500."""
    try:
        return fn()
    except GitError as exc:
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
            page = max(0, int(request.GET.get("page", "0")))
        except ValueError:
            page = 0
        commits = _git_read(request, lambda: selectors.repo_history(repo=obj, path=path, limit=HISTORY_PAGE, skip=page * HISTORY_PAGE), [])
        if path:
            for commit in commits:
                commit["diff"] = _git_read(request, lambda c=commit: selectors.commit_diff(repo=obj, sha=c["sha"], path=path), "")
        return {
            "commits": commits,
            "path": path,
            "page": page,
            "has_next": len(commits) == HISTORY_PAGE,
            "drifted": selectors.files_edited_outside(user=request.user, repo=obj),
            "pending": selectors.changeset_list(user=request.user, filters={"repo": obj, "status": ChangeSetStatus.PENDING})[:20],
            "can_edit": request.user.is_superuser or request.user.has_perm("gitops.change_gitopsrepo"),
        }


class CommitView(LoginRequiredMixin, View):
    def get(self, request, pk, sha):
        repo = get_restricted_object_or_404(selectors.repo_list(user=request.user), pk=pk)
        commits = _git_read(request, lambda: selectors.read_mirror(repo).log(rev=sha, limit=1) if _is_sha(sha) else [], [])
        if not commits:
            from django.http import Http404

            raise Http404("No such commit")
        diff = _git_read(request, lambda: selectors.commit_diff(repo=repo, sha=commits[0]["sha"]), "")
        return render(request, "gitops/commit.html", {"object": repo, "commit": commits[0], "diff": diff})


def _is_sha(value: str) -> bool:
    return 4 <= len(value) <= 64 and all(c in "0123456789abcdef" for c in value.lower())


class RepoEditView(ObjectEditView):
    model = GitOpsRepo
    form_class = GitOpsRepoForm
    create_service = services.repo_create
    update_service = services.repo_update

    def check_create_allowed(self) -> None:
        user = self.request.user
        if not (user.is_superuser or user.has_perm("gitops.add_gitopsrepo")):
            raise PermissionDenied("Only platform admins register GitOps repositories.")


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
        can_decide = (
            obj.status == ChangeSetStatus.AWAITING_APPROVAL
            and not obj.approved_at
            and obj.author_id != user.pk
            and services.environment_is_approver(environment=obj.environment, user=user)
        )
        return {
            "files": list(obj.files.all()),
            "approvals": list(obj.approvals.all()),
            "diff": _git_read(self.request, lambda: selectors.changeset_diff(changeset=obj), ""),
            "can_decide": can_decide,
            "decision_form": DecisionForm(),
            "can_revert": obj.status == ChangeSetStatus.APPLIED and services.changeset_may_revert(user=user, changeset=obj),
            "can_retry": obj.status == ChangeSetStatus.FAILED,
        }


class ChangeSetStatusView(LoginRequiredMixin, View):
    """The status badge partial; it keeps polling (htmx) until the change is done."""

    def get(self, request, pk):
        obj = get_restricted_object_or_404(selectors.changeset_list(user=request.user), pk=pk)
        return render(request, "gitops/inc/changeset_status.html", {"changeset": obj})


class ChangeSetActionView(LoginRequiredMixin, View):
    """POST-only actions on a change set: approve, reject, revert, retry."""

    action = ""

    def post(self, request, pk):
        obj = get_restricted_object_or_404(selectors.changeset_list(user=request.user), pk=pk)
        form = DecisionForm(request.POST)
        comment = form.cleaned_data["comment"] if form.is_valid() else ""
        try:
            if self.action == "approve":
                services.changeset_approve(actor=request.user, changeset=obj, comment=comment)
                messages.success(request, f"Approved change #{obj.pk}; it is being merged.")
            elif self.action == "reject":
                services.changeset_reject(actor=request.user, changeset=obj, comment=comment)
                messages.success(request, f"Rejected change #{obj.pk}.")
            elif self.action == "revert":
                revert = services.changeset_revert(actor=request.user, changeset=obj, comment=comment)
                messages.success(request, f"Proposed revert #{revert.pk}.")
                return redirect(revert.get_absolute_url())
            elif self.action == "retry":
                services.changeset_retry(actor=request.user, changeset=obj)
                messages.success(request, f"Change #{obj.pk} is queued again.")
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            response = redirect(obj.get_absolute_url())
            response.status_code = 303
            return response
        return redirect(obj.get_absolute_url())


class ApprovalQueueView(LoginRequiredMixin, View):
    def get(self, request):
        queue = list(selectors.approval_queue(user=request.user).prefetch_related("files")[:50])
        for cs in queue:
            cs.diff_text = _git_read(request, lambda c=cs: selectors.changeset_diff(changeset=c), "")
        return render(request, "gitops/approval_queue.html", {"queue": queue, "decision_form": DecisionForm()})


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
        return render(request, "gitops/managedfile.html", {"object": mf, "diff": diff, "git_content": current})

    def post(self, request, pk):
        mf = get_restricted_object_or_404(selectors.managed_file_list(user=request.user), pk=pk)
        action = request.POST.get("action")
        try:
            if action == "adopt":
                services.managed_file_adopt(actor=request.user, managed_file=mf)
                messages.success(request, f"Adopted the outside edit of {mf.path}.")
            elif action == "restore":
                cs = services.managed_file_restore(actor=request.user, managed_file=mf,
                                                   environment=mf.last_changeset.environment if mf.last_changeset else "dev")
                messages.success(request, f"Proposed change #{cs.pk} restoring Wayline's version.")
                return redirect(cs.get_absolute_url())
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect(mf.get_absolute_url())


class RepoSyncView(LoginRequiredMixin, View):
    """Check the repository for outside edits now."""

    def post(self, request, pk):
        repo = get_restricted_object_or_404(selectors.repo_list(user=request.user), pk=pk)
        from portal.gitops import engine

        try:
            drifted = engine.sync_repo(repo.pk)
            messages.success(request, f"Checked: {len(drifted)} file(s) edited outside Wayline.")
        except GitError as exc:
            messages.error(request, f"Could not read the repository: {exc}")
        return redirect(repo.get_absolute_url())
