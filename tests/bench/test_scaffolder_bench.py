"""The scaffolder's figures (issue 16): one python-service run's worker time (<= 5 s on the embedded defaults), and
20 runs at once through 2 real worker processes, all completing, none duplicated.

A fresh data dir: SQLite and the filesystem broker, as ``manage.py demo`` runs. Run:
.venv/bin/pytest tests/bench/test_scaffolder_bench.py -m bench -s
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


def test_golden_path_runs_fast_and_twenty_at_once_through_two_workers_never_duplicate(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")}
    env.update(WAYLINE_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="portal.settings", WAYLINE_HTTPS="0")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "gitops_init"], cwd=ROOT, env=env, check=True, capture_output=True)
    proc = subprocess.run([*manage, "scaffolder_bench", "--runs", "20", "--workers", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    print(proc.stdout, proc.stderr[-3000:] if proc.returncode else "")
    assert proc.returncode == 0, proc.stderr[-3000:]
    single = float(re.search(r"single_run_seconds=([\d.]+)", proc.stdout).group(1))
    assert single <= 5.0
    assert "completed=20 lost=0 failed=0" in proc.stdout and "duplicated=0" in proc.stdout
    assert "apps_in_change_sets=20" in proc.stdout
