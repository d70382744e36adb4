"""``manage.py scaffolder_bench``: the Python-service golden path, timed, then many runs through real workers.

On a migrated database (the bench test gives it a fresh data dir): loads the demo data (its golden paths and VANs),
runs the python-service template once in this process and prints its time, then starts ``--workers`` real
``celery worker`` processes, queues ``--runs`` runs at once and waits for them. The verdict counts what exists
afterwards: runs completed, repositories (each with one commit), catalog locations, apps and change sets; a
duplicate or a lost run is a non-zero exit.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


def _values(name: str) -> dict:
    return {"name": name, "owner": "group:default/payments", "namespace": "payments",
            "image": f"registry.example.net/payments/{name}", "tags": ["payments"]}


class Command(BaseCommand):
    help = "Time the python-service golden path and run many at once through real Celery workers."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=20)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--timeout", type=float, default=600)

    def handle(self, *args, runs, workers, timeout, **options):
        from catalog.models import Location, ScaffolderRun
        from catalog.scaffolder.runs import run_create, run_execute
        from portal.gitops.models import ChangeSet
        from portal.management.commands.demo import run_seeds
        from van.models import App

        started = time.perf_counter()
        run_seeds()
        self.stdout.write(f"demo data loaded in {time.perf_counter() - started:.1f}s")
        alice = get_user_model().objects.get(username="alice")
        # One run in this process: the worker time of one golden path.
        from catalog import tasks

        delay = tasks.scaffolder_run_task.delay
        tasks.scaffolder_run_task.delay = lambda *a, **k: None  # run here, not through the broker
        try:
            run = run_create(actor=alice, template_ref="template:default/python-service", values=_values("bench-single"))
        finally:
            tasks.scaffolder_run_task.delay = delay
        began = time.perf_counter()
        state = run_execute(run.pk)
        single = time.perf_counter() - began
        run.refresh_from_db()
        if state != "completed":
            raise CommandError(f"the single run ended {state}: {run.error}")
        self.stdout.write(f"single_run_seconds={single:.2f} (python-service: fetch, publish, register, deploy)")

        env = {**os.environ, "WAYLINE_DATA_DIR": str(settings.DATA_DIR)}
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        logs, procs = [], []
        for index in range(workers):
            log = open(Path(settings.DATA_DIR) / f"bench-worker-{index}.log", "w")
            logs.append(log)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "default,gitops", "-c", "1",
                 "--pool", "prefork", "-n", f"bench{index}@%h", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "-l", "WARNING"],
                cwd=settings.BASE_DIR, env=env, stdout=log, stderr=log, start_new_session=True))
        try:
            began = time.perf_counter()
            created = [run_create(actor=alice, template_ref="template:default/python-service",
                                  values=_values(f"bench-{i:03d}")) for i in range(runs)]
            ids = [r.pk for r in created]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done = ScaffolderRun.objects.filter(pk__in=ids, state__in=["completed", "failed", "cancelled"]).count()
                if done == runs:
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - began
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for log in logs:
                log.close()
        finished = ScaffolderRun.objects.filter(pk__in=ids)
        completed = finished.filter(state="completed").count()
        failed = [(r.uid, r.error) for r in finished.exclude(state="completed")]
        repos_dir = Path(settings.SCAFFOLDER_REPOS_DIR) / "payments"
        repos = sorted(p.name for p in repos_dir.iterdir() if p.name.startswith("bench-") and p.name != "bench-single.git")
        commits = {}
        for repo in repos:
            out = subprocess.run(["git", "log", "--format=%H", "main"], cwd=repos_dir / repo, capture_output=True,
                                 text=True).stdout.split()
            commits[repo] = len(out)
        locations = Location.objects.filter(target__contains="/payments/bench-").exclude(
            target__endswith="bench-single.git").count()
        apps = App.objects.filter(name__startswith="bench-").exclude(name="bench-single").count()
        # A VAN's change waiting for Prod approval is updated in place: many runs, one change set per VAN and
        # environment, holding every new app's files.
        from catalog.models import ScaffolderRunStep
        from portal.gitops.models import ChangeSetFile

        cs_ids = {i for out in ScaffolderRunStep.objects.filter(run_id__in=ids, step_id="deploy")
                  .values_list("output", flat=True) for i in (out or {}).get("changeSets") or []}
        changesets = ChangeSet.objects.filter(pk__in=cs_ids).count()
        paths = list(ChangeSetFile.objects.filter(changeset_id__in=cs_ids).values_list("path", flat=True))
        in_changes = sum(1 for i in range(runs) if any(f"/bench-{i:03d}" in p for p in paths))
        run_seconds = sorted((r.finished - r.created).total_seconds() for r in finished if r.finished)
        self.stdout.write(
            f"runs={runs} workers={workers} completed={completed} lost={runs - finished.filter(state__in=['completed', 'failed']).count()} "
            f"failed={len(failed)} elapsed_seconds={elapsed:.1f} runs_per_minute={60 * runs / elapsed:.1f}")
        if run_seconds:
            self.stdout.write(f"queued_to_done_seconds median={run_seconds[len(run_seconds) // 2]:.2f} "
                              f"max={run_seconds[-1]:.2f}")
        self.stdout.write(f"repositories={len(repos)} single_commit={sum(1 for c in commits.values() if c == 1)} "
                          f"locations={locations} apps={apps} change_sets={changesets} apps_in_change_sets={in_changes}")
        duplicated = (len(repos) - runs) + (locations - runs) + (apps - runs) + sum(c - 1 for c in commits.values())
        self.stdout.write(f"duplicated={max(duplicated, 0)}")
        if failed:
            self.stdout.write(f"first failure: {failed[0]}")
        if completed != runs or duplicated != 0 or in_changes != runs:
            raise CommandError("not every run completed exactly once")
