"""VAN services end to end: models -> render -> propose_change -> a real git repo (Celery eager)."""
from __future__ import annotations

import logging
import subprocess

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.db import connection

from tests.van.conftest import EDGE_TOKEN
from tests.van.kubeseal_reference import unseal
from van import services
from van.models import App, Cluster, SealedValue

pytestmark = pytest.mark.django_db


def git(path, *args) -> str:
    return subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, text=True).stdout


def read(bare, path):
    try:
        return git(bare, "show", f"main:{path}")
    except subprocess.CalledProcessError:
        return None


def test_creating_a_van_commits_its_files(van_world, gitops):
    world, van, *_ = van_world
    files = git(gitops, "ls-tree", "-r", "--name-only", "main").split()
    assert "vans/demo/hub/clusters/edge-eu.yaml" in files and "vans/demo/clusters/edge-eu/skupper/link.yaml" in files
    assert "vans/demo/bootstrap.yaml" in files


def test_a_rule_commits_applicationsets_and_adding_an_edge_only_its_files(svc, van_world, gitops, hub_keys):
    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region in (eu, us)")
    tree_before = set(git(gitops, "ls-tree", "-r", "--name-only", "main").split())
    appsets = [p for p in tree_before if "/applicationsets/payments-eu/" in p]
    assert appsets == ["vans/demo/hub/applicationsets/payments-eu/payments-api.yaml"]
    head = git(gitops, "rev-parse", "main").strip()
    svc.van_edge_add(actor=world.admin, van=van, cluster=us)
    everything = set(git(gitops, "diff", "--name-only", head, "main").split())
    changed = {p for p in everything if p.startswith("vans/")}  # the add-ons' own change sets follow the edge too
    assert all(p.startswith("addons/demo/") for p in everything - changed)
    assert changed == {
        "vans/demo/hub/clusters/edge-us.yaml", "vans/demo/clusters/edge-us/skupper/site.yaml",
        "vans/demo/clusters/edge-us/skupper/link.yaml", "vans/demo/clusters/edge-us/skupper/link-credentials.yaml",
        "vans/demo/clusters/edge-us/skupper/kube-api.yaml", "vans/demo/clusters/hub/skupper/kube-api-edge-us.yaml",
    }
    head = git(gitops, "rev-parse", "main").strip()
    svc.van_edge_remove(actor=world.admin, van=van, cluster=us)
    assert set(git(gitops, "diff", "--name-only", head, "main").split()) == everything
    assert set(git(gitops, "ls-tree", "-r", "--name-only", "main").split()) == tree_before


def test_upgrade_and_rollback_edit_the_manifest_and_keep_history(svc, van_world, gitops):
    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    path = "vans/demo/hub/applicationsets/payments-eu/payments-api.yaml"
    assert "payments-api:1.0.0" in read(gitops, path)
    release = svc.app_version_set(actor=world.alice, app=app, version="1.1.0")
    assert "payments-api:1.1.0" in read(gitops, path)
    assert release.changesets.count() == 1 and release.author == world.alice
    first = app.releases.order_by("pk").first()
    back = svc.app_rollback(actor=world.alice, app=app, release=first)
    assert "payments-api:1.0.0" in read(gitops, path) and back.rollback_of == first
    assert [r.version for r in app.releases.all()] == ["1.0.0", "1.1.0", "1.0.0"]
    with pytest.raises(ValidationError) as exc:
        svc.app_version_set(actor=world.alice, app=app, version="1.0 beta")
    assert "version" in exc.value.message_dict


def test_prod_placements_wait_for_approval(svc, van_world, gitops, edge_keys):
    world, van, hub, eu, us, app = van_world
    prod = svc.cluster_create(actor=world.admin, name="edge-prod", api_url="https://p.example.net", owner_team=world.payments,
                                   environment="prod", provider="gke", tags="region=eu", sealing_cert=edge_keys[1],
                                   credentials_kind="token", credentials="prod-token-abc")
    cs = svc.van_edge_add(actor=world.admin, van=van, cluster=prod)
    from portal.gitops.models import ChangeSet
    latest = ChangeSet.objects.order_by("-pk").first()
    assert latest.environment.slug == "prod" and latest.status == "awaiting_approval"
    assert read(gitops, "vans/demo/hub/clusters/edge-prod.yaml") is None
    assert cs.name == "edge-prod"


def test_credentials_never_reach_git_database_logs_or_audit(svc, van_world, gitops, hub_keys, caplog):
    caplog.set_level(logging.DEBUG)
    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.admin, van=van, name="r", app_tags="payments", cluster_selector="")
    secret = f"{EDGE_TOKEN}-edge-eu"
    history = git(gitops, "log", "-p", "--all")
    assert secret not in history and "PRIVATE KEY" not in history
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials, link_key FROM van_cluster WHERE name = 'edge-eu'")
        stored = cursor.fetchone()
        cursor.execute("SELECT link_ca_key FROM van_van")
        ca_key = cursor.fetchone()[0]
        cursor.execute("SELECT changes FROM portal_auditevent")
        audit = " ".join(str(row[0]) for row in cursor.fetchall())
    assert secret not in stored[0] and "PRIVATE KEY" not in stored[1] and "PRIVATE KEY" not in ca_key
    assert secret not in audit
    assert secret not in caplog.text
    assert not any(secret in s for s in SealedValue.objects.values_list("sealed", flat=True))
    # ...but the sealed cluster Secret opens on the hub with the controller's key.
    doc = yaml.safe_load(read(gitops, "vans/demo/hub/clusters/edge-eu.yaml"))
    assert secret in unseal(hub_keys[0], doc)["config"].decode()
    assert Cluster.objects.get(name="edge-eu").credentials == secret


def test_republishing_an_unchanged_van_proposes_nothing(svc, van_world):
    world, van, *_ = van_world
    assert svc.van_publish(actor=world.admin, van=van, message="again") is None


@pytest.mark.parametrize("fields, field", [
    ({"tags": "region=eu west=-x"}, "tags"),
    ({"credentials_kind": "kubeconfig", "credentials": "apiVersion: v1\ncurrent-context: nope\n"}, "credentials"),
    ({"sealing_cert": "not a cert"}, "sealing_cert"),
    ({"name": "Bad_Name"}, "name"),
])
def test_invalid_cluster_input_is_refused_with_field_errors(svc, world, fields, field):
    kwargs = dict(actor=world.admin, name="c1", api_url="https://c1.example.net", owner_team=world.payments, environment="dev", provider="eks")
    with pytest.raises(ValidationError) as exc:
        svc.cluster_create(**(kwargs | fields))
    assert field in exc.value.message_dict, exc.value.message_dict


@pytest.mark.parametrize("fields, field", [
    ({"inter_router_port": 0}, "inter_router_port"),
    ({"edge_port": 65536}, "edge_port"),
    ({"edge_port": 2 ** 63 - 1}, "edge_port"),  # PostgreSQL's integer column would refuse it with a server error
    ({"hub_host": "0" * 96}, "hub_host"),
    ({"hub_host": "hub..example.net"}, "hub_host"),
    ({"hub_host": "-hub.example.net"}, "hub_host"),
])
def test_invalid_van_settings_are_refused_with_field_errors(svc, van_world, fields, field):
    world, van, *_ = van_world
    with pytest.raises(ValidationError) as exc:
        svc.van_update(actor=world.admin, obj=van, **fields)
    assert field in exc.value.message_dict, exc.value.message_dict


def test_van_hub_address_may_be_a_host_name_or_an_ip_address(svc, van_world):
    world, van, *_ = van_world
    for host in ("10.0.0.7", "2001:db8::7", "skupper.hub-eu.example.net", "hub"):
        assert svc.van_update(actor=world.admin, obj=van, hub_host=host).hub_host == host


def test_the_hub_cannot_also_be_an_edge(svc, van_world):
    world, van, hub, eu, us, app = van_world
    with pytest.raises(ValidationError) as exc:
        svc.van_update(actor=world.admin, obj=van, edges=[eu, Cluster.objects.get(pk=hub.pk)])
    assert "is the hub of VAN demo" in str(exc.value.message_dict["edges"])
    assert Cluster.objects.get(pk=hub.pk).role == "hub" and Cluster.objects.get(pk=eu.pk).role == "edge"


def test_kubeconfig_is_read_from_its_current_context():
    kubeconfig = """
apiVersion: v1
kind: Config
current-context: prod
contexts: [{name: prod, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: https://x, certificate-authority-data: Zm9v}}]
users: [{name: u, user: {token: abc.def}}]
"""
    creds = services.credentials_parse("kubeconfig", kubeconfig)
    assert creds.bearer_token == "abc.def" and creds.ca_data == "Zm9v"
    with pytest.raises(ValidationError, match="exec"):
        services.credentials_parse("kubeconfig", kubeconfig.replace("{token: abc.def}", "{exec: {command: aws}}"))


@pytest.mark.parametrize("fields, field", [
    ({"cluster_selector": "region in ()"}, "cluster_selector"),
    ({"app_tags": ""}, "app_tags"),
    ({"environments": ["moon"]}, "environments"),
    ({"name": "Not Valid"}, "name"),
])
def test_invalid_rules_are_refused_with_field_errors(svc, van_world, fields, field):
    world, van, *_ = van_world
    kwargs = dict(actor=world.admin, van=van, name="r1", app_tags="payments", cluster_selector="region=eu")
    with pytest.raises(ValidationError) as exc:
        svc.rule_create(**(kwargs | fields))
    assert field in exc.value.message_dict


def test_invalid_app_input_is_refused(svc, world):
    with pytest.raises(ValidationError) as exc:
        svc.app_create(actor=world.admin, name="a", owner_team=world.payments, namespace="n", repo_url="https://x",
                            source_kind="helm", chart="", version="1")
    assert "chart" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        svc.app_create(actor=world.admin, name="a", owner_team=world.payments, namespace="n", repo_url="https://x",
                            source_kind="kustomize", path=".", overrides={"prod": {"version": "bad version"}})
    assert "overrides" in exc.value.message_dict
    assert not App.objects.exists()


def test_van_render_command_writes_exactly_the_committed_files(svc, van_world, gitops, tmp_path):
    from django.core.management import call_command

    world, van, *_ = van_world
    svc.rule_create(actor=world.admin, van=van, name="r", app_tags="payments", cluster_selector="region=eu")
    out = tmp_path / "out"
    call_command("van_render", "demo", "--output", str(out))
    written = {str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file()}
    committed = [p for p in git(gitops, "ls-tree", "-r", "--name-only", "main").split() if p.startswith("vans/demo/")]
    assert sorted(written) == sorted(committed)
    assert all(read(gitops, path) == text for path, text in written.items())
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="no VAN"):
        call_command("van_render", "nope", "--output", str(out))


def test_a_dev_only_version_change_does_not_wait_for_prod_approval(svc, van_world, edge_keys):
    from portal.gitops.models import ChangeSet
    from portal.gitops.services import changeset_approve
    from tests.factories import make_user

    world, van, hub, eu, us, app = van_world
    prod = svc.cluster_create(actor=world.admin, name="edge-prod", api_url="https://p.example.net", owner_team=world.payments,
                              environment="prod", provider="gke", tags="region=eu", sealing_cert=edge_keys[1],
                              credentials_kind="token", credentials="prod-token-abc")
    svc.van_edge_add(actor=world.admin, van=van, cluster=prod)
    svc.app_update(actor=world.admin, obj=app, overrides={"prod": {"version": "0.9.0"}})
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    vans = ChangeSet.objects.filter(owner_label="VAN demo")  # the VAN's own (its add-ons have theirs)
    rule_change = vans.order_by("-pk").first()
    assert rule_change.environment.slug == "prod"  # the rule places onto the prod edge
    # While it waits, an edit of the same files joins it (one diff to approve); once approved, nothing waits.
    with svc._capture(execute=True):
        changeset_approve(actor=make_user("ops", superuser=True), changeset=rule_change)
    svc.app_version_set(actor=world.alice, app=app, version="1.1.0")  # prod keeps its override
    latest = vans.order_by("-pk").first()
    assert latest.environment.slug == "dev" and latest.status == "applied"
    assert [f.path for f in latest.files.all()] == ["vans/demo/hub/applicationsets/payments-eu/payments-api.dev-qa-staging.yaml"]
    assert not [cs for cs in ChangeSet.objects.all() if cs.status == "failed"]


def test_component_ref_must_be_an_entity_ref(svc, world):
    with pytest.raises(ValidationError) as exc:
        svc.app_create(actor=world.admin, name="a", owner_team=world.payments, namespace="n", repo_url="https://x",
                       source_kind="kustomize", path=".", component_ref="api:default/x")
    assert "component_ref" in exc.value.message_dict
