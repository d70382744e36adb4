"""Production configuration: check --deploy is clean, env vars are honoured."""
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
# check --deploy requires a key for credentials at rest (tests/security/test_secrets_at_rest.py).
ENCRYPTION_KEY = {"WAYLINE_ENCRYPTION_KEY": Fernet.generate_key().decode()}


def run_manage(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WAYLINE_", "DATABASE_URL", "CELERY_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "WAYLINE_DATA_DIR": str(tmp_path), **env_extra})
    return subprocess.run([sys.executable, "manage.py", *args] + (["--no-imports"] if args[0] == "shell" else []), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    result = run_manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {"SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-0123456789", "ALLOWED_HOSTS": "wayline.example.com", **ENCRYPTION_KEY},
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_clean_with_generated_key(tmp_path):
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], ENCRYPTION_KEY, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_configures_database_and_broker(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_BROKER_URL, s.DEBUG, s.SECURE_SSL_REDIRECT, s.WAYLINE_GITOPS_URL)"
    )
    result = run_manage(
        ["shell", "-c", code],
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/wayline", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3", "WAYLINE_GITOPS_URL": "ssh://git@example.com/ops.git"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql", "wayline", "redis://127.0.0.1:6379/3", "False", "True", "ssh://git@example.com/ops.git",
    ]


def test_debug_only_when_asked(tmp_path):
    result = run_manage(["shell", "-c", "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)"], {"DJANGO_DEBUG": "1"}, tmp_path)
    assert result.stdout.split() == ["True", "False"], result.stderr


def test_production_cookies_and_headers_are_secure(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS > 0,"
        " s.SECURE_CONTENT_TYPE_NOSNIFF, s.X_FRAME_OPTIONS, 'django.middleware.csrf.CsrfViewMiddleware' in s.MIDDLEWARE)"
    )
    result = run_manage(["shell", "-c", code], {}, tmp_path)
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "DENY", "True"], result.stderr
