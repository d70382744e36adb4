"""Regressions from a hostile review of the scaffolder: a template cannot read the server's files through a symbolic
link, parameters and secrets cannot give a component to another team, and a secret is never stored, shown or echoed
in clear."""
from __future__ import annotations

import os

import pytest
import yaml

from catalog.demo import GOLDEN_PATHS
from tests.van.test_scaffolder_runs import VALUES, bearer, start

pytestmark = pytest.mark.django_db


def template(name, properties, steps, **spec):
    return {"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": name},
            "spec": {"type": "service", "parameters": [{"properties": properties}], "steps": steps, **spec}}


def register(world, tmp_path, name, files, symlinks=None):
    """A template repository of payments' (files: path -> text or a document), registered and read."""
    from catalog import services
    from tests.catalog.conftest import GitRepo

    repo = GitRepo(tmp_path / name)
    repo.write({path: yaml.safe_dump(body) if isinstance(body, dict) else body for path, body in files.items()})
    for link, target in (symlinks or {}).items():
        os.symlink(target, repo.path / link)
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, path="template.yaml",
                                          owner_team=world.payments, refresh=False)
    assert services.location_refresh(actor=None, location_id=location.pk).errors == 0
    return location


def test_a_symbolic_link_to_a_folder_does_not_read_the_servers_files(van_world, golden, tmp_path,
                                                                       django_capture_on_commit_callbacks):
    from catalog.models import RunState, ScaffolderEvent
    from catalog.scaffolder.runs import run_create, run_execute

    world = van_world[0]
    outside = tmp_path / "server"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "key.txt").write_text("TOP-SECRET")
    register(world, tmp_path, "leak", {"template.yaml": template("leak", {"name": {"type": "string"}}, [
        {"id": "fetch", "action": "fetch:plain", "input": {"url": "./escape/sub"}},
        {"id": "show", "action": "debug:log", "input": {"listWorkspace": "with-contents"}}])},
        symlinks={"escape": str(outside)})
    run = run_create(actor=world.alice, template_ref="template:default/leak", values={"name": "x"})
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.FAILED
    run.refresh_from_db()
    assert "input.url" in run.error and "outside the template" in run.error
    assert not any("TOP-SECRET" in str(e.body) for e in ScaffolderEvent.objects.filter(run=run))


def test_the_owner_parameter_cannot_name_another_team_in_any_spelling(van_world, golden):
    from django.core.exceptions import PermissionDenied

    from catalog.scaffolder.runs import RunRefused

    world = van_world[0]
    for owner in ("Group:default/search", "GROUP:Default/Search", "search", "user:default/bob", "api:default/x"):
        with pytest.raises(PermissionDenied):
            start(world.alice, {"owner": owner})
    with pytest.raises(RunRefused, match="owner"):
        start(world.alice, {"owner": "group:"})
    assert start(world.alice, {"owner": "Group:Default/Payments"}).owner_team == world.payments
    assert start(world.alice, {"owner": "user:default/alice", "name": "mine"}).owner_team == world.payments


def test_secrets_cannot_override_a_checked_value_nor_be_stored_in_clear(van_world, golden, tmp_path):
    from catalog.models import ScaffolderRun

    world = van_world[0]
    register(world, tmp_path, "sec", {"template.yaml": template(
        "sec", {"name": {"type": "string"}, "token": {"type": "string", "ui:field": "Secret", "pattern": "^x"}},
        [{"id": "say", "action": "debug:log", "input": {"message": "${{ parameters.token | upper }}"}}])})
    api = bearer(world.alice)
    python = {"templateRef": "template:default/python-service", "values": VALUES,
              "secrets": {"owner": "group:default/search"}}
    refused = api.post("/api/scaffolder/v2/tasks", python, format="json")
    assert refused.status_code in (400, 403) and not ScaffolderRun.objects.exists()
    stray = api.post("/api/scaffolder/v2/tasks", {"templateRef": "template:default/sec", "values": {"name": "n"},
                                                  "secrets": {"other": "SUPER-SECRET"}}, format="json")
    assert stray.status_code == 400 and "secrets.other" in stray.json()["error"]["message"]
    echoed = api.post("/api/scaffolder/v2/tasks", {"templateRef": "template:default/sec", "values": {"name": "n"},
                                                   "secrets": {"token": "SUPER-SECRET"}}, format="json")
    assert echoed.status_code == 400 and "SUPER-SECRET" not in echoed.content.decode()
    assert not ScaffolderRun.objects.exists()


def test_a_spelling_of_a_secret_is_redacted_from_the_log(van_world, golden, tmp_path, django_capture_on_commit_callbacks):
    from catalog.models import ScaffolderEvent
    from catalog.scaffolder.runs import run_create, run_execute

    world = van_world[0]
    register(world, tmp_path, "spell", {"template.yaml": template(
        "spell", {"token": {"type": "string", "ui:field": "Secret"}},
        [{"id": "say", "action": "debug:log",
          "input": {"message": "${{ parameters.token | upper }} ${{ parameters.token | urlencode }} "
                               "${{ parameters.token | dump }}"}}])})
    run = run_create(actor=world.alice, template_ref="template:default/spell", values={}, secrets={"token": "a b\"Sec"})
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == "completed"
    said = " ".join(e.body.get("message", "") for e in ScaffolderEvent.objects.filter(run=run))
    assert "*** *** \"***\"" in said and "SEC" not in said.upper().replace("***", "")


def test_a_catalog_file_a_run_publishes_cannot_give_an_entity_to_another_team(van_world, golden, tmp_path, settings,
                                                                              django_capture_on_commit_callbacks):
    from catalog.models import Entity, Location, RunState
    from catalog.scaffolder.runs import run_create, run_execute

    world = van_world[0]
    skeleton = ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\n"
                "spec:\n  type: service\n  lifecycle: experimental\n  owner: ${{ values.owner }}\n"
                "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: sneaky\n"
                "spec:\n  type: team\n  children: []\n  members: [alice]\n")
    steps = [
        {"id": "fetch", "action": "fetch:template",
         "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}", "owner": "${{ parameters.planted }}"}}},
        {"id": "publish", "action": "publish:git", "input": {"repoUrl": "wayline?owner=payments&repo=${{ parameters.name }}"}},
        {"id": "register", "action": "catalog:register",
         "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}"}}]
    register(world, tmp_path, "plant", {"template.yaml": template(
        "plant", {"name": {"type": "string"}, "planted": {"type": "string"}}, steps),
        "skeleton/catalog-info.yaml": skeleton})
    for planted, refused in (("group:default/search", "spec.owner 'group:default/search' is not the run's team"),
                             ("group:default/payments", "registers no Group entities")):
        run = run_create(actor=world.alice, template_ref="template:default/plant",
                         values={"name": f"plant-{planted.rsplit('/', 1)[1]}", "planted": planted})
        with django_capture_on_commit_callbacks(execute=True):
            assert run_execute(run.pk) == RunState.FAILED
        run.refresh_from_db()
        assert "catalog-info.yaml:" in run.error and refused in run.error, run.error
    assert not Location.objects.filter(target__contains="plant-").exists()
    assert not Entity.objects.filter(name__startswith="plant-").exists()


def test_the_golden_paths_free_text_cannot_write_yaml(van_world, golden):
    from catalog.scaffolder.runs import RunRefused

    world = van_world[0]
    injected = "x\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: planted"
    with pytest.raises(RunRefused, match="description"):
        start(world.alice, {"description": injected})
    with pytest.raises(RunRefused, match="title"):
        start(world.alice, {"title": 'a"\nb'}, template="template:default/static-site")
    rendered = (GOLDEN_PATHS / "python-service" / "skeleton" / "catalog-info.yaml").read_text()
    assert "values.description | dump" in rendered and "values.owner | dump" in rendered


def test_the_form_never_puts_a_secret_in_the_page_and_still_runs_with_it(van_world, golden, tmp_path, client):
    from django.urls import reverse

    from catalog.models import ScaffolderRun

    world = van_world[0]
    page1 = {"title": "Secret", "properties": {"token": {"type": "string", "ui:field": "Secret", "pattern": "^S"}}}
    page2 = {"title": "Name", "required": ["name"], "properties": {"name": {"type": "string"}}}
    body = template("twopage", {}, [{"id": "say", "action": "debug:log", "input": {"message": "hi ${{ parameters.name }}"}}])
    body["spec"]["parameters"] = [page1, page2]
    register(world, tmp_path, "twopage", {"template.yaml": body})
    url = reverse("catalog:template_run", kwargs={"namespace": "default", "name": "twopage"})
    client.force_login(world.alice)
    wrong = client.post(url, {"index": "0", "values_json": "{}", "go": "next", "p0-token": "WRONG-SECRET"})
    assert wrong.status_code == 400 and "WRONG-SECRET" not in wrong.content.decode()
    second = client.post(url, {"index": "0", "values_json": "{}", "go": "next", "p0-token": "SUPER-SECRET"})
    html = second.content.decode()
    assert second.status_code == 200 and "SUPER-SECRET" not in html and 'name="secrets_sealed"' in html
    sealed = html.split('name="secrets_sealed" value="', 1)[1].split('"', 1)[0]
    values_json = html.split('name="values_json" value="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    client.force_login(world.carol)  # another user's sealed secrets are nothing to her
    assert client.post(url, {"index": "1", "values_json": values_json, "secrets_sealed": sealed, "go": "create",
                             "p1-name": "n"}).status_code == 302
    assert ScaffolderRun.objects.get(created_by=world.carol).secrets == ""
    client.force_login(world.alice)
    done = client.post(url, {"index": "1", "values_json": values_json, "secrets_sealed": sealed, "go": "create",
                             "p1-name": "n"})
    assert done.status_code == 302
    run = ScaffolderRun.objects.get(created_by=world.alice)
    assert "SUPER-SECRET" in str(run.secrets) and "SUPER-SECRET" not in str(run.parameters)


def test_a_dry_run_with_clashing_paths_is_a_field_error(van_world, golden):
    api = bearer(van_world[0].alice)
    body = template("d", {}, [{"id": "say", "action": "debug:log", "input": {"message": "hi"}}])
    answer = api.post("/api/scaffolder/v2/dry-run", {"template": body, "values": {}, "directoryContents": [
        {"path": "a", "base64Content": ""}, {"path": "a/b", "base64Content": ""}]}, format="json")
    assert answer.status_code == 400 and "directoryContents[1].path" in answer.content.decode()



def test_a_run_whose_author_left_the_team_fails_instead_of_acting_as_him(van_world, golden,
                                                                          django_capture_on_commit_callbacks):
    from catalog.models import RunState
    from catalog.scaffolder.runs import run_execute
    from portal.services import team_membership_remove

    world = van_world[0]
    run = start(world.alice)
    team_membership_remove(actor=world.admin, team=world.payments, user=world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.FAILED
    run.refresh_from_db()
    assert "may no longer create for its team" in run.error
    assert not run.steps.exclude(state="open").exists()  # no step ran


@pytest.mark.parametrize("case", ["glob", "list", "placeholder-kind", "other-namespace", "missing-file"])
def test_a_published_catalog_file_is_one_plain_file_checked_as_ingestion_reads_it(
        van_world, golden, tmp_path, case, django_capture_on_commit_callbacks):
    from catalog.models import Entity, Location, RunState
    from catalog.scaffolder.runs import run_create, run_execute

    world = van_world[0]
    good = ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: fine\n"
            "spec:\n  type: service\n  lifecycle: x\n  owner: group:default/payments\n")
    evil = ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: stolen\n"
            "spec:\n  type: service\n  lifecycle: x\n  owner: group:default/search\n")
    files, path = {"skeleton/catalog-info.yaml": good, "skeleton/evil.yaml": evil}, "/catalog-info.yaml"
    if case == "glob":
        path = "*.yaml"
    elif case == "list":
        path = "catalog-info.yaml,evil.yaml"
    elif case == "placeholder-kind":
        files["skeleton/catalog-info.yaml"] = ("apiVersion: backstage.io/v1alpha1\nkind:\n  $text: ./kind.txt\n"
                                               "metadata:\n  name: hidden-loc\nspec:\n  owner: group:default/payments\n"
                                               "  target: ./evil.yaml\n")
        files["skeleton/kind.txt"] = "Location"
    elif case == "other-namespace":  # a bare owner is in the entity's namespace: eu/payments is not payments
        files["skeleton/catalog-info.yaml"] = good.replace("  name: fine\n", "  name: fine\n  namespace: eu\n").replace(
            "group:default/payments", "payments")
    else:
        path = "/nothing-here.yaml"
    steps = [{"id": "fetch", "action": "fetch:plain", "input": {"url": "./skeleton"}},
             {"id": "publish", "action": "publish:git", "input": {"repoUrl": f"wayline?owner=payments&repo=r-{case}"}},
             {"id": "register", "action": "catalog:register",
              "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}", "catalogInfoPath": path}}]
    register(world, tmp_path, f"t-{case}", {"template.yaml": template(f"t-{case}", {}, steps), **files})
    run = run_create(actor=world.alice, template_ref=f"template:default/t-{case}", values={})
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.FAILED
    run.refresh_from_db()
    assert "register" in {s.step_id for s in run.steps.filter(state="failed")}, run.error
    assert not Location.objects.filter(target__contains=f"r-{case}").exists()
    assert not Entity.objects.filter(name__in=["stolen", "hidden-loc", "fine"]).exists()


def test_the_ci_step_sets_up_only_the_app_this_run_created_and_names_no_hidden_van(
        van_world, place_payments_everywhere, golden, tmp_path, django_capture_on_commit_callbacks):
    from addons.models import CiPipeline
    from catalog.models import RunState
    from catalog.scaffolder.runs import run_create, run_execute
    from van import services as van_services

    world = van_world[0]
    other = van_services.app_create(actor=world.alice, name="made-by-hand", owner_team=world.payments, namespace="x",
                                    repo_url="https://git.example.net/hand.git", path=".", image="registry.example.net/x",
                                    version="1.0.0")
    steps = [{"id": "ci", "action": "wayline:pipeline", "input": {"app": "made-by-hand"}}]
    register(world, tmp_path, "adopt", {"template.yaml": template("adopt", {}, steps)})
    run = run_create(actor=world.alice, template_ref="template:default/adopt", values={})
    with django_capture_on_commit_callbacks(execute=True):
        assert run_execute(run.pk) == RunState.FAILED
    run.refresh_from_db()
    assert "input.app: this run created no app named 'made-by-hand'" in run.error
    assert not CiPipeline.objects.filter(app=other).exists()


def test_the_forms_carried_values_nested_too_deeply_are_dropped_not_a_500(van_world, golden, tmp_path, client):
    from django.urls import reverse

    world = van_world[0]
    body = template("deep", {}, [{"id": "say", "action": "debug:log", "input": {"message": "hi"}}])
    body["spec"]["parameters"] = [{"title": "Name", "properties": {"name": {"type": "string"}}}]
    register(world, tmp_path, "deep", {"template.yaml": body})
    url = reverse("catalog:template_run", kwargs={"namespace": "default", "name": "deep"})
    client.force_login(world.alice)
    for values_json in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100 + "1" + "}" * 100):
        response = client.post(url, {"index": "0", "values_json": values_json, "go": "next", "p0-name": "x"})
        assert response.status_code in (200, 302, 400), response.status_code
