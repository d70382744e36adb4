"""Scaffolder runs: the shipped golden paths run end to end as the user who started them, resume after a crash
without doing anything twice, and never create for another team."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from catalog.demo import GOLDEN_PATHS

pytestmark = pytest.mark.django_db

VALUES = {"name": "shop-api", "owner": "group:default/payments", "namespace": "payments",
          "image": "registry.example.net/payments/shop-api", "tags": ["payments"]}


@pytest.fixture
def golden(world, tmp_path, settings):
    """The shipped golden-path templates in a git repository, registered and read as the demo does."""
    from catalog import services
    from tests.catalog.conftest import GitRepo

    settings.CATALOG_ALLOW_LOCAL_GIT = True
    settings.SCAFFOLDER_REPOS_DIR = tmp_path / "repos"
    settings.SCAFFOLDER_WORKSPACES_DIR = tmp_path / "workspaces"
    repo = GitRepo(tmp_path / "golden")
    shutil.copytree(GOLDEN_PATHS, repo.path, dirs_exist_ok=True)
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, owner_team=world.payments,
                                          refresh=False)
    report = services.location_refresh(actor=None, location_id=location.pk)
    assert report.errors == 0, report.error_list
    return location


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
    assert [s.state for s in run.steps.all()] == [StepState.COMPLETED] * 4
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
