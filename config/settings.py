"""Settings for the Sigma rule catalog.

Development defaults are safe to run locally (embedded SQLite, DEBUG on).
Production is selected with CATALOG_PRODUCTION=1: DEBUG is off and SECRET_KEY and
ALLOWED_HOSTS must come from the environment, so a forgotten variable fails loudly.
"""

import ipaddress
import os
import tempfile
from pathlib import Path

import dj_database_url
import jinja2
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION = os.environ.get("CATALOG_PRODUCTION", "") == "1"


def _env_required(name):
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production (CATALOG_PRODUCTION=1)")
    return value


if PRODUCTION:
    DEBUG = False
    SECRET_KEY = _env_required("SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in _env_required("ALLOWED_HOSTS").split(",") if h.strip()]
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
else:
    DEBUG = os.environ.get("DEBUG", "1") == "1"
    # Development only: production refuses to start without its own SECRET_KEY.
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-not-for-production")
    ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

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
    "django_tasks",
    "django_tasks_db",
    "catalog",
]

MIDDLEWARE = [
    # Operations (catalog/operations): request logs and metrics see every answer; the probes and
    # /metrics are answered before the host check, the HTTPS redirect and the page cache.
    "catalog.operations.request_log.RequestLogMiddleware",
    "catalog.operations.metrics.PrometheusBeforeMiddleware",
    "catalog.operations.metrics.PrometheusAfterMiddleware",
    "catalog.operations.endpoints.OperationsEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "catalog.platform.middleware.SecurityHeadersMiddleware",
    "catalog.platform.middleware.RequestSanityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "catalog.platform.page_cache.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "catalog.platform.login_throttle.LoginThrottleMiddleware",
]

ROOT_URLCONF = "config.urls"

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
    # The hot loops of the rule list (templates/jinja2: its facet panel), compiled to Python code by Jinja2.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"undefined": jinja2.StrictUndefined},  # a misspelt name fails, never prints ""
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Readers never wait on the importer's write transaction in WAL mode.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"]["timeout"] = 30
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer fails the request (and /health/, with 503) in this many seconds, not never.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("CATALOG_DB_CONNECT_TIMEOUT", "10"))
    )
    # No parallel workers per query by default: starting them cost a page query 20 ms (a field page's rules at 20x
    # SigmaHQ: 35 ms in parallel, 5.6 ms in one process), and concurrent requests already keep the cores busy.
    _db_options = DATABASES["default"]["OPTIONS"]
    _db_options["options"] = " ".join(
        filter(
            None,
            [
                _db_options.get("options", ""),
                f"-c max_parallel_workers_per_gather={int(os.environ.get('CATALOG_DB_PARALLEL_WORKERS', '0'))}",
            ],
        )
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic's target, used in production; in development the finders serve static files
# directly (and WhiteNoise would warn about a missing folder on every start).
STATIC_ROOT = Path(os.environ.get("CATALOG_STATIC_ROOT", BASE_DIR / "staticfiles")) if PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Public pages and API answers for anonymous visitors are cached under the catalog version
# (catalog/platform/page_cache.py). Embedded default: each worker keeps them in its own memory, at most
# CATALOG_PAGE_CACHE_BYTES of gzipped pages (least recently used out first; a page over 1 MiB is not
# kept), so a worker's cache never holds more than that whatever the corpus or the URLs asked for.
# CATALOG_PAGE_CACHE=shared keeps them in Redis (CATALOG_CACHE_URL) for every worker and node instead.
CATALOG_PAGE_CACHE_SECONDS = int(os.environ.get("CATALOG_PAGE_CACHE_SECONDS", "600"))
CATALOG_PAGE_CACHE_BYTES = int(os.environ.get("CATALOG_PAGE_CACHE_BYTES", str(32 * 1024 * 1024)))
CATALOG_PAGE_CACHE = os.environ.get("CATALOG_PAGE_CACHE", "memory")
# Fragments of pages that depend on the catalog alone, keyed by its version (catalog/platform/fragments.py):
# kept this long at most (a new version makes them unused at once); 0 turns them off.
CATALOG_FRAGMENT_SECONDS = int(os.environ.get("CATALOG_FRAGMENT_SECONDS", str(24 * 3600)))
CATALOG_FRAGMENT_CACHE_BYTES = int(os.environ.get("CATALOG_FRAGMENT_CACHE_BYTES", str(32 * 1024 * 1024)))
# How long a browser, proxy or CDN may use a public answer before asking again (then a 304 if unchanged).
CATALOG_HTTP_MAX_AGE = int(os.environ.get("CATALOG_HTTP_MAX_AGE", "60"))
_REDIS_URL = (
    os.environ["CATALOG_CACHE_URL"]
    if os.environ.get("CATALOG_CACHE_URL", "").startswith(("redis://", "rediss://"))
    else ""
)
if CATALOG_PAGE_CACHE not in ("memory", "shared"):
    raise ImproperlyConfigured("CATALOG_PAGE_CACHE is 'memory' (the default) or 'shared'")
if CATALOG_PAGE_CACHE == "shared" and not _REDIS_URL:
    raise ImproperlyConfigured("CATALOG_PAGE_CACHE=shared needs CATALOG_CACHE_URL=redis://host:6379/N")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "pages": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _REDIS_URL, "KEY_PREFIX": "page"}
        if CATALOG_PAGE_CACHE == "shared"
        else {
            "BACKEND": "catalog.platform.byte_cache.ByteBoundedCache",
            "OPTIONS": {"MAX_BYTES": CATALOG_PAGE_CACHE_BYTES, "MAX_ENTRY_BYTES": 1024 * 1024},
        }
    ),
    # Per-catalog-version fragments (catalog/platform/fragments.py): rule rows, the unfiltered list's facets,
    # the rule page's sections. Beside the pages, in the same place: each worker's memory by default
    # (CATALOG_FRAGMENT_CACHE_BYTES), Redis with CATALOG_PAGE_CACHE=shared.
    "fragments": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _REDIS_URL, "KEY_PREFIX": "fragment"}
        if CATALOG_PAGE_CACHE == "shared"
        else {
            "BACKEND": "catalog.platform.byte_cache.ByteBoundedCache",
            "OPTIONS": {"MAX_BYTES": CATALOG_FRAGMENT_CACHE_BYTES, "MAX_ENTRY_BYTES": 1024 * 1024},
        }
    ),
    # Rate-limit and login-failure counters: one store for every worker and node. A table in the
    # catalog's own database by default (`manage.py createcachetable` makes it; `make run`/`make serve`
    # and the test runner do); CATALOG_CACHE_URL=redis://host:6379/0 selects Redis instead.
    "shared": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _REDIS_URL}
        if _REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "catalog_shared_cache",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    ),
    # Converted queries (catalog/conversion), keyed by rule content hash, target, pipelines and backend
    # versions: an entry never goes stale, so none expires; past MAX_ENTRIES the cache culls a third.
    # Shared like "shared" (a table `createcachetable` makes, or Redis with CATALOG_CACHE_URL).
    "conversions": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _REDIS_URL,
            "KEY_PREFIX": "conversion",
            "TIMEOUT": None,
        }
        if _REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "catalog_conversion_cache",
            "TIMEOUT": None,
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CATALOG_CONVERSION_CACHE_ENTRIES", "100000"))},
        }
    ),
}

# Whole-catalog SIEM exports (catalog/exports/built_exports.py): built by `manage.py build_exports`
# outside web requests (or by a task the first request for one not built yet enqueues; it gets a 202),
# stored in STORAGES["exports"] (a folder, CATALOG_EXPORT_DIR, by default) per target, pipelines and
# catalog version. A build holds its (target, pipelines) claim at most CATALOG_EXPORT_BUILD_SECONDS; a
# client may start CATALOG_EXPORT_BUILDS_PER_CLIENT builds an hour, everyone CATALOG_EXPORT_BUILDS_PER_HOUR.
# A filtered export (?level=high…) converts in the request, so it may list at most
# CATALOG_EXPORT_MAX_FILTERED_RULES rules.
CATALOG_EXPORT_DIR = os.environ.get("CATALOG_EXPORT_DIR", str(BASE_DIR / "exports"))
STORAGES["exports"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": CATALOG_EXPORT_DIR},
}
CATALOG_EXPORT_BUILD_SECONDS = int(os.environ.get("CATALOG_EXPORT_BUILD_SECONDS", "3600"))
CATALOG_EXPORT_BUILDS_PER_CLIENT = int(os.environ.get("CATALOG_EXPORT_BUILDS_PER_CLIENT", "3"))
CATALOG_EXPORT_BUILDS_PER_HOUR = int(os.environ.get("CATALOG_EXPORT_BUILDS_PER_HOUR", "30"))
CATALOG_EXPORT_RETRY_SECONDS = int(os.environ.get("CATALOG_EXPORT_RETRY_SECONDS", "30"))
CATALOG_EXPORT_MAX_FILTERED_RULES = int(os.environ.get("CATALOG_EXPORT_MAX_FILTERED_RULES", "500"))

# Login throttling (catalog/platform/login_throttle.py): this many wrong passwords for one username from
# one client lock that pair out for the rest of the window.
AUTHENTICATION_BACKENDS = ["catalog.platform.login_throttle.ThrottledModelBackend"]
CATALOG_LOGIN_FAILURE_LIMIT = int(os.environ.get("CATALOG_LOGIN_FAILURE_LIMIT", "5"))
CATALOG_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("CATALOG_LOGIN_LOCKOUT_SECONDS", "900"))

# Query values longer than this get a 400 (catalog/platform/middleware.py): no filter needs more, and
# SQLite's LIKE refuses patterns over 50,000 bytes.
CATALOG_MAX_QUERY_VALUE_CHARS = int(os.environ.get("CATALOG_MAX_QUERY_VALUE_CHARS", "1000"))

# Sysmon XML configurations posted to /api/coverage/ (catalog/coverage/sysmon_config.py), parsed by
# defusedxml: at most this many characters, elements at most this deep (a real config is 6 deep).
CATALOG_MAX_SYSMON_CONFIG_CHARS = int(os.environ.get("CATALOG_MAX_SYSMON_CONFIG_CHARS", "2000000"))
CATALOG_MAX_SYSMON_CONFIG_DEPTH = int(os.environ.get("CATALOG_MAX_SYSMON_CONFIG_DEPTH", "32"))
# Samples of logs uploaded to /coverage/sample/ (catalog/coverage/sample_views.py): at most this many bytes in
# all (refused past it, from Content-Length before the body is read), and the profile is read from the first
# this many events (about 0.1 CPU-second per 1,000 events; `manage.py infer_profile` reads every event).
CATALOG_COVERAGE_SAMPLE_MAX_BYTES = int(os.environ.get("CATALOG_COVERAGE_SAMPLE_MAX_BYTES", str(64 * 1024 * 1024)))
CATALOG_COVERAGE_SAMPLE_EVENTS = int(os.environ.get("CATALOG_COVERAGE_SAMPLE_EVENTS", "10000"))

# /match/ and /api/match/ limits (catalog/matching/views.py): checked before parsing where possible.
CATALOG_MATCH_MAX_BYTES = int(os.environ.get("CATALOG_MATCH_MAX_BYTES", str(1024 * 1024)))
CATALOG_MATCH_MAX_EVENTS = int(os.environ.get("CATALOG_MATCH_MAX_EVENTS", "100"))
CATALOG_MATCH_MAX_FIELDS = int(os.environ.get("CATALOG_MATCH_MAX_FIELDS", "1000"))
CATALOG_MATCH_MAX_VALUE_CHARS = int(os.environ.get("CATALOG_MATCH_MAX_VALUE_CHARS", "32768"))
CATALOG_MATCH_MAX_DEPTH = int(os.environ.get("CATALOG_MATCH_MAX_DEPTH", "32"))
# Wall-clock seconds one request may spend evaluating rules; past it the answer is partial (and says so).
CATALOG_MATCH_BUDGET_SECONDS = float(os.environ.get("CATALOG_MATCH_BUDGET_SECONDS", "5"))
# Seconds of one request that rule regexes RE2 cannot run (backreferences, lookaround) may take on the
# backtracking fallback, all its events together; a search past it is undecided and reported as cut off.
CATALOG_MATCH_REGEX_SECONDS = float(os.environ.get("CATALOG_MATCH_REGEX_SECONDS", "0.25"))

# Event files uploaded to /match/ (catalog/matching/file_views.py): each file's size and event count are checked
# before parsing; matching runs in a background task (`manage.py db_worker`), within a time budget.
CATALOG_MATCH_MAX_UPLOAD_BYTES = int(os.environ.get("CATALOG_MATCH_MAX_UPLOAD_BYTES", str(64 * 1024 * 1024)))
CATALOG_MATCH_MAX_FILE_EVENTS = int(os.environ.get("CATALOG_MATCH_MAX_FILE_EVENTS", "100000"))
# Both above are per file; one upload may hold several files (one job): at most this many, this many bytes in all.
CATALOG_MATCH_MAX_UPLOAD_FILES = int(os.environ.get("CATALOG_MATCH_MAX_UPLOAD_FILES", "20"))
CATALOG_MATCH_MAX_UPLOAD_TOTAL_BYTES = int(
    os.environ.get("CATALOG_MATCH_MAX_UPLOAD_TOTAL_BYTES", str(256 * 1024 * 1024))
)
CATALOG_MATCH_MAX_JOBS = int(os.environ.get("CATALOG_MATCH_MAX_JOBS", "10"))  # queued or running, site-wide
CATALOG_MATCH_JOB_SECONDS = float(os.environ.get("CATALOG_MATCH_JOB_SECONDS", "900"))
CATALOG_MATCH_JOB_KEEP_HOURS = float(os.environ.get("CATALOG_MATCH_JOB_KEEP_HOURS", "24"))
CATALOG_MATCH_JOB_DIR = os.environ.get(
    "CATALOG_MATCH_JOB_DIR", str(Path(tempfile.gettempdir()) / "sigma-catalog-match-uploads")
)
# Uploads are stored and read through STORAGES["uploads"] (a folder, CATALOG_MATCH_JOB_DIR, by default), so a
# worker on another machine reads them when the storage is shared (e.g. S3 through django-storages).
STORAGES["uploads"] = {
    "BACKEND": "catalog.matching.storage.UploadFolderStorage",  # FileSystemStorage in CATALOG_MATCH_JOB_DIR
    "OPTIONS": {"directory_permissions_mode": 0o700, "file_permissions_mode": 0o600},
}
# The compiled catalog, stored per catalog version so that other processes load it instead of compiling it
# (catalog/matching/stored.py); empty: every process compiles its own.
CATALOG_MATCH_COMPILED_DIR = os.environ.get(
    "CATALOG_MATCH_COMPILED_DIR", str(Path(tempfile.gettempdir()) / "sigma-catalog-compiled")
)
CATALOG_MATCH_SAMPLE_EVENTS = int(os.environ.get("CATALOG_MATCH_SAMPLE_EVENTS", "3"))  # explained, per rule
CATALOG_MATCH_TIMELINE_EVENTS = int(os.environ.get("CATALOG_MATCH_TIMELINE_EVENTS", "1000"))
# Match-job fairness and cleanup (catalog/matching/quotas.py, jobs.py): files one client may have
# queued or running (429 past it), bytes of uploads waiting on disk site-wide (503), and how old a file
# of CATALOG_MATCH_JOB_DIR that no live job owns must be before it is deleted (younger: still being written).
CATALOG_MATCH_MAX_JOBS_PER_CLIENT = int(os.environ.get("CATALOG_MATCH_MAX_JOBS_PER_CLIENT", "2"))
CATALOG_MATCH_MAX_QUEUED_BYTES = int(os.environ.get("CATALOG_MATCH_MAX_QUEUED_BYTES", str(256 * 1024 * 1024)))
CATALOG_MATCH_ORPHAN_GRACE_SECONDS = float(os.environ.get("CATALOG_MATCH_ORPHAN_GRACE_SECONDS", "600"))
# Explanations in one answer of /api/match/, /match/ or one job's results (catalog/matching/budget.py):
# at most this many, and this many bytes of them as JSON; the rest are left out and counted ("truncated").
CATALOG_MATCH_MAX_EXPLANATIONS = int(os.environ.get("CATALOG_MATCH_MAX_EXPLANATIONS", "200"))
CATALOG_MATCH_MAX_EXPLANATION_BYTES = int(os.environ.get("CATALOG_MATCH_MAX_EXPLANATION_BYTES", str(2 * 1024 * 1024)))
# Rules named per entry of a job's timeline (the others are counted in `rules_left_out`).
CATALOG_MATCH_TIMELINE_RULES = int(os.environ.get("CATALOG_MATCH_TIMELINE_RULES", "50"))
# Correlation rules over a file's events (catalog/matching/correlating.py): events are held this long to put
# slightly out-of-order timestamps right (later ones are counted, not correlated); each result shows this many
# of its events, with their base rules' explanations; a file keeps at most this many results.
CATALOG_CORRELATION_REORDER_SECONDS = float(os.environ.get("CATALOG_CORRELATION_REORDER_SECONDS", "5"))
CATALOG_CORRELATION_SHOWN_EVENTS = int(os.environ.get("CATALOG_CORRELATION_SHOWN_EVENTS", "5"))
CATALOG_CORRELATION_MAX_RESULTS = int(os.environ.get("CATALOG_CORRELATION_MAX_RESULTS", "200"))

REST_FRAMEWORK = {
    # drf-spectacular's AutoSchema; an operation anyone may call says so (security [{}]: no lock in /api/docs/).
    "DEFAULT_SCHEMA_CLASS": "catalog.platform.api_schema.AnonymousFirstSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # Anonymous requests never touch the session (so their answers carry no `Vary: Cookie` and are
    # cached like the pages); a request with a session cookie is authenticated as before.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog.platform.api_auth.SessionCookieAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    # Anonymous API requests per client, in the shared cache (catalog/platform/throttling.py); matching
    # has its own stricter rate, for everyone, applied to /api/match/ and the /match/ form.
    "DEFAULT_THROTTLE_CLASSES": ["catalog.platform.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("CATALOG_RATE_ANON", "300/minute"),
        # each match may use up to CATALOG_MATCH_BUDGET_SECONDS of a worker: 10 x 5 s = at most
        # 50 worker-seconds a minute per client
        "match": os.environ.get("CATALOG_RATE_MATCH", "10/minute"),
        # POST /api/convert/ and the /preview/ form (catalog/conversion/api.py): each parses and converts a rule.
        "convert": os.environ.get("CATALOG_RATE_CONVERT", "60/minute"),
        # /rules/export/* (SIEM files), /rules/export.csv and /attack/navigator.json, per client: each reads
        # every rule it lists, a filtered SIEM export converts up to CATALOG_EXPORT_MAX_FILTERED_RULES.
        "export": os.environ.get("CATALOG_RATE_EXPORT", "20/minute"),
        # POST /api/coverage/ (catalog/coverage/api.py): a posted profile, perhaps with a Sysmon XML config.
        "coverage": os.environ.get("CATALOG_RATE_COVERAGE", "30/minute"),
        # POST /api/sources/<name>/webhook/ (catalog/importing/webhooks.py), per client, checked before the signature.
        "webhook": os.environ.get("CATALOG_RATE_WEBHOOK", "30/minute"),
    },
    # Clients are told apart by REMOTE_ADDR; behind N reverse proxies set CATALOG_NUM_PROXIES=N so the
    # address comes from X-Forwarded-For (which, unset, a client could forge to escape its limit).
    "NUM_PROXIES": int(os.environ.get("CATALOG_NUM_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sigma rule catalog API",
    "DESCRIPTION": "Rules, indicators, fields, ATT&CK and event coverage of the catalog.",
    "VERSION": "1",
    # /api/docs/ serves Swagger UI from the drf-spectacular-sidecar package's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Import limits: a rule file larger, deeper or more alias-expanded than this is rejected
# with a clear error instead of exhausting memory (SigmaHQ's largest rule is ~60 KB).
CATALOG_MAX_FILE_BYTES = int(os.environ.get("CATALOG_MAX_FILE_BYTES", str(1024 * 1024)))
CATALOG_MAX_YAML_DEPTH = int(os.environ.get("CATALOG_MAX_YAML_DEPTH", "64"))
CATALOG_MAX_YAML_NODES = int(os.environ.get("CATALOG_MAX_YAML_NODES", "100000"))
# Values one file's windash / base64offset items may expand to (pySigma expands them while parsing: 5**n
# for n dashes); a rule over it is refused by name, at import, conversion and /preview/ alike.
CATALOG_MAX_VALUE_VARIANTS = int(os.environ.get("CATALOG_MAX_VALUE_VARIANTS", "4096"))
# Conversions made for one request (rule page, /api/rules/<id>/query/, POST /api/convert/, /preview/) run in a
# forked child with this much time (all of the request's conversions together) and this much memory
# beyond the worker's own (catalog/conversion/budget.py); past either, the answer says so.
CATALOG_CONVERT_SECONDS = float(os.environ.get("CATALOG_CONVERT_SECONDS", "10"))
CATALOG_CONVERT_MEMORY_MB = int(os.environ.get("CATALOG_CONVERT_MEMORY_MB", "512"))
# Parsing one rule file may take this long; a file over it is reported and skipped (SigmaHQ's slowest takes ~0.2 s).
CATALOG_IMPORT_FILE_SECONDS = float(os.environ.get("CATALOG_IMPORT_FILE_SECONDS", "10"))

# Folders that imports started from the admin may read (colon-separated; symlinks are resolved before
# the check). Unset: only the project's own example rules (rules/, public and shipped with the code).
# Set to an empty string to turn admin imports off. `manage.py import_rules` is not restricted.
CATALOG_IMPORT_ROOTS = [
    path for path in os.environ.get("CATALOG_IMPORT_ROOTS", str(BASE_DIR / "rules")).split(":") if path.strip()
]

# Git sources (catalog/importing/git_sources.py, syncing.py; README "Rule sources from git"): where their
# checkouts live, how long one git command may take, and per source name, from the environment only (never the
# database): CATALOG_GIT_TOKEN_<NAME> (an HTTPS token, or user:token), CATALOG_GIT_SSH_KEY_<NAME> (a deploy key
# file) and CATALOG_WEBHOOK_SECRET_<NAME> (the push webhook's secret). <NAME> is the source's name in capitals,
# other characters as '_' (team-rules: CATALOG_GIT_TOKEN_TEAM_RULES).
CATALOG_SOURCES_DIR = os.environ.get("CATALOG_SOURCES_DIR", str(BASE_DIR / "sources"))
CATALOG_GIT_TIMEOUT_SECONDS = float(os.environ.get("CATALOG_GIT_TIMEOUT_SECONDS", "900"))


def _per_source(prefix: str) -> dict[str, str]:
    return {key[len(prefix) :]: value for key, value in os.environ.items() if key.startswith(prefix) and value}


CATALOG_GIT_TOKENS = _per_source("CATALOG_GIT_TOKEN_")
CATALOG_GIT_SSH_KEYS = _per_source("CATALOG_GIT_SSH_KEY_")
CATALOG_WEBHOOK_SECRETS = _per_source("CATALOG_WEBHOOK_SECRET_")
CATALOG_WEBHOOK_MAX_BYTES = int(os.environ.get("CATALOG_WEBHOOK_MAX_BYTES", str(1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# --- Operations (catalog/operations; README "Deploying": probes, metrics, logs) ---
# CATALOG_LOG_FORMAT=json: every log line is one JSON object, and each request is logged
# (catalog.requests: method, path, status, duration_ms, view, client). "text" (the default) as before.
CATALOG_LOG_FORMAT = os.environ.get("CATALOG_LOG_FORMAT", "text")
if CATALOG_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("CATALOG_LOG_FORMAT is 'text' (the default) or 'json'")
if CATALOG_LOG_FORMAT == "json":
    LOGGING["formatters"] = {"json": {"()": "catalog.operations.request_log.JsonFormatter"}}
    LOGGING["handlers"]["console"]["formatter"] = "json"
    LOGGING["loggers"] = {"catalog.requests": {"level": "INFO"}}
# /metrics (Prometheus) is refused (403) unless one of these is set; with both, both apply.
# A Bearer token scrapes must send, and/or the addresses or networks (comma-separated) allowed to scrape.
CATALOG_METRICS_TOKEN = os.environ.get("CATALOG_METRICS_TOKEN", "")
CATALOG_METRICS_ALLOWED_ADDRESSES = [
    a.strip() for a in os.environ.get("CATALOG_METRICS_ALLOWED_ADDRESSES", "").split(",") if a.strip()
]
for _network in CATALOG_METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"CATALOG_METRICS_ALLOWED_ADDRESSES: {_exc}") from None
# With gunicorn's several workers, prometheus_client keeps each worker's values in files in this folder
# (empty it before starting the server: `make serve` does) and /metrics adds them up.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
# /health/ reports the job queue down when a job has been queued longer than this (0: never, the
# default: a stuck queue should raise an alert from the metrics, not pull every node out of service).
CATALOG_HEALTH_QUEUE_MAX_AGE_SECONDS = float(os.environ.get("CATALOG_HEALTH_QUEUE_MAX_AGE_SECONDS", "0"))

# Background work (imports from the admin, /match/ files, whole-catalog exports) runs as Django tasks
# (django-tasks backport; catalog/*/tasks.py) in `manage.py db_worker` processes. The default backend keeps
# the queue in the catalog's database (no broker; SQLite or PostgreSQL). CATALOG_TASKS_BACKEND=rq queues on
# Redis instead (CATALOG_TASKS_REDIS_URL, or CATALOG_CACHE_URL) for RQ workers
# (`manage.py rqworker --job-class django_tasks_rq.Job default`).
CATALOG_TASKS_BACKEND = os.environ.get("CATALOG_TASKS_BACKEND", "database")
if CATALOG_TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif CATALOG_TASKS_BACKEND == "rq":
    _TASKS_REDIS_URL = os.environ.get("CATALOG_TASKS_REDIS_URL") or _REDIS_URL
    if not _TASKS_REDIS_URL:
        raise ImproperlyConfigured(
            "CATALOG_TASKS_BACKEND=rq needs CATALOG_TASKS_REDIS_URL (or CATALOG_CACHE_URL)=redis://…"
        )
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": _TASKS_REDIS_URL}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
else:
    raise ImproperlyConfigured(f"CATALOG_TASKS_BACKEND={CATALOG_TASKS_BACKEND!r}: use database or rq")
# A running task of a worker that died (kill -9, a reboot) stays "running" in the database backend: an import
# job is given up as failed this long after it started (a match job after twice CATALOG_MATCH_JOB_SECONDS).
CATALOG_TASK_GIVE_UP_SECONDS = float(os.environ.get("CATALOG_TASK_GIVE_UP_SECONDS", str(6 * 3600)))
if CATALOG_TASKS_BACKEND == "rq":
    # RQ kills a task's work-horse after its queue's timeout, 180 s unless set: shorter than a match job's
    # budget or a big import. The give-up time instead, so a task is never cut before the catalog gives it up.
    RQ_QUEUES["default"]["DEFAULT_TIMEOUT"] = int(CATALOG_TASK_GIVE_UP_SECONDS)
