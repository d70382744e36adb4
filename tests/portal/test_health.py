import subprocess

import pytest
from django.test import Client


def test_healthz_reports_each_part(db, settings, tmp_path):
    from portal.gitops.gitrepo import ensure_bare_repo

    repo = ensure_bare_repo(tmp_path / "gitops.git", "main")
    settings.WAYLINE_GITOPS_URL = str(repo)
    response = Client(HTTP_HOST="10.1.2.3:8000").get("/healthz")  # a pod IP, not in ALLOWED_HOSTS
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "gitops"}


def test_healthz_fails_when_gitops_repo_missing(db, settings, tmp_path):
    settings.WAYLINE_GITOPS_URL = f"https://user:hunter2@{tmp_path.name}.invalid/repo.git"
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["gitops"]["ok"] is False
    assert b"hunter2" not in response.content


def test_healthz_fails_on_a_repository_without_the_branch(db, settings, tmp_path):
    subprocess.run(["git", "init", "--bare", "-q", str(tmp_path / "empty.git")], check=True)
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "empty.git")
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert "has no branch main" in response.json()["checks"]["gitops"]["detail"]


@pytest.mark.django_db
def test_healthz_needs_no_login_and_no_https_redirect(settings, tmp_path):
    from portal.gitops.gitrepo import ensure_bare_repo

    settings.WAYLINE_GITOPS_URL = str(ensure_bare_repo(tmp_path / "r.git", "main"))
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200


def test_healthz_tells_a_fresh_data_directory_from_a_broken_one(db, settings, tmp_path):
    from portal.gitops.services import gitops_repo_init

    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    fresh = Client().get("/healthz")
    assert fresh.status_code == 503
    assert fresh.json()["status"] == "not set up"
    assert "run manage.py gitops_init" in fresh.json()["checks"]["gitops"]["detail"]

    gitops_repo_init(actor=None)
    assert Client().get("/healthz").json()["status"] == "ok"
    (tmp_path / "gitops.git").rename(tmp_path / "moved-away.git")
    broken = Client().get("/healthz")
    assert broken.status_code == 503 and broken.json()["status"] == "fail"
    assert "is missing" in broken.json()["checks"]["gitops"]["detail"]


def test_healthz_on_an_unmigrated_database_says_to_migrate(tmp_path):
    """A fresh data directory: the SQLite file exists (created owner-only) but nothing is migrated."""
    import json
    import os
    import sys

    env = {**os.environ, "WAYLINE_DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    env.pop("DATABASE_URL", None)
    code = ("import django; django.setup(); from django.test import Client; "
            "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))).stdout
    status, body = out.strip().split("\n", 1)
    assert status == "503"
    body = json.loads(body)
    assert body["status"] == "not set up"
    assert "run manage.py migrate" in body["checks"]["database"]["detail"]
