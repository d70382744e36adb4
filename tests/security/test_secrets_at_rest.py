"""Secrets at rest (issue 12): a key of their own for credentials, an owner-only data dir, key rotation."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from portal import crypto
from portal.checks import encryption_key_check
from portal.gitops.models import GitOpsRepo
from portal.models import AuditEvent
from tests.factories import make_cluster, make_team, make_user
from van.models import Cluster, Van

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def use_keys(monkeypatch):
    """Configure the keys in WAYLINE_ENCRYPTION_KEY, as a restarted process would see them."""

    def use(*keys: str) -> None:
        monkeypatch.delenv(crypto.KEY_FILE_ENV, raising=False)
        monkeypatch.setenv(crypto.KEY_ENV, ",".join(keys))
        crypto._fernets.cache_clear()

    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    monkeypatch.delenv(crypto.KEY_FILE_ENV, raising=False)
    crypto._fernets.cache_clear()
    yield use
    crypto._fernets.cache_clear()  # the rest of the suite runs on its own (derived) key


def _ids(errors) -> list[str]:
    return [error.id for error in errors]


def _key_file(directory: Path, *keys: str, mode: int = 0o600) -> Path:
    path = directory / "wayline.key"
    path.write_text("# new key first\n" + "\n".join(keys) + "\n")
    path.chmod(mode)
    return path


# --- check --deploy ------------------------------------------------------------------------------


def test_check_fails_without_a_configured_key(use_keys):
    errors = encryption_key_check(None)
    assert _ids(errors) == ["portal.E001"]
    assert crypto.KEY_ENV in errors[0].msg and crypto.KEY_FILE_ENV in errors[0].hint


def test_check_passes_with_a_key_in_the_environment_or_an_owner_only_file_outside_the_data_dir(use_keys, monkeypatch, tmp_path):
    use_keys(NEW, OLD)
    assert encryption_key_check(None) == []
    monkeypatch.delenv(crypto.KEY_ENV)
    monkeypatch.setenv(crypto.KEY_FILE_ENV, str(_key_file(tmp_path, NEW, OLD)))
    assert encryption_key_check(None) == []


def test_check_fails_for_a_key_file_inside_the_data_dir(use_keys, monkeypatch):
    with tempfile.TemporaryDirectory(dir=settings.DATA_DIR) as inside:
        monkeypatch.setenv(crypto.KEY_FILE_ENV, str(_key_file(Path(inside), NEW)))
        errors = encryption_key_check(None)
    assert _ids(errors) == ["portal.E002"]
    assert crypto.KEY_FILE_ENV in errors[0].msg


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_check_fails_for_a_key_file_group_or_others_may_read(use_keys, monkeypatch, tmp_path, mode):
    monkeypatch.setenv(crypto.KEY_FILE_ENV, str(_key_file(tmp_path, NEW, mode=mode)))
    errors = encryption_key_check(None)
    assert _ids(errors) == ["portal.E003"]
    assert f"{mode:04o}" in errors[0].msg and "chmod 600" in errors[0].hint


@pytest.mark.parametrize("value", [f"{NEW},not-a-fernet-key", "c2hvcnQ=", " , "])
def test_check_fails_for_a_key_that_is_not_a_fernet_key_without_echoing_it(use_keys, monkeypatch, value):
    monkeypatch.setenv(crypto.KEY_ENV, value)
    errors = encryption_key_check(None)
    assert _ids(errors) == ["portal.E004"]
    assert crypto.KEY_ENV in errors[0].hint
    assert "not-a-fernet-key" not in errors[0].msg and "c2hvcnQ" not in errors[0].msg


def test_check_fails_for_an_empty_or_missing_key_file_and_for_two_sources(use_keys, monkeypatch, tmp_path):
    monkeypatch.setenv(crypto.KEY_FILE_ENV, str(_key_file(tmp_path)))
    assert _ids(encryption_key_check(None)) == ["portal.E004"]
    monkeypatch.setenv(crypto.KEY_FILE_ENV, str(tmp_path / "missing.key"))
    assert _ids(encryption_key_check(None)) == ["portal.E004"]
    monkeypatch.setenv(crypto.KEY_FILE_ENV, str(_key_file(tmp_path, NEW)))
    monkeypatch.setenv(crypto.KEY_ENV, NEW)
    assert _ids(encryption_key_check(None)) == ["portal.E004"]


def test_check_fails_when_the_encrypting_key_is_the_one_derived_from_secret_key(use_keys):
    use_keys(crypto.derived_key(), NEW)
    assert _ids(encryption_key_check(None)) == ["portal.E005"]
    use_keys(NEW, crypto.derived_key())  # as an old key, while rotating away from it, it is fine
    assert encryption_key_check(None) == []


def _manage(args, data_dir: Path, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WAYLINE_", "DATABASE_URL", "CELERY_", "SECRET_KEY"))}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "WAYLINE_DATA_DIR": str(data_dir), **env_extra})
    # The usual umask: what SQLite and mkdir would make world-readable unless told otherwise.
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180, umask=0o022, check=False)


def test_manage_check_deploy_fails_without_a_key_and_passes_with_a_key_file(tmp_path):
    data_dir, secrets_dir = tmp_path / "data", tmp_path / "secrets"
    secrets_dir.mkdir()
    production = {"SECRET_KEY": "production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz", "ALLOWED_HOSTS": "wayline.example.com"}
    refused = _manage(["check", "--deploy"], data_dir, **production)
    assert refused.returncode == 1 and "portal.E001" in refused.stderr
    passed = _manage(["check", "--deploy", "--fail-level", "WARNING"], data_dir, **production,
                     WAYLINE_ENCRYPTION_KEY_FILE=str(_key_file(secrets_dir, NEW)))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "no issues" in passed.stdout


# --- the data dir --------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_dir_and_its_database_are_owner_only(tmp_path):
    data_dir = tmp_path / "fresh" / "var"
    result = _manage(["migrate", "-v", "0"], data_dir)
    assert result.returncode == 0, result.stderr
    assert _mode(data_dir) == 0o700
    database = data_dir / "wayline.sqlite3"
    assert database.stat().st_size > 0  # migrate wrote the real database, not only the file made empty
    for path in [database, data_dir / "secret_key", *data_dir.glob("wayline.sqlite3-*")]:
        assert _mode(path) == 0o600, path


def test_an_existing_data_dir_with_loose_modes_is_tightened(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    (data_dir / "wayline.sqlite3").touch()
    (data_dir / "secret_key").write_text("an-old-generated-secret-key-0123456789")
    for path in data_dir.iterdir():
        path.chmod(0o644)
    result = _manage(["check"], data_dir)
    assert result.returncode == 0, result.stderr
    assert (_mode(data_dir), _mode(data_dir / "wayline.sqlite3"), _mode(data_dir / "secret_key")) == (0o700, 0o600, 0o600)
    assert (data_dir / "secret_key").read_text() == "an-old-generated-secret-key-0123456789"


# --- rotation ------------------------------------------------------------------------------------

PLAINTEXT = {"credentials": "hub-bearer-token-123", "secret": "ghp_GitTokenValue0123456789"}


def _stored(model, field_name: str) -> dict:
    """pk -> ciphertext exactly as the database holds it (plain SQL: no field decrypts it)."""
    field, qn = model._meta.get_field(field_name), connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {qn(model._meta.pk.column)}, {qn(field.column)} FROM {qn(model._meta.db_table)}")
        return {pk: value for pk, value in cursor.fetchall() if value}


STORED_FIELDS = [(GitOpsRepo, "secret"), (Van, "link_ca_key"), (Cluster, "credentials"), (Cluster, "link_key")]


def _all_stored() -> dict:
    return {f"{model._meta.label}.{name}": _stored(model, name) for model, name in STORED_FIELDS}


def _credentials_everywhere():
    """One stored value in each encrypted field, written through the services."""
    from portal.gitops.services import repo_create
    from van.services import cluster_create, van_create

    admin = make_user(superuser=True)
    team = make_team(actor=admin)
    hub = cluster_create(actor=admin, name="hub-1", api_url="https://hub.example.test:6443", owner_team=team,
                         environment="dev", provider="other", credentials_kind="token", credentials=PLAINTEXT["credentials"])
    van_create(actor=admin, name="van-1", owner_team=team, hub=hub, edges=[make_cluster(team, actor=admin)])
    repo_create(actor=admin, name="ops", url="https://git.example.test/org/ops.git", username="deploy", secret=PLAINTEXT["secret"])


def _under(key: str, token: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


@pytest.mark.django_db
def test_rotation_finds_every_encrypted_field():
    labels = {column.label for column in crypto.encrypted_columns()}
    assert {f"{model._meta.label}.{name}" for model, name in STORED_FIELDS} <= labels


@pytest.mark.django_db
def test_rotation_moves_every_stored_credential_to_the_new_key(use_keys):
    use_keys(OLD)
    _credentials_everywhere()
    before = _all_stored()
    assert all(len(values) == 1 for values in before.values()), before
    link_ca_key = Van.objects.get().link_ca_key

    use_keys(NEW, OLD)
    with pytest.raises(CommandError, match="4 values are not under the first key"):
        call_command("rotate_encryption_key", "--check", stdout=StringIO())
    out = StringIO()
    call_command("rotate_encryption_key", "--batch-size", "1", stdout=out)
    for label in before:
        assert f"{label}: 1 rotated, 0 already current, 0 unreadable" in out.getvalue()

    after = _all_stored()
    for label, values in after.items():
        (pk, token), (old_pk, old_token) = next(iter(values.items())), next(iter(before[label].items()))
        assert pk == old_pk and token != old_token
        assert _under(NEW, token) and not _under(OLD, token)
    event = AuditEvent.objects.get(action="portal.encryption_key.rotate")
    assert event.changes == {label: 1 for label in before} and event.actor_name == "system"

    use_keys(NEW)  # the old key is dropped only now, once rotation finished
    call_command("rotate_encryption_key", "--check", stdout=StringIO())
    assert Cluster.objects.get(name="hub-1").credentials == PLAINTEXT["credentials"]
    assert GitOpsRepo.objects.get(name="ops").secret == PLAINTEXT["secret"]
    assert Van.objects.get().link_ca_key == link_ca_key

    again = StringIO()
    call_command("rotate_encryption_key", stdout=again)
    assert _all_stored() == after  # idempotent: nothing rewritten
    assert "van.Cluster.credentials: 0 rotated, 1 already current, 0 unreadable" in again.getvalue()
    assert AuditEvent.objects.filter(action="portal.encryption_key.rotate").count() == 1


@pytest.mark.django_db
def test_dropping_the_old_key_before_rotation_leaves_its_values_unreadable(use_keys):
    from van.services import cluster_create

    use_keys(OLD)
    team = make_team()
    cluster_create(actor=make_user(superuser=True), name="c-1", api_url="https://c.example.test:6443", owner_team=team,
                   environment="dev", provider="other", credentials_kind="token", credentials="c1-token")
    stored = _stored(Cluster, "credentials")

    use_keys(NEW)
    with pytest.raises(crypto.DecryptionError):
        Cluster.objects.get(name="c-1")
    with pytest.raises(CommandError, match="1 values are under no configured key"):
        call_command("rotate_encryption_key", stdout=StringIO())
    assert _stored(Cluster, "credentials") == stored  # an unreadable value is left as it is

    use_keys(NEW, OLD)
    call_command("rotate_encryption_key", stdout=StringIO())
    use_keys(NEW)
    assert Cluster.objects.get(name="c-1").credentials == "c1-token"


@pytest.mark.django_db
def test_values_under_the_old_key_still_decrypt_mid_rotation(use_keys):
    from van.services import cluster_create, cluster_update

    use_keys(OLD)
    admin, team = make_user(superuser=True), make_team()
    for n in (1, 2, 3):
        cluster_create(actor=admin, name=f"c-{n}", api_url="https://c.example.test:6443", owner_team=team,
                       environment="dev", provider="other", credentials_kind="token", credentials=f"token-{n}")

    use_keys(NEW, OLD)
    seen = []

    def midway(column):
        if column.label != "van.Cluster.credentials" or column.rotated != 1:
            return
        stored = _stored(Cluster, "credentials")
        seen.append(sorted(_under(NEW, token) for token in stored.values()))
        # Readers see every value, whichever key it is under, and writers already use the new key.
        seen.append(sorted((c.name, str(c.credentials)) for c in Cluster.objects.all()))
        cluster_update(actor=admin, obj=Cluster.objects.get(name="c-3"), credentials="token-3b", credentials_kind="token")

    columns = crypto.encrypted_values_rotate(batch_size=1, on_batch=midway)
    assert seen == [[False, False, True], [("c-1", "token-1"), ("c-2", "token-2"), ("c-3", "token-3")]]
    clusters = next(column for column in columns if column.label == "van.Cluster.credentials")
    assert (clusters.rotated, clusters.current, clusters.unreadable) == (2, 1, 0)  # c-3 was saved under NEW meanwhile
    use_keys(NEW)
    assert sorted((c.name, str(c.credentials)) for c in Cluster.objects.all()) == [("c-1", "token-1"), ("c-2", "token-2"), ("c-3", "token-3b")]


@pytest.mark.django_db
def test_a_value_saved_after_it_was_read_is_not_overwritten_by_its_rotated_old_value(use_keys):
    from van.services import cluster_create

    use_keys(OLD)
    cluster = cluster_create(actor=make_user(superuser=True), name="c-1", api_url="https://c.example.test:6443", owner_team=make_team(),
                             environment="dev", provider="other", credentials_kind="token", credentials="read-token")
    read = _stored(Cluster, "credentials")[cluster.pk]
    # Saved meanwhile by a process not restarted yet, so still under the old key.
    Cluster.objects.filter(pk=cluster.pk).update(credentials="saved-token")

    use_keys(NEW, OLD)
    column = next(column for column in crypto.encrypted_columns() if column.label == "van.Cluster.credentials")
    crypto._value_rotate(column, cluster.pk, read, Fernet(NEW), crypto._fernet())
    assert column.rotated == 1
    assert _under(NEW, _stored(Cluster, "credentials")[cluster.pk])
    use_keys(NEW)
    assert Cluster.objects.get(pk=cluster.pk).credentials == "saved-token"


def test_derived_key_is_printed_for_listing_as_an_old_key(use_keys):
    out = StringIO()
    call_command("rotate_encryption_key", "--print-derived-key", stdout=out)
    # With no key configured this is the key values are encrypted with.
    assert Fernet(out.getvalue().strip()).decrypt(crypto.encrypt("x").encode()) == b"x"

