"""The apply pipeline against real bare repositories: commits, trailers, batching, push races, conflicts, crashes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from portal.gitops import engine
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.gitrepo import WorkingClone
from portal.gitops.models import ChangeSet, ManagedFile
from portal.gitops.services import GENERATED_HEADER, propose_change

pytestmark = pytest.mark.django_db


def test_dev_change_is_committed_with_author_committer_and_trailer(repo, bare, people, propose):
    cs = propose(actor=people.alice, repo=repo, files_to_write={"apps/dev/web.yaml": "kind: Deployment\n"},
                 message="Deploy web to dev")
    assert cs.status == ChangeSetStatus.APPLIED
    sha, author, email, committer, body = bare.log()[0]
    assert cs.commit_sha == sha
    assert (author, email, committer) == ("Alice", "alice@example.com", "Wayline")
    assert body.startswith("Deploy web to dev")
    assert f"Wayline-Change: {cs.pk}" in body.splitlines()
    content = bare.read("apps/dev/web.yaml")
    assert content == f"# {GENERATED_HEADER}\nkind: Deployment\n"
    assert ManagedFile.objects.get(repo=repo, path="apps/dev/web.yaml").content == content


def test_delete_removes_the_file(repo, bare, people, propose):
    propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "x: 1\n"}, message="add")
    cs = propose(actor=people.alice, repo=repo, files_to_write={}, files_to_delete=["a.yaml"], message="drop")
    assert cs.status == ChangeSetStatus.APPLIED
    assert bare.read("a.yaml") is None
    assert not ManagedFile.objects.filter(repo=repo, path="a.yaml").exists()


def test_deleting_a_file_git_never_had_is_a_no_op(repo, bare, people, propose):
    cs = propose(actor=people.alice, repo=repo, files_to_write={"b.yaml": "y: 2\n"},
                 files_to_delete=["never/existed.yaml"], message="write one, drop a ghost")
    assert cs.status == ChangeSetStatus.APPLIED, cs.error
    assert bare.read("b.yaml").endswith("y: 2\n")
    assert bare.read("never/existed.yaml") is None


def test_queued_changes_are_batched_per_author(repo, bare, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        from django.db import transaction

        with transaction.atomic():
            ids = [propose_change(owner=None, environment="dev", actor=people.alice, repo=repo, files_to_write={f"a/{i}.yaml": f"n: {i}\n"},
                                  message=f"alice {i}").pk for i in range(5)]
            ids += [propose_change(owner=None, environment="dev", actor=people.bob, repo=repo, files_to_write={f"b/{i}.yaml": f"n: {i}\n"},
                                   message=f"bob {i}").pk for i in range(2)]
            ids += [propose_change(owner=None, environment="dev", actor=people.alice, repo=repo, files_to_write={"a/0.yaml": "n: again\n"},
                                   message="alice again").pk]
    changes = ChangeSet.objects.in_bulk(ids)
    assert {cs.status for cs in changes.values()} == {ChangeSetStatus.APPLIED}
    log = bare.log()[:-1]  # minus the initial commit
    assert [entry[1] for entry in log] == ["Alice", "Bob", "Alice"]  # newest first, one commit per author run
    trailers = {int(line.split(": ")[1]) for entry in log for line in entry[4].splitlines() if line.startswith("Wayline-Change:")}
    assert trailers == set(ids)
    for cs in changes.values():
        assert bare.trailer_count(cs.pk) == 1
    assert changes[ids[0]].commit_sha == changes[ids[4]].commit_sha != changes[ids[5]].commit_sha


def test_rejected_push_is_reapplied_on_the_new_head(repo, bare, people, propose, monkeypatch):
    propose(actor=people.alice, repo=repo, files_to_write={"x.yaml": "x: 1\n"}, message="warm the clone")
    real_push = WorkingClone.push_sha
    raced = []

    def push_after_someone_else(self, sha, ref):
        if not raced:
            raced.append(bare.human_push("outside/other.txt", "unrelated\n", "Someone else's commit"))
        return real_push(self, sha, ref)

    monkeypatch.setattr(WorkingClone, "push_sha", push_after_someone_else)
    cs = propose(actor=people.alice, repo=repo, files_to_write={"y.yaml": "y: 1\n"}, message="lands after a race")
    assert cs.status == ChangeSetStatus.APPLIED
    log = bare.log()
    assert log[0][0] == cs.commit_sha and log[1][0] == raced[0]  # re-applied on top of the outside commit
    assert bare.read("outside/other.txt") == "unrelated\n"
    assert bare.trailer_count(cs.pk) == 1


def test_chain_of_commits_is_pushed_one_by_one_while_the_branch_keeps_moving(
    repo, bare, people, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import transaction

    real_push = WorkingClone.push_sha
    outside = []

    def push_racing(self, sha, ref):
        if len(outside) < 4:  # someone else pushes right before each of our first four pushes
            outside.append(bare.human_push(f"outside/{len(outside)}.txt", "x\n", f"Outside {len(outside)}"))
        return real_push(self, sha, ref)

    monkeypatch.setattr(WorkingClone, "push_sha", push_racing)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            ids = [propose_change(owner=None, environment="dev", actor=(people.alice, people.bob)[i % 2], repo=repo,
                                  files_to_write={f"chain/{i}.yaml": f"i: {i}\n"}, message=f"chain {i}").pk
                   for i in range(4)]
    changes = ChangeSet.objects.in_bulk(ids)
    assert all(cs.status == ChangeSetStatus.APPLIED for cs in changes.values())
    for cs in changes.values():
        assert bare.trailer_count(cs.pk) == 1
    log = bare.log()
    by_sha = {entry[0]: entry for entry in log}
    for i, pk in enumerate(ids):
        entry = by_sha[changes[pk].commit_sha]
        assert entry[1] == ("Alice", "Bob")[i % 2] and entry[3] == "Wayline"
        assert bare.read(f"chain/{i}.yaml").endswith(f"i: {i}\n")
    assert all(sha in by_sha for sha in outside)


def test_push_race_with_a_human_edit_of_our_file_becomes_a_conflict(repo, bare, people, propose, monkeypatch):
    propose(actor=people.alice, repo=repo, files_to_write={"apps/x.yaml": "x: 1\n"}, message="first")
    real_push = WorkingClone.push_sha
    raced = []

    def human_edits_our_file_first(self, sha, ref):
        if not raced:
            raced.append(bare.human_push("apps/x.yaml", "x: human\n"))
        return real_push(self, sha, ref)

    monkeypatch.setattr(WorkingClone, "push_sha", human_edits_our_file_first)
    cs = propose(actor=people.alice, repo=repo, files_to_write={"apps/x.yaml": "x: 2\n"}, message="second")
    assert cs.status == ChangeSetStatus.CONFLICT and "+x: human" in cs.conflict_diff
    assert bare.read("apps/x.yaml") == "x: human\n"


def test_human_edit_of_the_same_file_is_a_conflict_not_an_overwrite(repo, bare, people, propose):
    propose(actor=people.alice, repo=repo, files_to_write={"apps/web.yaml": "replicas: 1\n"}, message="first")
    human = bare.read("apps/web.yaml").replace("replicas: 1", "replicas: 7")
    bare.human_push("apps/web.yaml", human)
    cs = propose(actor=people.alice, repo=repo, files_to_write={"apps/web.yaml": "replicas: 2\n"}, message="second")
    assert cs.status == ChangeSetStatus.CONFLICT
    assert "+replicas: 7" in cs.conflict_diff and "-replicas: 1" in cs.conflict_diff
    assert "apps/web.yaml" in cs.conflict_diff
    assert bare.read("apps/web.yaml") == human
    assert bare.trailer_count(cs.pk) == 0


def test_unmanaged_existing_file_is_not_overwritten(repo, bare, people, propose):
    bare.human_push("hand/made.yaml", "mine: true\n")
    cs = propose(actor=people.alice, repo=repo, files_to_write={"hand/made.yaml": "portal: true\n"}, message="take over")
    assert cs.status == ChangeSetStatus.CONFLICT
    assert bare.read("hand/made.yaml") == "mine: true\n"


def test_worker_death_after_push_completes_exactly_once(repo, bare, people, propose, monkeypatch):
    propose(actor=people.alice, repo=repo, files_to_write={"warm.yaml": "w: 1\n"}, message="warm")

    class WorkerDied(BaseException):
        pass

    real_record = engine._record_applied

    def die(*args, **kwargs):
        raise WorkerDied()

    monkeypatch.setattr(engine, "_record_applied", die)
    with pytest.raises(WorkerDied):
        propose(actor=people.alice, repo=repo, files_to_write={"z.yaml": "z: 1\n"}, message="pushed, then died")
    cs = ChangeSet.objects.latest("pk")
    assert cs.status == ChangeSetStatus.PENDING
    assert bare.trailer_count(cs.pk) == 1  # the push happened
    monkeypatch.setattr(engine, "_record_applied", real_record)
    from portal.gitops.tasks import apply_changeset

    apply_changeset.delay(cs.pk)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED
    assert bare.trailer_count(cs.pk) == 1
    assert cs.commit_sha == bare.log()[0][0]


def test_missing_repo_makes_the_change_wait_with_the_reason(db, people, propose, tmp_path):
    from portal.gitops.models import GitOpsRepo

    missing = GitOpsRepo.objects.create(name="gone", url=str(tmp_path / "nowhere.git"), branch="main")
    cs = propose(actor=people.alice, repo=missing, files_to_write={"a.yaml": "a: 1\n"}, message="into the void")
    assert cs.status == ChangeSetStatus.PENDING and cs.next_attempt_at is not None
    assert cs.error == f"the GitOps repository {tmp_path / 'nowhere.git'} is missing; restore it or run manage.py gitops_init"
    assert not (tmp_path / "nowhere.git").exists()


@pytest.mark.parametrize(
    "kwargs, field, text",
    [
        ({"files_to_write": {"../escape.yaml": "x"}}, "files_to_write", "'../escape.yaml' has an empty, '.' or '..' segment"),
        ({"files_to_write": {"/abs.yaml": "x"}}, "files_to_write", "'/abs.yaml'"),
        ({"files_to_write": {".git/config": "x"}}, "files_to_write", "inside .git"),
        ({"files_to_write": {"a//b.yaml": "x"}}, "files_to_write", "has an empty"),
        ({"files_to_write": {}}, "files_to_write", "at least one file"),
        ({"files_to_write": {"a.yaml": "x"}, "environment": "moon"}, "environment", "unknown environment 'moon'"),
        ({"files_to_write": {"a.yaml": "x"}, "files_to_delete": ["a.yaml"]}, "files_to_delete", "a.yaml also in"),
        ({"files_to_write": {"a.yaml": "x"}, "message": " "}, "message", "commit message"),
    ],
)
def test_invalid_changes_say_what_and_where(repo, people, kwargs, field, text):
    kwargs = {"message": "m", "environment": "dev", **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        propose_change(owner=None, actor=people.alice, repo=repo, **kwargs)
    assert field in excinfo.value.message_dict
    assert text in " ".join(excinfo.value.message_dict[field])
    assert not ChangeSet.objects.exists()


def test_rolled_back_portal_change_never_reaches_git(repo, bare, people, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                propose_change(owner=None, environment="dev", actor=people.alice, repo=repo, files_to_write={"r.yaml": "r\n"}, message="doomed")
                raise RuntimeError("the portal change failed")
    assert callbacks == []
    assert not ChangeSet.objects.exists()
    assert bare.read("r.yaml") is None


def test_default_repo_is_created_only_by_gitops_init(db, people, propose, settings, tmp_path):
    from django.core.management import call_command

    from portal.gitops.tasks import sweep

    settings.WAYLINE_GITOPS_URL = str(tmp_path / "default.git")
    cs = propose(actor=people.alice, repo=None, files_to_write={"d.yaml": "d: 1\n"}, message="to the default repo")
    assert cs.repo.is_default and cs.repo.url == settings.WAYLINE_GITOPS_URL
    assert cs.status == ChangeSetStatus.PENDING and "manage.py gitops_init" in cs.error
    assert not (tmp_path / "default.git").exists()
    call_command("gitops_init")
    ChangeSet.objects.filter(pk=cs.pk).update(next_attempt_at=None, updated=cs.updated - timedelta(minutes=2))
    sweep()
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED and cs.error == ""
    from tests.gitops.conftest import git

    assert "Wayline-Change: %d" % cs.pk in git(tmp_path / "default.git", "log", "-1", "--format=%B", "main")
