"""Infrastructure claims: declared in the portal, committed by the claim (its own root), reconciled on the hub by
Crossplane's provider-terraform; a Prod claim's change waits for approval; only the VAN's editors may claim."""
from __future__ import annotations

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.urls import reverse

from addons import services as addon_services
from addons.models import InfraClaim
from portal.crd_validation import validate_object
from portal.gitops.models import ChangeSet, ManagedFile

pytestmark = pytest.mark.django_db

MODULE = "git::https://git.example.net/platform/tf-cluster.git?ref=v1.2.0"


@pytest.fixture
def crossplane(van_world, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    installation = van.addons.get(slug="crossplane")
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_settings_set(actor=world.alice, installation=installation, settings={"cluster_module": MODULE})
    return installation


def latest(claim):
    return ChangeSet.objects.filter(owner_type__model="infraclaim", owner_id=claim.pk).latest("pk")


@pytest.mark.conformance
def test_a_claim_is_a_workspace_the_hub_applies_and_a_prod_change_waits(van_world, crossplane, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    with django_capture_on_commit_callbacks(execute=True):
        claim = addon_services.claim_create(actor=world.alice, van=van, name="shop-eu", environment="prod",
                                            node_count=3, node_size="medium")
    assert latest(claim).status == "awaiting_approval" and latest(claim).environment.slug == "prod"
    (change,) = latest(claim).files.all()
    workspace = yaml.safe_load(change.content)
    assert change.path == "claims/demo/shop-eu/workspace.yaml" and validate_object(workspace) == []
    assert workspace["spec"]["deletionPolicy"] == "Orphan" and workspace["spec"]["forProvider"]["module"] == MODULE
    assert {v["key"]: v["value"] for v in workspace["spec"]["forProvider"]["vars"]} == {
        "name": "shop-eu", "node_count": "3", "node_size": "medium"}
    syncer = yaml.safe_load(ManagedFile.objects.get(path="addons/demo/crossplane/argocd/claims.yaml").content)
    assert validate_object(syncer) == [] and syncer["spec"]["generators"][0]["git"]["directories"] == [{"path": "claims/demo/*"}]
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.claim_update(actor=world.alice, obj=claim, node_count=5, node_size="medium")
    waiting = latest(claim)
    assert waiting.status == "awaiting_approval" and waiting.revision == 2  # one diff to review, updated in place
    assert waiting.message.startswith("claim shop-eu of VAN demo: node count 3 -> 5")
    with django_capture_on_commit_callbacks(execute=True):
        dev = addon_services.claim_create(actor=world.alice, van=van, name="lab", environment="dev", node_count=1, node_size="small")
    assert latest(dev).status == "applied"


@pytest.mark.parametrize("changes, field", [
    ({"name": "Not A Label"}, "name"), ({"environment": "mars"}, "environment"), ({"node_count": 0}, "node_count"),
    ({"node_count": 101}, "node_count"), ({"node_size": "huge"}, "node_size"),
])
def test_bad_claims_are_refused_on_the_field(van_world, crossplane, changes, field):
    world, van, *_ = van_world
    fields = {"name": "shop", "environment": "dev", "node_count": 3, "node_size": "small"} | changes
    with pytest.raises(ValidationError) as refused:
        addon_services.claim_create(actor=world.alice, van=van, **fields)
    assert field in refused.value.message_dict and not InfraClaim.objects.exists()


def test_no_claim_without_crossplane_and_its_module(van_world):
    world, van, *_ = van_world
    with pytest.raises(ValidationError, match="no cluster module yet"):
        addon_services.claim_create(actor=world.alice, van=van, name="shop", environment="dev", node_count=1, node_size="small")


def test_the_page_shows_desired_against_not_observed_and_only_editors_claim(van_world, crossplane, client,
                                                                           django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    url = reverse("addons:van_claims", kwargs={"pk": van.pk})
    client.force_login(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"name": "shop-eu", "environment": "prod", "node_count": "3", "node_size": "medium"})
    assert response.status_code == 303
    page = client.get(url).content.decode()
    assert "not observed yet" in page and "waiting for approval" in page and 'id="claim-shop-eu"' in page
    claim = InfraClaim.objects.get()
    client.force_login(world.victor)  # sees the public VAN and its claims, may not claim or edit
    page = client.get(url).content.decode()
    assert 'id="claim-shop-eu"' in page and "Claim a cluster" not in page
    assert client.post(url, {"name": "x", "environment": "dev", "node_count": "1", "node_size": "small"}).status_code == 403
    assert client.post(reverse("addons:claim_edit", kwargs={"pk": claim.pk}), {"node_count": "9", "node_size": "large"}).status_code == 403
    van.visibility = "private"
    van.save()
    client.force_login(world.bob)
    assert client.get(url).status_code == 404
    assert client.get(reverse("addons:claim_edit", kwargs={"pk": claim.pk})).status_code == 404
    assert InfraClaim.objects.get().node_count == 3


def test_claims_through_the_api_a_prod_change_waits_and_deleting_keeps_the_infrastructure(
        van_world, crossplane, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    world, van, *_ = van_world
    api = APIClient()
    api.force_authenticate(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        made = api.post(reverse("claim-list"), {"van": "demo", "name": "shop-eu", "environment": "prod", "node_count": 3,
                                                "node_size": "medium"}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["node_count"], body["observed"], body["observed_at"], body["drift"]) == (3, {}, None, [])
    claim = InfraClaim.objects.get()
    assert latest(claim).status == "awaiting_approval"
    url = reverse("claim-detail", kwargs={"pk": claim.pk})
    assert api.patch(url, {"environment": "dev"}, format="json").status_code == 400  # its approval policy is fixed
    assert api.patch(url, {"node_count": 0}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        assert api.patch(url, {"node_count": 5}, format="json").json()["node_count"] == 5
    assert latest(claim).status == "awaiting_approval" and latest(claim).revision == 2  # the same diff, updated
    bob = APIClient()
    bob.force_authenticate(world.bob)
    assert bob.patch(url, {"node_count": 9}, format="json").status_code == 403  # sees the public VAN, may not change it
    assert bob.post(reverse("claim-list"), {"van": "demo", "name": "x", "environment": "dev", "node_count": 1,
                                            "node_size": "small"}, format="json").status_code in (400, 403)
    waiting = latest(claim)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(url).status_code == 204
    # never in git: its waiting change is withdrawn, so nobody can approve a claim that is gone
    waiting.refresh_from_db()
    assert waiting.status == "withdrawn" and not InfraClaim.objects.exists()
    assert not ChangeSet.objects.filter(owner_type__model="infraclaim", status="awaiting_approval").exists()
    # a Dev claim already in git: one change set removes its Workspace, and says the infrastructure is kept
    with django_capture_on_commit_callbacks(execute=True):
        made = api.post(reverse("claim-list"), {"van": "demo", "name": "lab", "environment": "dev", "node_count": 1,
                                                "node_size": "small"}, format="json").json()
    assert ManagedFile.objects.filter(path="claims/demo/lab/workspace.yaml").exists()
    before = set(ChangeSet.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(reverse("claim-detail", kwargs={"pk": made["id"]})).status_code == 204
    removal = ChangeSet.objects.exclude(pk__in=before).get()
    assert [f.path for f in removal.files.all()] == ["claims/demo/lab/workspace.yaml"] and removal.status == "applied"
    assert "the infrastructure is kept" in removal.message
    assert not ManagedFile.objects.filter(path__startswith="claims/demo/").exists()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_claiming_a_prod_cluster_and_changing_its_node_count_waits_for_approval_in_the_browser(
        van_world, live_server, page, client, django_capture_on_commit_callbacks):
    from pathlib import Path

    from playwright.sync_api import expect

    world, van, *_ = van_world
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.addon_settings_set(actor=world.alice, installation=van.addons.get(slug="crossplane"),
                                          settings={"cluster_module": MODULE})
    client.force_login(world.alice)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page.goto(live_server.url + reverse("addons:van_claims", kwargs={"pk": van.pk}))
    page.locator("#id_name").fill("shop-eu")
    page.locator("#id_environment").select_option("prod")
    page.locator("#id_node_count").fill("3")
    page.get_by_role("button", name="Propose").click()
    row = page.locator("#claim-shop-eu")
    expect(row).to_contain_text("waiting for approval")
    expect(row).to_contain_text("not observed yet")
    row.get_by_role("link", name="Edit").click()
    page.locator("#id_node_count").fill("5")
    page.get_by_role("button", name="Propose").click()
    expect(page.locator("#claim-shop-eu")).to_contain_text("5")
    expect(page.locator("#claim-shop-eu")).to_contain_text("waiting for approval")
    # the hub reports the Workspace: someone scaled the cluster to 4 in the cloud console
    from addons.status import store_workspaces
    from tests.van.test_addon_status import workspace

    store_workspaces(van, [workspace("demo", "shop-eu", node_count=4)])
    page.reload()
    expect(page.locator("#claim-shop-eu")).to_contain_text("drift: node count 4 (want 5)")
    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "claims.png"), full_page=True)
    assert latest(InfraClaim.objects.get()).status == "awaiting_approval"


def test_a_claims_name_is_not_reused_while_its_removal_waits_for_approval(van_world, crossplane,
                                                                         django_capture_on_commit_callbacks):
    """Found by a hostile review: deleting an approved Prod claim and claiming its name again as Dev rewrote the
    Prod Workspace at once, without approval."""
    from portal.gitops.services import changeset_approve

    world, van, *_ = van_world
    with django_capture_on_commit_callbacks(execute=True):
        claim = addon_services.claim_create(actor=world.alice, van=van, name="shop-eu", environment="prod", node_count=3,
                                            node_size="medium")
    waiting = latest(claim)
    with django_capture_on_commit_callbacks(execute=True):
        changeset_approve(actor=world.admin, changeset=waiting, revision=waiting.revision)
    assert ManagedFile.objects.filter(path="claims/demo/shop-eu/workspace.yaml").exists()
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.claim_delete(actor=world.alice, obj=claim)
    with pytest.raises(ValidationError) as refused:
        addon_services.claim_create(actor=world.alice, van=van, name="shop-eu", environment="dev", node_count=100,
                                    node_size="large")
    assert "still being removed" in refused.value.message_dict["name"][0]
    workspace = yaml.safe_load(ManagedFile.objects.get(path="claims/demo/shop-eu/workspace.yaml").content)
    assert {v["key"]: v["value"] for v in workspace["spec"]["forProvider"]["vars"]}["node_count"] == "3"
