"""Credentials of a GitOps repo never appear in logs, pages, API output, audit rows or error messages."""
from __future__ import annotations

import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import GitOpsRepo
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "ghp_Sup3rS3cretT0kenValue1234567890"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQSECRETKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n"


def _assert_clean(text: str):
    assert TOKEN not in text
    for line in SSH_KEY.splitlines():
        if "PRIVATE KEY" not in line:
            assert line not in text


def test_credentials_stay_out_of_everything(client, people, propose, caplog, django_capture_on_commit_callbacks, capfd):
    from portal.gitops.services import repo_create

    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        https_repo = repo_create(actor=people.admin, name="https-repo", url="https://127.0.0.1:9/org/gitops.git",
                                 username="deploy", secret=TOKEN)
        ssh_repo = repo_create(actor=people.admin, name="ssh-repo", url="ssh://git@127.0.0.1:9/org/gitops.git",
                               secret=SSH_KEY)
    # At rest: encrypted.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM gitops_gitopsrepo")
        stored = " ".join(row[0] for row in cursor.fetchall())
    _assert_clean(stored)
    assert GitOpsRepo.objects.get(name="https-repo").secret == TOKEN  # and decrypts back

    failed = []
    for repo in (https_repo, ssh_repo):
        cs = propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="unreachable")
        # An unreachable repository fails no change: it waits, with git's (scrubbed) reason.
        assert cs.status == ChangeSetStatus.PENDING and "git clone failed" in cs.error
        _assert_clean(cs.error)
        _assert_clean(GitOpsRepo.objects.get(pk=repo.pk).unavailable_reason)
        failed.append(cs)

    client.force_login(people.admin)
    pages = [reverse("gitops:repo_list"), reverse("gitops:changeset_list"),
             reverse("gitops:repo_edit", kwargs={"pk": https_repo.pk})]
    for repo in (https_repo, ssh_repo):
        pages.append(reverse("gitops:repo", kwargs={"pk": repo.pk}))
    for cs in failed:
        pages.append(reverse("gitops:changeset", kwargs={"pk": cs.pk}))
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_clean(response.content.decode())

    api = APIClient()
    api.force_authenticate(people.admin)
    for url in (reverse("gitopsrepo-list"), reverse("gitopsrepo-detail", kwargs={"pk": https_repo.pk}),
                reverse("changeset-list"), reverse("changeset-detail", kwargs={"pk": failed[0].pk})):
        response = api.get(url)
        assert response.status_code == 200
        _assert_clean(response.content.decode())
    assert api.get(reverse("gitopsrepo-detail", kwargs={"pk": https_repo.pk})).json()["has_credentials"] is True

    for event in AuditEvent.objects.all():
        _assert_clean(repr(event.changes))
    _assert_clean(caplog.text)
    out, err = capfd.readouterr()
    _assert_clean(out + err)


def test_git_error_text_is_scrubbed_even_when_git_echoes_the_secret(tmp_path):
    from portal.gitops.gitrepo import Credentials, GitError, WorkingClone

    clone = WorkingClone(999, Credentials(url=f"https://deploy:{TOKEN}@127.0.0.1:9/x.git", secret=TOKEN), "main")
    with pytest.raises(GitError) as excinfo:
        clone.prepare()
    _assert_clean(str(excinfo.value))
    assert "git clone failed" in str(excinfo.value)


def test_credentials_repr_and_repo_edit_form_never_show_the_secret(client, people):
    from portal.gitops.engine import credentials_for
    from portal.gitops.services import repo_create

    repo = repo_create(actor=people.admin, name="edit-me", url="https://127.0.0.1:9/x.git", username="deploy", secret=TOKEN)
    _assert_clean(repr(credentials_for(repo)))
    _assert_clean(repr(repo.secret))
    client.force_login(people.admin)
    url = reverse("gitops:repo_edit", kwargs={"pk": repo.pk})
    _assert_clean(client.get(url).content.decode())
    # Saving with an empty secret keeps the stored one.
    response = client.post(url, {"name": "edit-me", "url": "https://127.0.0.1:9/y.git", "branch": "main", "username": "deploy"})
    assert response.status_code == 302
    repo.refresh_from_db()
    assert repo.url.endswith("/y.git") and repo.secret == TOKEN
    assert AuditEvent.objects.filter(action="gitops.repo.update").latest("pk").changes == {"url": "https://127.0.0.1:9/y.git"}
