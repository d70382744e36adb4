import pytest
from django.core.management import call_command
from django.test import Client


@pytest.mark.django_db(transaction=True)
def test_demo_seed_is_idempotent_and_logins_work(tmp_path, settings):
    from django.contrib.auth import get_user_model

    from portal.models import Team

    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    call_command("demo", "--no-serve")
    call_command("demo", "--no-serve")  # a second run changes nothing and does not fail
    assert set(Team.objects.values_list("slug", flat=True)) >= {"platform", "payments", "search"}
    assert get_user_model().objects.filter(username="admin", is_superuser=True).count() == 1
    client = Client()
    assert client.post("/login/", {"username": "alice", "password": "wayline-demo"}).status_code == 302
    assert client.get("/").status_code == 200
