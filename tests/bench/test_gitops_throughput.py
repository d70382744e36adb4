"""Benchmark: 1,000 queued ChangeSets applied to a local bare repo (target: 50 or more per second).

Consecutive changes by the same author are folded into one commit (one trailer
each); a change of author starts a new commit, so every commit's author is honest.
Run: .venv/bin/pytest tests/bench/test_gitops_throughput.py -m bench -s
"""
from __future__ import annotations

import subprocess
import time
from collections import Counter

import pytest
from django.db import transaction

from tests.factories import make_user

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

N = 1000
RUN = 10  # changes in a row by one author


def test_thousand_queued_changesets(tmp_path):
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.gitrepo import ensure_bare_repo
    from portal.gitops.models import ChangeSet, GitOpsRepo
    from portal.gitops.services import propose_change
    from portal.gitops.tasks import apply_changeset

    bare = ensure_bare_repo(tmp_path / "bench.git", "main")
    repo = GitOpsRepo.objects.create(name="bench", url=str(bare), branch="main")
    authors = [make_user("ada"), make_user("grace"), make_user("linus")]
    with transaction.atomic():  # queued: nothing applies until we start the clock
        ids = [
            propose_change(owner=None, environment="dev", actor=authors[(i // RUN) % len(authors)], repo=repo,
                           files_to_write={f"apps/app-{i:04d}/values.yaml": f"replicas: {i % 5}\n"},
                           message=f"Bench change {i}").pk
            for i in range(N)
        ]
    started = time.perf_counter()
    apply_changeset.delay(ids[-1])  # one worker run drains the queue in batches
    elapsed = time.perf_counter() - started
    statuses = Counter(ChangeSet.objects.filter(pk__in=ids).values_list("status", flat=True))
    log = subprocess.run(["git", "log", "--format=%an%x1f%B%x1e", "main"], cwd=bare, capture_output=True, text=True,
                         check=True).stdout
    commits = [rec.strip("\n").split("\x1f", 1) for rec in log.split("\x1e") if rec.strip()][:-1]
    trailers = Counter(int(line.split(": ")[1]) for _, body in commits for line in body.splitlines()
                       if line.startswith("Wayline-Change:"))
    rate = N / elapsed
    print(f"\n[bench gitops] {N} changesets applied in {elapsed:.2f}s: {rate:.0f} changes/s, "
          f"{len(commits)} commits, statuses {dict(statuses)}")
    assert statuses == {ChangeSetStatus.APPLIED: N}
    assert set(trailers) == set(ids) and set(trailers.values()) == {1}
    # Honest authorship: every commit holds only changes by its author.
    author_of = {pk: authors[(i // RUN) % len(authors)].first_name for i, pk in enumerate(ids)}
    for author, body in commits:
        for line in body.splitlines():
            if line.startswith("Wayline-Change:"):
                assert author_of[int(line.split(": ")[1])] == author
    assert len(commits) == N // RUN
    assert rate >= 50, f"{rate:.1f} changes/s is below the 50/s target"
