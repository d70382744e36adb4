"""Fault benchmarks with real worker processes, through ``manage.py gitops_stress``.

Each test migrates a fresh SQLite database in a temp data dir (workers and the
command share it), starts real ``celery worker`` processes and checks the command's
verdict: every change in history exactly once, none lost, clones intact.
Run: .venv/bin/pytest tests/bench/test_gitops_stress.py -m bench -s
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]


def _run_stress(tmp_path, *args) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_TASK_ALWAYS_EAGER")}
    env.update(WAYLINE_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="portal.settings", WAYLINE_HTTPS="0")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    proc = subprocess.run([*manage, "gitops_stress", "--repo", str(tmp_path / "scratch.git"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    print(proc.stdout, proc.stderr[-2000:] if proc.returncode else "")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _counts(out: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"\b(applied|lost|duplicated)=(\d+)", out)}


def test_four_workers_and_an_outside_pusher(tmp_path):
    out = _run_stress(tmp_path, "--changes", "1000", "--workers", "4", "--outside-pusher")
    assert _counts(out) == {"applied": 1000, "lost": 0, "duplicated": 0}
    assert "repos_fsck_ok=True" in out
    pushes = int(re.search(r"outside_pushes=(\d+)", out).group(1))
    assert pushes > 0


def test_killed_worker_mid_apply_completes_once(tmp_path):
    out = _run_stress(tmp_path, "--changes", "200", "--workers", "2", "--outside-pusher", "--kill-one")
    assert "killed worker pid" in out
    assert _counts(out) == {"applied": 200, "lost": 0, "duplicated": 0}


def test_thousand_queued_changes_with_four_real_workers(tmp_path):
    out = _run_stress(tmp_path, "--changes", "1000", "--workers", "4", "--queued")
    assert _counts(out) == {"applied": 1000, "lost": 0, "duplicated": 0}
    rate = float(re.search(r"([\d.]+) changes/s", out).group(1))
    print(f"[bench gitops] 1000 queued changes, 4 worker processes: {rate:.0f} changes/s")
    assert rate >= 50
