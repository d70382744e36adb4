"""Wayline settings, read from the environment (12-factor).

Embedded defaults (no variables set) give a self-contained install: SQLite and a
filesystem Celery broker under WAYLINE_DATA_DIR, and a local bare git repository
as the GitOps repo. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY,
ALLOWED_HOSTS and WAYLINE_GITOPS_URL.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)


def _owner_only(path: Path, mode: int) -> None:
    """Tighten ``path`` to ``mode`` if group or others have any access and it is ours to chmod.

    Data dirs made by an older release or under a loose umask are fixed on the next start;
    one owned by someone else (a volume mounted for us) is left to its owner.
    """
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        path.chmod(mode)


# Owner-only: it holds the SQLite database, SECRET_KEY, broker messages and git clones.
DATA_DIR = Path(os.environ.get("WAYLINE_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
_owner_only(DATA_DIR, 0o700)
if not os.environ.get("DATABASE_URL"):
    # Made here, owner-only, before SQLite would create it with the umask's mode (world-readable under 022).
    # SQLite gives its journal and WAL files the database file's mode.
    _sqlite_file = DATA_DIR / "wayline.sqlite3"
    os.close(os.open(_sqlite_file, os.O_RDONLY | os.O_CREAT, 0o600))
    _owner_only(_sqlite_file, 0o600)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Owner-only from the first byte, written whole to a file of this process, then linked into place: of two
        # processes starting at once (web workers), the second finds the first's key, complete, and uses it.
        draft = path.with_name(f".secret_key.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_urlsafe(64))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    _owner_only(path, 0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "django_tables2",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "csp",
    "axes",
    "portal",
    "portal.gitops",
    "catalog",
    "van",
    "addons",
]

MIDDLEWARE = [
    "portal.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Early, so responses of the middleware below (a NUL-character 400, static files) carry the policy too.
    "csp.middleware.CSPMiddleware",
    "portal.middleware.NulCharacterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.ActiveTeamMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during authentication into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'wayline.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous users see nothing
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps' static dirs when not collected

# --- Security: on unless DEBUG (or explicitly off for plain-HTTP test servers) ---
HTTPS = env_bool("WAYLINE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # Kubernetes probes speak plain HTTP to the pod
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) ---
# No inline script and no eval anywhere; pages that must run inline script use a per-request nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Throttling: login lockout (django-axes) and API rates (DRF) ---
# Proxies (addresses or networks) whose X-Forwarded-For is believed: the client is the rightmost hop that is not
# one of them. Unset, REMOTE_ADDR is the client. Behind an ingress this must be set, or every client looks like
# the ingress and shares one lockout and one rate.
WAYLINE_TRUSTED_PROXIES = [str(ipaddress.ip_network(proxy, strict=False))  # a typo fails at start, not per request
                           for proxy in env_list("WAYLINE_TRUSTED_PROXIES", "")]

# Throttle state must be shared by every web process: Redis when given, else files under the data dir (no extra
# service and no cache table to create; LocMem would give each process its own count).
_cache_url = os.environ.get("WAYLINE_CACHE_URL", "")
# "catalog": counts kept for readers (catalog/readcache.py), apart: any reader makes entries (one per distinct
# query), and in the files a write past MAX_ENTRIES drops a third of its cache, which must not be throttle histories.
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url},
        "catalog": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url,
                    "KEY_PREFIX": "catalog"},
    }
elif _cache_url:
    raise ValueError("WAYLINE_CACHE_URL must be a redis://, rediss:// or unix:// URL")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            # Above this, a write drops a third of the entries, throttle histories included.
            "OPTIONS": {"MAX_ENTRIES": 10000},
        },
        "catalog": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache-catalog"),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        },
    }

# Login lockout, counted in the database (shared by all processes). Failures lock the pair (username, address):
# an attacker locks only their own address out of that account, never its owner elsewhere. Locking the username
# across addresses is left out on purpose: it would let anyone lock out any user (with a list of names, everyone).
# A second, higher limit on the address alone stops one address from trying one password on many accounts.
# Attempts while locked still count and restart the cool-off, so the page's "try again in" stays true.
AXES_HANDLER = "portal.throttling.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # order read by LoginLockoutHandler
AXES_FAILURE_LIMIT = int(os.environ.get("WAYLINE_LOGIN_FAILURE_LIMIT", "5"))
WAYLINE_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("WAYLINE_LOGIN_ADDRESS_FAILURE_LIMIT", "50"))
AXES_COOLOFF_TIME = float(os.environ.get("WAYLINE_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_RESET_ON_SUCCESS = True  # a user who mistyped and then signed in starts again from zero
AXES_CLIENT_IP_CALLABLE = "portal.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "portal.throttling.lockout_response"

# API rates per user (token or session) and per address for anonymous calls; failed API credentials have
# their own per-address budget so that anonymous traffic cannot use up a valid token's.
# Wayline's address as the hubs reach it (https://wayline.example.net): where a CI pipeline's last step proposes its
# version bump. Unset, no pipeline can be set up (the page says why).
WAYLINE_PUBLIC_URL = os.environ.get("WAYLINE_PUBLIC_URL", "").rstrip("/")

WAYLINE_API_RATE_USER = os.environ.get("WAYLINE_API_RATE_USER", "1200/min")
WAYLINE_API_RATE_ANON = os.environ.get("WAYLINE_API_RATE_ANON", "60/min")
WAYLINE_API_RATE_FAILED_AUTH = os.environ.get("WAYLINE_API_RATE_FAILED_AUTH", "30/min")

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: unauthenticated API calls then get 401 with a WWW-Authenticate header.
        "portal.api.authentication.HashedTokenAuthentication",
        "portal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, with JSON bounded in depth (a deeply nested body was a RecursionError: a 500).
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttling.UserThrottle", "portal.api.throttling.AnonThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": WAYLINE_API_RATE_USER,
        "anon": WAYLINE_API_RATE_ANON,
        "failed_auth": WAYLINE_API_RATE_FAILED_AUTH,
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wayline API",
    "DESCRIPTION": "Catalog, golden paths, VANs and GitOps changes.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Same field names, different choice sets: name each enum after its choices.
    "ENUM_NAME_OVERRIDES": {
        "MembershipRoleEnum": "portal.models.teams.MembershipRole",
        "ClusterRoleEnum": "van.choices.ClusterRole",
        "ChangeSetStatusEnum": "portal.gitops.choices.ChangeSetStatus",
        "LocationStatusEnum": "catalog.choices.LocationStatus",
    },
}

# --- Celery ---
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem")
if BROKER_IS_FILESYSTEM:
    _broker_dir = DATA_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    (DATA_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
    _default_backend = f"file://{DATA_DIR / 'celery-results'}"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    _default_backend = CELERY_BROKER_URL
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or _default_backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue("default"), Queue("gitops"), Queue("sync")]
CELERY_TASK_ROUTES = {
    "portal.gitops.*": {"queue": "gitops"},
    "*.tasks.sync_*": {"queue": "sync"},
}
CELERY_WORKER_ENABLE_REMOTE_CONTROL = not BROKER_IS_FILESYSTEM  # no fanout on the filesystem transport
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- GitOps ---
WAYLINE_GITOPS_URL = os.environ.get("WAYLINE_GITOPS_URL") or str(DATA_DIR / "gitops.git")
WAYLINE_GITOPS_BRANCH = os.environ.get("WAYLINE_GITOPS_BRANCH", "main")
# Whether the hub's own Applications prune what git no longer lists (rules choose for themselves). Off: an emptied
# or replaced repository must not delete what runs.
WAYLINE_ARGOCD_PRUNE = env_bool("WAYLINE_ARGOCD_PRUNE", False)
# Transports catalog locations may use (local paths and file:// are for platform admins whatever this says).
CATALOG_GIT_SCHEMES = env_list("WAYLINE_CATALOG_GIT_SCHEMES", "https,ssh")
# Private networks team locations may reach (e.g. the company's git server, "10.20.0.0/16"); others are refused.
CATALOG_GIT_ALLOWED_NETWORKS = env_list("WAYLINE_CATALOG_GIT_ALLOWED_NETWORKS", "")
# A VAN's Grafana is called by Wayline's server with the VAN's token: public addresses only, unless an admin allows
# the network Grafana lives in (a hub's Grafana is often private: e.g. "10.20.0.0/16").
WAYLINE_GRAFANA_ALLOWED_NETWORKS = env_list("WAYLINE_GRAFANA_ALLOWED_NETWORKS", "")
# Wayline reads an edge's API through its VAN listener on the hub (https://<routing key>.<skupper namespace>.svc:443),
# as ArgoCD does. When Wayline runs outside the hub, give each listener's host the address that reaches it (a
# port-forward, a load balancer): "kube-api-edge-1-0a1b2c3d.skupper.svc=10.0.0.5:8443,...". TLS still verifies the
# edge API server's own name.
WAYLINE_VAN_LISTENER_ADDRESSES = {}
for _item in env_list("WAYLINE_VAN_LISTENER_ADDRESSES", ""):
    _host, _, _address = _item.partition("=")
    if not _host.strip() or not _address.strip():
        raise ValueError(f"WAYLINE_VAN_LISTENER_ADDRESSES: {_item!r} is not listener-host=host:port")
    WAYLINE_VAN_LISTENER_ADDRESSES[_host.strip()] = _address.strip()
# An entity's live workloads are read again from a cluster at most this often (all readers share the answer).
WAYLINE_WORKLOADS_CACHE_SECONDS = float(os.environ.get("WAYLINE_WORKLOADS_CACHE_SECONDS", "10"))
# git reading a catalog location is killed after this (a worker's refresh); a request that reads one gets less.
CATALOG_GIT_SECONDS = float(os.environ.get("WAYLINE_CATALOG_GIT_SECONDS", "300"))
# A catalog dry run (Backstage POST /locations?dryRun=true) clones inside the request: git is killed after this.
CATALOG_DRY_RUN_SECONDS = float(os.environ.get("WAYLINE_CATALOG_DRY_RUN_SECONDS", "20"))

# --- Scaffolder ---
# publish:git creates repositories here (<owner>/<repo>.git, bare), and names them to others (the app's ArgoCD source,
# the component's links) by SCAFFOLDER_GIT_URL: point a git server (git http-backend, gitweb...) at the folder and
# set its address. The default's host ends in .localhost: this machine, reachable by nothing else.
SCAFFOLDER_REPOS_DIR = Path(os.environ.get("WAYLINE_SCAFFOLDER_REPOS_DIR") or DATA_DIR / "repos")
SCAFFOLDER_GIT_URL = os.environ.get("WAYLINE_SCAFFOLDER_GIT_URL") or "https://git.wayline.localhost/{owner}/{repo}.git"
# Or a git server: publish:git pushes to this URL (e.g. ssh://git@git.example.net/{owner}/{repo}.git, a server that
# creates repositories on first push, with the worker's own git credentials) instead of the folder above.
SCAFFOLDER_GIT_PUSH_URL = os.environ.get("WAYLINE_SCAFFOLDER_GIT_PUSH_URL", "")
SCAFFOLDER_WORKSPACES_DIR = Path(os.environ.get("WAYLINE_SCAFFOLDER_WORKSPACES_DIR") or DATA_DIR / "scaffolder")
# A run whose worker gave no sign of life for this long is taken over by another (a crashed worker).
SCAFFOLDER_LEASE_SECONDS = float(os.environ.get("WAYLINE_SCAFFOLDER_LEASE_SECONDS", "120"))
# One event-stream response's life (the client reconnects with Last-Event-ID after it).
SCAFFOLDER_STREAM_SECONDS = float(os.environ.get("WAYLINE_SCAFFOLDER_STREAM_SECONDS", "30"))
# Entities a location stops supplying: "keep" them, flagged as orphans (Backstage's default), or "delete" them once
# CATALOG_ORPHAN_GRACE_SECONDS have passed since they were orphaned.
CATALOG_ORPHAN_STRATEGY = os.environ.get("WAYLINE_CATALOG_ORPHAN_STRATEGY", "keep")
if CATALOG_ORPHAN_STRATEGY not in ("keep", "delete"):
    raise ValueError("WAYLINE_CATALOG_ORPHAN_STRATEGY must be keep or delete")
CATALOG_ORPHAN_GRACE_SECONDS = int(os.environ.get("WAYLINE_CATALOG_ORPHAN_GRACE_SECONDS", "0"))
# What catalog data may weigh: one placeholder's file, one entity as stored (placeholders read), all the entities
# of one location. Errors name the file and the limit.
CATALOG_MAX_PLACEHOLDER_BYTES = int(os.environ.get("WAYLINE_CATALOG_MAX_PLACEHOLDER_BYTES", 512 * 1024))
CATALOG_MAX_DOCUMENT_BYTES = int(os.environ.get("WAYLINE_CATALOG_MAX_DOCUMENT_BYTES", 1024 * 1024))
CATALOG_MAX_LOCATION_BYTES = int(os.environ.get("WAYLINE_CATALOG_MAX_LOCATION_BYTES", 256 * 1024 * 1024))
# Backstage's GET /entities without a limit returns every match; above this many it asks the client to page.
CATALOG_API_MAX_UNPAGED = int(os.environ.get("WAYLINE_CATALOG_API_MAX_UNPAGED", "10000"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "redact": {"()": "portal.logging.RedactSecretsFilter"},
        "one_line": {"()": "portal.logging.ClientErrorsOneLine"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["one_line", "redact"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("WAYLINE_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print every record a second time: the root's is enough.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # lockouts, not every successful sign-in and clean-up
    },
}
