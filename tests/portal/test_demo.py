import io
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client


def _git(path, *args) -> str:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=True).stdout


@pytest.mark.django_db(transaction=True)
def test_demo_seeds_the_whole_story_once_and_prints_every_login(tmp_path, settings):
    from django.contrib.auth import get_user_model

    from catalog.models import Entity, Location, Relation
    from portal.gitops.choices import ChangeSetStatus
    from portal.gitops.models import ChangeSet, Environment, ManagedFile
    from portal.models import Team
    from van.models import Van

    settings.DATA_DIR = tmp_path
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    commits = _git(tmp_path / "gitops.git", "rev-list", "--all")
    changes = ChangeSet.objects.count()
    again = io.StringIO()
    call_command("demo", "--no-serve", stdout=again)  # a second run changes nothing and does not fail

    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["admin"].is_superuser and get_user_model().objects.filter(is_superuser=True).count() == 1
    # Every login with its role, and who approves Prod: the platform admin and pat, nobody else.
    for text in (out.getvalue(), again.getvalue()):
        lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ") and "seeded" not in line}
        assert set(lines) == {"admin", "alice", "carol", "bob", "pat", "victor"}
        assert "team admin of Payments" in lines["carol"] and "member of Search" in lines["bob"]
        assert "in no team" in lines["victor"]
        assert [name for name, line in lines.items() if "approves Prod" in line] == ["admin", "pat"]
        assert "wayline-demo" in text
    prod = Environment.objects.get(slug="prod")
    assert prod.requires_approval and prod.approver_team == Team.objects.get(slug="platform")

    # Two teams with public and private objects: Search's private VAN, Payments' private catalog location.
    alice, bob, pat, victor = users["alice"], users["bob"], users["pat"], users["victor"]
    assert set(Van.objects.restrict(victor, "view").values_list("name", flat=True)) == {"demo"}
    assert set(Van.objects.restrict(alice, "view").values_list("name", flat=True)) == {"demo"}
    assert set(Van.objects.restrict(bob, "view").values_list("name", flat=True)) == {"demo", "search-lab"}
    private = Location.objects.get(path="payments-private/catalog-info.yaml")
    assert private.visibility == "private" and private.owner_team.slug == "payments" and not private.is_directory
    assert Location.objects.get(path="catalog-info.yaml", target__endswith="demo-catalog").is_directory
    golden = Location.objects.get(target__endswith="golden-paths")  # the golden paths: a templates repository of its own
    assert not golden.is_directory and golden.owner_team.slug == "platform"
    assert set(Entity.objects.filter(location=golden, kind="Template").values_list("name", flat=True)) == {
        "python-service", "static-site", "scheduled-job"}
    assert Entity.objects.restrict(alice, "view").filter(ref="component:default/fraud-scoring").exists()
    assert not Entity.objects.restrict(bob, "view").filter(ref="component:default/fraud-scoring").exists()
    # Catalog entities with relations.
    relations = set(Relation.objects.filter(source_ref="component:default/checkout-service").values_list("type", "target_ref"))
    assert {("ownedBy", "group:default/payments"), ("partOf", "system:default/payments-platform"),
            ("providesApi", "api:default/checkout-api"), ("dependsOn", "resource:default/orders-db")} <= relations

    # An applied Dev change (bob's, in his team's lab) and a Prod change waiting for pat.
    dev = ChangeSet.objects.get(message="VAN search-lab: upgrade ranking-experiment to 0.4.0")
    assert (dev.environment.slug, dev.status, dev.author) == ("dev", ChangeSetStatus.APPLIED, bob)
    assert dev.commit_sha in _git(tmp_path / "gitops.git", "rev-list", "main")
    assert ChangeSet.objects.restrict(bob, "view").filter(pk=dev.pk).exists()
    waiting = ChangeSet.objects.get(status=ChangeSetStatus.AWAITING_APPROVAL)
    assert waiting.message == "VAN demo: upgrade payment-gateway to 1.10.0" and waiting.author == alice
    assert waiting.environment == prod and waiting.approved_at is None
    assert ChangeSet.objects.restrict(pat, "approve").filter(pk=waiting.pk).exists()
    assert not ChangeSet.objects.restrict(alice, "approve").filter(pk=waiting.pk).exists()
    assert not ChangeSet.objects.filter(status__in=[ChangeSetStatus.PENDING, ChangeSetStatus.FAILED]).exists()

    # An edit pushed outside Wayline, flagged.
    flagged = ManagedFile.objects.get(drift_detected_at__isnull=False)
    assert flagged.path == "vans/demo/hub/applicationsets/observe-everything/splunk-forwarder.yaml"
    assert "Olly Oncall" in _git(tmp_path / "gitops.git", "log", "-1", "--format=%an", "main", "--", flagged.path)

    # The second run added nothing: no change set, no commit.
    assert ChangeSet.objects.count() == changes
    assert _git(tmp_path / "gitops.git", "rev-list", "--all") == commits

    client = Client()
    for username in ("alice", "carol", "pat", "victor"):
        assert client.post("/login/", {"username": username, "password": "wayline-demo"}).status_code == 302
        assert client.get("/").status_code == 200


def test_demo_serve_env_turns_debug_off_and_accepts_the_address(monkeypatch):
    from portal.management.commands.demo import addr_parse, serve_commands, serve_env, url_of

    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    env = serve_env("10.1.2.3:8080")
    assert env["DJANGO_DEBUG"] == "0" and env["WAYLINE_HTTPS"] == "0"
    assert env["ALLOWED_HOSTS"].split(",") == ["127.0.0.1", "localhost", "10.1.2.3"]
    assert serve_env("0.0.0.0:8000")["ALLOWED_HOSTS"].split(",")[-1] == "*"
    assert addr_parse("8001") == ("127.0.0.1", 8001) and url_of("0.0.0.0:8000") == "http://127.0.0.1:8000/"
    with pytest.raises(CommandError):
        addr_parse("localhost:http")
    worker, beat, watcher, web = serve_commands("127.0.0.1:8001")
    assert web[1:4] == ["-m", "gunicorn", "portal.wsgi"] and web[web.index("--bind") + 1] == "127.0.0.1:8001"
    assert worker[worker.index("-Q") + 1] == "default,gitops,sync" and "beat" in beat and "status_watch" in watcher


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_web_process_hides_debug_pages_and_serves_static_files(tmp_path, monkeypatch):
    """The web process exactly as the demo starts it: no debug 404 (URL list), static files served by WhiteNoise."""
    from django.conf import settings

    from portal.management.commands.demo import serve_commands, serve_env

    for name in ("DJANGO_DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAYLINE_DATA_DIR", str(tmp_path))
    addr = f"127.0.0.1:{_free_port()}"
    web = serve_commands(addr)[-1]
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen(web, env=serve_env(addr), cwd=settings.BASE_DIR, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                css = urllib.request.urlopen(f"http://{addr}/static/css/wayline.css", timeout=30)
                break
            except OSError:  # not listening yet, or its worker still booting
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.3)
        assert css.status == 200 and "text/css" in css.headers["Content-Type"]
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://{addr}/no-such-page/", timeout=30)
        body = missing.value.read().decode()
        assert missing.value.code == 404 and "Not found" in body
        assert "URLconf" not in body and "Traceback" not in body and "DEBUG = True" not in body
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()
