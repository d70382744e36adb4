"""Sealing a Secret in the portal: kubeseal's algorithm with the target cluster's certificate, committed through the
Sealed Secrets add-on of the VAN, synced to that cluster only; the plaintext is in no row, file, log, audit entry or
page, and only the VAN's editors may seal."""
from __future__ import annotations

import logging

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.urls import reverse

from addons import services as addon_services
from addons.models import SealedSecretRecord
from portal.crd_validation import validate_object
from portal.gitops.models import ChangeSet, ChangeSetFile, ManagedFile
from portal.models import AuditEvent
from tests.van.kubeseal_reference import unseal

pytestmark = pytest.mark.django_db

PLAIN = "hunter2-never-anywhere-7c1e"


def test_a_sealed_secret_opens_with_the_clusters_key_and_its_plaintext_is_nowhere(van_world, edge_keys, hub_keys, client, caplog,
                                                                                 django_capture_on_commit_callbacks):
    world, van, hub, eu, us, app = van_world
    installation = van.addons.get(slug="sealed-secrets")
    caplog.set_level(logging.DEBUG)
    client.force_login(world.alice)
    url = reverse("addons:secret_seal", kwargs={"pk": installation.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"cluster": "edge-eu", "namespace": "payments", "name": "db-credentials",
                                     "scope": "strict", "data": f"password={PLAIN}\nuser=payments"})
    assert response.status_code == 303, response.content.decode()[:3000]
    record = SealedSecretRecord.objects.get()
    assert (record.cluster, record.namespace, record.name, record.keys) == ("edge-eu", "payments", "db-credentials", ["password", "user"])
    committed = ManagedFile.objects.get(path="addons/demo/sealed-secrets/secrets/edge-eu/payments.db-credentials.yaml")
    sealed = yaml.safe_load(committed.content)
    assert unseal(edge_keys[0], sealed) == {"password": PLAIN.encode(), "user": b"payments"}
    with pytest.raises(Exception):
        unseal(hub_keys[0] if hub_keys[0] is not edge_keys[0] else None, sealed)  # another cluster's key opens nothing
    syncer = yaml.safe_load(ManagedFile.objects.get(path="addons/demo/sealed-secrets/argocd/secrets.yaml").content)
    assert syncer["spec"]["generators"][0]["git"]["directories"] == [{"path": "addons/demo/sealed-secrets/secrets/*"}]
    assert syncer["spec"]["template"]["spec"]["destination"] == {"name": "{{.path.basename}}"}
    page = client.get(url).content.decode()
    assert "payments/db-credentials" in page and "<code>password</code>" in page
    everywhere = [page, record.manifest, caplog.text, *ManagedFile.objects.values_list("content", flat=True),
                  *ChangeSetFile.objects.exclude(content=None).values_list("content", flat=True),
                  *(str(a.changes) for a in AuditEvent.objects.all()), *ChangeSet.objects.values_list("message", flat=True)]
    assert not [text for text in everywhere if PLAIN in text]


def test_a_refused_form_does_not_echo_the_values(van_world, client):
    world, van, *_ = van_world
    url = reverse("addons:secret_seal", kwargs={"pk": van.addons.get(slug="sealed-secrets").pk})
    client.force_login(world.alice)
    response = client.post(url, {"cluster": "edge-eu", "namespace": "Not_A_Namespace", "name": "x", "scope": "strict",
                                 "data": f"password={PLAIN}"})
    assert response.status_code == 400 and "namespace" in response.context["form"].errors
    assert PLAIN not in response.content.decode() and not SealedSecretRecord.objects.exists()


@pytest.mark.parametrize("changes, field", [
    ({"cluster": "edge-us"}, "cluster"),  # not in this VAN
    ({"scope": "everywhere"}, "scope"),
    ({"name": "-bad-"}, "name"),
    ({"data": {"not a key!": "x"}}, "data"),
    ({"data": {}}, "data"),
])
def test_bad_input_is_refused_on_its_field(van_world, changes, field):
    world, van, *_ = van_world
    fields = {"cluster": "edge-eu", "namespace": "payments", "name": "db", "scope": "strict", "data": {"k": "v"}} | changes
    with pytest.raises(ValidationError) as refused:
        addon_services.secret_seal(actor=world.alice, installation=van.addons.get(slug="sealed-secrets"), **fields)
    assert field in refused.value.message_dict, refused.value.message_dict


def test_a_secret_for_a_dev_cluster_does_not_wait_for_a_prod_edges_approval(van_world, svc, django_capture_on_commit_callbacks):
    world, van, hub, eu, us, app = van_world
    svc.van_edge_add(actor=world.admin, van=van, cluster=us)
    svc.cluster_update(actor=world.admin, obj=us, environment="prod")
    installation = van.addons.get(slug="sealed-secrets")
    for cluster, env in (("edge-eu", "dev"), ("edge-us", "prod")):
        with django_capture_on_commit_callbacks(execute=True):
            addon_services.secret_seal(actor=world.alice, installation=installation, cluster=cluster, namespace="payments",
                                       name=f"db-{cluster}", scope="strict", data={"k": "v"})
        latest = ChangeSet.objects.filter(owner_id=installation.pk, owner_type__model="addoninstallation").latest("pk")
        assert latest.environment.slug == env, (cluster, latest.environment.slug)


def test_two_secrets_never_share_a_file(van_world, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    installation = van.addons.get(slug="sealed-secrets")
    for namespace, name in (("a--b", "c"), ("a", "b--c"), ("a", "b.c"), ("a-b", "c")):
        with django_capture_on_commit_callbacks(execute=True):
            addon_services.secret_seal(actor=world.alice, installation=installation, cluster="edge-eu", namespace=namespace,
                                       name=name, scope="strict", data={"k": "v"})
    assert len(files_under_secrets := ManagedFile.objects.filter(path__startswith="addons/demo/sealed-secrets/secrets/")) == 4, \
        list(files_under_secrets.values_list("path", flat=True))


@pytest.mark.conformance
def test_what_sealing_commits_validates_against_the_upstream_crds(van_world, django_capture_on_commit_callbacks):
    world, van, *_ = van_world
    with django_capture_on_commit_callbacks(execute=True):
        addon_services.secret_seal(actor=world.alice, installation=van.addons.get(slug="sealed-secrets"), cluster="edge-eu",
                                   namespace="payments", name="db", scope="namespace-wide", data={"k": "v"})
    for path in ("addons/demo/sealed-secrets/secrets/edge-eu/payments.db.yaml", "addons/demo/sealed-secrets/argocd/secrets.yaml"):
        assert validate_object(yaml.safe_load(ManagedFile.objects.get(path=path).content)) == [], path


def test_sealing_through_the_api_returns_key_names_only(van_world, edge_keys, caplog, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    world, van, *_ = van_world
    installation = van.addons.get(slug="sealed-secrets")
    caplog.set_level(logging.DEBUG)
    api = APIClient()
    api.force_authenticate(world.alice)
    url = reverse("addon-installation-seal", kwargs={"pk": installation.pk})
    refused = api.post(url, {"cluster": "edge-eu", "namespace": "payments", "name": "db", "scope": "everywhere",
                             "data": {"password": PLAIN}}, format="json")
    assert refused.status_code == 400 and "scope" in refused.json() and PLAIN not in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"cluster": "edge-eu", "namespace": "payments", "name": "db", "scope": "strict",
                                  "data": {"password": PLAIN, "user": "payments"}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["keys"] == ["password", "user"] and body["path"].endswith("secrets/edge-eu/payments.db.yaml")
    assert PLAIN not in response.content.decode()
    sealed = yaml.safe_load(ManagedFile.objects.get(path=body["path"]).content)
    assert unseal(edge_keys[0], sealed)["password"] == PLAIN.encode()
    listed = api.get(reverse("sealed-secret-list")).json()["results"]
    assert [r["name"] for r in listed] == ["db"] and PLAIN not in str(listed)
    grafana = van.addons.get(slug="grafana")  # sealing is the Sealed Secrets add-on's
    assert api.post(reverse("addon-installation-seal", kwargs={"pk": grafana.pk}),
                    {"cluster": "edge-eu", "namespace": "p", "name": "x", "data": {"k": "v"}}, format="json").status_code == 400
    everywhere = [caplog.text, *ManagedFile.objects.values_list("content", flat=True),
                  *(str(a.changes) for a in AuditEvent.objects.all()), *ChangeSet.objects.values_list("message", flat=True)]
    assert not [text for text in everywhere if PLAIN in text]
    bob = APIClient()
    bob.force_authenticate(world.bob)
    assert bob.post(url, {"cluster": "edge-eu", "namespace": "p", "name": "x", "data": {"k": "v"}}, format="json").status_code == 403
