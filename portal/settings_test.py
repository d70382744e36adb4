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

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's shared-cache in-memory database: shared-cache SQLite locks whole tables and
    # answers "database table is locked" at once, without waiting, whenever a worker thread writes while
    # the test reads. A file in WAL mode lets readers go on during a write and makes writers wait
    # (the settings' busy timeout), as the embedded defaults do outside tests.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["WAYLINE_DATA_DIR"], "test.sqlite3")}  # noqa: F405
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF"  # noqa: F405
SCAFFOLDER_STREAM_SECONDS = 0.2  # a run's event stream ends soon after its last event: tests do not wait 30 s
