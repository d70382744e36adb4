"""Every GitOps write has an owner: a VAN's change sets are bounded to its folder, take their environment
from it, are read and acted on through it, and a newer edit updates the one waiting for approval."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from portal.gitops.choices import ChangeSetStatus
from portal.gitops.models import ChangeSet, GitOpsRepo
from portal.gitops.services import changeset_approve, propose_change
from portal.services import team_membership_set
from tests.factories import make_user
from tests.van.conftest import EDGE_TOKEN
from tests.van.test_services import read
from van.models import DistributionRule

pytestmark = pytest.mark.django_db

APPSET = "vans/demo/hub/applicationsets/payments-prod/payments-api.yaml"


@pytest.fixture
def prod_van(van_world, svc, edge_keys):
    """The demo VAN with a Prod edge and a rule placing payments-api there (its ApplicationSet is Prod's)."""
    world, van, hub, eu, us, app = van_world
    prod = svc.cluster_create(actor=world.admin, name="edge-prod", api_url="https://edge-prod.example.net:6443",
                              owner_team=world.payments, environment="prod", provider="eks", tags="tier=gold",
                              sealing_cert=edge_keys[1], credentials_kind="token", credentials=f"{EDGE_TOKEN}-prod")
    svc.van_edge_add(actor=world.admin, van=van, cluster=prod)
    svc.rule_create(actor=world.alice, van=van, name="payments-prod", app_tags="payments", cluster_selector="tier=gold")
    # Both waited for a Prod approver: the platform admin (not their author) approves them.
    for cs in ChangeSet.objects.filter(status=ChangeSetStatus.AWAITING_APPROVAL):
        svc_approve(svc, world.admin if cs.author_id != world.admin.pk else world.carol_approver, cs)
    return world, van, app, prod


def svc_approve(svc, actor, cs, revision=None):
    with svc._capture(execute=True):
        return changeset_approve(actor=actor, changeset=cs, revision=revision)


@pytest.fixture(autouse=True)
def _second_admin(world):
    world.carol_approver = make_user("ops", superuser=True)


def test_an_owned_change_stays_in_its_folder(van_world):
    world, van, *_ = van_world
    for path, text in [("vans/other/x.yaml", "outside vans/demo/"), ("vans/demo/../other/x.yaml", "'..' segment"),
                       ("vans/demo/.git/config", ".git"), ("vans/demo//x.yaml", "empty"), ("vans/demo/x\x07.yaml", "control"),
                       ("/vans/demo/x.yaml", "relative")]:
        with pytest.raises(ValidationError) as exc:
            propose_change(actor=world.alice, owner=van, files_to_write={path: "x: 1\n"}, message="escape")
        assert text in " ".join(exc.value.message_dict["files_to_write"]), path
    with pytest.raises(ValidationError) as exc:
        propose_change(actor=world.alice, owner=van, files_to_write={"vans/demo/x.yaml": "x"},
                       message="fine\n\nApproved-by: Mallory <m@example.net>")
    assert "message" in exc.value.message_dict
    assert not ChangeSet.objects.filter(message__contains="escape").exists()


def test_the_environment_comes_from_the_owner(prod_van):
    world, van, app, prod = prod_van
    dev_path = "vans/demo/clusters/edge-eu/notes.yaml"
    assert propose_change(actor=world.alice, owner=van, files_to_write={dev_path: "a: 1\n"}, message="dev note").environment.slug == "dev"
    cs = propose_change(actor=world.alice, owner=van, files_to_write={"vans/demo/clusters/edge-prod/notes.yaml": "a: 1\n"},
                        message="prod note")
    assert cs.environment.slug == "prod" and cs.environment.requires_approval
    with pytest.raises(ValueError):
        propose_change(actor=world.alice, owner=van, files_to_write={dev_path: "a: 2\n"}, message="x", environment="dev")


def test_raw_writes_are_for_platform_admins_and_always_reviewed(prod_van):
    world, van, *_ = prod_van
    api = APIClient()
    body = {"message": "hostile", "environment": "dev", "files_to_write": {APPSET: "kind: Evil\n"}}
    assert api.post(reverse("changeset-list"), body, format="json").status_code in (401, 403)
    for user in (world.alice, world.carol, world.bob, world.victor):
        api.force_authenticate(user)
        assert api.post(reverse("changeset-list"), body, format="json").status_code == 403, user
    api.force_authenticate(world.admin)
    response = api.post(reverse("changeset-list"), body, format="json")
    assert response.status_code == 201
    assert response.json()["environment"] == "prod" and response.json()["status"] != ChangeSetStatus.APPLIED


def test_change_sets_are_read_through_their_owner(prod_van):
    world, van, app, prod = prod_van
    cs = ChangeSet.objects.filter(owner_id=van.pk).order_by("-pk").first()
    assert cs is not None and cs.owner == van and cs.owner_label == "VAN demo"
    api, client = APIClient(), __import__("django.test", fromlist=["Client"]).Client()
    # The VAN is public, but its diffs carry its team's private apps: only its team, Prod approvers and admins read them.
    for user, page, api_status in ((world.alice, 200, 200), (world.carol, 200, 200), (world.bob, 404, 404), (world.victor, 404, 404),
                                   (world.admin, 200, 200)):
        client.force_login(user)
        api.force_authenticate(user)
        assert client.get(reverse("gitops:changeset", kwargs={"pk": cs.pk})).status_code == page, user
        assert api.get(reverse("changeset-detail", kwargs={"pk": cs.pk})).status_code == api_status, user
        listed = {row["id"] for row in api.get(reverse("changeset-list")).json()["results"]}
        assert (cs.pk in listed) == (api_status == 200), user
        history = api.get(reverse("gitopsrepo-history", kwargs={"pk": cs.repo_id})).json()
        assert any(cs.pk in c["change_ids"] for c in history) == (api_status == 200), user
    client.logout()
    assert client.get(reverse("gitops:changeset", kwargs={"pk": cs.pk})).status_code == 302


def test_retry_and_revert_need_change_on_the_owner(prod_van, django_capture_on_commit_callbacks):
    world, van, app, prod = prod_van
    applied = ChangeSet.objects.filter(owner_id=van.pk, status=ChangeSetStatus.APPLIED, environment__slug="dev").first()
    ChangeSet.objects.filter(pk=applied.pk).update(status=ChangeSetStatus.FAILED, error="push rejected")
    viewer = make_user("vera")
    team_membership_set(actor=world.admin, team=world.payments, user=viewer, role="viewer")
    api = APIClient()
    for action in ("retry", "revert"):
        url = reverse(f"changeset-{action}", kwargs={"pk": applied.pk})
        assert api.post(url, {}, format="json").status_code in (401, 403)
        api.force_authenticate(world.bob)  # another team: cannot even see it
        assert api.post(url, {}, format="json").status_code == 404
        api.force_authenticate(viewer)  # the owner's team, but a viewer
        assert api.post(url, {}, format="json").status_code == 403
        api.force_authenticate(None)
    client = __import__("django.test", fromlist=["Client"]).Client()
    client.force_login(world.bob)
    assert client.post(reverse("gitops:changeset_retry", kwargs={"pk": applied.pk})).status_code == 404
    client.force_login(viewer)
    assert client.post(reverse("gitops:changeset_retry", kwargs={"pk": applied.pk})).status_code == 403
    applied.refresh_from_db()
    assert applied.status == ChangeSetStatus.FAILED
    api.force_authenticate(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(reverse("changeset-retry", kwargs={"pk": applied.pk}), {}, format="json").status_code == 200


def test_a_rule_follows_its_van_when_the_van_changes_hands(van_world, svc):
    world, van, *_ = van_world
    rule = svc.rule_create(actor=world.alice, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    api = APIClient()
    url = reverse("rule-detail", kwargs={"pk": rule.pk})
    api.force_authenticate(world.bob)
    assert api.patch(url, {"order": 7}, format="json").status_code == 403
    svc.van_update(actor=world.admin, obj=van, owner_team=world.search)
    assert api.patch(url, {"order": 7}, format="json").status_code == 200
    api.force_authenticate(world.alice)  # the former owner: the page and the API agree she may not
    assert api.patch(url, {"order": 8}, format="json").status_code == 403
    client = __import__("django.test", fromlist=["Client"]).Client()
    client.force_login(world.alice)
    assert client.get(reverse("van:rule_edit", kwargs={"pk": rule.pk})).status_code == 403
    assert DistributionRule.objects.get(pk=rule.pk).order == 7


def test_a_van_keeps_its_name(van_world, svc):
    world, van, *_ = van_world
    with pytest.raises(ValidationError) as exc:
        svc.van_update(actor=world.admin, obj=van, name="renamed")
    assert "name" in exc.value.message_dict


def test_upgrade_then_rollback_while_waiting_is_one_change_and_git_stays_right(prod_van, svc, gitops):
    world, van, app, prod = prod_van
    assert "payments-api:1.0.0" in read(gitops, APPSET)
    svc.app_version_set(actor=world.alice, app=app, version="1.1.0")
    waiting = ChangeSet.objects.get(owner_id=van.pk, status=ChangeSetStatus.AWAITING_APPROVAL)
    assert waiting.revision == 1 and "1.1.0" in waiting.files.get(path=APPSET).content
    svc.app_version_set(actor=world.carol, app=app, version="1.2.0")  # a newer edit updates it in place
    assert ChangeSet.objects.filter(owner_id=van.pk, status__in=["pending", "awaiting_approval"]).count() == 1
    waiting.refresh_from_db()
    assert waiting.revision == 2 and "1.2.0" in waiting.files.get(path=APPSET).content
    assert waiting.status == ChangeSetStatus.AWAITING_APPROVAL and {u.username for u in waiting.contributors.all()} == {"alice", "carol"}
    with pytest.raises(ValidationError, match="updated since"):
        changeset_approve(actor=world.admin, changeset=waiting, revision=1)  # the diff the approver saw is gone
    assert not ChangeSet.objects.permits(world.carol, "approve", waiting) and not ChangeSet.objects.permits(world.alice, "approve", waiting)
    first = app.releases.order_by("pk").first()
    svc.app_rollback(actor=world.alice, app=app, release=first)  # back to what git holds: nothing left to approve
    waiting.refresh_from_db()
    assert waiting.status == ChangeSetStatus.WITHDRAWN
    assert "payments-api:1.0.0" in read(gitops, APPSET)
    svc.app_version_set(actor=world.alice, app=app, version="1.3.0")
    waiting = ChangeSet.objects.get(owner_id=van.pk, status=ChangeSetStatus.AWAITING_APPROVAL)
    svc_approve(svc, world.admin, waiting, revision=waiting.revision)
    waiting.refresh_from_db()
    assert waiting.status == ChangeSetStatus.APPLIED and "payments-api:1.3.0" in read(gitops, APPSET)
    app.refresh_from_db()
    assert app.version == "1.3.0"
    assert waiting.approvals.get().revision == waiting.revision


def test_several_waiting_changes_are_decided_at_once(prod_van, svc, client, django_capture_on_commit_callbacks):
    world, van, app, prod = prod_van
    svc.app_version_set(actor=world.alice, app=app, version="2.0.0")
    other = propose_change(actor=world.alice, owner=van, files_to_write={"vans/demo/clusters/edge-prod/extra.yaml": "x: 1\n"},
                           message="extra")  # the same owner and environment: folded into the waiting one
    assert other.revision == 2
    raw = propose_change(actor=world.carol_approver, owner=None, files_to_write={"notes/a.yaml": "a\n"}, message="raw note")
    queue = list(ChangeSet.objects.filter(status__in=["pending", "awaiting_approval"]).order_by("pk"))
    assert len(queue) == 2
    from portal.gitops import engine
    engine.apply_pending(raw.repo_id)
    client.force_login(world.admin)
    page = client.get(reverse("gitops:approval_queue")).content.decode()
    assert f'value="{other.pk}:2"' in page and f'value="{raw.pk}:1"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("gitops:approval_queue"), {"decision": "approve", "change": [f"{other.pk}:2", f"{raw.pk}:1"]})
    assert response.status_code == 302
    assert set(ChangeSet.objects.filter(pk__in=[other.pk, raw.pk]).values_list("status", flat=True)) == {ChangeSetStatus.APPLIED}
    client.force_login(world.alice)  # not an approver: the queue offers her nothing, and a forged pick is refused
    assert 'name="change"' not in client.get(reverse("gitops:approval_queue")).content.decode()


def test_messages_never_name_an_app_the_readers_may_not_see(van_world, svc):
    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.alice, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    theirs = svc.app_create(actor=world.admin, name="secret-search", owner_team=world.search, namespace="search",
                            repo_url="https://git.example.net/s.git", source_kind="kustomize", path="deploy", tags="payments")
    # Public: the payments VAN places it and may name it. Made private to search, it leaves the VAN unnamed.
    svc.app_update(actor=world.admin, obj=theirs, visibility="private")
    latest = ChangeSet.objects.filter(owner_id=van.pk).order_by("-pk").first()
    assert "secret-search" not in latest.message and "an app of another team" in latest.message


def test_joining_a_cluster_of_an_invisible_van_does_not_name_it(van_world, svc):
    world, van, hub, eu, us, app = van_world
    svc.van_update(actor=world.admin, obj=van, visibility="private")
    mine = svc.cluster_create(actor=world.admin, name="hub-b", api_url="https://hub-b.example.net:6443", owner_team=world.search,
                              environment="dev", provider="eks")
    with pytest.raises(ValidationError) as exc:
        svc.van_create(actor=world.bob, name="search-van", owner_team=world.search, hub=mine, edges=[us.__class__.objects.get(pk=eu.pk)])
    assert "demo" not in str(exc.value) and "another VAN" in str(exc.value)


def test_repo_counts_only_what_the_reader_may_see(prod_van, client):
    world, van, app, prod = prod_van
    propose_change(actor=world.alice, owner=van, files_to_write={"vans/demo/clusters/edge-eu/n.yaml": "n: 1\n"}, message="queued")
    repo = GitOpsRepo.objects.get()
    from portal.gitops.selectors import repo_list
    assert repo_list(user=world.alice).get(pk=repo.pk).pending_count == 1
    assert repo_list(user=world.bob).get(pk=repo.pk).pending_count == 0


def test_the_app_page_shows_a_version_that_is_not_in_git_yet(prod_van, svc, client):
    world, van, app, prod = prod_van
    svc.app_version_set(actor=world.alice, app=app, version="1.5.0")
    waiting = ChangeSet.objects.get(owner_id=van.pk, status=ChangeSetStatus.AWAITING_APPROVAL)
    client.force_login(world.alice)
    page = client.get(reverse("van:app", kwargs={"pk": app.pk})).content.decode()
    assert "payments-api:1.5.0" in page and f'pending: <a href="{waiting.get_absolute_url()}">#{waiting.pk}</a> <small class="muted">awaiting approval in demo' in page
    client.force_login(world.bob)  # sees the public app, not the VAN's change sets: no number, no badge
    page = client.get(reverse("van:app", kwargs={"pk": app.pk})).content.decode()
    assert f"#{waiting.pk}" not in page
    svc_approve(svc, world.admin, waiting, revision=waiting.revision)
    client.force_login(world.alice)
    assert "pending:" not in client.get(reverse("van:app", kwargs={"pk": app.pk})).content.decode()


def test_requires_approval_is_read_from_the_environment_rows(van_world):
    from portal.gitops.models import Environment
    from van.services import van_change_environment

    world, van, *_ = van_world
    assert van_change_environment(van=van, paths=[], hints=["dev", "staging"]) == "staging"
    Environment.objects.filter(slug="dev").update(requires_approval=True)  # an admin protects Dev
    assert van_change_environment(van=van, paths=[], hints=["dev", "staging"]) == "dev"
    cs = propose_change(actor=world.alice, owner=van, files_to_write={"vans/demo/clusters/edge-eu/n.yaml": "n: 1\n"}, message="n")
    assert cs.environment.slug == "dev" and cs.environment.requires_approval


def test_the_rule_preview_warns_for_the_environments_that_wait_for_approval(prod_van, svc, client):
    from portal.gitops.models import Environment

    world, van, app, prod = prod_van
    svc.app_create(actor=world.alice, name="ledger", owner_team=world.payments, namespace="ledger", repo_url="https://git.example.net/l.git",
                   source_kind="kustomize", path="deploy", tags="ledger")
    client.force_login(world.alice)
    url = reverse("van:rule_add", kwargs={"van_pk": van.pk})

    def preview(selector):
        return client.post(url, {"_preview": "1", "name": "more", "app_tags": "ledger", "cluster_selector": selector,
                                 "order": "50", "app_match": "all", "sync": "automated"}, HTTP_HX_REQUEST="true").content.decode()

    assert "This touches Prod" in preview("tier=gold")
    assert "This touches" not in preview("region=eu")  # the Dev edge only
    Environment.objects.filter(slug="dev").update(requires_approval=True)
    assert "This touches Dev" in preview("region=eu")


def test_relabelling_a_prod_cluster_is_a_prod_change(prod_van, svc):
    """A Dev label on a Prod cluster must not turn its next deployments into unreviewed Dev changes."""
    world, van, app, prod = prod_van
    svc.cluster_update(actor=world.alice, obj=prod, environment="dev")
    relabel = ChangeSet.objects.filter(owner_id=van.pk).order_by("-pk").first()
    assert relabel.environment.slug == "prod" and relabel.status == ChangeSetStatus.AWAITING_APPROVAL


def test_an_upgrade_answers_only_with_change_sets_the_caller_may_see(prod_van, svc, edge_keys):
    from portal.models import AuditEvent

    world, van, app, prod = prod_van
    hub = svc.cluster_create(actor=world.admin, name="hub-s", api_url="https://hub-s.example.net:6443", owner_team=world.search,
                             environment="dev", provider="eks", sealing_cert=edge_keys[1])
    secret = svc.van_create(actor=world.admin, name="secretvan", owner_team=world.search, hub=hub, hub_host="hub-s.example.net",
                            visibility="private")
    svc.rule_create(actor=world.admin, van=secret, name="grab", app_tags="payments", cluster_selector="")
    api = APIClient()
    api.force_authenticate(world.alice)
    with svc._capture(execute=True):
        response = api.post(reverse("app-version", kwargs={"pk": app.pk}), {"version": "9.9.9"}, format="json")
    assert response.status_code == 200
    theirs = ChangeSet.objects.filter(owner_id=secret.pk).order_by("-pk").first()
    assert theirs is not None and theirs.pk not in response.json()["changesets"]
    assert not AuditEvent.objects.restrict(world.alice).filter(changes__icontains="secretvan").exists()
    assert not AuditEvent.objects.restrict(world.alice).filter(object_repr__icontains="secretvan").exists()


def test_van_rule_and_cluster_pages_mark_what_is_not_in_git_yet(prod_van, svc, client):
    world, van, app, prod = prod_van
    rule = van.rules.get(name="payments-prod")
    svc.rule_update(actor=world.alice, obj=rule, order=5, sync="manual")  # a Prod placement: waits for approval
    waiting = ChangeSet.objects.get(owner_id=van.pk, status=ChangeSetStatus.AWAITING_APPROVAL)
    pages = {"van": reverse("van:van", kwargs={"pk": van.pk}), "rule": reverse("van:rule", kwargs={"pk": rule.pk}),
             "cluster": reverse("van:cluster", kwargs={"pk": prod.pk})}
    client.force_login(world.alice)
    for name in ("van", "rule"):
        assert f"#{waiting.pk}</a> awaiting approval" in client.get(pages[name]).content.decode(), name
    assert "Not in git yet" not in client.get(pages["cluster"]).content.decode()  # the rule's files, not the cluster's
    client.force_login(world.bob)  # sees the public VAN, not its change sets
    assert "Not in git yet" not in client.get(pages["van"]).content.decode()
    svc_approve(svc, world.admin, waiting, revision=waiting.revision)
    client.force_login(world.alice)
    assert "Not in git yet" not in client.get(pages["rule"]).content.decode()


def test_a_rejected_change_stays_marked_until_a_later_one_lands(prod_van, svc, client):
    from portal.gitops.services import changeset_reject

    world, van, app, prod = prod_van
    rule = van.rules.get(name="payments-prod")
    svc.rule_update(actor=world.alice, obj=rule, sync="manual")
    waiting = ChangeSet.objects.get(owner_id=van.pk, status=ChangeSetStatus.AWAITING_APPROVAL)
    with svc._capture(execute=True):
        changeset_reject(actor=world.admin, changeset=waiting, revision=waiting.revision)
    client.force_login(world.alice)
    page = client.get(reverse("van:rule", kwargs={"pk": rule.pk})).content.decode()
    assert f"#{waiting.pk}</a> rejected" in page  # the page shows manual sync; git still says automated
    svc.rule_update(actor=world.alice, obj=rule, order=9)  # proposes the rule again, sync included
    again = ChangeSet.objects.get(owner_id=van.pk, status=ChangeSetStatus.AWAITING_APPROVAL)
    svc_approve(svc, world.admin, again, revision=again.revision)
    assert "Not in git yet" not in client.get(reverse("van:rule", kwargs={"pk": rule.pk})).content.decode()


def test_folding_an_edit_never_moves_a_waiting_change_to_an_environment_without_approval(van_world):
    """Dev protected, Staging not: an edit joining a waiting Dev change keeps it Dev (approval), though Staging is later."""
    from portal.gitops.models import Environment
    from portal.gitops.services import _update_in_place

    world, van, *_ = van_world
    Environment.objects.filter(slug="dev").update(requires_approval=True)
    cs = propose_change(actor=world.alice, owner=van, files_to_write={"vans/demo/clusters/edge-eu/n.yaml": "n: 1\n"}, message="n")
    assert cs.environment.slug == "dev" and cs.status in (ChangeSetStatus.PENDING, ChangeSetStatus.AWAITING_APPROVAL)
    _update_in_place(cs, actor=world.carol, writes={"vans/demo/clusters/edge-eu/n.yaml": "n: 2\n"}, deletes=[],
                     environment=Environment.objects.get(slug="staging"), message="later")
    cs.refresh_from_db()
    assert cs.environment.slug == "dev" and cs.environment.requires_approval


def test_an_app_team_sees_where_its_version_went_in_another_teams_vans_without_opening_them(van_world, svc, hub_keys, edge_keys, client):
    """payments-api runs in search's public VAN and in search's private VAN. alice's app page shows the
    public one's change set with its VAN and status, unlinked (its diff is search's); the private VAN's
    change set is not mentioned at all, like a missing one. search's member gets both as links."""
    world, _, *_ = van_world

    def search_van(name, visibility):
        hub = svc.cluster_create(actor=world.admin, name=f"{name}-hub", api_url=f"https://{name}-hub.example.net:6443",
                                 owner_team=world.search, environment="dev", provider="eks", tags="", sealing_cert=hub_keys[1])
        edge = svc.cluster_create(actor=world.admin, name=f"{name}-edge", api_url=f"https://{name}-edge.example.net:6443",
                                  owner_team=world.search, environment="dev", provider="eks", tags="", sealing_cert=edge_keys[1],
                                  credentials_kind="token", credentials=f"{EDGE_TOKEN}-{name}")
        van = svc.van_create(actor=world.admin, name=name, owner_team=world.search, hub=hub, edges=[edge],
                             hub_host=f"{name}.example.net", visibility=visibility)
        svc.rule_create(actor=world.admin, van=van, name="payments", app_tags="payments")
        return van

    public, private = search_van("lab", "public"), search_van("hidden-lab", "private")
    app = van_world[5]
    release = svc.app_version_set(actor=world.alice, app=app, version="2.0.0")
    carried = {cs.owner_id: cs for cs in release.changesets.filter(owner_id__in=[public.pk, private.pk])}
    shown, hidden = carried[public.pk], carried[private.pk]
    client.force_login(world.alice)
    page = client.get(app.get_absolute_url()).content.decode()
    assert f"#{shown.pk}</span>" in page and f"in {public.name}</small>" in page
    assert shown.get_absolute_url() not in page
    assert client.get(shown.get_absolute_url()).status_code == 404
    assert private.name not in page and f"#{hidden.pk}<" not in page
    client.force_login(world.bob)
    page = client.get(app.get_absolute_url()).content.decode()
    assert shown.get_absolute_url() in page and hidden.get_absolute_url() in page


def test_a_public_cluster_in_a_private_van_reads_as_in_no_van_to_those_who_may_not_see_the_van(van_world, svc, client):
    """bob (search) reads payments' public edge: page, list, CSV and API say nothing of the private VAN it
    is in (name, role, placements, pending changes), exactly as for a cluster in no VAN."""
    from rest_framework.test import APIClient

    world, van, hub, eu, us, app = van_world
    svc.rule_create(actor=world.admin, van=van, name="payments-eu", app_tags="payments", cluster_selector="region=eu")
    svc.van_update(actor=world.admin, obj=van, visibility="private")
    assert eu.visibility == "public" and eu.van_id == van.pk
    client.force_login(world.bob)
    page = client.get(eu.get_absolute_url()).content.decode()
    assert van.get_absolute_url() not in page and "payments-eu" not in page and "(Edge)" not in page
    listing = client.get(reverse("van:cluster_list")).content.decode()
    assert eu.name in listing and van.get_absolute_url() not in listing
    api = APIClient()
    api.force_authenticate(world.bob)
    row = api.get(reverse("cluster-detail", kwargs={"pk": eu.pk})).json()
    assert row["van"] is None and row["role"] == ""
    assert {r["name"]: r["van"] for r in api.get(reverse("cluster-list")).json()["results"]}[eu.name] is None
    # the VAN's team sees it all
    client.force_login(world.alice)
    page = client.get(eu.get_absolute_url()).content.decode()
    assert van.get_absolute_url() in page and "payments-eu" in page
    api.force_authenticate(world.alice)
    assert api.get(reverse("cluster-detail", kwargs={"pk": eu.pk})).json()["van"] == van.name
