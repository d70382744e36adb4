"""Approval, rejection, revert and out-of-band edits, through the services and real git."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.gitops.choices import ChangeSetKind, ChangeSetStatus
from portal.gitops.models import ChangeSet, ManagedFile
from portal.gitops.services import (
    changeset_approve,
    changeset_reject,
    changeset_revert,
    managed_file_adopt,
    managed_file_restore,
)
from portal.models import AuditEvent
from portal.services import team_membership_set
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def decide(django_capture_on_commit_callbacks):
    def _decide(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = service(**kwargs)
        return result

    return _decide


def _prod_change(propose, repo, people, path="envs/prod/web.yaml", content="replicas: 3\n"):
    return propose(actor=people.alice, repo=repo, files_to_write={path: content}, message="Scale web in prod",
                   environment="prod")


def test_prod_change_waits_on_its_branch_until_approved(repo, bare, people, propose, decide):
    cs = _prod_change(propose, repo, people)
    assert cs.status == ChangeSetStatus.AWAITING_APPROVAL
    assert bare.read("envs/prod/web.yaml") is None  # not on the target branch
    assert bare.read("envs/prod/web.yaml", ref=f"wayline/change-{cs.pk}") is not None
    assert cs.branch_sha == bare.log(ref=f"wayline/change-{cs.pk}")[0][0]

    decide(changeset_approve, actor=people.bob, changeset=cs, comment="LGTM")
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED
    sha, author, _, committer, body = bare.log()[0]
    assert sha == cs.commit_sha and author == "Alice" and committer == "Wayline"
    assert f"Wayline-Change: {cs.pk}" in body.splitlines()
    assert "Approved-by: Bob <bob@example.com>" in body.splitlines()
    assert "replicas: 3" in bare.read("envs/prod/web.yaml")
    assert f"wayline/change-{cs.pk}" not in bare.branches()
    assert bare.trailer_count(cs.pk) == 1
    actions = list(AuditEvent.objects.filter(object_id=str(cs.pk), action__startswith="gitops.change").order_by("pk").values_list("action", flat=True))
    assert actions == ["gitops.change.propose", "gitops.change.await_approval", "gitops.change.approve", "gitops.change.apply"]


def test_nobody_approves_their_own_change(repo, people, propose):
    cs = _prod_change(propose, repo, people)
    team_membership_set(actor=people.admin, team=people.approvers, user=people.alice, role="member")  # even an approver
    alice = type(people.alice).objects.get(pk=people.alice.pk)  # fresh permission cache
    assert not ChangeSet.objects.permits(alice, "approve", cs)
    assert not ChangeSet.objects.permits(alice, "reject", cs)
    assert ChangeSet.objects.permits(people.bob, "approve", cs)
    admin_cs = propose(actor=people.admin, repo=repo, files_to_write={"p.yaml": "p\n"}, message="admin's", environment="prod")
    assert not ChangeSet.objects.permits(people.admin, "approve", admin_cs)


def test_non_approver_cannot_approve(repo, people, propose):
    cs = _prod_change(propose, repo, people)
    assert not ChangeSet.objects.permits(people.carol, "approve", cs)
    assert not ChangeSet.objects.filter(pk__in=ChangeSet.objects.restrict(people.carol, "view")).filter(pk=cs.pk).exists()


def test_an_approval_names_the_revision_it_saw(repo, people, propose):
    cs = _prod_change(propose, repo, people)
    with pytest.raises(ValidationError, match="updated since you looked"):
        changeset_approve(actor=people.bob, changeset=cs, revision=cs.revision + 1)
    assert not cs.approvals.exists()


def test_named_approver_user_may_approve(repo, people, propose, decide):
    from portal.gitops.models import Environment

    Environment.objects.get(slug="prod").approvers.add(people.carol)
    cs = _prod_change(propose, repo, people)
    decide(changeset_approve, actor=people.carol, changeset=cs)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED


def test_rejection_deletes_the_branch(repo, bare, people, propose, decide):
    cs = _prod_change(propose, repo, people)
    assert f"wayline/change-{cs.pk}" in bare.branches()
    decide(changeset_reject, actor=people.bob, changeset=cs, comment="not today")
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.REJECTED
    assert cs.approvals.get().comment == "not today"
    assert f"wayline/change-{cs.pk}" not in bare.branches()
    assert bare.read("envs/prod/web.yaml") is None
    with pytest.raises(ValidationError, match="not awaiting approval"):
        changeset_approve(actor=people.bob, changeset=cs)
    assert AuditEvent.objects.filter(object_id=str(cs.pk), action="gitops.change.reject").exists()


def test_approved_change_conflicting_with_a_human_edit_is_not_merged(repo, bare, people, propose, decide):
    propose(actor=people.alice, repo=repo, files_to_write={"envs/prod/web.yaml": "replicas: 1\n"}, message="seed",
            environment="dev")
    cs = _prod_change(propose, repo, people)
    bare.human_push("envs/prod/web.yaml", "replicas: 99\n")
    decide(changeset_approve, actor=people.bob, changeset=cs)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.CONFLICT and "+replicas: 99" in cs.conflict_diff
    assert bare.read("envs/prod/web.yaml") == "replicas: 99\n"


def test_revert_restores_previous_content_and_deletes_new_files(repo, bare, people, propose, decide):
    first = propose(actor=people.alice, repo=repo, files_to_write={"app.yaml": "v: 1\n"}, message="v1")
    second = propose(actor=people.alice, repo=repo, files_to_write={"app.yaml": "v: 2\n", "new.yaml": "n\n"}, message="v2")
    with_header_v1 = bare.read("app.yaml", ref=first.commit_sha)
    # A raw change has no owner: only platform admins may act on it (owned ones: tests/gitops/test_ownership.py).
    assert not ChangeSet.objects.permits(people.carol, "revert", second)
    assert not ChangeSet.objects.permits(people.alice, "revert", second)
    dave = make_user("dave", superuser=True)
    revert = decide(changeset_revert, actor=dave, changeset=second)
    revert.refresh_from_db()
    assert revert.kind == ChangeSetKind.REVERT and revert.reverts == second
    assert revert.status == ChangeSetStatus.APPLIED
    assert bare.read("app.yaml") == with_header_v1
    assert bare.read("new.yaml") is None
    assert bare.log()[0][1] == "dave" and f"Wayline-Change: {revert.pk}" in bare.log()[0][4]
    assert "Revert #%d" % second.pk in bare.log()[0][4]


def test_revert_of_a_prod_change_needs_approval_again(repo, bare, people, propose, decide):
    cs = _prod_change(propose, repo, people)
    decide(changeset_approve, actor=people.bob, changeset=cs)
    cs.refresh_from_db()
    revert = decide(changeset_revert, actor=people.alice, changeset=cs)
    revert.refresh_from_db()
    assert revert.status == ChangeSetStatus.AWAITING_APPROVAL
    assert bare.read("envs/prod/web.yaml") is not None


def test_revert_needs_an_applied_change(repo, people, propose):
    cs = _prod_change(propose, repo, people)
    with pytest.raises(ValidationError, match="Only applied changes"):
        changeset_revert(actor=people.alice, changeset=cs)


def test_outside_edit_is_detected_and_can_be_adopted(repo, bare, people, propose):
    from portal.gitops.tasks import sync_repo

    propose(actor=people.alice, repo=repo, files_to_write={"van/edge.yaml": "edge: 1\n"}, message="edge")
    assert sync_repo.delay(repo.pk).get() == 0
    edited = bare.read("van/edge.yaml") + "extra: by hand\n"
    bare.human_push("van/edge.yaml", edited)
    assert sync_repo.delay(repo.pk).get() == 1
    mf = ManagedFile.objects.get(repo=repo, path="van/edge.yaml")
    assert mf.edited_outside
    managed_file_adopt(actor=people.alice, managed_file=mf)
    mf.refresh_from_db()
    assert not mf.edited_outside and mf.content == edited
    # Once adopted, the portal builds on the adopted version without a conflict.
    cs = propose(actor=people.alice, repo=repo, files_to_write={"van/edge.yaml": "edge: 2\n"}, message="next")
    assert cs.status == ChangeSetStatus.APPLIED
    assert AuditEvent.objects.filter(action="gitops.file.adopt").exists()


def test_outside_edit_can_be_restored_to_the_portal_version(repo, bare, people, propose, django_capture_on_commit_callbacks):
    from portal.gitops.tasks import sync_repo

    propose(actor=people.alice, repo=repo, files_to_write={"van/hub.yaml": "hub: 1\n"}, message="hub")
    portal_version = bare.read("van/hub.yaml")
    bare.human_push("van/hub.yaml", "hub: hacked\n")
    sync_repo.delay(repo.pk)
    mf = ManagedFile.objects.get(repo=repo, path="van/hub.yaml")
    assert mf.edited_outside
    with django_capture_on_commit_callbacks(execute=True):
        cs = managed_file_restore(actor=people.alice, managed_file=mf)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED and cs.kind == ChangeSetKind.RESTORE
    assert bare.read("van/hub.yaml") == portal_version
    mf.refresh_from_db()
    assert not mf.edited_outside


def test_exact_bytes_survive_so_crlf_and_unicode_files_are_not_flagged(repo, bare, people, propose):
    from portal.gitops.tasks import sync_repo

    content = "line one\r\nlíne twø ✓\r\n"
    propose(actor=people.alice, repo=repo, files_to_write={"win/notes.json": content}, message="crlf")
    assert sync_repo.delay(repo.pk).get() == 0
    assert ManagedFile.objects.get(path="win/notes.json").content == content
