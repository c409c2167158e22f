"""Settings come from the environment only (django-environ); `.env.example` lists every variable.

Embedded defaults (SQLite, a file-system Celery broker) let the hub run with no external service;
DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from pathlib import Path

import environ
from celery.schedules import schedule
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("HUB_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # real environment variables win over .env

# The test switch is said, not guessed: pytest's settings module (config.settings_test) turns it on.
TESTING = env.bool("TESTING", default=False)
DEBUG = env.bool("DEBUG", default=env.bool("DJANGO_DEBUG", default=False))

SECRET_KEY = env.str("SECRET_KEY", default=env.str("DJANGO_SECRET_KEY", default=""))
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests-0123456789"  # noqa: S105 - DEBUG/tests only

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
)
if TESTING:
    ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL of this hub: webhook URLs handed to providers are built from it.
HUB_PUBLIC_URL = env.str("HUB_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# Built-in provider sandboxes under /sandbox/<provider>/ (demo and "test mode").
SANDBOXES_ENABLED = env.bool("SANDBOXES_ENABLED", default=DEBUG or TESTING)
# The sandboxes' control endpoints (fault injection, data changes, sending webhooks to any URL):
# on with DEBUG or in tests anyway; never expose them on a public hub.
SANDBOX_CONTROL_ENABLED = env.bool("SANDBOX_CONTROL_ENABLED", default=False)

INSTALLED_APPS = [
    "unfold",  # the staff console's look, before django.contrib.admin so its templates win
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "integrations",
    "integrations_api",  # the integrations' API, admin and seed-route aliases (above the ground)
    "connectors",
    "records",
    "syncjobs",
    "webhooks",
    "payments",
    "notifications",
    "events",
    "files",
    "health",
    "console",
    "config.apps.HubConfig",  # runhub, seed_demo, beat_health, worker_health
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "console.middleware.BrowserTimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "integrations.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# Persistent connections: without them a webhook insert costs a new connection each request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif TESTING:
    # In-process tests: isolated per test process, cleared before every test (tests/conftest.py).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Embedded defaults (no Redis): `runhub` serves web with several gunicorn processes beside a worker and
    # beat, and the sandboxes' state, locks and counters must be the same in all of them, so the cache is
    # one on disk every process opens. diskcache (SQLite in WAL mode) rather than Django's FileBasedCache,
    # whose add() checks then writes and whose incr() is get-then-set (two processes both win a lock or
    # count the same request), or DatabaseCache, whose incr() is get-then-set too and whose writes would
    # queue behind sync jobs for the one SQLite writer lock of the data. diskcache's add() and incr() are
    # single SQLite transactions, atomic across processes. The long DATABASE_TIMEOUT makes a busy shard
    # wait instead of answering a get() with a miss (diskcache's default is 10 ms).
    CACHES = {"default": {"BACKEND": "diskcache.DjangoCache",
                          "LOCATION": env.str("HUB_CACHE_DIR", default="") or str(VAR_DIR / "cache"),
                          "SHARDS": 4, "DATABASE_TIMEOUT": 5.0}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Serve straight from app folders too, so a fresh checkout works before `collectstatic`.
WHITENOISE_USE_FINDERS = True
# STATIC_ROOT and the embedded broker's folders are made when Django starts (config.apps), not here.

# --- Secrets at rest -------------------------------------------------------------------------
# "kid:base64key,kid2:base64key": the first key encrypts, all of them decrypt (rotation).
ENCRYPTION_KEYS = env.str("ENCRYPTION_KEYS", default="")
# Checked here, where every process (web, worker, beat, manage.py) loads its settings: a bad key
# stops each of them at start, instead of surfacing as a 500 at the first secret written.
try:
    from integrations.crypto import parse_key_ring

    parse_key_ring(ENCRYPTION_KEYS, SECRET_KEY)
except ValueError as exc:
    raise ImproperlyConfigured(
        f"ENCRYPTION_KEYS is invalid: {exc}. Expected 'kid:base64key[,kid2:base64key...]', each key 32 random "
        "bytes in URL-safe base64 (see .env.example)."
    ) from None

# --- Security (production) -------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=True) else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG and not TESTING)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# TLS terminates at the proxy in front of the hub (docker-compose / ingress), which also redirects
# http to https; set SECURE_SSL_REDIRECT=true when Django faces clients directly.
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=["security.W008"])

# --- Webhooks --------------------------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_MAX_RETRIES = env.int("WEBHOOK_MAX_RETRIES", default=5)
# How long a receiving process caches an integration's webhook key lookup (and decrypted secret).
WEBHOOK_KEY_CACHE_SECONDS = env.float("WEBHOOK_KEY_CACHE_SECONDS", default=5.0)
# At most one "drain the inbox" task is queued per this many milliseconds, however many deliveries arrive.
WEBHOOK_KICK_INTERVAL_MS = env.int("WEBHOOK_KICK_INTERVAL_MS", default=500)
# Processing retries: exponential backoff from BASE seconds, capped at MAX, with jitter.
WEBHOOK_RETRY_BACKOFF_BASE = env.float("WEBHOOK_RETRY_BACKOFF_BASE", default=30.0)
WEBHOOK_RETRY_BACKOFF_MAX = env.float("WEBHOOK_RETRY_BACKOFF_MAX", default=3600.0)
# A batch claimed by a worker that then died is handed out again after this many seconds.
WEBHOOK_PROCESSING_LEASE_SECONDS = env.float("WEBHOOK_PROCESSING_LEASE_SECONDS", default=300.0)

# --- Sync jobs -------------------------------------------------------------------------------
SYNC_DEFAULT_INTERVAL_MINUTES = env.int("SYNC_DEFAULT_INTERVAL_MINUTES", default=30)
SYNC_HEARTBEAT_STALE_SECONDS = env.int("SYNC_HEARTBEAT_STALE_SECONDS", default=300)
SYNC_PENDING_STALE_SECONDS = env.int("SYNC_PENDING_STALE_SECONDS", default=900)
SYNC_TRANSIENT_RETRIES = env.int("SYNC_TRANSIENT_RETRIES", default=2)
SYNC_RETRY_BACKOFF_SECONDS = env.float("SYNC_RETRY_BACKOFF_SECONDS", default=30.0)
SYNC_RETRY_BACKOFF_MAX_SECONDS = env.float("SYNC_RETRY_BACKOFF_MAX_SECONDS", default=600.0)
SYNC_FAILURE_WARN_AFTER = env.int("SYNC_FAILURE_WARN_AFTER", default=5)
SYNC_FAILURE_DISABLE_AFTER = env.int("SYNC_FAILURE_DISABLE_AFTER", default=20)
# Fairness in the sync pool (needs Redis): at most this many running jobs per organization (0: no cap);
# a job over the cap goes back to the queue for about SYNC_ORG_CAP_RETRY_SECONDS instead of waiting in a slot.
SYNC_MAX_JOBS_PER_ORGANIZATION = env.int("SYNC_MAX_JOBS_PER_ORGANIZATION", default=1)
SYNC_ORG_CAP_RETRY_SECONDS = env.float("SYNC_ORG_CAP_RETRY_SECONDS", default=5.0)
SYNC_ORG_SLOT_LEASE_SECONDS = env.float("SYNC_ORG_SLOT_LEASE_SECONDS", default=120.0)
# A job whose stream depends on one still running looks again after this; it is skipped after the max.
SYNC_DEPENDENCY_WAIT_SECONDS = env.float("SYNC_DEPENDENCY_WAIT_SECONDS", default=15.0)
SYNC_DEPENDENCY_MAX_WAIT_SECONDS = env.float("SYNC_DEPENDENCY_MAX_WAIT_SECONDS", default=6 * 3600.0)

# --- HTTP client for connectors --------------------------------------------------------------
CONNECTOR_HTTP_TIMEOUT = env.float("CONNECTOR_HTTP_TIMEOUT", default=30.0)
CONNECTOR_HTTP_MAX_RETRIES = env.int("CONNECTOR_HTTP_MAX_RETRIES", default=4)
CONNECTOR_HTTP_BACKOFF_BASE = env.float("CONNECTOR_HTTP_BACKOFF_BASE", default=0.5)
CONNECTOR_HTTP_BACKOFF_MAX = env.float("CONNECTOR_HTTP_BACKOFF_MAX", default=30.0)
# A Retry-After longer than this is not waited out in the worker: the error goes up with retry_after.
CONNECTOR_HTTP_RETRY_AFTER_MAX = env.float("CONNECTOR_HTTP_RETRY_AFTER_MAX", default=60.0)
# Longest wait for the shared per-integration rate budget before RateLimitedError.
CONNECTOR_RATE_LIMIT_MAX_WAIT = env.float("CONNECTOR_RATE_LIMIT_MAX_WAIT", default=30.0)

# --- Services hub: notifications ------------------------------------------------------------
# Region assumed for phone numbers written without a country code ("GB", "UZ"; empty: "+" required).
NOTIFICATIONS_DEFAULT_REGION = env.str("NOTIFICATIONS_DEFAULT_REGION", default="")
# Per organization and channel, shared by every worker (Redis token bucket).
NOTIFICATIONS_EMAIL_PER_MINUTE = env.int("NOTIFICATIONS_EMAIL_PER_MINUTE", default=100)
NOTIFICATIONS_SMS_PER_MINUTE = env.int("NOTIFICATIONS_SMS_PER_MINUTE", default=50)
# Longest wait for a rate token inside a task before the rest of the message is re-queued for later.
NOTIFICATIONS_RATE_MAX_WAIT = env.float("NOTIFICATIONS_RATE_MAX_WAIT", default=2.0)
# Passes over the whole provider chain before a delivery fails, with backoff from RETRY_BASE seconds.
NOTIFICATIONS_MAX_ROUNDS = env.int("NOTIFICATIONS_MAX_ROUNDS", default=5)
NOTIFICATIONS_RETRY_BASE = env.float("NOTIFICATIONS_RETRY_BASE", default=60.0)
# A send claimed longer ago than this by a worker that vanished is marked "unknown" (never re-sent blindly).
NOTIFICATIONS_SEND_LEASE_SECONDS = env.int("NOTIFICATIONS_SEND_LEASE_SECONDS", default=600)

# --- Services hub: events --------------------------------------------------------------------
EVENTS_BATCH_SIZE = env.int("EVENTS_BATCH_SIZE", default=200)
EVENTS_MAX_ATTEMPTS = env.int("EVENTS_MAX_ATTEMPTS", default=12)
EVENTS_RETRY_BASE = env.float("EVENTS_RETRY_BASE", default=5.0)
EVENTS_RETRY_MAX = env.float("EVENTS_RETRY_MAX", default=900.0)
EVENTS_LEASE_SECONDS = env.float("EVENTS_LEASE_SECONDS", default=120.0)
EVENTS_PUBLISH_TIMEOUT = env.float("EVENTS_PUBLISH_TIMEOUT", default=10.0)
EVENTS_RECORD_IDS_PER_EVENT = env.int("EVENTS_RECORD_IDS_PER_EVENT", default=1000)
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=14)

# --- Services hub: files ---------------------------------------------------------------------
FILES_BACKEND = env.str("FILES_BACKEND", default="local")  # local, s3, gcs, azure
FILES_LOCAL_DIR = env.str("FILES_LOCAL_DIR", default=str(VAR_DIR / "files"))
FILES_MAX_BYTES = env.int("FILES_MAX_BYTES", default=20 * 1024 * 1024)
FILES_ALLOWED_TYPES = env.list("FILES_ALLOWED_TYPES", default=[
    "application/pdf", "text/csv", "text/plain", "application/json", "application/zip", "application/gzip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
])
_FILES_LOCAL = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": FILES_LOCAL_DIR}}
_FILES_BACKENDS = {
    "local": _FILES_LOCAL,
    "s3": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env.str("FILES_S3_BUCKET", default=""),
        "endpoint_url": env.str("FILES_S3_ENDPOINT_URL", default="") or None,  # S3-compatible stores
        "region_name": env.str("FILES_S3_REGION", default="") or None,
        "access_key": env.str("FILES_S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("FILES_S3_SECRET_ACCESS_KEY", default="") or None,
        "default_acl": None, "file_overwrite": False, "querystring_expire": 600,
    }},
    "gcs": {"BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
            "OPTIONS": {"bucket_name": env.str("FILES_GCS_BUCKET", default=""), "file_overwrite": False}},
    "azure": {"BACKEND": "storages.backends.azure_storage.AzureStorage", "OPTIONS": {
        "azure_container": env.str("FILES_AZURE_CONTAINER", default=""),
        "connection_string": env.str("FILES_AZURE_CONNECTION_STRING", default="") or None,
        "overwrite_files": False,
    }},
}
if FILES_BACKEND not in _FILES_BACKENDS:
    raise ImproperlyConfigured(f"FILES_BACKEND must be one of {', '.join(_FILES_BACKENDS)}")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "hub_files": _FILES_BACKENDS[FILES_BACKEND],
    "hub_files_fallback": _FILES_LOCAL,
}

# --- Services hub: health --------------------------------------------------------------------
HEALTH_WINDOW_MINUTES = env.int("HEALTH_WINDOW_MINUTES", default=60)
HEALTH_ERROR_RATE_UNHEALTHY = env.float("HEALTH_ERROR_RATE_UNHEALTHY", default=0.5)
# When set, /metrics answers only "Authorization: Bearer <METRICS_TOKEN>" (401 otherwise).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Each worker's consumer writes a heartbeat this often; older than the stale age means "not consuming".
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=10)
WORKER_HEARTBEAT_STALE_SECONDS = env.float("WORKER_HEARTBEAT_STALE_SECONDS", default=60)

# --- Celery ----------------------------------------------------------------------------------
# "localhost" only keeps kombu from warning about a missing host name; the transport uses folders.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: messages are files under var/broker, shared by web, worker and beat.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.5,  # seconds between folder scans (the default 1 s doubles a chain's latency)
    }
else:
    # A message a killed worker took comes back after this many seconds. Size it to the longest sync
    # job (and above SYNC_RETRY_BACKOFF_MAX_SECONDS: Redis hands out a countdown message again too);
    # a copy delivered while the job still runs is harmless (the job is claimed once).
    BROKER_VISIBILITY_TIMEOUT = env.int("BROKER_VISIBILITY_TIMEOUT", default=1200)
    _restore_interval = max(1, min(60, BROKER_VISIBILITY_TIMEOUT // 10))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
        # Look for such messages every tenth of it (kombu's default sweep is every 100 s).
        "unacked_restore_interval": _restore_interval,
        "unacked_restore_throttle": 1,
        # The sweep's lock: a worker killed while holding it (it sweeps every interval) would block
        # every sweep for kombu's default 300 s; a sweep of 10 messages takes milliseconds.
        "unacked_mutex_expire": max(5, 2 * _restore_interval),
    }
CELERY_TASK_IGNORE_RESULT = True  # job state lives in our own tables
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Every queue the hub uses, declared: a bare `celery -A config worker` (no -Q) consumes all three.
# Production runs two workers instead (docker-compose.yml, runhub): webhooks+default and sync.
HUB_QUEUES = ("default", "sync", "webhooks")
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in HUB_QUEUES]
# Separate queues so one tenant's huge sync never starves webhook processing.
CELERY_TASK_ROUTES = {
    "syncjobs.tasks.run_sync_job": {"queue": "sync"},
    "webhooks.tasks.*": {"queue": "webhooks"},
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Reconnect to the broker for as long as it takes (Celery's default gives up after 100 attempts,
# ~45 min, and the worker exits): a long Redis outage must end with the worker consuming again.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-syncs": {"task": "syncjobs.tasks.dispatch_due_syncs", "schedule": schedule(60)},
    "reap-stale-sync-jobs": {"task": "syncjobs.tasks.reap_stale_jobs", "schedule": schedule(120)},
    "sweep-webhook-events": {"task": "webhooks.tasks.sweep_pending_events", "schedule": schedule(30)},
    "sweep-notification-deliveries": {"task": "notifications.tasks.sweep_deliveries", "schedule": schedule(30)},
    "check-expiry-alerts": {"task": "notifications.tasks.check_expiry_alerts", "schedule": schedule(3600)},
    "send-daily-reports": {"task": "notifications.tasks.send_daily_reports", "schedule": schedule(3600)},
    "dispatch-events": {"task": "events.tasks.dispatch_events", "schedule": schedule(10)},
    "prune-outbox": {"task": "events.tasks.prune_outbox", "schedule": schedule(24 * 3600)},
}

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.auth.ApiKeyAuthentication",
        "integrations.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["integrations.permissions.OrganizationRolePermission"],
    # DRF's JSON parser with a nesting limit (integrations/jsonlimits.py); form and multipart as DRF's defaults.
    "DEFAULT_PARSER_CLASSES": [
        "integrations.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "integrations.filters.HubFilterBackend",
        "integrations.filters.HubOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "integrations.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "integrations.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Integration Hub API",
    "DESCRIPTION": "Connect providers, run syncs, receive webhooks and read the synced records.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status"/"kind" with different choices: name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "IntegrationStatusEnum": "integrations.models.IntegrationStatus",
        "JobStatusEnum": "syncjobs.models.JobStatus",
        "WebhookEventStatusEnum": "webhooks.models.EventStatus",
        "RecordSyncStatusEnum": "records.models.SyncStatus",
        "LocationKindEnum": "records.models.LocationKind",
        "DocumentKindEnum": "records.models.DocumentKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "integrations.redaction.RedactingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Staff console (django-unfold over the Django admin; see console/) ---------------------------
# Callables and dotted paths only: the console's modules import models, which settings cannot.
UNFOLD = {
    "SITE_TITLE": "Integration Hub",
    "SITE_HEADER": "Integration Hub",
    "SITE_SUBHEADER": "Staff console",
    "SITE_SYMBOL": "hub",
    "SHOW_HISTORY": False,
    "DASHBOARD_CALLBACK": "console.dashboard.dashboard_callback",
    "STYLES": ["console.navigation.console_css"],
    "SCRIPTS": ["console.navigation.console_js"],
    "SIDEBAR": {"show_search": True, "show_all_applications": False, "navigation": "console.navigation.navigation"},
}
