"""GitOps pages: restricted, constant query counts, history and diffs read from git, actions through services."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet, ManagedFile

pytestmark = pytest.mark.django_db


def _constant_queries(client, url, grow, django_assert_max_num_queries):
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    grow()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
        assert response.status_code == 200
    return response


def test_pages_need_login(client, repo):
    for url in (reverse("gitops:repo_list"), reverse("gitops:changeset_list"), reverse("gitops:approval_queue"),
                reverse("gitops:repo", kwargs={"pk": repo.pk})):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_changeset_list_query_count_is_constant(client, repo, people, propose, django_assert_max_num_queries):
    client.force_login(people.admin)
    propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="first")

    def grow():
        for i in range(6):
            propose(actor=people.alice, repo=repo, files_to_write={f"g{i}.yaml": "g\n"}, message=f"more {i}")

    response = _constant_queries(client, reverse("gitops:changeset_list"), grow, django_assert_max_num_queries)
    assert "more 5" in response.content.decode()


def test_changeset_list_filters_by_status_and_htmx_renders_the_table_only(client, repo, people, propose):
    client.force_login(people.admin)
    applied = propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="dev thing")
    waiting = propose(actor=people.alice, repo=repo, files_to_write={"p.yaml": "p\n"}, message="prod thing", environment="prod")
    response = client.get(reverse("gitops:changeset_list"), {"status": "awaiting_approval"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "prod thing" in body and "dev thing" not in body and "<html" not in body
    assert applied.pk != waiting.pk


def test_repo_list_query_count_is_constant(client, repo, people, django_assert_max_num_queries, tmp_path):
    from portal.gitops.models import GitOpsRepo

    client.force_login(people.carol)

    def grow():
        for i in range(5):
            GitOpsRepo.objects.create(name=f"more-{i}", url=str(tmp_path / f"{i}.git"))

    _constant_queries(client, reverse("gitops:repo_list"), grow, django_assert_max_num_queries)


def test_repo_page_shows_history_from_git_with_authors_and_approvers(client, repo, bare, people, propose, django_capture_on_commit_callbacks):
    from portal.gitops.services import changeset_approve

    dev = propose(actor=people.alice, repo=repo, files_to_write={"apps/web.yaml": "image: web:1\n"}, message="Ship web 1")
    prod = propose(actor=people.alice, repo=repo, files_to_write={"envs/prod/web.yaml": "image: web:1\n"},
                   message="Promote web to prod", environment="prod")
    with django_capture_on_commit_callbacks(execute=True):
        changeset_approve(actor=people.bob, changeset=prod)
    bare.human_push("README.md", "by hand\n", "Hand-edited readme")
    client.force_login(people.admin)
    body = client.get(reverse("gitops:repo", kwargs={"pk": repo.pk})).content.decode()
    assert "Ship web 1" in body and "Promote web to prod" in body and "Hand-edited readme" in body
    assert "approved by Bob &lt;bob@example.com&gt;" in body
    assert f'href="/gitops/changes/{dev.pk}/"' in body and "Hugh Human" in body
    # Per-object history: only commits touching the path, each with its rendered diff.
    body = client.get(reverse("gitops:repo", kwargs={"pk": repo.pk}), {"path": "apps/web.yaml"}).content.decode()
    assert "Ship web 1" in body and "Promote web to prod" not in body
    assert '<span class="diff-add">+image: web:1</span>' in body


def test_repo_page_query_count_is_constant(client, repo, people, propose, django_assert_max_num_queries):
    client.force_login(people.admin)  # sees the raw changes' commits, so the history really grows
    propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "a\n"}, message="one")

    def grow():
        for i in range(5):
            propose(actor=people.alice, repo=repo, files_to_write={f"x{i}.yaml": "x\n"}, message=f"commit x{i}")

    response = _constant_queries(client, reverse("gitops:repo", kwargs={"pk": repo.pk}), grow, django_assert_max_num_queries)
    assert "commit x4" in response.content.decode()


def test_commit_page_renders_the_diff(client, repo, people, propose):
    cs = propose(actor=people.alice, repo=repo, files_to_write={"a.yaml": "hello: world\n"}, message="Say hello")
    client.force_login(people.admin)
    body = client.get(reverse("gitops:commit", kwargs={"pk": repo.pk, "sha": cs.commit_sha})).content.decode()
    assert "Say hello" in body and "+hello: world" in body and f"#{cs.pk}" in body
    assert client.get(reverse("gitops:commit", kwargs={"pk": repo.pk, "sha": "0" * 40})).status_code == 404


def test_status_badge_polls_until_done(client, repo, people, propose):
    from portal.gitops.services import propose_change

    client.force_login(people.admin)
    pending = propose_change(owner=None, environment="dev", actor=people.alice, repo=repo, files_to_write={"q.yaml": "q\n"}, message="queued")  # no worker ran
    body = client.get(reverse("gitops:changeset_status", kwargs={"pk": pending.pk})).content.decode()
    assert "Pending" in body and 'hx-trigger="every 2s"' in body
    done = propose(actor=people.alice, repo=repo, files_to_write={"d.yaml": "d\n"}, message="done")
    body = client.get(reverse("gitops:changeset_status", kwargs={"pk": done.pk})).content.decode()
    assert "Applied" in body and "hx-trigger" not in body and done.commit_sha[:10] in body


def test_changeset_detail_query_count_is_constant(client, repo, people, propose, django_assert_max_num_queries):
    client.force_login(people.bob)
    small = propose(actor=people.alice, repo=repo, files_to_write={"s.yaml": "s\n"}, message="small", environment="prod")
    big = propose(actor=people.alice, repo=repo, files_to_write={f"b/{i}.yaml": "b\n" for i in range(10)}, message="big",
                  environment="prod")
    client.get(reverse("gitops:changeset", kwargs={"pk": small.pk}))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("gitops:changeset", kwargs={"pk": small.pk})).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(reverse("gitops:changeset", kwargs={"pk": big.pk})).content.decode()
    assert "Approve and merge" in body and "+b" in body


def test_approval_queue_and_approve_through_the_page(client, repo, bare, people, propose, django_capture_on_commit_callbacks):
    cs = propose(actor=people.alice, repo=repo, files_to_write={"envs/prod/api.yaml": "replicas: 4\n"},
                 message="Scale api", environment="prod")
    client.force_login(people.alice)
    assert "Scale api" not in client.get(reverse("gitops:approval_queue")).content.decode()  # not your own
    client.force_login(people.carol)
    assert "Scale api" not in client.get(reverse("gitops:approval_queue")).content.decode()  # not an approver
    client.force_login(people.bob)
    queue = client.get(reverse("gitops:approval_queue")).content.decode()
    assert "Scale api" in queue and "+replicas: 4" in queue
    blind = client.post(reverse("gitops:changeset_approve", kwargs={"pk": cs.pk}), {"comment": "ok"})  # no revision named
    assert blind.status_code == 303 and not ChangeSet.objects.get(pk=cs.pk).approved_at
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("gitops:changeset_approve", kwargs={"pk": cs.pk}), {"comment": "ok", "revision": cs.revision})
    assert response.status_code == 302
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED and "replicas: 4" in bare.read("envs/prod/api.yaml")


def test_self_approval_through_the_page_is_refused(client, repo, bare, people, propose, django_capture_on_commit_callbacks):
    cs = propose(actor=people.admin, repo=repo, files_to_write={"p.yaml": "p\n"}, message="mine", environment="prod")
    page = reverse("gitops:changeset", kwargs={"pk": cs.pk})
    approve = reverse("gitops:changeset_approve", kwargs={"pk": cs.pk})
    client.force_login(people.admin)  # sees every raw change, but never decides their own
    assert "Approve and merge" not in client.get(page).content.decode()
    assert client.post(approve, {"revision": cs.revision}).status_code == 403
    assert client.post(reverse("gitops:changeset_reject", kwargs={"pk": cs.pk}), {"revision": cs.revision}).status_code == 403
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.AWAITING_APPROVAL and not cs.approved_at and not cs.approvals.exists()
    client.force_login(people.bob)  # Prod's approver
    assert "Approve and merge" in client.get(page).content.decode()
    response = client.post(approve, {"revision": cs.revision + 1}, follow=True)  # not the revision on the page
    assert "was updated since you looked at it" in response.content.decode()
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.AWAITING_APPROVAL and not cs.approvals.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(approve, {"comment": "ok", "revision": cs.revision}).status_code == 302
    cs.refresh_from_db()
    assert cs.status == ChangeSetStatus.APPLIED and bare.read("p.yaml").endswith("p\n")


def test_outside_edit_page_shows_diff_and_restores(client, repo, bare, people, propose, django_capture_on_commit_callbacks):
    from portal.gitops import engine

    propose(actor=people.alice, repo=repo, files_to_write={"van/a.yaml": "a: 1\n"}, message="a")
    bare.human_push("van/a.yaml", "a: 2\n")
    sync = reverse("gitops:repo_sync", kwargs={"pk": repo.pk})
    client.force_login(people.alice)  # the raw change's author, but no platform admin
    assert client.post(sync).status_code == 403
    mf = ManagedFile.objects.get(path="van/a.yaml")
    assert not mf.edited_outside
    client.force_login(people.admin)
    with django_capture_on_commit_callbacks(execute=True):  # the check runs as a task after the request
        assert client.post(sync).status_code == 302
    mf.refresh_from_db()
    assert mf.edited_outside
    assert "edited outside Wayline" in client.get(reverse("gitops:repo", kwargs={"pk": repo.pk})).content.decode()
    body = client.get(reverse("gitops:managedfile", kwargs={"pk": mf.pk})).content.decode()
    assert "+a: 2" in body and "Adopt into the portal" in body and "Restore the portal's version" in body
    restore = reverse("gitops:managedfile_restore", kwargs={"pk": mf.pk})
    client.force_login(people.alice)  # a file of a raw change is the platform admins' alone
    assert client.get(reverse("gitops:managedfile", kwargs={"pk": mf.pk})).status_code == 404
    assert client.post(restore).status_code == 404
    assert "a: 2" in bare.read("van/a.yaml")
    client.force_login(people.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(restore)
    restored = ChangeSet.objects.get(kind="restore")
    assert response.status_code == 302 and response["Location"] == restored.get_absolute_url()
    assert "a: 1" in bare.read("van/a.yaml")
    assert engine.sync_repo(repo.pk) == []


def test_repo_add_is_for_platform_admins(client, people, tmp_path):
    client.force_login(people.alice)
    assert client.get(reverse("gitops:repo_add")).status_code == 403
    client.force_login(people.admin)
    response = client.post(reverse("gitops:repo_add"), {"name": "infra", "url": "https://u:pw@git.example.com/infra.git",
                                                          "branch": "main"})
    assert response.status_code == 400
    assert "put the password or token in the credentials field" in response.content.decode()


def test_revert_button_and_action_only_for_those_who_may_revert(client, repo, people, propose,
                                                                django_capture_on_commit_callbacks):
    from portal.gitops.services import changeset_approve

    dev = propose(actor=people.admin, repo=repo, files_to_write={"r.yaml": "r\n"}, message="mine")
    prod = propose(actor=people.admin, repo=repo, files_to_write={"s.yaml": "s\n"}, message="ours", environment="prod")
    with django_capture_on_commit_callbacks(execute=True):
        changeset_approve(actor=people.bob, changeset=prod)
    prod.refresh_from_db()
    assert dev.status == prod.status == ChangeSetStatus.APPLIED
    client.force_login(people.bob)  # no admin, no owner; approves Prod but not Dev
    dev_page, dev_revert = (reverse(f"gitops:changeset{suffix}", kwargs={"pk": dev.pk}) for suffix in ("", "_revert"))
    assert client.get(dev_page).status_code == 404  # a raw Dev change is invisible to him
    assert client.post(dev_revert, {"comment": "nope"}).status_code == 404
    prod_page, prod_revert = (reverse(f"gitops:changeset{suffix}", kwargs={"pk": prod.pk}) for suffix in ("", "_revert"))
    body = client.get(prod_page).content.decode()  # he sees the Prod change he approved, but may not revert it
    assert "ours" in body and "Revert" not in body
    assert client.post(prod_revert, {"comment": "nope"}).status_code == 403
    assert not ChangeSet.objects.filter(reverts__in=[dev, prod]).exists()
    client.force_login(people.admin)
    for page, action, cs in ((dev_page, dev_revert, dev), (prod_page, prod_revert, prod)):
        assert "Revert" in client.get(page).content.decode()
        assert client.post(action, {"comment": "undo"}).status_code == 302
        assert ChangeSet.objects.filter(reverts=cs).count() == 1


def test_history_shows_a_raw_change_only_to_those_who_may_see_it(client, repo, bare, people, propose,
                                                                 django_capture_on_commit_callbacks):
    from portal.gitops.services import changeset_approve

    dev = propose(actor=people.admin, repo=repo, files_to_write={"raw/dev.yaml": "d\n"}, message="Raw dev change")
    prod = propose(actor=people.admin, repo=repo, files_to_write={"raw/prod.yaml": "p\n"}, message="Raw prod change",
                   environment="prod")
    with django_capture_on_commit_callbacks(execute=True):
        changeset_approve(actor=people.bob, changeset=prod)
    prod.refresh_from_db()
    bare.human_push("notes.txt", "hi\n", "Outside note")
    page = reverse("gitops:repo", kwargs={"pk": repo.pk})
    api = reverse("gitopsrepo-history", kwargs={"pk": repo.pk})
    subjects = ("Raw dev change", "Raw prod change", "Outside note")

    client.force_login(people.carol)  # no admin, approves nothing: none of it is hers to see
    response = client.get(page)
    assert response.status_code == 200 and not any(s in response.content.decode() for s in subjects)
    assert client.get(api).json() == []
    assert client.get(api, {"path": "raw/dev.yaml"}).json() == []
    for sha in (dev.commit_sha, prod.commit_sha, bare.log()[0][0]):
        assert client.get(reverse("gitops:commit", kwargs={"pk": repo.pk, "sha": sha})).status_code == 404

    client.force_login(people.bob)  # Prod's approver sees the Prod change only
    body = client.get(page).content.decode()
    assert "Raw prod change" in body and "Raw dev change" not in body and "Outside note" not in body
    assert [c["subject"] for c in client.get(api).json()] == ["Raw prod change"]

    client.force_login(people.admin)
    body = client.get(page).content.decode()
    assert all(s in body for s in subjects) and "approved by Bob &lt;bob@example.com&gt;" in body
    history = client.get(api).json()
    assert [c["subject"] for c in history] == ["Outside note", "Raw prod change", "Raw dev change", "Initialise GitOps repository"]
    assert history[2]["change_ids"] == [dev.pk] and history[1]["approved_by"] == ["Bob <bob@example.com>"]
    body = client.get(reverse("gitops:commit", kwargs={"pk": repo.pk, "sha": dev.commit_sha})).content.decode()
    assert "Raw dev change" in body and "+d" in body


def test_the_repository_check_runs_in_the_background_and_the_page_polls_it(client, repo, bare, people, propose, tmp_path):
    from portal.gitops.tasks import sync_repo

    propose(actor=people.admin, repo=repo, files_to_write={"van/b.yaml": "b: 1\n"}, message="b")
    bare.human_push("van/b.yaml", "b: 2\n")
    client.force_login(people.admin)
    assert client.post(reverse("gitops:repo_sync", kwargs={"pk": repo.pk})).status_code == 302  # no worker ran yet
    repo.refresh_from_db()
    assert repo.sync_running and not ManagedFile.objects.get(path="van/b.yaml").edited_outside  # not done in the request
    status = reverse("gitops:repo_sync_status", kwargs={"pk": repo.pk})
    assert 'hx-trigger="every 1s"' in client.get(reverse("gitops:repo", kwargs={"pk": repo.pk})).content.decode()
    assert 'hx-trigger="every 1s"' in client.get(status).content.decode()
    assert sync_repo(repo.pk) == 1  # the worker's task
    done = client.get(status).content.decode()
    assert "hx-trigger" not in done and "1 file edited outside Wayline" in done
    client.force_login(people.carol)  # sees the repository, may not ask for a check
    assert client.post(reverse("gitops:repo_sync", kwargs={"pk": repo.pk})).status_code == 403
    # A repository git cannot read: the check fails closed and the page says why.
    repo.url = str(tmp_path / "gone.git")
    repo.save(update_fields=["url"])
    assert sync_repo(repo.pk) == -1
    client.force_login(people.admin)
    assert "could not read the repository" in client.get(status).content.decode()
