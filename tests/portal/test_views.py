import pytest
from django.urls import reverse

from portal.middleware import ACTIVE_TEAM_SESSION_KEY
from tests.base import RestrictedPageTests, assert_constant_queries
from tests.factories import make_cluster, make_team


@pytest.mark.django_db
def test_login_logout(client, world):
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-Wayline-123"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("portal:home")).status_code == 302


@pytest.mark.django_db
def test_bad_login_shows_error_not_500(client, world):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_home_dashboard_counts_only_visible_objects(client, world):
    make_cluster(world.search, visibility="private")
    make_cluster(world.payments, visibility="private")
    client.force_login(world.alice)
    response = client.get(reverse("portal:home"))
    cards = {card["title"]: card["count"] for card in response.context["cards"]}
    assert cards["Clusters"] == 1


@pytest.mark.django_db
def test_home_query_count_is_constant(client, world, django_assert_max_num_queries):
    client.force_login(world.alice)

    def grow():
        for index in range(5):
            make_team(f"extra-{index}", members=[world.alice], actor=world.admin)
            make_cluster(world.payments)

    assert_constant_queries(client, reverse("portal:home"), grow, django_assert_max_num_queries)


@pytest.mark.django_db
def test_every_navigation_page_answers(client, world):
    client.force_login(world.victor)
    page = client.get(reverse("portal:home")).content.decode()
    links = client.get(reverse("portal:home")).context["nav_items"]
    assert [item["label"] for item in links][:1] == ["Catalog"] or links
    for item in links:
        assert client.get(item["url"]).status_code == 200, item
    assert 'aria-label="Main"' in page


@pytest.mark.django_db
def test_team_switcher_only_accepts_own_teams(client, world):
    other = make_team("other", members=[world.alice], actor=world.admin)
    client.force_login(world.alice)
    client.post(reverse("portal:switch_team"), {"team": "other", "next": "/clusters/"})
    assert client.session[ACTIVE_TEAM_SESSION_KEY] == "other"
    assert client.get(reverse("portal:home")).context["active_team"] == other
    response = client.post(reverse("portal:switch_team"), {"team": "search", "next": "https://evil.example/"}, follow=False)
    assert response["Location"] == reverse("portal:home")
    assert client.session[ACTIVE_TEAM_SESSION_KEY] == "other"


@pytest.mark.django_db
class TestTeamPages(RestrictedPageTests):
    list_url_name = "portal:team_list"
    detail_url_name = "portal:team"
    lookup_field = "slug"

    # Teams are a public directory: the private/visibility cases don't apply.
    def make_object(self, team, visibility):
        return team

    def test_other_teams_private_object_is_not_found(self, client, world):
        pytest.skip("the team directory is public by design")

    def test_own_teams_private_object_is_visible(self, client, world):
        client.force_login(world.alice)
        assert client.get(self.detail_url(world.payments)).status_code == 200

    def test_list_query_count_is_constant(self, client, world, django_assert_max_num_queries):
        client.force_login(world.alice)

        def grow():
            for index in range(6):
                make_team(f"bulk-{index}", members=[world.bob], actor=world.admin)

        assert_constant_queries(client, reverse(self.list_url_name), grow, django_assert_max_num_queries)


@pytest.mark.django_db
def test_team_admin_adds_member_plain_member_cannot(client, world):
    url = reverse("portal:team_members", kwargs={"slug": "payments"})
    client.force_login(world.alice)
    assert client.post(url, {"username": "victor", "role": "member"}).status_code == 403
    client.force_login(world.carol)
    assert client.post(url, {"username": "victor", "role": "viewer"}).status_code == 302
    assert world.payments.memberships.get(user=world.victor).role == "viewer"
    response = client.post(url, {"username": "nobody", "role": "member"})
    assert response.status_code == 400 and "No user named" in response.content.decode()
    response = client.post(url, {"username": "victor", "role": "overlord"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_only_platform_admin_creates_teams(client, world):
    client.force_login(world.carol)
    assert client.get(reverse("portal:team_add")).status_code == 403
    client.force_login(world.admin)
    response = client.post(reverse("portal:team_add"), {"slug": "Bad Slug", "name": "x"})
    assert response.status_code == 400 and "slug" in response.context["form"].errors
    response = client.post(reverse("portal:team_add"), {"slug": "data", "name": "Data"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_audit_log_page_is_restricted(client, world):
    make_cluster(world.search, name="search-secret", actor=world.bob)
    client.force_login(world.alice)
    assert "search-secret" not in client.get(reverse("portal:auditevent_list")).content.decode()
    client.force_login(world.bob)
    assert "search-secret" in client.get(reverse("portal:auditevent_list")).content.decode()


@pytest.mark.django_db
def test_profile_token_shown_once_and_stored_hashed(client, world):
    from portal.models import ApiToken

    client.force_login(world.alice)
    response = client.post(reverse("portal:profile"))
    key = response.context["new_key"]
    assert key and key in response.content.decode()
    stored = ApiToken.objects.get(user=world.alice)
    assert key not in (stored.key_hash, stored.prefix) and stored.prefix == key[:8]
    assert key not in client.get(reverse("portal:profile")).content.decode()


def test_production_security_headers(client, settings, db):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "csrfmiddlewaretoken" in response.content.decode()


@pytest.mark.django_db
def test_csrf_is_enforced(world):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.alice)
    assert strict.post(reverse("portal:switch_team"), {"team": "payments"}).status_code == 403


def test_ago_says_just_now_under_a_minute_then_how_long():
    import datetime as dt

    from django.utils import timezone

    from portal.templatetags.times import ago

    now = timezone.now()
    assert ago(now - dt.timedelta(seconds=5)) == "just now"
    assert ago(now - dt.timedelta(minutes=3, seconds=2)) == "3\xa0minutes ago"
    assert ago(None) == ""
