"""Git-truth objects are read-only in the Django admin: an admin edit would skip the services (no change set, no audit row)."""
from __future__ import annotations

import itertools

import pytest
from django.contrib import admin
from django.forms import modelform_factory
from django.test import RequestFactory
from django.urls import reverse

from portal.gitops.models import ChangeSet, Environment
from portal.models import AuditEvent
from tests.factories import make_cluster
from van import services
from van.models import App, AppRelease, Cluster, DistributionRule, SealedValue, Van

_seq = itertools.count(1)


def _van(world):
    n = next(_seq)
    hub = make_cluster(world.payments, name=f"adm-hub-{n}", tags="region=eu", actor=world.admin)
    return services.van_create(actor=world.admin, name=f"adm-van-{n}", owner_team=world.payments, hub=hub, edges=[])


def _cluster(world):
    return make_cluster(world.payments, name=f"adm-cluster-{next(_seq)}", actor=world.admin)


def _app(world):
    return services.app_create(actor=world.admin, name=f"adm-app-{next(_seq)}", owner_team=world.payments, namespace="ns",
                               repo_url="https://git.example.net/a.git", source_kind="kustomize", path="deploy", version="1.0.0",
                               tags="payments")


def _rule(world):
    return services.rule_create(actor=world.admin, van=_van(world), name=f"adm-rule-{next(_seq)}", app_tags="payments",
                                cluster_selector="region=eu")


# model, factory, (field, value an admin edit would set)
CASES = {
    "van": (Van, _van, ("description", "edited in the admin")),
    "cluster": (Cluster, _cluster, ("description", "edited in the admin")),
    "app": (App, _app, ("description", "edited in the admin")),
    "distributionrule": (DistributionRule, _rule, ("cluster_selector", "region=mars")),
}


@pytest.fixture(params=sorted(CASES))
def case(request, world, client):
    """(model, object, field, new value), with the superuser logged in and the audit/change set counts noted."""
    model, factory, (field, value) = CASES[request.param]
    obj = factory(world)
    client.force_login(world.admin)
    counts = (AuditEvent.objects.count(), ChangeSet.objects.count())
    yield model, obj, field, value
    assert (AuditEvent.objects.count(), ChangeSet.objects.count()) == counts, "an admin attempt wrote an audit row or a change set"


def url(model, view, *args):
    return reverse(f"admin:van_{model._meta.model_name}_{view}", args=args)


def form_data(obj, **changes):
    """A complete, valid admin form for ``obj`` (what the editable admin would have accepted), with ``changes``."""
    model_admin = admin.site._registry[type(obj)]
    exclude = [*(model_admin.exclude or ()), *model_admin.readonly_fields]
    form = modelform_factory(type(obj), fields="__all__", exclude=exclude)(instance=obj)
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is not None and value is not False:
            data[name] = value
    data.update(changes, _save="Save")
    return data


def test_changelist_renders(client, case):
    model, obj, _, _ = case
    response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert obj.name in response.content.decode()


def test_change_page_is_read_only(client, case):
    model, obj, _, _ = case
    response = client.get(url(model, "change", obj.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="_save"' not in body and 'value="Save"' not in body
    assert 'name="_continue"' not in body and "deletelink" not in body


def test_change_post_is_refused(client, case):
    model, obj, field, value = case
    before = getattr(obj, field)
    response = client.post(url(model, "change", obj.pk), form_data(obj, **{field: value}))
    assert response.status_code == 403
    obj.refresh_from_db()
    assert getattr(obj, field) == before


def test_add_post_is_refused(client, case):
    model, obj, _, _ = case
    count = model.objects.count()
    response = client.post(url(model, "add"), form_data(obj, name=f"adm-added-{next(_seq)}"))
    assert response.status_code == 403
    assert model.objects.count() == count


def test_delete_post_is_refused(client, case):
    model, obj, _, _ = case
    response = client.post(url(model, "delete", obj.pk), {"post": "yes"})
    assert response.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_bulk_delete_action_is_gone(client, case):
    model, obj, _, _ = case
    client.post(url(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert model.objects.filter(pk=obj.pk).exists()
    assert "delete_selected" not in client.get(url(model, "changelist")).content.decode()


@pytest.mark.django_db
def test_git_truth_admins_refuse_add_change_delete_but_environment_stays_editable(world):
    from portal.gitops.models import Approval, ChangeSetFile, GitOpsRepo, ManagedFile

    request = RequestFactory().get("/admin/")
    request.user = world.admin
    for model in (Van, Cluster, App, DistributionRule, AppRelease, SealedValue, ChangeSet, ChangeSetFile, Approval, ManagedFile, GitOpsRepo):
        model_admin = admin.site._registry[model]
        assert model_admin.has_view_permission(request), model
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
        assert "delete_selected" not in model_admin.get_actions(request), model
    environment_admin = admin.site._registry[Environment]
    assert environment_admin.has_change_permission(request) and environment_admin.has_delete_permission(request)
