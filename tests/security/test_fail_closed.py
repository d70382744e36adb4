"""Fail closed, and say why (issue #12, item 7; SSH keys from item 6).

A GitOps repository that is missing, unreadable or replaced is an error state: nothing
re-creates it or pushes into it, /healthz answers 503 naming it, changes wait with the
reason on their page and land exactly once when it is back. A push the remote refuses
shows git's reason on the change at once. A page whose work waits on a worker says
when none is running. An SSH key is on disk only while a git command runs.
"""
# ruff: noqa: F811 - the GitOps engine's fixtures (tests/gitops/conftest.py) are imported, then used as parameters
from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet, GitOpsRepo
from tests.gitops.conftest import Bare, bare, git, people, propose, repo  # noqa: F401
from tests.gitops.test_tasks import running_worker  # noqa: F401
from tests.polling import wait_for

NO_WORKER = "No background worker is running"


@pytest.fixture
def default_bare(settings, tmp_path) -> Bare:
    """The default repository, set up the one explicit way: ``manage.py gitops_init``."""
    path = tmp_path / "gitops.git"
    settings.WAYLINE_GITOPS_URL = str(path)
    call_command("gitops_init")
    return Bare(path, tmp_path / "human")


def _due(cs: ChangeSet) -> None:
    """Let the sweep pick the change up now (as it would a minute later)."""
    ChangeSet.objects.filter(pk=cs.pk).update(next_attempt_at=None, updated=timezone.now() - timedelta(minutes=5))


def _healthz() -> tuple[int, dict]:
    response = Client().get("/healthz")
    return response.status_code, response.json()["checks"]["gitops"]


def _admin_client(people) -> Client:
    client = Client()
    client.force_login(people.admin)
    return client


def _page(client: Client, url: str) -> str:
    return client.get(url).content.decode()


@pytest.mark.django_db
def test_a_repository_moved_away_is_not_recreated_and_the_change_lands_once_it_is_back(default_bare, people, propose):
    from portal.gitops.tasks import sweep

    first = propose(actor=people.alice, repo=None, files_to_write={"apps/a.yaml": "a: 1\n"}, message="First")
    assert first.status == ChangeSetStatus.APPLIED
    assert _healthz()[0] == 200
    moved = default_bare.path.with_name("moved-away.git")
    default_bare.path.rename(moved)

    cs = propose(actor=people.alice, repo=None, files_to_write={"apps/b.yaml": "b: 1\n"}, message="While it is gone")
    reason = f"the GitOps repository {default_bare.path} is missing; restore it or run manage.py gitops_init"
    assert cs.status == ChangeSetStatus.PENDING and cs.error == reason
    assert cs.next_attempt_at is not None and cs.attempts == 1
    assert not default_bare.path.exists()  # nothing re-created it
    assert GitOpsRepo.objects.get(is_default=True).unavailable_reason == reason

    status, check = _healthz()
    assert status == 503 and check == {"ok": False, "detail": reason}

    client = _admin_client(people)
    page = client.get(cs.get_absolute_url()).content.decode()
    assert reason in page and "Last attempt failed" in page and "tried again at" in page
    repo_page = client.get(reverse("gitops:repo", kwargs={"pk": cs.repo_id}))
    assert repo_page.status_code == 200 and "The GitOps repository is unavailable" in repo_page.content.decode()
    commit_page = client.get(reverse("gitops:commit", kwargs={"pk": cs.repo_id, "sha": first.commit_sha}))
    assert commit_page.status_code == 503 and reason in commit_page.content.decode()
    revert = client.post(reverse("gitops:changeset_revert", kwargs={"pk": first.pk}), {"comment": ""}, follow=True)
    assert "cannot be read, so nothing was done" in revert.content.decode()

    sweep()  # retrying while it is still gone changes nothing
    assert not default_bare.path.exists()
    assert ChangeSet.objects.get(pk=cs.pk).status == ChangeSetStatus.PENDING

    moved.rename(default_bare.path)
    assert default_bare.trailer_count(cs.pk) == 0  # nothing was half-applied
    _due(cs)
    sweep()
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED and cs.error == "" and cs.next_attempt_at is None
    assert default_bare.trailer_count(cs.pk) == 1 and default_bare.trailer_count(first.pk) == 1
    assert default_bare.read("apps/b.yaml").endswith("b: 1\n")
    sweep()
    assert default_bare.trailer_count(cs.pk) == 1
    assert _healthz()[0] == 200
    assert GitOpsRepo.objects.get(is_default=True).unavailable_reason == ""


@pytest.mark.django_db
def test_a_repository_replaced_by_another_is_refused_until_an_operator_accepts_it(default_bare, people, propose):
    first = propose(actor=people.alice, repo=None, files_to_write={"apps/a.yaml": "a: 1\n"}, message="First")
    assert first.status == ChangeSetStatus.APPLIED

    # An empty repository at the same path.
    shutil.rmtree(default_bare.path)
    subprocess.run(["git", "init", "--bare", "-q", str(default_bare.path)], check=True)
    cs = propose(actor=people.alice, repo=None, files_to_write={"apps/b.yaml": "b: 1\n"}, message="Into the new one?")
    assert cs.status == ChangeSetStatus.PENDING
    assert "has no branch main, which held commit" in cs.error and first.commit_sha[:12] in cs.error
    assert git(default_bare.path, "for-each-ref") == ""  # nothing was pushed into it
    status, check = _healthz()
    assert status == 503 and str(default_bare.path) in check["detail"] and "replaced" in check["detail"]

    # A repository with a history of its own at the same path.
    shutil.rmtree(default_bare.path)
    from portal.gitops.gitrepo import ensure_bare_repo

    ensure_bare_repo(default_bare.path, "main")
    stranger = git(default_bare.path, "rev-parse", "main").strip()
    _due(cs)
    from portal.gitops.tasks import sweep

    sweep()
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.PENDING and "was replaced or its history rewritten" in cs.error
    assert git(default_bare.path, "rev-parse", "main").strip() == stranger
    assert git(default_bare.path, "for-each-ref", "--format=%(refname)") == "refs/heads/main\n"
    assert "was replaced" in _healthz()[1]["detail"]
    page = _admin_client(people).get(reverse("gitops:repo", kwargs={"pk": cs.repo_id}))
    assert page.status_code == 200 and "was replaced or its history rewritten" in page.content.decode()

    with pytest.raises(CommandError, match="was replaced"):
        call_command("gitops_init")
    call_command("gitops_init", "--accept-current-head")
    assert GitOpsRepo.objects.get(is_default=True).known_head == stranger
    _due(cs)
    sweep()
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED
    assert git(default_bare.path, "rev-parse", f"{cs.commit_sha}^").strip() == stranger


@pytest.mark.django_db
def test_gitops_init_creates_only_what_is_missing_and_never_overwrites(settings, tmp_path, people):
    target = tmp_path / "fresh.git"
    settings.WAYLINE_GITOPS_URL = str(target)
    call_command("gitops_init")
    head = git(target, "rev-parse", "main").strip()
    repo = GitOpsRepo.objects.get(is_default=True)
    assert repo.known_head == head and repo.url == str(target)
    call_command("gitops_init")  # again: nothing changes
    assert git(target, "rev-parse", "main").strip() == head

    shutil.rmtree(target)  # Wayline wrote there: gone now, it is restored, not silently re-created
    with pytest.raises(CommandError, match="restore it from a backup"):
        call_command("gitops_init")
    assert not target.exists()

    GitOpsRepo.objects.all().delete()
    (target / "notes").mkdir(parents=True)
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("gitops_init")
    assert list(target.iterdir()) == [target / "notes"]


@pytest.mark.django_db
def test_demo_refuses_to_recreate_a_repository_it_wrote_to(settings, tmp_path):
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    from portal.gitops import demo

    demo.seed()
    demo.seed()
    shutil.rmtree(tmp_path / "gitops.git")
    with pytest.raises(ValidationError, match="restore it from a backup"):
        demo.seed()
    assert not (tmp_path / "gitops.git").exists()


REFUSAL = "policy: main is frozen for the release"


def _refuse_pushes(path: Path) -> Path:
    hook = path / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho '{REFUSAL}' >&2\nexit 1\n")
    hook.chmod(0o755)
    return hook


@pytest.mark.django_db
def test_a_push_the_remote_refuses_fails_with_git_s_reason_when_no_worker_will_retry(bare, people, propose):
    from portal.gitops.services import repo_create

    repo = repo_create(actor=people.admin, name="frozen", url=str(bare.path))
    _refuse_pushes(bare.path)
    started = time.monotonic()
    cs = propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="Refused")
    assert time.monotonic() - started < 10  # refused once, not retried in a loop
    assert cs.status == ChangeSetStatus.FAILED  # tasks run eagerly: nothing would try again
    assert REFUSAL in cs.error and "pre-receive hook declined" in cs.error


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_refused_push_shows_its_reason_on_the_change_page_within_seconds_and_lands_once_allowed(
    running_worker, bare, people
):
    from portal.gitops.environments import DEFAULTS
    from portal.gitops.services import environments_ensure, propose_change, repo_create

    environments_ensure(DEFAULTS)
    repo = repo_create(actor=people.admin, name="frozen", url=str(bare.path))
    hook = _refuse_pushes(bare.path)
    started = time.monotonic()
    cs = propose_change(owner=None, environment="dev", actor=people.alice, repo=repo,
                        files_to_write={"apps/web.yaml": "image: web:2\n"}, message="Roll out web 2")
    shown = wait_for(lambda: REFUSAL in ChangeSet.objects.get(pk=cs.pk).error, timeout=15)
    assert shown - started < 10
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.PENDING and cs.next_attempt_at is not None and cs.attempts >= 1

    client = _admin_client(people)
    page = _page(client, cs.get_absolute_url())
    assert REFUSAL in page and "Last attempt failed" in page and "tried again at" in page
    polled = _page(client, reverse("gitops:changeset_status", kwargs={"pk": cs.pk}) + "?detail=1")
    assert "retrying" in polled and 'hx-swap-oob="true"' in polled and REFUSAL in polled

    hook.unlink()
    wait_for(lambda: ChangeSet.objects.get(pk=cs.pk).status == ChangeSetStatus.APPLIED, timeout=30)
    cs.refresh_from_db()
    assert cs.error == "" and bare.trailer_count(cs.pk) == 1


@pytest.fixture
def no_eager():
    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


@pytest.mark.django_db
def test_pages_whose_work_waits_on_a_worker_say_when_none_is_running(bare, people, no_eager,
                                                                       django_capture_on_commit_callbacks):
    from portal.gitops.models import WorkerHeartbeat
    from portal.gitops.services import propose_change, repo_create, repo_sync_request, worker_heartbeat_record

    repo = repo_create(actor=people.admin, name="quiet", url=str(bare.path))
    with django_capture_on_commit_callbacks(execute=False):  # no worker takes the task
        cs = propose_change(owner=None, environment="dev", actor=people.alice, repo=repo,
                            files_to_write={"a.yaml": "a\n"}, message="Waiting")
        repo_sync_request(actor=people.admin, repo=repo)
    client = _admin_client(people)
    change_page = reverse("gitops:changeset", kwargs={"pk": cs.pk})
    sync_status = reverse("gitops:repo_sync_status", kwargs={"pk": repo.pk})
    assert NO_WORKER in client.get(change_page).content.decode()
    assert NO_WORKER in client.get(sync_status).content.decode()

    worker_heartbeat_record(hostname="celery@box", queues=["default", "gitops", "sync"])
    assert NO_WORKER not in client.get(change_page).content.decode()
    assert NO_WORKER not in client.get(sync_status).content.decode()

    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=1))  # it stopped beating
    assert NO_WORKER in client.get(change_page).content.decode()
    worker_heartbeat_record(hostname="celery@other", queues=["default"])  # alive, but not for the gitops queue
    assert NO_WORKER in client.get(change_page).content.decode()

    ChangeSet.objects.filter(pk=cs.pk).update(status=ChangeSetStatus.APPLIED, commit_sha="0" * 40)
    assert NO_WORKER not in client.get(change_page).content.decode()  # nothing waits any more


@pytest.mark.django_db
def test_under_eager_tasks_no_worker_is_needed(repo, people, propose):
    cs = propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="eager")
    assert NO_WORKER not in _admin_client(people).get(cs.get_absolute_url()).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_ready_worker_beats_until_it_shuts_down(no_eager):
    from portal.celery import app
    from portal.gitops import tasks
    from portal.gitops.models import WorkerHeartbeat
    from portal.gitops.selectors import workers_alive

    assert not workers_alive()
    consumer = SimpleNamespace(hostname="celery@test-heartbeat", app=app)
    tasks._heartbeat_start(sender=consumer)
    try:
        wait_for(lambda: workers_alive(queue="gitops"), timeout=10)
        assert set(WorkerHeartbeat.objects.get().queues.strip(",").split(",")) >= {"gitops"}
    finally:
        tasks._heartbeat_stop(sender=SimpleNamespace(hostname="celery@test-heartbeat"))
    assert not WorkerHeartbeat.objects.exists() and not workers_alive()


@pytest.mark.django_db
def test_the_sweep_requeues_a_change_whose_task_was_lost_but_not_one_waiting_for_its_retry(
    bare, people, django_capture_on_commit_callbacks
):
    from portal.gitops.services import propose_change, repo_create
    from portal.gitops.tasks import sweep

    repo = repo_create(actor=people.admin, name="lost", url=str(bare.path))
    with django_capture_on_commit_callbacks(execute=False):  # the worker that took these tasks was killed
        lost = propose_change(owner=None, environment="dev", actor=people.alice, repo=repo,
                              files_to_write={"lost.yaml": "l\n"}, message="Lost task")
    sweep()
    assert ChangeSet.objects.get(pk=lost.pk).status == ChangeSetStatus.PENDING  # not stale yet: its task may run
    client = _admin_client(people)
    assert "not picked up yet" not in client.get(lost.get_absolute_url()).content.decode()
    ChangeSet.objects.filter(pk=lost.pk).update(updated=timezone.now() - timedelta(seconds=30))
    assert "not picked up yet" in client.get(lost.get_absolute_url()).content.decode()  # the page says it waits
    ChangeSet.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=1),
                                                updated=timezone.now() - timedelta(minutes=5))
    sweep()
    assert ChangeSet.objects.get(pk=lost.pk).status == ChangeSetStatus.PENDING  # a retry is scheduled: left to it
    _due(lost)
    sweep()
    lost.refresh_from_db()
    assert lost.status == ChangeSetStatus.APPLIED and bare.trailer_count(lost.pk) == 1


FAKE_SSH = r"""#!/bin/sh
# Stands in for ssh: notes the key it was given (and that it was there, private, while git ran),
# then runs git's remote command against the local repository, or fails for the host "down.invalid".
key=""
while [ $# -gt 0 ]; do
  case "$1" in
    -i) key="$2"; shift 2 ;;
    -o|-p|-l) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
host="$1"; shift
if [ -f "$key" ]; then state="present $(stat -c %a "$key") $(stat -c %a "$(dirname "$key")")"; else state="absent"; fi
echo "$key $state" >> "$WAYLINE_FAKE_SSH_LOG"
if [ "$host" = "git@down.invalid" ]; then echo "ssh: connect to host down.invalid: Connection refused" >&2; exit 255; fi
exec sh -c "$*"
"""

SSH_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAFAKEKEYMATERIALforWaylineTests0123\n"
           "-----END OPENSSH PRIVATE KEY-----\n")


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(FAKE_SSH)
    (bin_dir / "ssh").chmod(0o755)
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("WAYLINE_FAKE_SSH_LOG", str(log))
    monkeypatch.delenv("GIT_SSH_COMMAND", raising=False)
    monkeypatch.delenv("GIT_SSH", raising=False)

    def calls() -> list[list[str]]:
        return [line.split() for line in log.read_text().splitlines()] if log.exists() else []

    return calls


def _files_holding_the_key(root: Path) -> list[Path]:
    secret_line = SSH_KEY.splitlines()[1]
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if secret_line in path.read_text(errors="ignore"):
                    found.append(path)
            except OSError:
                pass
    return found


@pytest.mark.django_db
def test_an_ssh_key_is_on_disk_only_while_one_git_command_runs(settings, bare, people, propose, fake_ssh, monkeypatch):
    from portal.gitops import gitrepo
    from portal.gitops.services import repo_create

    legacy = Path(settings.DATA_DIR) / "gitops" / "keys"
    legacy.mkdir(parents=True, exist_ok=True)
    (legacy / "0123456789abcdef").write_text(SSH_KEY)  # what older versions left behind
    monkeypatch.setattr(gitrepo, "_key_files_cleaned", False)

    repo = repo_create(actor=people.admin, name="over-ssh", url=f"ssh://git@gitops.example{bare.path}", secret=SSH_KEY)
    cs = propose(actor=people.alice, repo=repo, files_to_write={"apps/ssh.yaml": "via: ssh\n"}, message="Over SSH")
    assert cs.status == ChangeSetStatus.APPLIED, cs.error
    assert not legacy.exists()  # removed on first use
    assert bare.read("apps/ssh.yaml").endswith("via: ssh\n")
    page = _admin_client(people).get(cs.get_absolute_url())  # the web side fetches its mirror over SSH too
    assert page.status_code == 200 and "+via: ssh" in page.content.decode()

    down = repo_create(actor=people.admin, name="down", url="ssh://git@down.invalid/gitops.git", secret=SSH_KEY)
    failed = propose(actor=people.alice, repo=down, files_to_write={"x.yaml": "x\n"}, message="Nowhere")
    assert failed.status == ChangeSetStatus.PENDING and "Connection refused" in failed.error

    calls = fake_ssh()
    assert len(calls) >= 4  # clone or fetch and push, the mirror's fetch, the failed clone
    keys = [call[0] for call in calls]
    assert len(set(keys)) == len(keys)  # a new key file for each command
    for key, state, file_mode, dir_mode in calls:
        assert (state, file_mode, dir_mode) == ("present", "600", "700")
        assert not Path(key).exists() and not Path(key).parent.exists()
        assert not Path(key).is_relative_to(settings.DATA_DIR)
    assert _files_holding_the_key(Path(settings.DATA_DIR)) == []
