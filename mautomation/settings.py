"""The one settings module: everything comes from environment variables.

With nothing set, the product runs embedded: SQLite in WAL mode under var/, a
filesystem Celery broker, a file cache and emails written to var/outbox/, so one
can check out the code and it works. DATABASE_URL, REDIS_URL (or
CELERY_BROKER_URL) and ESP switch each part to its production counterpart, and
DJANGO_ENV=production turns on the deploy-time safety settings. See README.md
for the full list.
"""

import os
from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from mautomation.lib.config import (
    ConfigError,
    database_config,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
    redis_url,
)
from mautomation.lib.esp import ESPS, anymail_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MAUTOMATION_VAR_DIR") or BASE_DIR / "var")

DJANGO_ENV = env_str("DJANGO_ENV", "development").lower()
if DJANGO_ENV not in {"development", "production"}:
    raise ConfigError(f"DJANGO_ENV={DJANGO_ENV!r}: use 'development' (the default) or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

# --- Core -------------------------------------------------------------------
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY") or ("" if PRODUCTION else DEV_SECRET_KEY)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == DEV_SECRET_KEY):
    raise ConfigError(
        "SECRET_KEY must be set to a random value of at least 50 characters in production; generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ConfigError("DEBUG=1 is refused with DJANGO_ENV=production: it shows settings and code to visitors.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigError(
        "ALLOWED_HOSTS must list the host names this site is served on, e.g. ALLOWED_HOSTS=ma.example.com."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Origins of the marketer's own sites that may read the tracking endpoints' answers (CORS).
TRACKING_ALLOWED_ORIGINS = env_list("TRACKING_ALLOWED_ORIGINS")
# Networks (CIDR) whose email opens and clicks are machines': e.g. a customer's security gateway.
TRACKING_MACHINE_NETWORKS = env_networks("TRACKING_MACHINE_NETWORKS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "anymail",
    "mautomation",
    "leads",
    "scoring",
    "campaigns",
    "landing",
    "reports",
    "sales",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "mautomation.admin_queries.AdminNulQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mautomation.guessing.LoginRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mautomation.urls"
WSGI_APPLICATION = "mautomation.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {"default": database_config(env_str("DATABASE_URL"), sqlite_path=str(VAR_DIR / "db.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")

# --- Redis, cache and Celery -------------------------------------------------
REDIS_URL = redis_url("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
EMBEDDED_BROKER = CELERY_BROKER_URL == "filesystem://"
BROKER_DIR = VAR_DIR / "broker"
if USING_SQLITE or EMBEDDED_BROKER:
    for folder in (VAR_DIR, BROKER_DIR / "queue", BROKER_DIR / "control", VAR_DIR / "results"):
        folder.mkdir(parents=True, exist_ok=True)

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # A file cache is shared by the web process and the embedded worker, unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CACHES["default"]["KEY_PREFIX"] = env_str("CACHE_KEY_PREFIX", "mautomation")

if EMBEDDED_BROKER:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
    }
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'results'}"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or REDIS_URL or None
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "mautomation")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = timedelta(hours=1)
# Tasks are acknowledged after they ran, so a worker killed mid-task leaves the
# message for another worker; tasks are written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic jobs: each one is also a management command (see README).
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "mautomation.tasks.heartbeat", "schedule": timedelta(seconds=30)},
    "sweep-activities": {"task": "leads.tasks.sweep_activities", "schedule": timedelta(seconds=60)},
    "start-pending-imports": {"task": "leads.tasks.start_pending_imports", "schedule": timedelta(minutes=2)},
    "decay-scores": {"task": "scoring.tasks.decay_scores", "schedule": timedelta(hours=6)},
    "sweep-form-followups": {"task": "landing.tasks.sweep_followups", "schedule": timedelta(seconds=60)},
    # Hourly, but each owner's digest goes out once a day, from SALES_DIGEST_HOUR local time on.
    "send-hot-lead-digest": {"task": "sales.tasks.send_hot_lead_digest", "schedule": timedelta(hours=1)},
    "send-pending-webhooks": {"task": "sales.tasks.send_pending_webhooks", "schedule": timedelta(minutes=5)},
    "dispatch-email-hits": {"task": "campaigns.tasks.dispatch_email_hits", "schedule": timedelta(seconds=10)},
    "dispatch-due-steps": {"task": "campaigns.automation_tasks.dispatch_due_steps", "schedule": timedelta(seconds=60)},
    "start-due-campaigns": {"task": "campaigns.tasks.start_due_campaigns", "schedule": timedelta(seconds=60)},
    "recover-sends": {"task": "campaigns.tasks.recover_sends", "schedule": timedelta(seconds=60)},
}
# Form submissions per minute: per client network and form, and per form (a load test raises them).
FORM_RATE_LIMIT_PER_MINUTE = env_int("FORM_RATE_LIMIT_PER_MINUTE", 10)
FORM_RATE_LIMIT_PER_FORM_PER_MINUTE = env_int("FORM_RATE_LIMIT_PER_FORM_PER_MINUTE", 600)
# Reports: a form submit or download counts for an email clicked at most this long before it.
REPORTS_CONVERSION_DAYS = env_int("REPORTS_CONVERSION_DAYS", 7)
REPORTS_MAX_CONVERSION_DAYS = env_int("REPORTS_MAX_CONVERSION_DAYS", 30)

# --- Sales ------------------------------------------------------------------------
# Emails opened/clicked and forms submitted this many days before a conversion count as its influences.
ATTRIBUTION_WINDOW_DAYS = env_int("ATTRIBUTION_WINDOW_DAYS", 90)
SALES_DIGEST_HOUR = env_int("SALES_DIGEST_HOUR", 8)  # local time (TIME_ZONE) the daily digest goes out from
# CRM webhooks to loopback/private addresses: refused in production (SSRF), allowed in development and tests.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", not PRODUCTION)
if not 1 <= REPORTS_CONVERSION_DAYS <= REPORTS_MAX_CONVERSION_DAYS <= 365:
    raise ConfigError(
        f"REPORTS_CONVERSION_DAYS={REPORTS_CONVERSION_DAYS}, REPORTS_MAX_CONVERSION_DAYS={REPORTS_MAX_CONVERSION_DAYS}:"
        " use 1 <= REPORTS_CONVERSION_DAYS <= REPORTS_MAX_CONVERSION_DAYS <= 365."
    )
if not 1 <= ATTRIBUTION_WINDOW_DAYS <= 3650:
    raise ConfigError(f"ATTRIBUTION_WINDOW_DAYS={ATTRIBUTION_WINDOW_DAYS}: use a number of days from 1 to 3650.")
if not 0 <= SALES_DIGEST_HOUR <= 23:
    raise ConfigError(f"SALES_DIGEST_HOUR={SALES_DIGEST_HOUR}: use an hour from 0 to 23.")

# --- Email ------------------------------------------------------------------
ESP = env_str("ESP", "file").lower()
if ESP not in ESPS:
    raise ConfigError(f"ESP={ESP!r} is not known; choose one of: {', '.join(sorted(ESPS))}.")
EMAIL_BACKEND = ESPS[ESP].backend
EMAIL_FILE_PATH = str(VAR_DIR / "outbox")
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
ANYMAIL = anymail_settings(ESP, dict(os.environ))
# Broadcasts: messages per second and per hour for all workers together (0: no limit), recipients
# per batch task, how long a claim may stay unfinished before the sweeper resolves it, attempts
# before a temporary error becomes final, and the failure rate that pauses a campaign.
SEND_RATE_PER_SECOND = env_int("SEND_RATE_PER_SECOND", 0)
SEND_RATE_PER_HOUR = env_int("SEND_RATE_PER_HOUR", 0)
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 500)
SEND_CLAIM_TIMEOUT = env_int("SEND_CLAIM_TIMEOUT", 300)
SEND_MAX_ATTEMPTS = env_int("SEND_MAX_ATTEMPTS", 5)
SEND_PAUSE_FAILURE_PERCENT = env_int("SEND_PAUSE_FAILURE_PERCENT", 50)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mautomation <noreply@localhost>")
# The mailto: of List-Unsubscribe; empty: unsubscribe@ the domain of DEFAULT_FROM_EMAIL.
UNSUBSCRIBE_EMAIL = env_str("UNSUBSCRIBE_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Auth and API -------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mautomation.guessing.LimitedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "mautomation.lib.pagination.CheckedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mautomation.api_errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "60/minute"),
        "user": env_str("API_USER_RATE", "6000/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mautomation API",
    "DESCRIPTION": "Marketing automation: leads, activities, scoring, campaigns, forms and reports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Two models call their lifecycle "stage": name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "LeadStageEnum": "leads.models.Lead.Stage",
        "OpportunityStageEnum": "sales.models.Opportunity.Stage",
    },
}

# --- Internationalisation ------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "ja")
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
# In development whitenoise serves straight from the apps' static folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Production safety ----------------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
