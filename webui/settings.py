"""Homefire settings, read from the environment with safe defaults for one office machine."""

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HOMEFIRE_VAR_DIR", BASE_DIR / "var"))
# Only Homefire's own user may enter: it holds the database, the secret key, backups.
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


def _env_raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def _refuse(name: str, wanted: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={os.environ[name]!r} in the environment: {wanted}.")


def _env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no setting; refuse any other word, so that a typo does not read as off."""
    value = _env_raw(name).lower()
    if not value:
        return default
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    raise _refuse(name, "expected true/false, 1/0, yes/no or on/off")


def _env_int(name: str, default: int) -> int:
    """Read a whole-number setting; empty or unset is the default."""
    if not (value := _env_raw(name)):
        return default
    try:
        return int(value)
    except ValueError:
        raise _refuse(name, "expected a whole number") from None


def _env_float(name: str, default: float) -> float:
    """Read a number setting; empty or unset is the default."""
    if not (value := _env_raw(name)):
        return default
    try:
        return float(value)
    except ValueError:
        raise _refuse(name, "expected a number") from None


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Read one of a few words (case-insensitive); empty or unset is the default."""
    value = _env_raw(name).lower() or default
    if value not in choices:
        raise _refuse(name, f"expected one of {', '.join(choices)}")
    return value


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _env_networks(name: str) -> list[str]:
    """Read comma-separated addresses or networks (CIDR); refuse anything else."""
    try:
        return [str(ipaddress.ip_network(item, strict=False)) for item in _env_list(name, "")]
    except ValueError:
        raise _refuse(name, "expected addresses or networks, e.g. 127.0.0.1,10.0.0.0/8") from None


def _env_origins(name: str) -> list[str]:
    """Read comma-separated web origins (scheme://host[:port], no path); refuse others."""
    origins = _env_list(name, "")
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or origin != f"{parts.scheme}://{parts.netloc}":
            raise _refuse(
                name, "expected origins such as https://app.example.com,http://localhost:5173"
            )
    return origins


def _secret_key() -> str:
    """Use SECRET_KEY from the environment, else one generated once and kept under var/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    # Two-factor sign-in: authenticator apps (TOTP) and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "webui.core",
    "webui.accounts",
    "webui.registry",
    "webui.chat",
    "webui.documents",
    "webui.api",
    "webui.team",
    "webui.ops",
    "inference",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webui.api.cors.ApiCorsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "webui.team.middleware.AccountGateMiddleware",
    "webui.accounts.two_factor_middleware.TwoFactorMiddleware",
    "webui.accounts.sessions_middleware.SessionSeenMiddleware",
    "webui.core.requestlog.RequestLogMiddleware",
]

ROOT_URLCONF = "webui.urls"
ASGI_APPLICATION = "webui.asgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'homefire.sqlite3'}"),
        conn_max_age=_env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not _env_int(
    "DATABASE_CONN_MAX_AGE", 0
):
    # A pool of connections per process, shared by its threads (Django's advice under
    # ASGI): without it every query outside a request, each of a socket's steps among them,
    # opened a connection of its own, about 20 ms of PostgreSQL's time on a busy server,
    # and fifty tabs opening at once missed Daphne's 5 s handshake. Connections are
    # checked before use (a restarted PostgreSQL leaves broken ones). The pool grows to
    # what a process's threads ask for at once; a thread waits for one at most `timeout`.
    from psycopg_pool import ConnectionPool

    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": _env_int("DATABASE_POOL_MAX", 64),
        "timeout": _env_int("DATABASE_POOL_TIMEOUT", 30),
        "check": ConnectionPool.check_connection,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the workers write to one file: WAL lets readers go on while a
    # writer commits, and IMMEDIATE transactions wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    if test_name := os.environ.get("HOMEFIRE_TEST_DB"):
        DATABASES["default"]["TEST"] = {"NAME": test_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Who may vouch for a sign-in, tried in this order (docs/operations.md): the account's own
# password first, so that the first admin can always sign in when the directory or the
# identity provider is down.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
# Two-factor codes are throttled by Homefire's own log-in throttle (webui.team.throttle),
# not by django-otp's per-device back-off, which doubles without end.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
OTP_TOTP_ISSUER = os.environ.get("HOMEFIRE_TOTP_ISSUER", "Homefire")
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site's root whatever the page says (/favicon.ico).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
WHITENOISE_MIMETYPES = {".webmanifest": "application/manifest+json"}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_database(url: str) -> int:
    """The database number a redis:// or rediss:// URL names, read as redis-py reads it:
    `?db=` first, then the path (0 when it names none)."""
    parts = urlsplit(url)
    database = parse_qs(parts.query).get("db", [parts.path.strip("/")])[0]
    return int(database) if database.isdigit() else 0


# Pub/sub channels, unlike keys, are shared by every database of a Redis server: on a
# database other than 0 they carry its number (two installations, or two test runs).
REDIS_DATABASE = _redis_database(REDIS_URL)


CHANNEL_LAYERS = {
    "default": {
        # Pub/sub delivers to whoever listens, with no per-channel capacity to overflow;
        # a view that connects late catches up from the stream buffer instead.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": f"asgi.db{REDIS_DATABASE}" if REDIS_DATABASE else "asgi",
        },
    }
}

# Email, for password resets (docs/configuration.md); without a host there is no mailer,
# and the log-in page says to ask an admin.
_EMAIL_PORT = _env_int("HOMEFIRE_EMAIL_PORT", 587)
# Without HOMEFIRE_EMAIL_HOST there is no mailer: the log-in page says to ask an admin
# instead of offering a reset link (and Django's warning about it is silenced below).
MAILERS = {}
SILENCED_SYSTEM_CHECKS = [] if _env_raw("HOMEFIRE_EMAIL_HOST") else ["mail.W001"]
if _env_raw("HOMEFIRE_EMAIL_HOST"):
    MAILERS["default"] = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _env_raw("HOMEFIRE_EMAIL_HOST"),
            "port": _EMAIL_PORT,
            "username": _env_raw("HOMEFIRE_EMAIL_USER"),
            "password": os.environ.get("HOMEFIRE_EMAIL_PASSWORD", ""),
            # STARTTLS on the submission port, TLS from the start on 465, by default.
            "use_tls": _env_bool("HOMEFIRE_EMAIL_USE_TLS", default=_EMAIL_PORT == 587),
            "use_ssl": _env_bool("HOMEFIRE_EMAIL_USE_SSL", default=_EMAIL_PORT == 465),
            "timeout": 10,
        },
    }
DEFAULT_FROM_EMAIL = _env_raw("HOMEFIRE_EMAIL_FROM") or "homefire@localhost"
# Seconds a password-reset link works (it works once: the new password voids it).
PASSWORD_RESET_TIMEOUT = _env_int("HOMEFIRE_PASSWORD_RESET_SECONDS", 3600)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

HOMEFIRE = {
    # Seconds without a heartbeat after which a worker counts as gone.
    "WORKER_HEARTBEAT_TIMEOUT": _env_int("HOMEFIRE_WORKER_TIMEOUT", 15),
    "WORKER_HEARTBEAT_INTERVAL": _env_float("HOMEFIRE_WORKER_HEARTBEAT", 3.0),
    "MAX_MESSAGE_CHARS": _env_int("HOMEFIRE_MAX_MESSAGE_CHARS", 32000),
    # Messages one import may hold (conversations count against it too).
    "IMPORT_MAX_MESSAGES": _env_int("HOMEFIRE_IMPORT_MAX_MESSAGES", 10000),
    "DEFAULT_MAX_TOKENS": _env_int("HOMEFIRE_MAX_TOKENS", 512),
    # Seconds a temporary chat outlives its last tab (a reload or a dropped socket comes
    # back within it); then housekeeping deletes it (webui.chat.temporary).
    "TEMPORARY_GRACE_SECONDS": _env_int("HOMEFIRE_TEMPORARY_GRACE", 60),
    # After a conversation's first answer its model writes it a short title, as background
    # work that gives way to every answer (webui.chat.titles); a rename always wins.
    "AUTO_TITLES": _env_bool("HOMEFIRE_AUTO_TITLES", default=True),
    # API requests one user may have queued or streaming at once; more get a 429.
    "API_MAX_ACTIVE": _env_int("HOMEFIRE_API_MAX_ACTIVE", 4),
    # Seconds a request past that cap waits in line for a place before its 429 (0: none).
    "API_QUEUE_SECONDS": _env_float("HOMEFIRE_API_QUEUE_SECONDS", 10.0),
    # Web origins whose pages may call /v1/* from a browser (CORS); none by default.
    "API_CORS_ORIGINS": _env_origins("HOMEFIRE_API_CORS_ORIGINS"),
    # Request bodies the web server reads (webui.ops.webserver): from anyone, and from a
    # signed-in staff member (a model file uploaded in admin).
    "MAX_REQUEST_BYTES": _env_int("HOMEFIRE_MAX_REQUEST_BYTES", 32 * 1024 * 1024),
    "MAX_UPLOAD_BYTES": _env_int("HOMEFIRE_MAX_UPLOAD_BYTES", 2 * 1024 * 1024 * 1024),
    # /metrics wants "Authorization: Bearer <token>"; without a token, only this machine.
    "METRICS_TOKEN": os.environ.get("HOMEFIRE_METRICS_TOKEN", ""),
    "MODELS_DIR": Path(os.environ.get("HOMEFIRE_MODELS_DIR", VAR_DIR / "models")),
    # A worker on another host (docs/operations.md): the server it fetches model files
    # from, its worker token, and the CA bundle that signs the server's certificate if the
    # system's does not. Unset: the worker reads models where the registry says they are.
    "SERVER_URL": os.environ.get("HOMEFIRE_SERVER_URL", "").rstrip("/"),
    "WORKER_TOKEN": os.environ.get("HOMEFIRE_WORKER_TOKEN", ""),
    "SERVER_CA": os.environ.get("HOMEFIRE_SERVER_CA", ""),
    # Uploaded documents (webui.documents.storage): outside the web root, never served as is.
    "DOCUMENTS_DIR": Path(os.environ.get("HOMEFIRE_DOCUMENTS_DIR", VAR_DIR / "documents")),
    # The first limits on documents, in MB (then set in admin): per file, and per member.
    "DOCUMENT_MAX_MB": _env_int("HOMEFIRE_DOCUMENT_MAX_MB", 20),
    "DOCUMENT_QUOTA_MB": _env_int("HOMEFIRE_DOCUMENT_QUOTA_MB", 200),
    # Model downloads reach public addresses only, and these: addresses or networks (CIDR),
    # each optionally with :port (webui.registry.destination reads them).
    "DOWNLOAD_ALLOW": _env_list("HOMEFIRE_DOWNLOAD_ALLOW", ""),
    # Running a team: the initial sign-up policy (then set in admin), days to keep
    # conversations (0: forever; then set in admin), whether staff may read members'
    # conversations (each read is audited), and log-in throttling.
    "SIGNUP": _env_choice("HOMEFIRE_SIGNUP", "open", ("open", "approval", "invite", "closed")),
    "RETENTION_DAYS": _env_int("HOMEFIRE_RETENTION_DAYS", 0),
    "ADMIN_CAN_READ": _env_bool("HOMEFIRE_ADMIN_CAN_READ"),
    "LOGIN_FAILURES_PER_ACCOUNT": _env_int("HOMEFIRE_LOGIN_FAILURES", 5),
    "LOGIN_FAILURES_PER_ADDRESS": _env_int("HOMEFIRE_LOGIN_FAILURES_PER_ADDRESS", 20),
    "LOGIN_THROTTLE_SECONDS": _env_int("HOMEFIRE_LOGIN_THROTTLE_SECONDS", 900),
    # Password-reset emails an hour, per email address asked for and per client address.
    "PASSWORD_RESETS_PER_ACCOUNT": _env_int("HOMEFIRE_PASSWORD_RESETS", 3),
    "PASSWORD_RESETS_PER_ADDRESS": _env_int("HOMEFIRE_PASSWORD_RESETS_PER_ADDRESS", 10),
    # Reverse proxies whose X-Forwarded-For is believed (webui.core.client_address);
    # empty: every request's address is the connection's own.
    "TRUSTED_PROXIES": _env_networks("HOMEFIRE_TRUSTED_PROXIES"),
}

_LOG_LEVELS = tuple(name.lower() for name in logging.getLevelNamesMapping())
# HOMEFIRE_LOG_FORMAT=json: one JSON object a line, for a log collector. Messages' text
# stays out of the logs unless HOMEFIRE_LOG_CONTENT=true.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "webui.core.logformat.JsonFormatter"},
        "text": {"format": "%(message)s"},
    },
    "filters": {
        "content": {
            "()": "webui.core.logformat.ContentFilter",
            "keep": _env_bool("HOMEFIRE_LOG_CONTENT"),
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _env_choice("HOMEFIRE_LOG_FORMAT", "text", ("text", "json")),
            "filters": ["content"],
        }
    },
    "root": {
        "handlers": ["console"],
        "level": _env_choice("LOG_LEVEL", "info", _LOG_LEVELS).upper(),
    },
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# Celery: the broker is Redis; each model has its own queue ("model.<slug>").
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran, one task at a time: a worker that dies hands back
# what it had not started. A task that was started is never run twice (the answer's
# status guards it), and a long answer must not be handed out again while it runs.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task not acknowledged within the visibility timeout is handed out again (the claim
# guard then keeps it from running twice). Workers look for such tasks about every
# quarter of the timeout, at most every 100 s (Kombu's sweep: interval x throttle).
BROKER_VISIBILITY_TIMEOUT = _env_int("HOMEFIRE_BROKER_VISIBILITY_TIMEOUT", 6 * 3600)
_restore_every = max(1, min(100, BROKER_VISIBILITY_TIMEOUT // 4))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": min(10, _restore_every),
    "unacked_restore_throttle": max(1, _restore_every // 10),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_DEFAULT_QUEUE = "homefire"
# Periodic work runs in `manage.py housekeeping` (one per installation), on a queue that no
# model worker serves. A run still waiting when the next is due is dropped: it would repeat it.
_REAP_EVERY = HOMEFIRE["WORKER_HEARTBEAT_INTERVAL"]
CELERY_BEAT_SCHEDULE = {
    "reap-orphans": {
        "task": "chat.reap_orphans",
        "schedule": _REAP_EVERY,
        "options": {"queue": "housekeeping", "expires": _REAP_EVERY * 0.9},
    },
    "purge-old-conversations": {
        "task": "chat.purge_old_conversations",
        "schedule": 3600.0,
        "options": {"queue": "housekeeping", "expires": 3600 * 0.9},
    },
    "delete-left-temporary-chats": {
        "task": "chat.delete_left_temporary",
        "schedule": 10.0,
        "options": {"queue": "housekeeping", "expires": 10.0 * 0.9},
    },
    "delete-abandoned-imports": {
        "task": "chat.delete_abandoned_imports",
        "schedule": 3600.0,
        "options": {"queue": "housekeeping", "expires": 3600 * 0.9},
    },
    # Documents waiting for vectors of the current embedding model, or never sent.
    "documents-catch-up": {
        "task": "documents.catch_up",
        "schedule": 300.0,
        "options": {"queue": "housekeeping", "expires": 300 * 0.9},
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Everything from this origin, nothing inline, no frames. 'self' covers the WebSocket to
# the same host (ws: or wss:) in browsers that follow CSP Level 3 (Chrome 71+, Firefox,
# Safari 16+).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
}


def _env_group_map(name: str) -> dict[str, str]:
    """Read "claim value=Group name" pairs, comma-separated; refuse a pair without "="."""
    pairs = [item.partition("=") for item in _env_list(name, "")]
    if any(not value.strip() or not sep or not group.strip() for value, sep, group in pairs):
        raise _refuse(name, "expected pairs such as engineering=Engineers,/ops=Operators")
    return {value.strip(): group.strip() for value, _, group in pairs}


# Sign-in with OpenID Connect (webui.accounts.oidc_*, docs/operations.md): on when the
# provider's discovery URL and this server's client id are set.
HOMEFIRE_OIDC = {
    "NAME": _env_raw("HOMEFIRE_OIDC_NAME") or "single sign-on",
    "DISCOVERY_URL": _env_raw("HOMEFIRE_OIDC_DISCOVERY_URL"),
    "CLIENT_ID": _env_raw("HOMEFIRE_OIDC_CLIENT_ID"),
    "CLIENT_SECRET": _env_raw("HOMEFIRE_OIDC_CLIENT_SECRET"),
    "SCOPES": _env_raw("HOMEFIRE_OIDC_SCOPES") or "openid email profile",
    "SIGN_ALGO": _env_raw("HOMEFIRE_OIDC_SIGN_ALGO") or "RS256",
    "GROUPS_CLAIM": _env_raw("HOMEFIRE_OIDC_GROUPS_CLAIM") or "groups",
    "GROUP_MAP": _env_group_map("HOMEFIRE_OIDC_GROUP_MAP"),
    "TIMEOUT": _env_float("HOMEFIRE_OIDC_TIMEOUT", 10.0),
}
if HOMEFIRE_OIDC["DISCOVERY_URL"] and HOMEFIRE_OIDC["CLIENT_ID"]:
    AUTHENTICATION_BACKENDS.append("webui.accounts.oidc_backend.OidcBackend")
    # Logging out goes on to the provider's page: a form's redirect, which CSP checks.
    _provider = urlsplit(HOMEFIRE_OIDC["DISCOVERY_URL"])
    SECURE_CSP["form-action"].append(f"{_provider.scheme}://{_provider.netloc}")

# Sign-in with an LDAP directory or Active Directory (webui.accounts.ldap_*,
# docs/operations.md): on when HOMEFIRE_LDAP_URL is set, tried after local passwords.
HOMEFIRE_LDAP = {
    "URL": _env_raw("HOMEFIRE_LDAP_URL"),  # ldap://host:389, or ldaps://host:636
    "START_TLS": _env_bool("HOMEFIRE_LDAP_START_TLS"),
    "CA_FILE": _env_raw("HOMEFIRE_LDAP_CA_FILE"),  # else the system's certificate authorities
    "BIND_DN": _env_raw("HOMEFIRE_LDAP_BIND_DN"),
    "BIND_PASSWORD": os.environ.get("HOMEFIRE_LDAP_BIND_PASSWORD", ""),
    "USER_DN": _env_raw("HOMEFIRE_LDAP_USER_DN"),
    "USER_SEARCH_BASE": _env_raw("HOMEFIRE_LDAP_USER_SEARCH_BASE"),
    "USER_OBJECT_CLASS": _env_raw("HOMEFIRE_LDAP_USER_OBJECT_CLASS") or "inetOrgPerson",
    "ATTRIBUTES": _env_group_map("HOMEFIRE_LDAP_ATTRIBUTES")
    or {"username": "uid", "first_name": "givenName", "last_name": "sn", "email": "mail"},
    "GROUP_SEARCH_BASE": _env_raw("HOMEFIRE_LDAP_GROUP_SEARCH_BASE"),
    "GROUP_MAP": _env_group_map("HOMEFIRE_LDAP_GROUP_MAP"),
    "REQUIRE_GROUP": _env_raw("HOMEFIRE_LDAP_REQUIRE_GROUP"),
    "TIMEOUT": _env_float("HOMEFIRE_LDAP_TIMEOUT", 5.0),
}
if HOMEFIRE_LDAP["URL"]:
    from webui.accounts import ldap_config

    globals().update(ldap_config.library_settings(HOMEFIRE_LDAP))
    AUTHENTICATION_BACKENDS.insert(
        AUTHENTICATION_BACKENDS.index("django.contrib.auth.backends.ModelBackend") + 1,
        ldap_config.BACKEND,
    )

# Served over HTTPS by a reverse proxy that terminates TLS (docker/caddy, docker/nginx)
# and sets X-Forwarded-Proto; the app itself must then be reachable only through it.
if _env_bool("HOMEFIRE_HTTPS"):
    SECURE_SSL_REDIRECT = True
    # Container and load-balancer checks speak plain HTTP to the app directly.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading commits the whole domain to HTTPS in browsers for months, beyond this
    # server: a decision for whoever owns the domain, so not made here (hence W021).
    SECURE_HSTS_PRELOAD = False
    SILENCED_SYSTEM_CHECKS.append("security.W021")
