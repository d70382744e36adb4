"""Settings for the test suite: production settings with plain HTTP and fast hashing.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so the same
suite runs on the embedded defaults and on PostgreSQL + Redis in CI.
"""
import os
import tempfile

os.environ.setdefault("WAYLINE_DATA_DIR", tempfile.mkdtemp(prefix="wayline-test-"))
os.environ.setdefault("WAYLINE_HTTPS", "0")

from portal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)  # noqa: F405
