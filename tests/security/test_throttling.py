"""Login lockout (django-axes) and API rates: password guessing stops, everyone else carries on."""
from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from portal.services import api_token_rotate
from portal.throttling import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Wayline-123"  # tests.factories.make_user's


def sign_in(client: Client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def signed_in_as(client: Client) -> str | None:
    me = client.get(reverse("portal:profile"))
    return me.context["user"].get_username() if me.status_code == 200 else None


def assert_locked_page(response):
    assert response.status_code == 429
    assert response["Retry-After"] == "900"  # WAYLINE_LOGIN_COOLOFF_HOURS 0.25
    page = response.content.decode()
    assert "Too many sign-in attempts" in page
    assert "Try again in 15 minutes" in page


# --- login lockout ---


def test_thirty_wrong_passwords_then_the_right_one_is_refused(world):
    client = Client()
    statuses = [sign_in(client, "alice", f"guess-{n}").status_code for n in range(30)]
    assert statuses == [200] * 4 + [429] * 26  # locked at the fifth failure (WAYLINE_LOGIN_FAILURE_LIMIT)

    response = sign_in(client, "alice", PASSWORD)
    assert_locked_page(response)
    assert signed_in_as(client) is None


def test_locked_page_says_nothing_about_the_account(world):
    pages = {}
    for username in ("alice", "no-such-user"):
        client = Client()
        for n in range(5):
            response = sign_in(client, username, f"guess-{n}")
        assert_locked_page(response)
        assert username not in response.content.decode()
        pages[username] = response
    assert pages["alice"].headers.keys() == pages["no-such-user"].headers.keys()


def test_signs_in_again_once_the_cooloff_has_passed(world):
    client = Client()
    for n in range(30):
        sign_in(client, "alice", f"guess-{n}")
    assert sign_in(client, "alice", PASSWORD).status_code == 429

    # Fifteen minutes on: every failure recorded is older than the cool-off.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=15, seconds=1))
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    assert signed_in_as(client) == "alice"


def test_an_admin_can_lift_a_lockout(world):
    client = Client()
    for n in range(5):
        sign_in(client, "alice", f"guess-{n}")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    call_command("axes_reset_username", "alice")
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_other_users_and_the_owner_elsewhere_are_not_locked_out(world):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(30):
        sign_in(attacker, "alice", f"guess-{n}")
    assert sign_in(attacker, "alice", PASSWORD).status_code == 429

    colleague = Client(REMOTE_ADDR="203.0.113.7")  # same address, another account
    assert sign_in(colleague, "bob", PASSWORD).status_code == 302
    owner = Client(REMOTE_ADDR="198.51.100.20")  # the account's owner, from their own address
    assert sign_in(owner, "alice", PASSWORD).status_code == 302
    assert signed_in_as(owner) == "alice"


def test_one_address_trying_many_accounts_is_locked_out(world, settings):
    spray = Client(REMOTE_ADDR="203.0.113.8")
    # Under the per-account limit everywhere, but 50 failures from one address (WAYLINE_LOGIN_ADDRESS_FAILURE_LIMIT).
    for n in range(50):
        sign_in(spray, f"user{n}", "Summer2026!")
    assert_locked_page(sign_in(spray, "carol", PASSWORD))
    assert sign_in(Client(REMOTE_ADDR="198.51.100.21"), "carol", PASSWORD).status_code == 302


def test_signing_in_clears_only_that_accounts_failures(world, settings):
    settings.WAYLINE_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    client = Client()
    for n in range(4):
        sign_in(client, "alice", f"guess-{n}")
    assert sign_in(client, "alice", PASSWORD).status_code == 302  # four typos, then right: counts start again
    for n in range(4):
        assert sign_in(Client(), "alice", f"typo-{n}").status_code == 200

    # A sprayer's own account does not wipe the address's failures against others: 4 + 3 + 1 reach 8.
    for n in range(3):
        sign_in(Client(), f"user{n}", "Summer2026!")
    assert sign_in(Client(), "victor", PASSWORD).status_code == 302
    assert sign_in(Client(), "user9", "Summer2026!").status_code == 429
    assert sign_in(Client(), "bob", PASSWORD).status_code == 429


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(world, settings):
    client = Client()
    for n in range(5):
        # A client rotating X-Forwarded-For does not become five clients.
        response = sign_in(client, "alice", f"guess-{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert response.status_code == 429

    settings.WAYLINE_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    behind_proxy = Client()
    assert sign_in(behind_proxy, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.30, 10.1.2.3").status_code == 302


@pytest.mark.parametrize(("remote", "forwarded", "client"), [
    ("198.51.100.1", "192.0.2.9", "198.51.100.1"),  # not from a trusted proxy: its header is the client's word
    ("10.0.0.5", "192.0.2.9", "192.0.2.9"),
    ("10.0.0.5", "192.0.2.66, 192.0.2.9, 10.0.0.7", "192.0.2.9"),  # rightmost hop that is not a proxy
    ("10.0.0.5", "", "10.0.0.5"),
    ("10.0.0.5", "not-an-address", "10.0.0.5"),
    ("10.0.0.5", "not-an-address, 10.0.0.9", "10.0.0.9"),
])
def test_client_ip(settings, remote, forwarded, client):
    settings.WAYLINE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == client


# --- API rates ---


@pytest.fixture
def rates(settings):
    """Low rates for these tests; the others run with the real ones."""

    def set_rates(**overrides):
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**current, **overrides}}

    return set_rates


def assert_throttled(response):
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")


def test_anonymous_rate(world, rates):
    rates(anon="1/min")
    api = APIClient(REMOTE_ADDR="203.0.113.9")
    assert api.get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200
    assert_throttled(api.get("/api/schema/", HTTP_ACCEPT="application/json"))
    assert APIClient(REMOTE_ADDR="198.51.100.9").get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200


def test_per_user_rate_throttles_one_user_and_serves_another(world, rates):
    rates(user="3/min")
    alice, bob = APIClient(), APIClient()  # same address
    alice.credentials(HTTP_AUTHORIZATION=f"Token {api_token_rotate(actor=world.alice)}")
    bob.force_login(world.bob)  # a session counts per user too
    for _ in range(3):
        assert alice.get(reverse("api-me")).status_code == 200
    assert_throttled(alice.get(reverse("api-me")))
    # The Backstage-compatible API draws on the same budget.
    locked = alice.get("/api/catalog/entities")
    assert locked.status_code == 429 and "Retry-After" in locked
    assert locked.json()["error"]["name"] == "TooManyRequestsError"  # Backstage's error body
    assert locked.json()["response"] == {"statusCode": 429}
    assert bob.get(reverse("api-me")).status_code == 200
    assert bob.get("/api/catalog/entities").status_code == 200


@pytest.mark.parametrize(("scheme", "url"), [("Token", "/api/me/"), ("Bearer", "/api/catalog/entities")])
def test_bad_token_attempts_are_throttled_per_address(world, rates, scheme, url):
    rates(failed_auth="3/min")
    key = api_token_rotate(actor=world.alice)
    guesser = APIClient(REMOTE_ADDR="203.0.113.10")
    for n in range(3):
        guesser.credentials(HTTP_AUTHORIZATION=f"{scheme} guess-{n}")
        assert guesser.get(url).status_code in (401, 403)  # the Backstage API says 403: session auth comes first
    guesser.credentials(HTTP_AUTHORIZATION=f"{scheme} guess-3")
    throttled = guesser.get(url)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # The right key from there is refused the same way: no answer tells a right guess from a wrong one.
    guesser.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    assert guesser.get(url).status_code == 429

    elsewhere = APIClient(REMOTE_ADDR="198.51.100.10")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    assert elsewhere.get(url).status_code == 200
    session = APIClient(REMOTE_ADDR="203.0.113.10")  # no token from there: sessions are not held up
    session.force_login(world.bob)
    assert session.get(url).status_code == 200


@pytest.mark.django_db
def test_a_username_too_long_is_a_form_error_not_a_lockout_record(client):
    """Fuzzing found it on PostgreSQL: a 10,000-character username reached django-axes' varchar(255) (a 500)."""
    from axes.models import AccessAttempt

    response = client.post("/login/", {"username": "w" * 10_002, "password": "x"})
    assert response.status_code == 200 and "username" in response.context["form"].errors
    assert not AccessAttempt.objects.exists()
