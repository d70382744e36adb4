"""GitOps API: same selectors as the pages; writes through services."""
from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_unauthenticated_is_refused(api, repo):
    for name in ("changeset-list", "gitopsrepo-list", "environment-list", "approval-list"):
        assert api.get(reverse(name)).status_code in (401, 403)


def test_propose_and_read_back(api, repo, bare, people, django_capture_on_commit_callbacks):
    # A platform admin's raw change: the request cannot pick the environment, it always waits for approval in Prod.
    api.force_authenticate(people.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("changeset-list"), {
            "repo": repo.name, "environment": "dev", "message": "From the API",
            "files_to_write": {"api/made.yaml": "made: true\n"},
        }, format="json")
    assert response.status_code == 201, response.content
    cs_id = response.json()["id"]
    detail = api.get(reverse("changeset-detail", kwargs={"pk": cs_id})).json()
    assert detail["status"] == ChangeSetStatus.AWAITING_APPROVAL and detail["environment"] == "prod"
    assert detail["author_name"] == "root" and detail["commit_sha"] == "" and bare.read("api/made.yaml") is None
    assert detail["files"][0]["path"] == "api/made.yaml"
    api.force_authenticate(people.bob)  # Prod's approver
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("changeset-approve", kwargs={"pk": cs_id}), {"revision": detail["revision"]}, format="json")
    assert response.status_code == 200, response.content
    api.force_authenticate(people.admin)
    detail = api.get(reverse("changeset-detail", kwargs={"pk": cs_id})).json()
    assert detail["status"] == ChangeSetStatus.APPLIED and detail["author_name"] == "root"
    assert detail["commit_sha"] == bare.log()[0][0] and bare.read("api/made.yaml").endswith("made: true\n")


def test_propose_validation_error_names_the_field(api, repo, people):
    api.force_authenticate(people.admin)
    response = api.post(reverse("changeset-list"), {"repo": repo.name, "message": "bad",
                                                     "files_to_write": {"../x.yaml": "x"}}, format="json")
    assert response.status_code == 400
    assert "files_to_write" in response.json() and "'../x.yaml'" in str(response.json())


def test_propose_without_repo_uses_the_default_repo(api, people):
    from portal.gitops.services import gitops_default_repo

    api.force_authenticate(people.admin)
    response = api.post(reverse("changeset-list"), {"message": "no files"}, format="multipart")
    assert response.status_code == 400 and "files_to_write" in response.json()
    response = api.post(reverse("changeset-list"), {"message": "m", "files_to_write": {"d.yaml": "d\n"}}, format="json")
    assert response.status_code == 201, response.content
    assert ChangeSet.objects.get(pk=response.json()["id"]).repo == gitops_default_repo()


def test_repo_partial_update_and_bad_url_or_branch(api, repo, people):
    api.force_authenticate(people.admin)
    url = reverse("gitopsrepo-detail", kwargs={"pk": repo.pk})
    response = api.patch(url, {"branch": "release/2"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["branch"] == "release/2" and response.json()["url"] == repo.url
    assert api.patch(url, {"username": "bot"}, format="json").json()["branch"] == "release/2"
    for field, value in (("url", "0"), ("url", "/catalog/api/default/x/"), ("branch", "--upload-pack=x"), ("branch", "a..b")):
        response = api.patch(url, {field: value}, format="json")
        assert response.status_code == 400 and field in response.json(), (field, value, response.content)
    repo.refresh_from_db()
    assert (repo.branch, repo.username) == ("release/2", "bot")
    history = api.get(reverse("gitopsrepo-history", kwargs={"pk": repo.pk}))  # nothing committed to release/2 yet
    assert history.status_code == 200 and history.json() == []


def test_a_path_deleted_twice_in_one_change_is_deleted_once(api, repo, people):
    api.force_authenticate(people.admin)
    response = api.post(reverse("changeset-list"), {"repo": repo.name, "message": "tidy",
                                                     "files_to_delete": ["old.yaml", "old.yaml"]}, format="json")
    assert response.status_code == 201, response.content
    assert [f["path"] for f in api.get(reverse("changeset-detail", kwargs={"pk": response.json()["id"]})).json()["files"]] == ["old.yaml"]


def test_only_platform_admins_propose_raw_changes(api, repo, people):
    for user in (people.carol, people.alice, people.bob):  # no team; a team member; Prod's approver
        api.force_authenticate(user)
        response = api.post(reverse("changeset-list"), {"message": "m", "files_to_write": {"a.yaml": "a"}}, format="json")
        assert response.status_code == 403, (user, response.content)
    assert not ChangeSet.objects.exists()


def test_approve_and_self_approval_through_the_api(api, repo, bare, people, propose, django_capture_on_commit_callbacks):
    cs = propose(actor=people.admin, repo=repo, files_to_write={"p.yaml": "p\n"}, message="prod", environment="prod")
    api.force_authenticate(people.admin)  # sees and may otherwise act on every raw change, but it is their own
    assert api.get(reverse("changeset-detail", kwargs={"pk": cs.pk})).status_code == 200
    response = api.post(reverse("changeset-approve", kwargs={"pk": cs.pk}), {}, format="json")
    assert response.status_code == 403, response.content
    assert api.post(reverse("changeset-reject", kwargs={"pk": cs.pk}), {}, format="json").status_code == 403
    api.force_authenticate(people.alice)  # a raw change is invisible to a non-admin who approves nothing
    assert api.post(reverse("changeset-approve", kwargs={"pk": cs.pk}), {}, format="json").status_code == 404
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.AWAITING_APPROVAL and not cs.approved_at and not cs.approvals.exists()
    api.force_authenticate(people.bob)
    response = api.post(reverse("changeset-approve", kwargs={"pk": cs.pk}), {}, format="json")  # which revision?
    assert response.status_code == 400 and "revision" in response.json()
    response = api.post(reverse("changeset-approve", kwargs={"pk": cs.pk}), {"revision": cs.revision + 1}, format="json")
    assert response.status_code == 400 and "was updated since you looked at it" in str(response.json())
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("changeset-approve", kwargs={"pk": cs.pk}), {"comment": "ok", "revision": cs.revision},
                            format="json")
    assert response.status_code == 200 and response.json()["approved_at"]
    assert api.get(reverse("changeset-detail", kwargs={"pk": cs.pk})).json()["status"] == ChangeSetStatus.APPLIED
    assert "Approved-by: Bob <bob@example.com>" in bare.log()[0][4]


def test_changeset_list_query_count_is_constant(api, repo, people, propose, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.force_authenticate(people.admin)
    propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="one")
    url = reverse("changeset-list")
    api.get(url)
    with CaptureQueriesContext(connection) as few:
        assert api.get(url).status_code == 200
    for i in range(6):
        propose(actor=people.alice, repo=repo, files_to_write={f"{i}.yaml": "a\n"}, message=f"n{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get(url).json()["count"] == 7


def test_filters_by_status(api, repo, people, propose):
    propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="dev one")
    propose(actor=people.alice, repo=repo, files_to_write={"p.yaml": "p\n"}, message="prod one", environment="prod")
    api.force_authenticate(people.admin)
    results = api.get(reverse("changeset-list"), {"status": "awaiting_approval"}).json()["results"]
    assert [r["message"] for r in results] == ["prod one"]


def test_environments_list_defaults(api, people):
    api.force_authenticate(people.carol)
    envs = api.get(reverse("environment-list")).json()["results"]
    assert [(e["slug"], e["requires_approval"]) for e in envs] == [
        ("dev", False), ("qa", False), ("staging", False), ("prod", True)]


def test_repo_history_and_changeset_diff_come_from_git(api, repo, bare, people, propose):
    cs = propose(actor=people.alice, repo=repo, files_to_write={"apps/a.yaml": "a: 1\n"}, message="Add a")
    propose(actor=people.alice, repo=repo, files_to_write={"apps/b.yaml": "b: 1\n"}, message="Add b")
    bare.human_push("notes.txt", "hi\n", "Human note")
    api.force_authenticate(people.admin)
    history = api.get(reverse("gitopsrepo-history", kwargs={"pk": repo.pk})).json()
    assert [c["subject"] for c in history] == ["Human note", "Add b", "Add a", "Initialise GitOps repository"]
    assert history[2]["change_ids"] == [cs.pk] and history[2]["author_name"] == "Alice"
    per_path = api.get(reverse("gitopsrepo-history", kwargs={"pk": repo.pk}), {"path": "apps/a.yaml"}).json()
    assert [c["subject"] for c in per_path] == ["Add a"] and "+a: 1" in per_path[0]["diff"]
    diff = api.get(reverse("changeset-diff", kwargs={"pk": cs.pk})).json()["diff"]
    assert "apps/a.yaml" in diff and "+a: 1" in diff
