import pytest
from django.urls import reverse

from tests.base import RestrictedApiTests, RestrictedPageTests
from tests.factories import make_cluster


class ClusterCase:
    def make_object(self, team, visibility):
        return make_cluster(team, visibility=visibility)


@pytest.mark.django_db
class TestClusterPages(ClusterCase, RestrictedPageTests):
    list_url_name = "van:cluster_list"
    detail_url_name = "van:cluster"


@pytest.mark.django_db
class TestClusterApi(ClusterCase, RestrictedApiTests):
    api_list_url_name = "cluster-list"
    api_detail_url_name = "cluster-detail"
    api_lookup_field = "id"

    def api_detail_url(self, obj):
        return reverse(self.api_detail_url_name, kwargs={"pk": obj.pk})


@pytest.mark.django_db
def test_member_cannot_edit_other_teams_cluster_page(client, world):
    public = make_cluster(world.payments, visibility="public")
    private = make_cluster(world.payments, visibility="private")
    client.force_login(world.bob)
    assert client.get(reverse("van:cluster_edit", kwargs={"pk": public.pk})).status_code == 403
    assert client.post(reverse("van:cluster_edit", kwargs={"pk": public.pk}), {"name": "hijack"}).status_code == 403
    assert client.get(reverse("van:cluster_edit", kwargs={"pk": private.pk})).status_code == 404


@pytest.mark.django_db
def test_member_edits_own_teams_cluster(client, world):
    cluster = make_cluster(world.payments, name="edge-a")
    client.force_login(world.alice)
    response = client.post(
        reverse("van:cluster_edit", kwargs={"pk": cluster.pk}),
        {
            "name": "edge-a",
            "environment": "prod",
            "provider": "eks",
            "api_url": "https://edge-a.example.test:6443",
            "tags": "region=eu, gpu",
            "owner_team": world.payments.pk,
            "visibility": "private",
        },
    )
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.environment == "prod" and cluster.tags == ["gpu", "region=eu"]


@pytest.mark.django_db
def test_create_form_offers_only_teams_the_user_edits_for(client, world):
    client.force_login(world.alice)
    page = client.get(reverse("van:cluster_add")).content.decode()
    assert f'value="{world.payments.pk}"' in page
    assert f'value="{world.search.pk}"' not in page
    response = client.post(
        reverse("van:cluster_add"),
        {"name": "x1", "environment": "dev", "provider": "eks", "api_url": "https://x.test", "owner_team": world.search.pk, "visibility": "public"},
    )
    assert response.status_code == 400
    assert "owner_team" in response.context["form"].errors


@pytest.mark.django_db
def test_viewer_without_team_cannot_create(client, world):
    client.force_login(world.victor)
    assert client.get(reverse("van:cluster_add")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,value,message",
    [
        ("name", "Not_A_DNS_Label", "DNS label"),
        ("api_url", "not a url", "valid URL"),
        ("tags", "ok, bad tag!, =x", "label key"),
        ("environment", "moon", "valid choice"),
    ],
)
def test_malformed_cluster_form_gets_field_errors(client, world, field, value, message):
    client.force_login(world.alice)
    data = {"name": "good", "environment": "dev", "provider": "eks", "api_url": "https://x.test", "owner_team": world.payments.pk, "visibility": "public", "tags": ""}
    data[field] = value
    response = client.post(reverse("van:cluster_add"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])


@pytest.mark.django_db
def test_htmx_filter_returns_only_the_table_partial(client, world):
    make_cluster(world.payments, name="gpu-box", tags="gpu")
    make_cluster(world.payments, name="plain-box")
    client.force_login(world.alice)
    response = client.get(reverse("van:cluster_list"), {"tag": "gpu"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "gpu-box" in body and "plain-box" not in body


@pytest.mark.django_db
def test_csv_export_uses_the_same_restricted_filtered_rows(client, world):
    make_cluster(world.payments, name="mine-private", visibility="private")
    make_cluster(world.search, name="theirs-private", visibility="private")
    client.force_login(world.alice)
    body = client.get(reverse("van:cluster_list"), {"export": "csv"}).content.decode()
    assert "mine-private" in body and "theirs-private" not in body and "<span" not in body
