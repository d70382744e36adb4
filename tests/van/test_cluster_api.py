import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import make_cluster


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": "UPPER", "environment": "dev", "provider": "eks", "api_url": "https://x.test", "owner_team": "payments"}, "name"),
        ({"name": "ok", "environment": "mars", "provider": "eks", "api_url": "https://x.test", "owner_team": "payments"}, "environment"),
        ({"name": "ok", "environment": "dev", "provider": "eks", "api_url": "nope", "owner_team": "payments"}, "api_url"),
        ({"name": "ok", "environment": "dev", "provider": "eks", "api_url": "https://x.test", "owner_team": "search"}, "owner_team"),
        ({"name": "ok", "environment": "dev", "provider": "eks", "api_url": "https://x.test", "owner_team": "payments", "tags": ["bad tag"]}, "tags"),
        ({"name": "ok", "environment": "dev", "provider": "eks", "api_url": "https://x.test", "owner_team": "payments", "tags": "not-a-list"}, "tags"),
    ],
)
def test_bad_bodies_get_field_errors_not_500(api, world, body, field):
    api.force_authenticate(world.alice)
    response = api.post(reverse("cluster-list"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.django_db
def test_malformed_json_is_a_400(api, world):
    api.force_authenticate(world.alice)
    response = api.generic("POST", reverse("cluster-list"), "{not json", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_create_update_delete_through_services_with_audit(api, world):
    from portal.models import AuditEvent

    api.force_authenticate(world.alice)
    body = {"name": "api-made", "environment": "qa", "provider": "gke", "api_url": "https://k.test", "owner_team": "payments", "tags": ["zone=a"]}
    created = api.post(reverse("cluster-list"), body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    patched = api.patch(reverse("cluster-detail", kwargs={"pk": pk}), {"tags": ["zone=b", "gpu"]}, format="json")
    assert patched.status_code == 200 and patched.json()["tags"] == ["gpu", "zone=b"]
    assert api.delete(reverse("cluster-detail", kwargs={"pk": pk})).status_code == 204
    actions = list(AuditEvent.objects.filter(object_id=str(pk), content_type__model="cluster").values_list("action", flat=True))
    assert sorted(actions) == ["cluster.create", "cluster.delete", "cluster.update"]
    assert AuditEvent.objects.filter(object_id=str(pk), content_type__model="cluster", actor=world.alice).count() == 3


@pytest.mark.django_db
def test_other_team_cannot_change_through_api(api, world):
    public = make_cluster(world.payments, visibility="public")
    private = make_cluster(world.payments, visibility="private")
    api.force_authenticate(world.bob)
    assert api.patch(reverse("cluster-detail", kwargs={"pk": public.pk}), {"tags": ["x"]}, format="json").status_code == 403
    assert api.delete(reverse("cluster-detail", kwargs={"pk": public.pk})).status_code == 403
    assert api.patch(reverse("cluster-detail", kwargs={"pk": private.pk}), {"tags": ["x"]}, format="json").status_code == 404
    public.refresh_from_db()
    assert public.tags == []
