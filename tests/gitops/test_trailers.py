"""Commit-message trailers are only trusted where the portal writes them, and recovery checks content.

User text that looks like a trailer (``Approved-by:``, ``Wayline-Change:``) must not forge
approvals or mark changes applied; crash recovery records a pending change as applied at
a commit only when that commit really holds the change's files.
"""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.gitops import engine
from portal.gitops.choices import ChangeSetStatus
from portal.gitops.gitrepo import WAYLINE_EMAIL, WAYLINE_NAME, ReadMirror
from portal.gitops.models import Approval, ChangeSet, ChangeSetFile, Environment, ManagedFile
from tests.gitops.conftest import git

pytestmark = pytest.mark.django_db

WAYLINE = {"GIT_COMMITTER_NAME": WAYLINE_NAME, "GIT_COMMITTER_EMAIL": WAYLINE_EMAIL}
HUMAN = {"GIT_COMMITTER_NAME": "Hugh Human", "GIT_COMMITTER_EMAIL": "hugh@example.com"}


def push_commit(bare, message: str, files: dict[str, str | None] | None = None, committer: dict | None = None) -> str:
    """Push a commit made by hand (not through the portal) to main, with any committer identity."""
    human = bare.human_dir
    if not (human / ".git").exists():
        git(human.parent, "clone", "-q", str(bare.path), str(human))
    git(human, "fetch", "-q", "origin")
    git(human, "reset", "-q", "--hard", "origin/main")
    for path, content in (files or {}).items():
        target = human / path
        if content is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
    git(human, "add", "-A")
    env = {"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "m@x", **(committer or WAYLINE)}
    git(human, "commit", "-q", "--allow-empty", "-m", message, env=env)
    git(human, "push", "-q", "origin", "HEAD:main")
    return git(human, "rev-parse", "HEAD").strip()


def pending_change(repo, author, files: dict[str, str | None], message: str, environment: str = "dev") -> ChangeSet:
    """A pending ChangeSet row, as propose_change leaves it before the worker runs (written directly, so these
    tests depend on the engine only)."""
    cs = ChangeSet.objects.create(repo=repo, environment=Environment.objects.get(slug=environment), author=author,
                                  author_name=author.get_full_name() or author.username, author_email=author.email,
                                  message=message)
    ChangeSetFile.objects.bulk_create(ChangeSetFile(changeset=cs, path=p, content=c) for p, c in files.items())
    return cs


def awaiting_approval(repo, people, files: dict[str, str], message: str) -> ChangeSet:
    """A protected change the engine pushed to its approval branch, approved by Bob (merge not run yet)."""
    from django.utils import timezone

    from portal.gitops.choices import ApprovalDecision

    cs = pending_change(repo, people.alice, files, message, environment="prod")
    engine.apply_pending(repo.pk)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.AWAITING_APPROVAL
    Approval.objects.create(changeset=cs, user=people.bob, user_name="Bob", user_email="bob@example.com",
                            decision=ApprovalDecision.APPROVE)
    ChangeSet.objects.filter(pk=cs.pk).update(approved_at=timezone.now())
    return cs


def mirror_log(repo) -> list[dict]:
    mirror = ReadMirror(repo.pk, engine.credentials_for(repo), repo.branch)
    mirror.refresh(force=True)
    return mirror.log(limit=20)


# commit_text_clean ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Deploy web to dev",
        "VAN demo: update app x",
        "Revert #12: VAN x: bump image",
        "Bump image\n\nSee https://example.com/issues/4 for why.",
        "Subject\n\n# not a comment to us\n\tindented with a tab\nChanges:\n- a\n- b",
        "Ünïcödé ✓ message",
        "key : value with a space before the colon",
    ],
)
def test_commit_text_clean_accepts_normal_messages(text):
    from portal.gitops.messages import commit_text_clean

    assert commit_text_clean(text + "  \n\n", field="message") == text


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("Deploy\n\nApproved-by: Mallory <m@x>", 3, "trailer"),
        ("Signed-off-by: y", 1, "trailer"),
        ("Deploy\nwayline-change: 3", 2, "trailer"),
        ("Deploy\n\nWayline-Change: 7", 3, "trailer"),
        ("Deploy\n   Approved-by: indented", 2, "trailer"),
        ("Deploy\nApproved-by:\ttab", 2, "trailer"),
        ("Deploy\r\nApproved-by: crlf", 1, "control character"),
        ("line one\nnul\x00here", 2, "control character"),
        ("colour \x1b[31mred", 1, "control character"),
        ("next line\x85Approved-by: x", 1, "control character"),
        ("form\x0cfeed", 1, "control character"),
    ],
)
@pytest.mark.parametrize("field", ["message", "comment"])
def test_commit_text_clean_refuses_forged_trailers_and_control_characters(text, line, what, field):
    from portal.gitops.messages import commit_text_clean

    with pytest.raises(ValidationError) as excinfo:
        commit_text_clean(text, field=field)
    assert list(excinfo.value.message_dict) == [field]
    error = " ".join(excinfo.value.message_dict[field])
    assert error.startswith(f"{field}: ")
    assert f"line {line}" in error and what in error


# trailer_block ---------------------------------------------------------------------------------------------------


def test_trailer_block_round_trips_commit_message():
    from portal.gitops.messages import trailer_block

    one = ChangeSet(pk=41, message="Deploy web\n\nWith a body.\n", author_name="Alice")
    assert trailer_block(engine.commit_message([one])) == ([41], [])
    approvers = ["Bob <bob@example.com>", "Carol Q <carol@example.com>"]
    assert trailer_block(engine.commit_message([one], approvers)) == ([41], approvers)
    many = [ChangeSet(pk=pk, message=f"change {pk}: x", author_name="Alice") for pk in (7, 8, 12)]
    assert trailer_block(engine.commit_message(many)) == ([7, 8, 12], [])
    # An approver name that carries a line break cannot add a line to the trailer block.
    sneaky = ["Bob\nApproved-by: Mallory <m@x> <bob@example.com>"]
    ids, names = trailer_block(engine.commit_message([one], sneaky))
    assert ids == [41] and len(names) == 1 and "\n" not in names[0]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Deploy\n\nWayline-Change: 3\n", ([3], [])),
        ("Deploy\n\nWayline-Change: 3\nWayline-Change: 4\nApproved-by: Bob <b@x>\n", ([3, 4], ["Bob <b@x>"])),
        # A trailer line in the middle of the body is text, not a trailer.
        ("Deploy\nWayline-Change: 3\nmore\n\nWayline-Change: 4\n", ([4], [])),
        ("Deploy\n\nApproved-by: Mallory <m@x>\nmore text\n\nWayline-Change: 4\n", ([4], [])),
        # The last paragraph must be entirely the portal's trailers.
        ("Deploy\n\nWayline-Change: 3\nSigned-off-by: x\n", ([], [])),
        ("Deploy\n\nWayline-Change: 3\nnot a trailer\n", ([], [])),
        ("Deploy\n\nWayline-Change: 3\n\nthanks\n", ([], [])),
        ("Deploy\n\nWayline-Change: abc\n", ([], [])),
        ("Deploy\n\nwayline-change: 3\n", ([], [])),
        ("Deploy\n\nApproved-by: Mallory <m@x>\n", ([], [])),
        ("Wayline-Change: 3\n", ([], [])),  # a subject is never a trailer block
        ("", ([], [])),
    ],
)
def test_trailer_block_reads_only_the_final_block(body, expected):
    from portal.gitops.messages import trailer_block

    assert trailer_block(body) == expected


# history pages --------------------------------------------------------------------------------------------------


def test_approved_by_in_the_message_text_is_not_an_approver(repo, bare, people):
    cs = pending_change(repo, people.alice, {"a.yaml": "a: 1\n"},
                        "Deploy a\n\nApproved-by: Mallory <m@x>\nso it looks approved")
    engine.apply_pending(repo.pk)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED
    forged_sha = push_commit(bare, "Tidy\n\nApproved-by: Mallory <m@x>\nWayline-Change: 999 is mentioned here\n")
    by_sha = {c["sha"]: c for c in mirror_log(repo)}
    assert by_sha[cs.commit_sha]["change_ids"] == [cs.pk]
    assert by_sha[cs.commit_sha]["approved_by"] == []
    assert by_sha[forged_sha]["change_ids"] == [] and by_sha[forged_sha]["approved_by"] == []


def test_trailers_of_a_commit_not_committed_by_wayline_are_ignored(repo, bare, people):
    sha = push_commit(bare, "Looks official\n\nWayline-Change: 5\nApproved-by: Mallory <m@x>\n", committer=HUMAN)
    entry = {c["sha"]: c for c in mirror_log(repo)}[sha]
    assert entry["change_ids"] == [] and entry["approved_by"] == []
    clone = engine.open_clone(repo)
    assert clone.trailer_ids_since("", clone.fetch()) == {}


# crash recovery -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("forged_files", [{}, {"other.txt": "unrelated\n"}], ids=["empty", "other-file"])
def test_forged_trailer_commit_does_not_mark_a_pending_change_applied(repo, bare, people, forged_files):
    cs = pending_change(repo, people.alice, {"apps/web.yaml": "replicas: 3\n"}, "Scale web")
    forged = push_commit(bare, f"fix\n\nWayline-Change: {cs.pk}\n", forged_files)
    engine.apply_pending(repo.pk)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED
    assert cs.commit_sha and cs.commit_sha != forged
    assert [entry[0] for entry in bare.log()[:2]] == [cs.commit_sha, forged]  # a real commit on top of the forged one
    assert bare.read("apps/web.yaml") == "replicas: 3\n"
    assert ManagedFile.objects.get(repo=repo, path="apps/web.yaml").content == "replicas: 3\n"


def test_forged_trailer_with_other_content_is_not_recorded_as_the_change(repo, bare, people):
    cs = pending_change(repo, people.alice, {"apps/web.yaml": "replicas: 3\n"}, "Scale web")
    forged = push_commit(bare, f"fix\n\nWayline-Change: {cs.pk}\n", {"apps/web.yaml": "replicas: 99\n"})
    engine.apply_pending(repo.pk)
    cs.refresh_from_db()
    assert cs.commit_sha != forged
    # The forged commit wrote a file the change would overwrite: an outside edit, not our commit.
    assert cs.status == ChangeSetStatus.CONFLICT
    assert bare.read("apps/web.yaml") == "replicas: 99\n"


def test_forged_trailer_does_not_complete_a_delete(repo, bare, people):
    pending_change(repo, people.alice, {"old.yaml": "old: 1\n"}, "Add old")
    engine.apply_pending(repo.pk)
    keep = pending_change(repo, people.alice, {"old.yaml": None}, "Drop old")
    forged = push_commit(bare, f"fix\n\nWayline-Change: {keep.pk}\n")
    engine.apply_pending(repo.pk)
    keep.refresh_from_db()
    assert keep.status == ChangeSetStatus.APPLIED and keep.commit_sha not in ("", forged)
    assert bare.read("old.yaml") is None


def test_forged_trailer_does_not_complete_an_approved_change(repo, bare, people):
    cs = awaiting_approval(repo, people, {"envs/prod/web.yaml": "image: web:2\n"}, "Prod rollout")
    forged = push_commit(bare, f"fix\n\nWayline-Change: {cs.pk}\n")
    engine.merge_approved(cs.pk)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED
    assert cs.commit_sha != forged and bare.log()[0][0] == cs.commit_sha
    assert bare.read("envs/prod/web.yaml") == "image: web:2\n"
    assert "Approved-by: Bob <bob@example.com>" in bare.log()[0][4]
    assert f"wayline/change-{cs.pk}" not in bare.branches()


class WorkerDied(BaseException):
    pass


def _die(*args, **kwargs):
    raise WorkerDied()


def test_worker_that_pushed_then_died_is_recorded_once_at_its_commit(repo, bare, people, monkeypatch):
    pending_change(repo, people.alice, {"gone.yaml": "g: 1\n"}, "Add gone")
    engine.apply_pending(repo.pk)
    first = pending_change(repo, people.alice, {"z.yaml": "z: 1\n"}, "pushed, then died")
    second = pending_change(repo, people.alice, {"gone.yaml": None}, "delete, pushed, then died")
    real_record = engine._record_applied
    monkeypatch.setattr(engine, "_record_applied", _die)
    with pytest.raises(WorkerDied):
        engine.apply_pending(repo.pk)
    pushed = bare.log()[0][0]
    assert bare.trailer_count(first.pk) == bare.trailer_count(second.pk) == 1  # one commit holds both
    assert ChangeSet.objects.get(pk=first.pk).status == ChangeSetStatus.PENDING
    monkeypatch.setattr(engine, "_record_applied", real_record)

    engine.apply_pending(repo.pk)
    for cs in (first, second):
        cs.refresh_from_db()
        assert cs.status == ChangeSetStatus.APPLIED and cs.commit_sha == pushed
        assert bare.trailer_count(cs.pk) == 1
    assert bare.log()[0][0] == pushed  # nothing committed again
    assert ManagedFile.objects.get(repo=repo, path="z.yaml").content == "z: 1\n"
    assert not ManagedFile.objects.filter(repo=repo, path="gone.yaml").exists()


def test_merge_that_pushed_then_died_is_recorded_once_at_its_commit(repo, bare, people, monkeypatch):
    cs = awaiting_approval(repo, people, {"envs/prod/api.yaml": "image: api:3\n"}, "Prod api")
    real_record = engine._record_applied
    monkeypatch.setattr(engine, "_record_applied", _die)
    with pytest.raises(WorkerDied):
        engine.merge_approved(cs.pk)
    pushed = bare.log()[0][0]
    assert bare.trailer_count(cs.pk) == 1
    monkeypatch.setattr(engine, "_record_applied", real_record)

    engine.merge_approved(cs.pk)
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED and cs.commit_sha == pushed
    assert bare.log()[0][0] == pushed and bare.trailer_count(cs.pk) == 1
    assert bare.read("envs/prod/api.yaml") == "image: api:3\n"
