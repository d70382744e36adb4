"""Nothing fails silently: a VAN that cannot publish yet says why (its page, every save, the rule preview, the API),
and its certificates may arrive in any order; the save that clears the last blocker publishes it."""
from __future__ import annotations

import pytest
from django.contrib.messages import ERROR, INFO, WARNING
from django.urls import reverse
from rest_framework.test import APIClient

from portal.gitops.models import ChangeSet, Environment, ManagedFile
from tests.van.conftest import EDGE_TOKEN
from van.selectors import van_changesets, van_publish_blockers


@pytest.fixture
def blocked(world, gitops, svc):
    """VAN lab (payments): hub eu-hub and edge eu-edge, neither with a Sealed Secrets certificate; an app its rule places."""
    admin, team = world.admin, world.payments
    hub = svc.cluster_create(actor=admin, name="eu-hub", api_url="https://eu-hub.example.net:6443", owner_team=team,
                             environment="dev", provider="onprem", tags="region=eu")
    edge = svc.cluster_create(actor=admin, name="eu-edge", api_url="https://eu-edge.example.net:6443", owner_team=team,
                              environment="dev", provider="eks", tags="region=eu", credentials_kind="token", credentials=EDGE_TOKEN)
    van = svc.van_create(actor=admin, name="lab", owner_team=team, hub=hub, edges=[edge], hub_host="hub.example.net")
    svc.app_create(actor=admin, name="payments-api", owner_team=team, namespace="payments", repo_url="https://git.example.net/p.git",
                   source_kind="kustomize", path="deploy", image="registry.example.net/payments-api", version="1.0.0", tags="payments")
    return van, hub, edge


def _messages(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def _cluster_form(cluster, **changes) -> dict:
    return {"name": cluster.name, "description": cluster.description, "environment": cluster.environment,
            "provider": cluster.provider, "api_url": cluster.api_url, "tags": ", ".join(cluster.tags),
            "credentials_kind": cluster.credentials_kind, "credentials": "", "sealing_cert": "",
            "owner_team": cluster.owner_team_id, "visibility": cluster.visibility} | changes


def _rule_form(**changes) -> dict:
    return {"name": "eu", "order": 10, "app_tags": "payments", "app_match": "all", "cluster_selector": "region=eu",
            "sync": "automated", "self_heal": "on"} | changes


def test_a_van_without_certificates_commits_nothing_and_its_page_lists_why(client, world, blocked):
    van, hub, _ = blocked
    assert van_changesets(van=van, user=world.admin) == []
    blockers = van_publish_blockers(van=van)
    assert [(b.kind, b.cluster.name) for b in blockers] == [("sealing_cert", "eu-hub"), ("sealing_cert", "eu-edge")]
    assert str(blockers[0]) == "Hub eu-hub has no Sealed Secrets certificate: add it on the cluster's edit page (kubeseal --fetch-cert prints it)"

    client.force_login(world.alice)
    body = client.get(van.get_absolute_url()).content.decode()
    assert "Not published yet because" in body
    assert "Hub eu-hub has no Sealed Secrets certificate" in body and "Edge eu-edge has no Sealed Secrets certificate" in body
    assert f'href="{reverse("van:cluster_edit", kwargs={"pk": hub.pk})}">Edit eu-hub' in body
    assert "Nothing committed yet: see what blocks publishing" in body

    client.force_login(world.victor)  # may see the VAN and its clusters, edit neither: links to look, and whom to ask
    body = client.get(van.get_absolute_url()).content.decode()
    assert f'href="{hub.get_absolute_url()}">Open eu-hub' in body and "ask its owning team" in body
    assert reverse("van:cluster_edit", kwargs={"pk": hub.pk}) not in body


def test_a_rule_saved_in_a_blocked_van_says_it_was_not_committed_and_why(client, world, blocked, svc):
    van, _, _ = blocked
    svc.cluster_create(actor=world.admin, name="stray", api_url="https://stray.example.net:6443", owner_team=world.search,
                       environment="dev", provider="eks")  # no certificate either, but in no VAN: never named
    client.force_login(world.alice)
    add = reverse("van:rule_add", kwargs={"van_pk": van.pk})
    page = client.get(add).content.decode()
    assert "Save (not committed yet)" in page and "Save and commit" not in page
    assert "Saving will not be committed yet because" in page

    preview = client.post(add, _rule_form() | {"_preview": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Saving will not be committed yet because" in preview and "Hub eu-hub has no Sealed Secrets certificate" in preview
    assert "Applications added (2)" in preview  # the placement is still previewed

    response = client.post(add, _rule_form(), follow=True)
    assert response.status_code == 200 and van.rules.filter(name="eu").exists()
    said = _messages(response)
    assert said[0][1] == "Added rule eu."
    level, text = said[1]
    assert level == WARNING and text.startswith("Saved, but nothing was committed for VAN lab: it cannot publish yet.")
    assert "Hub eu-hub has no Sealed Secrets certificate" in text and "Edge eu-edge has no Sealed Secrets certificate" in text
    assert "stray" not in text and "proposed" not in " ".join(t for _, t in said).lower()
    assert van_changesets(van=van, user=world.admin) == []


def test_certificates_in_any_order_the_last_one_publishes(client, world, blocked, hub_keys, edge_keys, django_capture_on_commit_callbacks):
    van, hub, edge = blocked
    client.force_login(world.alice)

    # The hub first: saved (it used to fail on the edge's missing certificate), and the edge's is what is left.
    response = client.post(reverse("van:cluster_edit", kwargs={"pk": hub.pk}), _cluster_form(hub, sealing_cert=hub_keys[1]), follow=True)
    assert response.status_code == 200
    hub.refresh_from_db()
    assert hub.sealing_cert
    said = _messages(response)
    assert said[0][1] == "Saved eu-hub."
    assert said[1][0] == WARNING and "nothing was committed for VAN lab" in said[1][1]
    assert "Edge eu-edge has no Sealed Secrets certificate" in said[1][1] and "Hub eu-hub" not in said[1][1]
    assert [b.cluster.name for b in van_publish_blockers(van=van)] == ["eu-edge"]
    assert van_changesets(van=van, user=world.admin) == []

    # The edge's certificate clears the last blocker: the whole VAN is proposed, and lands in git.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("van:cluster_edit", kwargs={"pk": edge.pk}), _cluster_form(edge, sealing_cert=edge_keys[1]), follow=True)
    [changeset] = van_changesets(van=van, user=world.admin)
    said = _messages(response)
    assert said[1] == (INFO, f"Proposed for VAN lab as change set #{changeset.pk}; the GitOps worker commits it shortly "
                             "(the VAN page shows when, or why not).")
    changeset.refresh_from_db()
    assert changeset.status == "applied"
    assert ManagedFile.objects.filter(path="vans/lab/clusters/eu-edge/skupper/link-credentials.yaml").exists()
    assert "Not published yet because" not in client.get(van.get_absolute_url()).content.decode()


def test_a_save_that_changes_nothing_in_git_says_so(client, van_world):
    world, van, _, eu, us, _ = van_world
    client.force_login(world.alice)
    response = client.post(reverse("van:cluster_edit", kwargs={"pk": eu.pk}), _cluster_form(eu, description="rack 4"), follow=True)
    assert _messages(response)[1] == (INFO, "Nothing changed in git for VAN demo: its files already say this "
                                            "(in git, or in a change set on its way).")

    response = client.post(reverse("van:cluster_edit", kwargs={"pk": us.pk}), _cluster_form(us, description="spare"), follow=True)
    assert _messages(response)[1] == (INFO, "No VAN you can see includes this cluster, so nothing was committed for it.")

    response = client.post(reverse("van:rule_add", kwargs={"van_pk": van.pk}), _rule_form(), follow=True)
    assert _messages(response)[1][1].startswith("Proposed for VAN demo as change set #")
    rule = van.rules.get(name="eu")
    response = client.post(reverse("van:rule_edit", kwargs={"pk": rule.pk}), _rule_form(), follow=True)
    assert _messages(response) == [(25, "Saved rule eu."), (INFO, "Rule eu did not change, so nothing was committed.")]


def test_a_change_set_that_did_not_land_says_so():
    from van.views import _publish_message

    prod = Environment(slug="prod", name="Prod", requires_approval=True)
    level, text = _publish_message("demo", ChangeSet(pk=7, status="conflict", environment=prod), [])
    assert level == ERROR and text == ("Not committed for VAN demo: change set #7 conflicts with what git holds. "
                                       "Open it to see why, then retry it or save again.")
    level, text = _publish_message("demo", ChangeSet(pk=8, status="pending", environment=prod), [])
    assert level == WARNING and "touches Prod, so it is committed once an approver approves it" in text


def test_api_exposes_publish_blockers(world, blocked, svc, hub_keys, edge_keys):
    van, hub, edge = blocked
    api = APIClient()
    api.force_authenticate(world.alice)
    url = reverse("van-detail", kwargs={"pk": van.pk})
    svc.van_update(actor=world.admin, obj=van, hub_host="")
    blockers = api.get(url).json()["publish_blockers"]
    assert [(b["kind"], b["cluster"]) for b in blockers] == [("hub_host", None), ("sealing_cert", "eu-hub"), ("sealing_cert", "eu-edge")]
    assert blockers[1] == {"kind": "sealing_cert", "cluster": "eu-hub", "problem": "Hub eu-hub has no Sealed Secrets certificate",
                           "fix": "add it on the cluster's edit page (kubeseal --fetch-cert prints it)"}
    assert api.get(reverse("van-list")).json()["results"][0]["publish_blockers"] == blockers
    # Read-only: a client cannot post blockers away.
    assert api.patch(url, {"publish_blockers": []}, format="json").json()["publish_blockers"] == blockers

    svc.cluster_update(actor=world.admin, obj=edge, sealing_cert=edge_keys[1])
    svc.cluster_update(actor=world.admin, obj=hub, sealing_cert=hub_keys[1])
    assert van_changesets(van=van, user=world.admin) == []  # still no hub address
    response = api.patch(url, {"hub_host": "hub.example.net"}, format="json")
    assert response.json()["publish_blockers"] == []
    assert len(van_changesets(van=van, user=world.admin)) == 1


def test_another_teams_user_is_never_told_about_a_van_they_may_not_see(client, world, blocked, svc):
    van, _, _ = blocked
    svc.van_update(actor=world.admin, obj=van, visibility="private")
    svc.rule_create(actor=world.admin, van=van, name="shared", app_tags="shared")
    client.force_login(world.bob)
    assert client.get(van.get_absolute_url()).status_code == 404
    api = APIClient()
    api.force_authenticate(world.bob)
    assert api.get(reverse("van-detail", kwargs={"pk": van.pk})).status_code == 404

    # bob's public app is placed by lab's rule, so the save publishes lab (blocked): bob is told nothing about lab.
    form = {"name": "shared-tool", "source_kind": "kustomize", "repo_url": "https://git.example.net/s.git", "path": "deploy",
            "revision": "HEAD", "namespace": "search", "tags": "shared", "owner_team": world.search.pk, "visibility": "public"}
    response = client.post(reverse("van:app_add"), form, follow=True)
    said = " ".join(text for _, text in _messages(response))
    assert "No VAN you can see has a rule selecting this app's tags, so nothing was committed for it." in said
    for name in ("lab", "eu-hub", "eu-edge"):
        assert name not in said

    client.force_login(world.alice)  # the VAN's own team is told, naming only the VAN's clusters
    response = client.post(reverse("van:app_add"), form | {"name": "shared-two", "owner_team": world.payments.pk}, follow=True)
    said = _messages(response)
    assert said[1][0] == WARNING and "nothing was committed for VAN lab" in said[1][1] and "eu-hub" in said[1][1]
