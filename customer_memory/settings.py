"""Settings, read only from the environment (see .env.example for every variable).

The defaults are the embedded mode for a laptop: SQLite, Celery tasks run eagerly in the web process,
an in-memory cache. Set DATABASE_URL / REDIS_URL (or CELERY_BROKER_URL) for PostgreSQL, Redis and real
workers.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    # Variables already in the environment win over the file (make test relies on it).
    environ.Env.read_env(BASE_DIR / ".env")

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, *, default: bool) -> bool:
    """A boolean variable; anything but a clear yes or no is a configuration error, not a silent False."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw not in _TRUE | _FALSE:
        raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no), not {raw!r}")
    return raw in _TRUE


def env_int(name: str, *, default: int) -> int:
    try:
        return env.int(name, default=default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {env.str(name)!r}") from None


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-for-make-run-only"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "customer_memory",
    "interactions",
    "channels_ingest",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, the logged-in user and messages for the admin, the desk and the docs; the token-authenticated
    # /api/v1/ skips them (customer_memory/middleware.py). CSRF stays Django's own (check --deploy looks for
    # it by name); it checks nothing on the API's views, which are csrf_exempt.
    "customer_memory.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "customer_memory.middleware.AuthenticationMiddleware",
    "customer_memory.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "customer_memory.urls"
WSGI_APPLICATION = "customer_memory.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
USING_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Celery: the raw event inbox in the database is the durable record; the broker only wakes workers.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="customer_memory")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
# With acks late on Redis, a task held by a dead worker returns only after the visibility timeout;
# keep it bounded, and let the sweeper (below) bound recovery of anything left pending.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=300)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-pending-raw-events": {
        "task": "channels_ingest.tasks.sweep_pending_raw_events_task",
        "schedule": timedelta(seconds=env_int("RAW_EVENT_SWEEP_INTERVAL", default=30)),
    },
}

# --- The inbox: how long an event may stay pending before the sweeper re-enqueues it, and after how
# many processing attempts it is parked as dead.
RAW_EVENT_SWEEP_AFTER = timedelta(seconds=env_int("RAW_EVENT_SWEEP_AFTER", default=60))
RAW_EVENT_MAX_ATTEMPTS = env_int("RAW_EVENT_MAX_ATTEMPTS", default=10)
# Most events one Celery message asks a worker to process: a message costs about as much as linking an event,
# so accepted batches (and the sweeper) wake workers in batches of this size.
INGEST_TASK_BATCH = env_int("INGEST_TASK_BATCH", default=100)
if INGEST_TASK_BATCH < 1:
    raise ImproperlyConfigured(f"INGEST_TASK_BATCH must be at least 1, not {INGEST_TASK_BATCH}")
# Milliseconds the wake-ups of events accepted a few per request (webhooks) wait in the web process to be sent
# together, one message per INGEST_TASK_BATCH (channels_ingest.wakeups); 0 sends each request's at once.
INGEST_WAKEUP_DELAY_MS = env_int("INGEST_WAKEUP_DELAY_MS", default=50)
# Link the events of a batch that need no decision of their own (a new person, or one known customer, and no
# candidate in the review band) together in one transaction (customer_memory.batch_linking); PostgreSQL only.
INGEST_BULK_LINKING = env_bool("INGEST_BULK_LINKING", default=True)

# --- Identity: the region a phone number without a country code is read in (ISO 3166 alpha-2).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="US").upper()
if len(PHONE_DEFAULT_REGION) != 2 or not PHONE_DEFAULT_REGION.isalpha():
    raise ImproperlyConfigured(f"PHONE_DEFAULT_REGION must be a two-letter region code, not {PHONE_DEFAULT_REGION!r}")

# --- The card: how many recent interactions and recently resolved cases it shows.
CARD_RECENT_INTERACTIONS = env_int("CARD_RECENT_INTERACTIONS", default=5)
CARD_RECENT_CASES = env_int("CARD_RECENT_CASES", default=5)

# --- Ingest: events per request, and the request body cap for JSON endpoints.
INGEST_MAX_BATCH = env_int("INGEST_MAX_BATCH", default=1000)
# How far past the server's clock an event's time may be (senders' clocks drift) before it is refused.
INGEST_MAX_CLOCK_SKEW = timedelta(seconds=env_int("INGEST_MAX_CLOCK_SKEW", default=24 * 3600))
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# --- Channel adapters (Segment, Twilio, Amazon Connect, email, chat).
# Largest body the email routes accept, in bytes; every other route keeps DATA_UPLOAD_MAX_MEMORY_SIZE.
EMAIL_INGEST_MAX_BYTES = env_int("EMAIL_INGEST_MAX_BYTES", default=40 * 1024 * 1024)
# The company's own mail domains: their addresses are never taken for a customer's, and mail from them is ours.
EMAIL_COMPANY_DOMAINS = [
    d.strip().lower().lstrip("@") for d in env.list("EMAIL_COMPANY_DOMAINS", default=[]) if d.strip()
]
# The public URL Twilio calls (https://memory.example.com) when a proxy in front changes scheme or host:
# Twilio signs the URL it used. Empty: the request's own URL.
TWILIO_WEBHOOK_BASE_URL = env.str("TWILIO_WEBHOOK_BASE_URL", default="")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Customer memory API",
    "DESCRIPTION": "One customer timeline across chat, email, voice and web, and the context card served from it.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every endpoint, the schema needs a token; the docs page opens for staff logged in to the admin.
    "SERVE_PERMISSIONS": ["api.permissions.IsApiClientOrStaff"],
    "SERVE_AUTHENTICATION": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Production hardening, on whenever DEBUG is off; `manage.py check --deploy` is clean with HTTPS
# behind a proxy that sets X-Forwarded-Proto. Turn SECURE_SSL_REDIRECT off only for plain-HTTP test rigs.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    # Both reach beyond this service (every subdomain; browsers' built-in lists): opt-in.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# --- The complete card, promises and the desk.
# A last contact this recent on another channel makes the card's continuation line (the channel switch).
CARD_CONTINUATION_WINDOW = timedelta(hours=env_int("CARD_CONTINUATION_HOURS", default=24))
# How long card facts stay in the cache; any change to the customer invalidates them before that.
CARD_CACHE_TIMEOUT = env_int("CARD_CACHE_TIMEOUT", default=24 * 3600)
# How often Celery beat marks promises past their due time as overdue, in seconds.
CELERY_BEAT_SCHEDULE["mark-overdue-promises"] = {
    "task": "interactions.tasks.mark_overdue_promises_task",
    "schedule": timedelta(seconds=env_int("PROMISE_OVERDUE_INTERVAL", default=60)),
}
# The desk's and the admin's static files are served by WhiteNoise straight from the apps, so a deployment
# (or `make test`'s gunicorn) needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

# --- Reliability and security: throttling, bad input, personal data, the database going away.
_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, *, default: str) -> str:
    rate = env.str(name, default=default).strip()
    if not _RATE.match(rate):
        raise ImproperlyConfigured(f"{name} must be a rate like 600/min (periods s, min, h, day), not {rate!r}")
    return rate


# Requests per API client and period, counted in the cache: with REDIS_URL every process shares one count.
API_THROTTLE_RATE = env_rate("API_THROTTLE_RATE", default="1200/min")
# Ingest endpoints count separately: a channel system's bursts must not starve its reads, nor the reverse.
API_THROTTLE_RATE_INGEST = env_rate("API_THROTTLE_RATE_INGEST", default="6000/min")
# How long a process trusts a token it has checked (seconds): revoking a client takes up to this long to reach
# every process (at once in the process that saved it). 0 checks the database on every request.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", default=5)
# While PostgreSQL is unreachable, how long after its last check a token still opens the API (seconds): the
# desk keeps reading warm cards from Redis through a database outage or failover. 0: no grace.
API_TOKEN_OUTAGE_SECONDS = env_int("API_TOKEN_OUTAGE_SECONDS", default=900)
# Card reads' access-log entries are buffered in Redis and written in batches of this many (1: one INSERT per
# read, as every other read is) by a Celery worker, and at the latest every ACCESS_LOG_FLUSH_SECONDS by beat.
ACCESS_LOG_BATCH = env_int("ACCESS_LOG_BATCH", default=100)
ACCESS_LOG_FLUSH_SECONDS = env_int("ACCESS_LOG_FLUSH_SECONDS", default=10)
CELERY_BEAT_SCHEDULE["flush-access-log"] = {
    "task": "api.tasks.flush_access_log_task",
    "schedule": timedelta(seconds=ACCESS_LOG_FLUSH_SECONDS),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["api.throttling.ApiClientRateThrottle"]
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["api.parsers.StrictJSONParser"]
# Deepest JSON nesting a request body may have (the canonical event needs 4).
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", default=32)
# Key of the hashes suppressed identifiers are kept as; defaults to SECRET_KEY. Set it on its own, so that
# rotating SECRET_KEY does not silently void every suppression.
PRIVACY_HASH_KEY = env.str("PRIVACY_HASH_KEY", default="")
# While PostgreSQL is unreachable the API answers 503 with this Retry-After (seconds) instead of a 500,
# and gives up connecting after DATABASE_CONNECT_TIMEOUT seconds instead of hanging a worker.
DATABASE_UNAVAILABLE_RETRY_AFTER = env_int("DATABASE_UNAVAILABLE_RETRY_AFTER", default=10)
if USING_POSTGRESQL:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", default=5)
# Most pending events one sweep re-enqueues (a Redis restart can lose a whole queue of wake-ups).
RAW_EVENT_SWEEP_LIMIT = env_int("RAW_EVENT_SWEEP_LIMIT", default=10000)
# The sweeper re-enqueues only while the broker's queue is shorter than this: in a longer backlog the stale
# events are still waiting in it, and copies would only slow the workers.
RAW_EVENT_SWEEP_MAX_BACKLOG = env_int("RAW_EVENT_SWEEP_MAX_BACKLOG", default=1000)
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "api.schema.add_error_responses",
]

# --- Identity resolution: rules and thresholds of customer_memory/identity/
# Dots and +tags of the big mailbox providers (gmail, outlook, …) ignored when matching emails.
IDENTITY_EMAIL_PROVIDER_RULES = env_bool("IDENTITY_EMAIL_PROVIDER_RULES", default=False)
# Fellegi–Sunter parameters (m/u per comparison level, prior) as JSON; default: the calibrated file shipped.
IDENTITY_MATCH_PARAMETERS = env.str(
    "IDENTITY_MATCH_PARAMETERS", default=str(BASE_DIR / "customer_memory" / "identity" / "parameters.json")
)


def env_probability(name: str, *, default: float) -> float:
    try:
        value = env.float(name, default=default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number between 0 and 1, not {env.str(name)!r}") from None
    if not 0 < value < 1:
        raise ImproperlyConfigured(f"{name} must be between 0 and 1 (exclusive), not {value}")
    return value


# Match probability at or above which weak evidence merges two customers, and the review band below it.
IDENTITY_AUTO_MERGE_THRESHOLD = env_probability("IDENTITY_AUTO_MERGE_THRESHOLD", default=0.99)
IDENTITY_REVIEW_THRESHOLD = env_probability("IDENTITY_REVIEW_THRESHOLD", default=0.5)
if IDENTITY_REVIEW_THRESHOLD > IDENTITY_AUTO_MERGE_THRESHOLD:
    raise ImproperlyConfigured("IDENTITY_REVIEW_THRESHOLD must not be above IDENTITY_AUTO_MERGE_THRESHOLD")
# Most customers one blocking key may bring to scoring: keeps the cost of a link flat as customers grow.
IDENTITY_BLOCK_LIMIT = env_int("IDENTITY_BLOCK_LIMIT", default=50)
# Deterministic rules per identifier kind (data, read by customer_memory/identity/rules.py):
# - priority: which identifier decides the customer when an event's identifiers point at several;
# - joins: whether two customers sharing it in one event are one person: "always", "verified" (only when the
#   event vouches for it) or "never" (the pair goes to the review queue instead);
# - limit: most distinct values one customer may hold; a merge or link past it goes to review (merge protection).
IDENTITY_RULES = {
    "account": {"priority": 100, "joins": "always", "limit": 1},
    "user_id": {"priority": 90, "joins": "always", "limit": 1},
    "email": {"priority": 70, "joins": "verified", "limit": None},
    "phone": {"priority": 60, "joins": "verified", "limit": None},
    "handle": {"priority": 40, "joins": "verified", "limit": None},
    "anonymous_id": {"priority": 10, "joins": "always", "limit": None},
}
# How often Celery beat merges the pending review pairs that their customers' evidence settles by now (see
# customer_memory.services.review_queue_settle), in seconds.
CELERY_BEAT_SCHEDULE["settle-review-queue"] = {
    "task": "customer_memory.tasks.settle_review_queue_task",
    "schedule": timedelta(seconds=env_int("REVIEW_QUEUE_SETTLE_INTERVAL", default=300)),
}
# Weak evidence auto-merges only when, whatever the score, one of these alternatives holds: each is a list of
# groups, and every group needs a field agreeing ("field": exactly or closely; "field>=N": at least level N of
# LEVELS in customer_memory/identity/matching.py, e.g. "dob>=4" an exact date). A shared surname and city, or a
# shared household address, is never enough: the first alternative wants the given name and more (a date of
# birth up to a year off counts beside a surname: typos, not a sibling; the exact town counts as the street
# does, for sources that give a town and no street), the second (for sources that garble
# or omit given names) the surname, the date of birth and the address or a contact point, the third an exact
# date of birth at the same street and postcode or town (names replaced or missing; not a household, whose
# members differ in birth date — twins share a surname and so already meet the second), the fourth the exact
# full name in the same town or postcode (a household's members differ in given name; the score, weighed by
# how common the name and the town are, decides whether the name is rare enough), the fifth the exact given
# name at the exact street line and postcode or town (a surname changed by marriage, or garbled; a household's
# members differ in given name), the sixth the exact given name at the exact postcode and town (the same, for
# sources that give no street line).
IDENTITY_AUTO_MERGE_REQUIRES = [
    [["given"], ["surname", "dob", "email", "phone"], ["dob>=2", "email", "phone", "street", "postcode", "city>=2"]],
    [["surname"], ["dob"], ["street", "postcode", "city", "email", "phone"]],
    [["dob>=4"], ["street"], ["postcode>=2", "city>=2"]],
    [["given>=3"], ["surname>=3"], ["city>=2", "postcode>=2"]],
    [["given>=3"], ["street>=2"], ["postcode>=2", "city>=2"]],
    [["given>=3"], ["postcode>=2"], ["city>=2"]],
]
