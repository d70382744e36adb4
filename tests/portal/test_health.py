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
