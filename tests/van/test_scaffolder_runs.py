"""Scaffolder runs: the shipped golden paths run end to end as the user who started them, resume after a crash
without doing anything twice, and never create for another team."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from addons.models import CiPipeline
from catalog.demo import GOLDEN_PATHS

pytestmark = pytest.mark.django_db

VALUES = {"name": "shop-api", "owner": "group:default/payments", "namespace": "payments",
          "image": "registry.example.net/payments/shop-api", "tags": ["payments"]}


def start(user, values=None, template="template:default/python-service", **kwargs):
    from catalog.scaffolder.runs import run_create

    return run_create(actor=user, template_ref=template, values={**VALUES, **(values or {})}, **kwargs)


def git_show(repo, what):
    return subprocess.run(["git", "show", what], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_the_python_service_golden_path_creates_a_repository_a_component_and_an_app_through_a_change_set(
        van_world, place_payments_everywhere, golden, settings, django_capture_on_commit_callbacks):
    from catalog.models import Entity, RunState, ScaffolderEvent, StepState
    from catalog.scaffolder.runs import run_execute
    from portal.gitops.models import ChangeSet
    from van.models import App

    world = van_world[0]
    run = start(world.alice)
    assert run.owner_team == world.payments and run.state == RunState.OPEN
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.COMPLETED
    run.refresh_from_db()
    assert [s.state for s in run.steps.all()] == [StepState.COMPLETED] * 5
    repo = settings.SCAFFOLDER_REPOS_DIR / "payments" / "shop-api.git"
    component = yaml.safe_load(git_show(repo, "main:catalog-info.yaml"))
    assert component["metadata"]["name"] == "shop-api" and component["spec"]["owner"] == "group:default/payments"
    assert "registry.example.net/payments/shop-api:0.1.0" in git_show(repo, "main:deploy/deployment.yaml")
    assert f"Wayline-Run: {run.uid}" in git_show(repo, "main")
    entity = Entity.objects.get(ref="component:default/shop-api")
    assert entity.owner_team == world.payments
    app = App.objects.get(name="shop-api")
    assert app.owner_team == world.payments and app.component_ref == "component:default/shop-api"
    assert app.repo_url == "https://git.wayline.localhost/payments/shop-api.git" and app.path == "deploy"
    changesets = ChangeSet.objects.filter(pk__in=run.steps.get(step_id="deploy").output["changeSets"])
    assert changesets.count() == 1 and {cs.author for cs in changesets} == {world.alice}
    assert any("shop-api" in path for path in changesets[0].files.values_list("path", flat=True))
    assert run.output["links"][0]["url"] == app.repo_url
    assert run.output["links"][1]["entityRef"] == "component:default/shop-api"
    types = list(ScaffolderEvent.objects.filter(run=run).values_list("type", flat=True))
    assert types[-1] == "completion" and "log" in types
    # the golden CI pipeline, on the VAN Alice may change that runs Argo, set up as her; its webhook secret not kept
    pipeline = CiPipeline.objects.get(app=app)
    assert pipeline.van == van_world[1] and pipeline.created_by == world.alice
    assert pipeline.test_command == "python -m unittest discover -s tests -t ."
    assert run.steps.get(step_id="ci").output == {"pipelineId": pipeline.pk, "van": "demo",
                                                 "pipelineUrl": f"/apps/{app.pk}/ci/"}
    setup = ChangeSet.objects.get(owner_type__model="cipipeline", owner_id=pipeline.pk)
    assert setup.author == world.alice and setup.files.filter(path__endswith="/sensor.yaml").exists()
    said = " ".join(e.body.get("message", "") for e in ScaffolderEvent.objects.filter(run=run))
    assert "New webhook secret" in said


def test_the_ci_step_is_skipped_without_a_van_running_argo_and_refuses_another_teams_van(
        van_world, place_payments_everywhere, golden, svc, django_capture_on_commit_callbacks):
    from addons.models import AddonInstallation
    from catalog.models import RunState, ScaffolderEvent
    from catalog.scaffolder.runs import run_execute

    world, van = van_world[0], van_world[1]
    svc.van_update(actor=world.admin, obj=van, owner_team=world.search)  # public: Alice sees it, may not change it
    refused = start(world.alice, {"ciVan": "demo"})
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(refused.pk) == RunState.FAILED
    refused.refresh_from_db()
    assert "input.van: no VAN you may change named 'demo'" in refused.error
    assert not CiPipeline.objects.exists()
    svc.van_update(actor=world.admin, obj=van, owner_team=world.payments)
    AddonInstallation.objects.filter(van=van, slug="argo-workflows").update(enabled=False)
    run = start(world.alice, {"name": "no-ci"})
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.COMPLETED
    assert not CiPipeline.objects.exists()
    said = " ".join(e.body.get("message", "") for e in ScaffolderEvent.objects.filter(run=run))
    assert "no CI pipeline was set up" in said


@pytest.mark.parametrize("template,values,unit_tests", [
    ("python-service", {"deploy": False}, 3),
    ("static-site", {"name": "shop-site", "image": "registry.example.net/payments/shop-site"}, 0),
    ("scheduled-job", {"name": "nightly-report", "image": "registry.example.net/payments/nightly"}, 2),
])
def test_each_golden_path_generates_a_valid_project_whose_own_tests_pass(van_world, golden, settings, tmp_path, template,
                                                                         values, unit_tests,
                                                                         django_capture_on_commit_callbacks):
    import kubernetes_validate

    from catalog.scaffolder.runs import run_execute
    from catalog.validation import validate_entity

    world = van_world[0]
    run = start(world.alice, values, template=f"template:default/{template}")
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == "completed", run.error
    name = {**VALUES, **values}["name"]
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(settings.SCAFFOLDER_REPOS_DIR / "payments" / f"{name}.git"), str(checkout)],
                   check=True)
    assert "${{" not in "".join(p.read_text() for p in checkout.rglob("*") if p.is_file() and ".git" not in p.parts)
    entity = yaml.safe_load((checkout / "catalog-info.yaml").read_text())
    validate_entity(entity)  # raises EntityInvalid
    assert entity["metadata"]["name"] == name and entity["spec"]["owner"] == "group:default/payments"
    manifests = [p for p in (checkout / "deploy").glob("*.yaml") if p.name != "kustomization.yaml"]
    assert manifests
    for path in manifests:
        for document in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(document, "1.30", strict=True)  # raises ValidationError
    kustomization = yaml.safe_load((checkout / "deploy" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in manifests)
    if unit_tests:
        tests = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."], cwd=checkout,
                               capture_output=True, text=True, timeout=60)
        assert tests.returncode == 0, tests.stderr
        assert f"Ran {unit_tests} tests" in tests.stderr


# --- a crash mid-run: resumed from the last completed step, nothing done twice ------------------------------------


class Killed(BaseException):
    """What a worker killed mid-step leaves: the action's effect done (or half done), its checkpoint not written."""


def crash_after(monkeypatch, action):
    """The worker dies right after ``action`` did its work, before the run records the step done."""
    from catalog.scaffolder import runtime

    real = runtime.HANDLERS[action]

    def dying(ctx):
        real(ctx)
        raise Killed(action)
    monkeypatch.setitem(runtime.HANDLERS, action, dying)
    return lambda: monkeypatch.setitem(runtime.HANDLERS, action, real)


def lease_expires(run):
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import ScaffolderRun

    ScaffolderRun.objects.filter(pk=run.pk).update(heartbeat=timezone.now() - timedelta(hours=1))


@pytest.mark.parametrize("action", ["publish:git", "catalog:register", "wayline:app", "wayline:pipeline"])
def test_a_worker_killed_mid_step_is_resumed_by_another_without_duplicating_anything(
        van_world, place_payments_everywhere, golden, settings, monkeypatch, action, django_capture_on_commit_callbacks):
    from catalog.models import Location, RunState, ScaffolderRun
    from catalog.scaffolder.runs import run_execute, runs_due
    from portal.gitops.models import ChangeSet
    from van.models import App

    world = van_world[0]
    run = start(world.alice)
    heal = crash_after(monkeypatch, action)
    with pytest.raises(Killed):
        run_execute(run.pk, holder="worker-1")
    assert ScaffolderRun.objects.get(pk=run.pk).state == RunState.PROCESSING
    assert run_execute(run.pk, holder="worker-2") == "busy-or-final"  # its lease is still fresh: left to worker-1
    assert run.pk not in runs_due()
    heal()
    lease_expires(run)
    assert run.pk in runs_due()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk, holder="worker-2") == RunState.COMPLETED
    run.refresh_from_db()
    assert run.attempts == 2 and run.events.filter(type="recovered").count() == 1
    repos = list((settings.SCAFFOLDER_REPOS_DIR / "payments").iterdir())
    assert [r.name for r in repos] == ["shop-api.git"]
    log = subprocess.run(["git", "log", "--format=%H", "main"], cwd=repos[0], capture_output=True, text=True).stdout
    assert len(log.split()) == 1  # one commit: pushed once
    assert Location.objects.filter(target__endswith="payments/shop-api.git").count() == 1
    assert App.objects.filter(name="shop-api").count() == 1
    assert ChangeSet.objects.filter(author=world.alice, message__contains="add app shop-api").count() == 1
    assert CiPipeline.objects.filter(app__name="shop-api").count() == 1
    assert ChangeSet.objects.filter(author=world.alice, owner_type__model="cipipeline").count() == 1


def test_a_failed_run_is_retried_from_the_failed_step_once_the_cause_is_fixed(
        van_world, place_payments_everywhere, golden, settings, django_capture_on_commit_callbacks):
    from catalog.models import RunState, StepState
    from catalog.scaffolder.runs import run_execute, run_retry
    from van.models import App

    world = van_world[0]
    blocker = App.objects.create(name="shop-api", owner_team=world.payments, namespace="x", repo_url="https://g.example.net/x.git",
                                 path=".")
    run = start(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.FAILED
    run.refresh_from_db()
    states = {s.step_id: s.state for s in run.steps.all()}
    assert states == {"fetch": StepState.COMPLETED, "publish": StepState.COMPLETED, "register": StepState.COMPLETED,
                      "deploy": StepState.FAILED, "ci": StepState.OPEN}
    assert "an app named 'shop-api' exists already" in run.error
    blocker.delete()
    with django_capture_on_commit_callbacks(execute=True):
        run_retry(actor=world.alice, run=run)  # queues the task, which runs eagerly here
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED and App.objects.filter(name="shop-api").count() == 1
    assert len(list((settings.SCAFFOLDER_REPOS_DIR / "payments").iterdir())) == 1


def test_cancelling_stops_a_run_before_its_next_step(van_world, golden, settings):
    from catalog.models import RunState, ScaffolderRun, StepState
    from catalog.scaffolder.runs import run_cancel, run_execute

    world = van_world[0]
    run = start(world.alice)
    ScaffolderRun.objects.filter(pk=run.pk).update(holder="worker-1")  # as if a worker had begun
    run_cancel(actor=world.alice, run=run)
    assert run_execute(run.pk, holder="worker-1") == RunState.CANCELLED
    run.refresh_from_db()
    assert {s.state for s in run.steps.all()} == {StepState.CANCELLED}
    assert not (settings.SCAFFOLDER_REPOS_DIR / "payments").exists()
    opened = start(world.alice, {"name": "other"})
    assert run_cancel(actor=world.alice, run=opened).state == RunState.CANCELLED  # not begun: at once


# --- nobody scaffolds into another team's ownership -------------------------------------------------------------


def test_a_run_is_for_one_of_the_users_own_teams_whatever_the_values_say(van_world, golden):
    from django.core.exceptions import PermissionDenied

    from catalog.scaffolder.runs import RunRefused

    world = van_world[0]
    with pytest.raises(PermissionDenied, match="group:default/search"):
        start(world.alice, {"owner": "group:default/search"})
    with pytest.raises(PermissionDenied, match="search"):
        start(world.alice, owner_team="search")
    with pytest.raises(PermissionDenied, match="may not create for 'group:default/payments'"):
        start(world.victor)  # a viewer: in no team he may create for
    with pytest.raises(PermissionDenied, match="no team"):
        start(world.victor, {"owner": ""})
    with pytest.raises(PermissionDenied):
        start(AnonymousUser())
    with pytest.raises(RunRefused, match="name"):
        start(world.alice, {"name": "Not A Name"})


class AnonymousUser:
    is_authenticated = False


def test_steps_that_would_create_for_another_team_fail_naming_the_field(van_world, golden, settings, tmp_path,
                                                                         django_capture_on_commit_callbacks):
    from catalog import services
    from catalog.models import RunState
    from catalog.scaffolder.runs import run_execute
    from tests.catalog.conftest import GitRepo

    world = van_world[0]
    hostile = (GOLDEN_PATHS / "python-service" / "template.yaml").read_text().replace(
        "name: python-service", "name: hostile").replace(
        "wayline?owner=${{ parameters.owner | parseEntityRef | pick('name') }}", "wayline?owner=search")
    repo = GitRepo.with_files(tmp_path, "hostile", {"template.yaml": hostile})
    shutil.copytree(GOLDEN_PATHS / "python-service" / "skeleton", repo.path / "skeleton")
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, path="template.yaml",
                                          owner_team=world.payments, refresh=False)
    services.location_refresh(actor=None, location_id=location.pk)
    run = start(world.alice, template="template:default/hostile")
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.FAILED
    run.refresh_from_db()
    assert "input.repoUrl" in run.error and "search" in run.error
    assert not (settings.SCAFFOLDER_REPOS_DIR / "search").exists()


def test_secret_parameters_are_never_stored_in_clear_nor_logged(van_world, golden, tmp_path,
                                                                django_capture_on_commit_callbacks):
    from django.db import connection

    from catalog import services
    from catalog.models import ScaffolderEvent, ScaffolderRun
    from catalog.scaffolder.runs import run_create, run_execute
    from tests.catalog.conftest import GitRepo

    world = van_world[0]
    template = {"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "with-secret"},
                "spec": {"type": "service", "parameters": [{"properties": {"token": {"type": "string", "ui:field": "Secret"},
                                                        "name": {"type": "string"}}}],
                         "steps": [{"id": "say", "action": "debug:log",
                                    "input": {"message": "token is ${{ parameters.token }} for ${{ parameters.name }}"}}]}}
    repo = GitRepo.with_files(tmp_path, "secret", {"catalog-info.yaml": yaml.safe_dump(template)})
    location = services.location_register(actor=None, type="git", target=repo.url, owner_team=world.payments,
                                          refresh=False)
    assert services.location_refresh(actor=None, location_id=location.pk).errors == 0
    run = run_create(actor=world.alice, template_ref="template:default/with-secret",
                     values={"name": "n", "token": "s3cr3t-value"})
    assert run.parameters == {"name": "n"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM catalog_scaffolderrun WHERE id = %s", [run.pk])
        assert "s3cr3t-value" not in cursor.fetchone()[0]
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == "completed"
    messages = [e.body.get("message", "") for e in ScaffolderEvent.objects.filter(run=run)]
    assert "token is *** for n" in messages and not any("s3cr3t" in m for m in messages)
    assert ScaffolderRun.objects.get(pk=run.pk).secrets == ""  # erased once the run is over


# --- the tasks API --------------------------------------------------------------------------------------------------


def bearer(user):
    from rest_framework.test import APIClient

    from portal.services import api_token_rotate

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_rotate(actor=user)}")
    return api


def test_the_tasks_api_runs_a_template_and_answers_in_backstages_shapes(
        van_world, place_payments_everywhere, golden, django_capture_on_commit_callbacks):
    world = van_world[0]
    api = bearer(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/scaffolder/v2/tasks", {"templateRef": "template:default/python-service",
                                                        "values": VALUES}, format="json")
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    task = api.get(f"/api/scaffolder/v2/tasks/{task_id}").json()
    assert task["status"] == "completed" and task["spec"]["templateInfo"]["entityRef"] == "template:default/python-service"
    assert [s["id"] for s in task["spec"]["steps"]] == ["fetch", "publish", "register", "deploy", "ci"]
    assert task["createdBy"] == "user:default/alice"
    events = api.get(f"/api/scaffolder/v2/tasks/{task_id}/events").json()
    assert events[-1]["type"] == "completion" and events[-1]["taskId"] == task_id
    assert {"stepId": "publish", "status": "completed"}.items() <= next(
        e["body"] for e in events if e["body"].get("stepId") == "publish" and e["body"].get("status") == "completed").items()
    later = api.get(f"/api/scaffolder/v2/tasks/{task_id}/events", {"after": events[-2]["id"]}).json()
    assert [e["id"] for e in later] == [events[-1]["id"]]
    stream = api.get(f"/api/scaffolder/v2/tasks/{task_id}/eventstream")
    assert stream["Content-Type"] == "text/event-stream"
    text = b"".join(stream.streaming_content).decode()
    assert text.count("event: ") == len(events) and text.rstrip().splitlines()[-1].startswith("data: ")
    assert "event: completion" in text
    listed = api.get("/api/scaffolder/v2/tasks", {"createdBy": "user:default/alice"}).json()
    assert listed["totalTasks"] == 1 and listed["tasks"][0]["id"] == task_id
    again = api.post(f"/api/scaffolder/v2/tasks/{task_id}/retry")
    assert again.status_code == 409  # a completed run is not retried


def test_the_tasks_api_as_another_team_a_viewer_and_nobody(van_world, golden, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    world = van_world[0]
    run = start(world.alice)  # private to payments (the default)
    task = f"/api/scaffolder/v2/tasks/{run.uid}"
    for user in (world.bob, world.victor):
        api = bearer(user)
        for method, url in (("get", task), ("get", task + "/events"), ("get", task + "/eventstream"),
                            ("post", task + "/cancel"), ("post", task + "/retry")):
            answer = getattr(api, method)(url)
            assert answer.status_code == 404 and answer.json()["error"]["name"] == "NotFoundError", (user, url)
        assert api.get("/api/scaffolder/v2/tasks").json()["totalTasks"] == 0
    bob = bearer(world.bob)
    refused = bob.post("/api/scaffolder/v2/tasks", {"templateRef": "template:default/python-service",
                                                    "values": VALUES}, format="json")
    assert refused.status_code == 403 and "group:default/payments" in refused.json()["error"]["message"]
    dry = bob.post("/api/scaffolder/v2/dry-run", {"templateRef": "template:default/python-service", "values": VALUES},
                   format="json")
    assert dry.status_code == 403  # a dry run is a write
    viewer = bearer(world.victor).post("/api/scaffolder/v2/tasks", {"templateRef": "template:default/python-service",
                                                                     "values": {**VALUES, "owner": ""}}, format="json")
    assert viewer.status_code == 403
    nobody = APIClient()
    assert nobody.get(task).status_code in (401, 403)
    assert nobody.post("/api/scaffolder/v2/tasks", {"templateRef": "template:default/python-service"},
                       format="json").status_code in (401, 403)
    assert nobody.post(task + "/cancel").status_code in (401, 403)
    carol = bearer(world.carol)  # an admin of payments cancels the team's run
    assert carol.post(task + "/cancel").json() == {"status": "cancelled"}


def test_a_dry_run_shows_files_and_change_sets_and_writes_nothing(van_world, place_payments_everywhere, golden, settings):
    from catalog.models import Location, ScaffolderRun
    from portal.gitops.models import ChangeSet
    from van.models import App

    world = van_world[0]
    before = ChangeSet.objects.count(), Location.objects.count()
    answer = bearer(world.alice).post("/api/scaffolder/v2/dry-run", {"templateRef": "template:default/python-service",
                                                                     "values": VALUES}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    paths = {f["path"] for f in body["directoryContents"]}
    assert {"catalog-info.yaml", "app.py", "tests/test_app.py", "deploy/deployment.yaml"} <= paths
    assert body["wayline"]["repositories"] == ["payments/shop-api"] and body["wayline"]["apps"] == ["shop-api"]
    assert len(body["wayline"]["changeSets"]) == 1 and body["wayline"]["changeSets"][0]["files"]
    assert body["output"]["links"][0]["url"] == "https://git.wayline.localhost/payments/shop-api.git"
    assert (ChangeSet.objects.count(), Location.objects.count()) == before
    assert not App.objects.filter(name="shop-api").exists() and not ScaffolderRun.objects.exists()
    assert not settings.SCAFFOLDER_REPOS_DIR.exists() or not any(settings.SCAFFOLDER_REPOS_DIR.iterdir())


# --- through real workers -------------------------------------------------------------------------------------------


@pytest.fixture
def running_worker():
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["default", "gitops"]):
            yield app
    finally:
        app.conf.task_always_eager = previous


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_end_to_end_through_a_real_celery_worker(van_world, place_payments_everywhere, golden, settings, gitops,
                                                  running_worker):
    from catalog.models import Entity, RunState, ScaffolderRun
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet
    from tests.polling import wait_for

    world = van_world[0]
    run = start(world.alice)  # committed: the worker takes it from the broker
    wait_for(lambda: ScaffolderRun.objects.get(pk=run.pk).is_final, timeout=60)
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED, run.error
    assert (settings.SCAFFOLDER_REPOS_DIR / "payments" / "shop-api.git").is_dir()
    wait_for(lambda: Entity.objects.filter(ref="component:default/shop-api", owner_team=world.payments).exists(), timeout=30)
    ids = run.steps.get(step_id="deploy").output["changeSets"]
    wait_for(lambda: ChangeSet.objects.filter(pk__in=ids, status=ChangeSetStatus.APPLIED).count() == len(ids) == 1,
             timeout=30)
    applied = ChangeSet.objects.get(pk=ids[0])
    assert applied.author == world.alice
    log = subprocess.run(["git", "log", "-1", "--format=%an <%ae>%n%B", "main"], cwd=gitops, capture_output=True,
                         text=True).stdout
    assert log.startswith("Alice <alice@example.com>") and "shop-api" in log


KILLABLE = """
import os, sys, time
import django
django.setup()
from catalog.scaffolder import runs, runtime
real = runtime.HANDLERS["publish:git"]
def slow(ctx):
    output = real(ctx)
    print("pushed", flush=True)
    time.sleep(300)  # killed here: the repository exists, the step is not recorded done
    return output
runtime.HANDLERS["publish:git"] = slow
runs.run_execute(int(sys.argv[1]), holder="doomed")
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("sqlite" in __import__("django.conf").conf.settings.DATABASES["default"]["ENGINE"],
                    reason="a second process on the SQLite test file misses this process's writes late in the full "
                           "suite (see test_hub_watcher); runs on PostgreSQL in CI")
def test_a_worker_process_killed_mid_run_is_resumed_by_the_sweep_without_a_second_repository(
        van_world, place_payments_everywhere, golden, settings, tmp_path, monkeypatch):
    import os
    import signal

    from catalog import tasks

    from catalog.models import Location, RunState, ScaffolderRun
    from catalog.tasks import scaffolder_runs_due
    from tests.polling import wait_for
    from tests.van.test_hub_watcher import _database_url
    from van.models import App

    world = van_world[0]
    with monkeypatch.context() as patched:  # the doomed process below takes it, not this one's eager queue
        patched.setattr(tasks.scaffolder_run_task, "delay", lambda *args, **kwargs: None)
        run = start(world.alice)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", "DATABASE_URL": _database_url(),
           "WAYLINE_DATA_DIR": str(settings.DATA_DIR), "WAYLINE_SCAFFOLDER_REPOS_DIR": str(settings.SCAFFOLDER_REPOS_DIR),
           "WAYLINE_SCAFFOLDER_WORKSPACES_DIR": str(settings.SCAFFOLDER_WORKSPACES_DIR)}
    out = open(tmp_path / "doomed.log", "w+")
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(run.pk)], cwd=settings.BASE_DIR, env=env,
                               stdout=out, stderr=out, start_new_session=True)
    try:
        def said():
            out.flush()
            out.seek(0)
            return out.read()
        try:
            wait_for(lambda: "pushed" in said() or process.poll() is not None, timeout=60)
        finally:
            assert "pushed" in said(), said()[-3000:]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        out.close()
    killed = ScaffolderRun.objects.get(pk=run.pk)
    assert killed.state == RunState.PROCESSING and killed.holder == "doomed"
    assert killed.steps.get(step_id="publish").state == "processing"
    lease_expires(run)  # SCAFFOLDER_LEASE_SECONDS later
    assert scaffolder_runs_due(stale_seconds=60) == 1  # the periodic sweep queues it; eager here, a worker in production
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED, run.error
    repo = settings.SCAFFOLDER_REPOS_DIR / "payments" / "shop-api.git"
    commits = subprocess.run(["git", "log", "--format=%H", "main"], cwd=repo, capture_output=True, text=True).stdout.split()
    assert len(commits) == 1 and [r.name for r in repo.parent.iterdir()] == ["shop-api.git"]
    assert Location.objects.filter(target__endswith="payments/shop-api.git").count() == 1
    assert App.objects.filter(name="shop-api").count() == 1


def test_publishing_to_a_git_server_pushes_once_and_refuses_a_repository_with_history(
        van_world, golden, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    """``SCAFFOLDER_GIT_PUSH_URL``: a git server (here: bare repositories it created empty, reached by file://)."""
    from catalog.models import Entity, Location, RunState
    from catalog.scaffolder.runs import run_execute

    world = van_world[0]
    server = tmp_path / "server"
    for name in ("shop-api", "taken"):
        subprocess.run(["git", "init", "-q", "--bare", str(server / "payments" / f"{name}.git")], check=True)
    settings.SCAFFOLDER_GIT_PUSH_URL = f"file://{server}/{{owner}}/{{repo}}.git"
    settings.SCAFFOLDER_GIT_URL = settings.SCAFFOLDER_GIT_PUSH_URL  # where the catalog reads it back
    run = start(world.alice, {"deploy": False})
    heal = crash_after(monkeypatch, "publish:git")
    with pytest.raises(Killed):
        run_execute(run.pk, holder="worker-1")
    heal()
    lease_expires(run)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk, holder="worker-2") == RunState.COMPLETED
    run.refresh_from_db()
    repo = server / "payments" / "shop-api.git"
    assert len(subprocess.run(["git", "log", "--format=%H", "main"], cwd=repo, capture_output=True,
                              text=True).stdout.split()) == 1
    assert not (settings.SCAFFOLDER_REPOS_DIR / "payments" / "shop-api.git").exists()
    assert Location.objects.get(target=f"file://{repo}").owner_team == world.payments
    assert Entity.objects.filter(ref="component:default/shop-api", owner_team=world.payments).exists()
    # A repository with history that this run did not write refuses the step.
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(server / "payments" / "taken.git"), str(other)], check=True)
    subprocess.run(["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "mine"],
                   cwd=other, check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:refs/heads/main"], cwd=other, check=True)
    taken = start(world.alice, {"name": "taken", "deploy": False})
    assert run_execute(taken.pk) == RunState.FAILED
    taken.refresh_from_db()
    assert "exists already with a branch main" in taken.error


def test_the_forms_preview_is_a_dry_run_that_writes_nothing(van_world, place_payments_everywhere, golden, settings, client):
    from django.urls import reverse

    from catalog.models import ScaffolderRun
    from portal.gitops.models import ChangeSet
    from van.models import App

    world = van_world[0]
    url = reverse("catalog:template_run", kwargs={"namespace": "default", "name": "static-site"})
    values = {k: v for k, v in VALUES.items() if k in ("name", "owner", "namespace", "image")}
    body = {"values_json": "{}", "index": "0", "go": "preview", **{f"p0-{k}": v for k, v in values.items()}}
    changes = ChangeSet.objects.count()
    client.force_login(world.alice)
    fragment = client.post(url, body, HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert "deploy/deployment.yaml" in html and "would create the repository payments/shop-api" in html
    whole = client.post(url, body)  # no script: the form again, the preview under it
    assert whole.status_code == 200 and 'id="preview"><section' in whole.content.decode()
    refused = client.post(url, {**body, "p0-name": "Not A Name"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and "does not match" in refused.content.decode()  # shown where the preview goes
    assert "<html" not in refused.content.decode()
    client.force_login(world.victor)  # a viewer: a dry run is a write
    assert client.post(url, body, HTTP_HX_REQUEST="true").status_code == 403
    assert not ScaffolderRun.objects.exists() and not App.objects.filter(name="shop-api").exists()
    assert ChangeSet.objects.count() == changes and not (settings.SCAFFOLDER_REPOS_DIR / "payments").exists()
