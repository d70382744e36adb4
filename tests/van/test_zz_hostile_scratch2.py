from __future__ import annotations

import pytest

from tests.van.test_scaffolder_hostile import register, template
from tests.van.test_scaffolder_runs import VALUES, bearer, start

pytestmark = pytest.mark.django_db

COMPONENT = ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
             "spec:\n  type: service\n  lifecycle: experimental\n  owner: {owner}\n")


def _plant(world, tmp_path, name, files, path):
    steps = [
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
        {"id": "publish", "action": "publish:git", "input": {"repoUrl": "wayline?owner=payments&repo=${{ parameters.name }}"}},
        {"id": "register", "action": "catalog:register",
         "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}", "catalogInfoPath": path}}]
    body = {"template.yaml": template(name, {"name": {"type": "string"}}, steps)}
    body.update({f"skeleton/{k}": v for k, v in files.items()})
    register(world, tmp_path, name, body)


@pytest.mark.parametrize("path", ["catalog-info.yaml,evil.yaml", "*.yaml"])
def test_glob_or_comma_path_bypasses_owner_check(van_world, golden, tmp_path, path, django_capture_on_commit_callbacks):
    from catalog.models import Entity, Location, RunState
    from catalog.scaffolder.runs import run_create, run_execute

    world = van_world[0]
    _plant(world, tmp_path, "plant", {
        "catalog-info.yaml": COMPONENT.format(name="ok-one", owner="group:default/payments"),
        "evil.yaml": COMPONENT.format(name="stolen", owner="group:default/search")
        + "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: sneaky\n"
          "spec:\n  type: team\n  children: []\n  members: [alice]\n"}, path)
    run = run_create(actor=world.alice, template_ref="template:default/plant", values={"name": "plantx"})
    with django_capture_on_commit_callbacks(execute=True):
        state = run_execute(run.pk)
    run.refresh_from_db()
    print("STATE", state, run.error, list(Location.objects.values_list("path", flat=True)))
    print("ENT", list(Entity.objects.filter(name__in=["stolen", "sneaky"]).values_list("ref", "location__owner_team__slug")))
    assert state == RunState.FAILED
    assert not Entity.objects.filter(name__in=["stolen", "sneaky"]).exists()


def test_kind_from_placeholder_bypasses_kind_check(van_world, golden, tmp_path, django_capture_on_commit_callbacks):
    from catalog.models import Entity, RunState
    from catalog.scaffolder.runs import run_create, run_execute

    world = van_world[0]
    info = ("apiVersion: backstage.io/v1alpha1\nkind:\n  $text: ./kind.txt\nmetadata:\n  name: hidden-loc\n"
            "spec:\n  owner: group:default/payments\n  target: ./evil.yaml\n")
    _plant(world, tmp_path, "plantk", {"catalog-info.yaml": info, "kind.txt": "Location",
                                       "evil.yaml": COMPONENT.format(name="stolen2", owner="group:default/search")},
           "catalog-info.yaml")
    run = run_create(actor=world.alice, template_ref="template:default/plantk", values={"name": "plantk"})
    with django_capture_on_commit_callbacks(execute=True):
        state = run_execute(run.pk)
    run.refresh_from_db()
    print("STATE", state, run.error)
    print("ENT", list(Entity.objects.filter(name__in=["stolen2", "hidden-loc"]).values_list("ref", "location__owner_team__slug")))
    assert state == RunState.FAILED


def _ci_template(world, tmp_path, name, app, van=""):
    register(world, tmp_path, name, {"template.yaml": template(name, {"x": {"type": "string"}}, [
        {"id": "ci", "action": "wayline:pipeline", "input": {"app": app, "van": van}}])})


def _run(user, name, dccc, values=None):
    from catalog.models import ScaffolderEvent
    from catalog.scaffolder.runs import run_create, run_execute
    run = run_create(actor=user, template_ref=f"template:default/{name}", values=values or {"x": "1"})
    with dccc(execute=True):
        state = run_execute(run.pk)
    run.refresh_from_db()
    said = " | ".join(str(e.body) for e in ScaffolderEvent.objects.filter(run=run))
    return state, run, said


def test_pipeline_on_existing_app_not_created_by_run(van_world, place_payments_everywhere, golden, tmp_path,
                                                    django_capture_on_commit_callbacks):
    from addons.models import CiPipeline
    world, van, hub, eu, us, app = van_world
    _ci_template(world, tmp_path, "cix", "payments-api")
    state, run, said = _run(world.alice, "cix", django_capture_on_commit_callbacks)
    print("STATE", state, run.error, said[-400:])
    print("PIPE", list(CiPipeline.objects.values_list("app__name", "created_by__username")))


def test_other_team_app_and_private_van(van_world, place_payments_everywhere, golden, tmp_path, svc,
                                        django_capture_on_commit_callbacks):
    from addons.models import CiPipeline
    world, van, hub, eu, us, app = van_world
    other = svc.app_create(actor=world.admin, name="search-api", owner_team=world.search, namespace="search",
                           repo_url="https://git.example.net/s.git", source_kind="kustomize", path="deploy",
                           image="registry.example.net/search-api", version="1.0.0", tags="search")
    _ci_template(world, tmp_path, "ciy", "search-api")
    state, run, said = _run(world.alice, "ciy", django_capture_on_commit_callbacks)
    print("OTHERAPP", state, run.error)
    assert state == "failed" and not CiPipeline.objects.exists()
    svc.van_update(actor=world.admin, obj=van, owner_team=world.search, visibility="private")
    for wanted in ("demo", "nope"):
        _ci_template(world, tmp_path, f"ciz{wanted}", "payments-api", wanted)
        state, run, said = _run(world.alice, f"ciz{wanted}", django_capture_on_commit_callbacks)
        print("VAN", wanted, state, run.error)


def test_existing_pipeline_on_now_invisible_van_named_in_log(van_world, place_payments_everywhere, golden, tmp_path,
                                                             svc, hub_keys, django_capture_on_commit_callbacks):
    from addons import services as addon_services
    from addons.selectors import pipeline_list
    world, van, hub, eu, us, app = van_world
    with django_capture_on_commit_callbacks(execute=True):
        p = addon_services.pipeline_create(actor=world.alice, app=app, van=van)
    svc.van_update(actor=world.admin, obj=van, owner_team=world.search, visibility="private")
    hub2 = svc.cluster_create(actor=world.admin, name="hub2", api_url="https://hub2.example.net:6443",
                              owner_team=world.payments, environment="dev", provider="onprem", tags="region=eu",
                              sealing_cert=hub_keys[1])
    svc.van_create(actor=world.admin, name="mine", owner_team=world.payments, hub=hub2, edges=[], hub_host="hub2.example.net")
    assert not pipeline_list(user=world.alice).filter(pk=p.pk).exists()
    _ci_template(world, tmp_path, "ciw", "payments-api")
    state, run, said = _run(world.alice, "ciw", django_capture_on_commit_callbacks)
    print("STATE", state, run.error, said[-600:])
    print("OUT", list(run.steps.values_list("output", flat=True)))
    assert "demo" not in said


def test_rotate_permissions(van_world, place_payments_everywhere, golden, client, svc, django_capture_on_commit_callbacks):
    from django.urls import reverse
    from addons import services as addon_services
    from addons.models import CiPipeline
    from portal.services import team_membership_set
    from portal.models import MembershipRole
    world, van, hub, eu, us, app = van_world
    with django_capture_on_commit_callbacks(execute=True):
        p = addon_services.pipeline_create(actor=world.alice, app=app, van=van)
    team_membership_set(actor=world.admin, team=world.payments, user=world.victor, role=MembershipRole.VIEWER)
    url = reverse("addons:pipeline_secrets_rotate", kwargs={"pk": p.pk})
    before = CiPipeline.objects.values_list("token_id", "secrets_manifest").get(pk=p.pk)
    r = client.post(url)
    print("ANON", r.status_code, r.get("Location"))
    for u in (world.bob, world.victor):
        client.force_login(u)
        r = client.post(url)
        print("USER", u.username, r.status_code)
    r = client.get(url)
    client.force_login(world.alice)
    print("GET", r.status_code)
    assert CiPipeline.objects.values_list("token_id", "secrets_manifest").get(pk=p.pk) == before
    svc.van_update(actor=world.admin, obj=van, owner_team=world.search, visibility="private")
    r = client.post(url)
    print("INVISIBLE VAN", r.status_code)
    assert CiPipeline.objects.values_list("token_id", "secrets_manifest").get(pk=p.pk) == before
    svc.van_update(actor=world.admin, obj=van, visibility="public")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url)
    print("VISIBLE NOT CHANGEABLE VAN", r.status_code)
    r = client.post(reverse("addons:pipeline_secrets_rotate", kwargs={"pk": 9999}))
    print("MISSING", r.status_code)


def test_owner_resolved_in_entity_namespace(van_world, golden, tmp_path, django_capture_on_commit_callbacks):
    from catalog.models import Entity
    from tests.factories import make_team
    world = van_world[0]
    make_team("eu-payments", members=[world.bob], actor=world.admin)
    info = ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: nsx\n  namespace: eu\n"
            "spec:\n  type: service\n  lifecycle: experimental\n  owner: payments\n")
    _plant(world, tmp_path, "plantn", {"catalog-info.yaml": info}, "catalog-info.yaml")
    state, run, said = _run(world.alice, "plantn", django_capture_on_commit_callbacks, {"name": "plantn"})
    e = Entity.objects.filter(name="nsx").first()
    print("NS", state, run.error, e and e.ref, e and list(e.relations_out.values_list("type", "target_ref")) if hasattr(e, "relations_out") else "")
    from catalog.models import Relation
    print("REL", list(Relation.objects.filter(source_ref__contains="nsx").values_list("type", "target_ref")) if hasattr(Relation, "source_ref") else [f.name for f in Relation._meta.fields])


def test_secret_echo_in_form(van_world, golden, tmp_path, client):
    from django.urls import reverse
    world = van_world[0]
    page1 = {"title": "S", "properties": {"token": {"type": "string", "ui:field": "Secret"}, "a": {"type": "string"}},
             "anyOf": [{"required": ["a"]}]}
    body = template("echo", {}, [{"id": "say", "action": "debug:log", "input": {"message": "hi"}}])
    body["spec"]["parameters"] = [page1]
    register(world, tmp_path, "echo", {"template.yaml": body})
    url = reverse("catalog:template_run", kwargs={"namespace": "default", "name": "echo"})
    client.force_login(world.alice)
    r = client.post(url, {"index": "0", "values_json": "{}", "go": "create", "p0-token": "SUPER-SECRET"})
    print("FORM", r.status_code, "SUPER-SECRET" in r.content.decode())
    api = bearer(world.alice)
    r = api.post("/api/scaffolder/v2/tasks", {"templateRef": "template:default/echo", "values": {},
                                              "secrets": {"token": "it's \"SUPER\""}}, format="json")
    print("API", r.status_code, r.content.decode()[:300])
