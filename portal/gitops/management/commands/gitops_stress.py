"""Rehearse the GitOps pipeline under load and faults on a scratch repository.

    python manage.py gitops_stress --repo PATH --changes N --workers K [--outside-pusher] [--kill-one]

Proposes N changes against the bare repository at PATH through the real pipeline
(``propose_change`` -> Celery queue "gitops" -> K real ``celery worker``
processes), optionally while another process keeps pushing unrelated commits to
the same branch, and optionally SIGKILLs one worker right after a push and before
it records the result (the worst moment). Then it checks the branch history:
every change must appear exactly once (its ``Wayline-Change:`` trailer). Prints
applied, lost and duplicated counts and changes per second; exits 1 when any
change is lost, duplicated or not applied. PATH's history stays for inspection.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection, transaction

from portal.gitops.choices import ChangeSetStatus, FINAL_STATUSES
from portal.gitops.gitrepo import _dir_name, ensure_bare_repo, gitops_root, remote_head


def _outside_pusher(repo_path: str, branch: str, stop_file: str, count_file: str) -> None:
    """Push unrelated commits to the branch until ``stop_file`` exists (a human or another tool)."""
    work = tempfile.mkdtemp(prefix="wayline-outside-")
    env = {**os.environ, "GIT_AUTHOR_NAME": "Outside Pusher", "GIT_AUTHOR_EMAIL": "outside@example.com",
           "GIT_COMMITTER_NAME": "Outside Pusher", "GIT_COMMITTER_EMAIL": "outside@example.com"}

    def git(*args):
        return subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True)

    subprocess.run(["git", "clone", "-q", "--branch", branch, repo_path, work], env=env, check=True, capture_output=True)
    pushed = 0
    while not os.path.exists(stop_file):
        target = Path(work) / "outside" / f"{os.getpid()}-{pushed}.txt"
        target.parent.mkdir(exist_ok=True)
        target.write_text(f"unrelated commit {pushed}\n")
        git("add", "-A")
        git("commit", "-q", "-m", f"Outside commit {pushed}")
        for _ in range(50):
            if git("push", "-q", "origin", f"HEAD:{branch}").returncode == 0:
                pushed += 1
                break
            git("pull", "-q", "--rebase", "origin", branch)
        Path(count_file).write_text(str(pushed))
        time.sleep(0.1)


class Command(BaseCommand):
    help = "Rehearse the GitOps pipeline with real workers, an outside pusher and a killed worker."

    def add_arguments(self, parser):
        parser.add_argument("--repo", required=True, help="Path of a scratch bare repository (created if missing).")
        parser.add_argument("--changes", type=int, default=100)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--outside-pusher", action="store_true", help="Push unrelated commits to the branch meanwhile.")
        parser.add_argument("--kill-one", action="store_true", help="SIGKILL one worker between its push and its database commit.")
        parser.add_argument("--queued", action="store_true",
                            help="Queue all changes in one transaction first, then time only their application.")
        parser.add_argument("--branch", default="main")
        parser.add_argument("--timeout", type=float, default=900.0, help="Seconds to wait for every change.")

    def handle(self, *args, **opts):
        from portal.gitops.models import ChangeSet, Environment, GitOpsRepo
        from portal.gitops.services import propose_change
        from portal.gitops.tasks import sweep

        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database has unapplied migrations: run `manage.py migrate` first.")
        name = str(connection.settings_dict.get("NAME", ""))
        if connection.vendor == "sqlite" and (":memory:" in name or "memorydb" in name):
            raise CommandError("gitops_stress needs a database the worker processes share (not in-memory SQLite).")
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("gitops_stress needs real workers: unset CELERY_TASK_ALWAYS_EAGER.")
        n, k, branch = opts["changes"], opts["workers"], opts["branch"]
        path = Path(opts["repo"]).resolve()
        ensure_bare_repo(path, branch)
        run = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        repo = GitOpsRepo.objects.create(name=f"stress-{run}", url=str(path), branch=branch,
                                         known_head=remote_head(str(path), branch))
        env_dev = Environment.objects.filter(requires_approval=False).order_by("order").first()
        if env_dev is None:
            raise CommandError("No environment without approval exists; run migrate.")
        User = get_user_model()
        authors = [User.objects.get_or_create(username=u, defaults={"email": f"{u}@example.com", "first_name": u.split("-")[1].title()})[0]
                   for u in ("stress-ada", "stress-grace")]
        scratch = Path(tempfile.mkdtemp(prefix="wayline-stress-"))
        pause_file = scratch / "paused-worker.pid"
        stop_file = scratch / "stop"
        count_file = scratch / "outside-count"

        worker_env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings")}
        if opts["kill_one"]:
            worker_env.update(WAYLINE_GITOPS_FAULT_PAUSE_FILE=str(pause_file), WAYLINE_GITOPS_FAULT_PAUSE_SECONDS="120")
        workers: list[subprocess.Popen] = []

        def start_worker(index: int) -> subprocess.Popen:
            log = open(scratch / f"worker-{index}.log", "w")
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "gitops", "-P", "solo", "-c", "1",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"stress{index}-{run}@%h", "-l", "WARNING"],
                cwd=settings.BASE_DIR, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
            )
            workers.append(proc)
            return proc

        pusher = None
        close_old_connections()
        connection.close()
        try:
            for i in range(k):
                start_worker(i)
            if opts["outside_pusher"]:
                pusher = multiprocessing.get_context("fork").Process(
                    target=_outside_pusher, args=(str(path), branch, str(stop_file), str(count_file)), daemon=True
                )
                pusher.start()
            self.stdout.write(f"run {run}: {n} changes, {k} workers, outside pusher {'on' if pusher else 'off'}, "
                              f"kill one {'on' if opts['kill_one'] else 'off'}; logs in {scratch}")
            started = time.monotonic()
            ids = []

            def propose_all():
                for i in range(n):
                    author = authors[(i // 10) % len(authors)]
                    cs = propose_change(actor=author, owner=None, repo=repo, files_to_write={f"stress/{run}/change-{i:05d}.yaml": f"change: {i}\n"},
                                        message=f"Stress change {i}", environment=env_dev)
                    ids.append(cs.pk)

            if opts["queued"]:
                with transaction.atomic():  # the tasks are sent when this commits
                    propose_all()
                started = time.monotonic()  # time the application only
            else:
                propose_all()
            proposed = time.monotonic()
            killed = None
            last_done, last_progress = -1, time.monotonic()
            deadline = started + opts["timeout"]
            while time.monotonic() < deadline:
                if opts["kill_one"] and killed is None and pause_file.exists():
                    try:
                        pid = int(pause_file.read_text() or "0")
                    except ValueError:
                        pid = 0
                    if pid:
                        os.kill(pid, signal.SIGKILL)
                        killed = pid
                        self.stdout.write(f"killed worker pid {pid} after its push, before its database commit; starting a replacement")
                        start_worker(len(workers))
                done = ChangeSet.objects.filter(pk__in=ids, status__in=list(FINAL_STATUSES)).count()
                if done == n:
                    break
                if done != last_done:
                    last_done, last_progress = done, time.monotonic()
                elif time.monotonic() - last_progress > 5:
                    # What the periodic sweep does in production: re-enqueue work whose task died with its worker.
                    sweep.delay(stale_seconds=2)
                    last_progress = time.monotonic()
                time.sleep(0.1)
            finished = time.monotonic()
        finally:
            stop_file.touch()
            if pusher is not None:
                pusher.join(timeout=30)
            for proc in workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in workers:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

        statuses = Counter(ChangeSet.objects.filter(pk__in=ids).values_list("status", flat=True))
        log = subprocess.run(["git", "log", "--format=%B", branch], cwd=path, capture_output=True, text=True, check=True).stdout
        seen = Counter(int(line.split(":", 1)[1]) for line in log.splitlines() if line.startswith("Wayline-Change:"))
        lost = [pk for pk in ids if seen[pk] == 0]
        duplicated = [pk for pk in ids if seen[pk] > 1]
        commits = int(subprocess.run(["git", "rev-list", "--count", branch], cwd=path, capture_output=True, text=True).stdout)
        fsck = [subprocess.run(["git", "fsck", "--no-dangling"], cwd=path, capture_output=True, text=True).returncode]
        clone = gitops_root() / "clones" / _dir_name(repo.pk, repo.url)
        if clone.exists():
            fsck.append(subprocess.run(["git", "fsck", "--no-dangling"], cwd=clone, capture_output=True, text=True).returncode)
        outside = int(count_file.read_text()) if count_file.exists() else 0
        elapsed = finished - started
        applied = statuses.get(ChangeSetStatus.APPLIED, 0)
        self.stdout.write(
            f"applied={applied} lost={len(lost)} duplicated={len(duplicated)} "
            f"other={dict((s, c) for s, c in statuses.items() if s != ChangeSetStatus.APPLIED)} "
            f"outside_pushes={outside} commits_on_branch={commits} killed_worker={killed or 'none'} "
            f"repos_fsck_ok={all(rc == 0 for rc in fsck)}"
        )
        what = "queued first; applied" if opts["queued"] else f"proposed in {proposed - started:.2f}s; all done"
        self.stdout.write(f"{what} in {elapsed:.2f}s: {n / elapsed:.1f} changes/s")
        self.stdout.write(f"history: git -C {path} log --format='%h %an: %s%n%(trailers:key=Wayline-Change,separator=%x2C )' {branch}")
        if lost or duplicated or applied != n or not all(rc == 0 for rc in fsck) or (opts["kill_one"] and not killed):
            raise CommandError(f"stress run failed: lost {lost[:20]}, duplicated {duplicated[:20]}, statuses {dict(statuses)}")
