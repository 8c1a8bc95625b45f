"""Configuration: safe defaults, overridden by environment variables.

`PUSKESOS_ENV=development` (what `make run` sets) allows a throw-away secret
key; anywhere else `SECRET_KEY` must come from the environment.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'puskesos.sqlite'}"


RELAXED_ENVS = ("development", "testing")  # no HTTPS-only cookies, no HSTS


def _flag(name: str) -> bool | None:
    """An on/off setting from the environment; None when unset, for `finalize` to decide."""
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value.strip() == "1"


class Config:
    ENV_NAME = os.environ.get("PUSKESOS_ENV", "production")
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # Production on PostgreSQL: the app connects as a role that may only INSERT and SELECT the audit log;
    # `flask db upgrade` connects as the tables' owner and then grants DATABASE_APP_ROLE what the app needs
    # (puskesos/database_roles.py, README "Database roles").
    MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL") or None
    DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE") or None
    REDIS_URL = os.environ.get("REDIS_URL")

    SESSION_COOKIE_HTTPONLY = True
    # A signed session cookie is refused this long after it was last written: a cookie copied from an office
    # computer dies by the next working day even if nobody signs out.
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=int(os.environ.get("SESSION_HOURS", "12")))
    SESSION_COOKIE_SAMESITE = "Lax"
    # Cookies over HTTPS only, unless PUSKESOS_ENV is development or testing (finalize decides when unset);
    # SESSION_COOKIE_SECURE=0 / REMEMBER_COOKIE_SECURE=0 in the environment still turn it off.
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = _flag("REMEMBER_COOKIE_SECURE")
    WTF_CSRF_TIME_LIMIT = None  # a village officer may leave a form open all morning

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    BOOTSTRAP_SERVE_LOCAL = True

    RATELIMIT_STORAGE_URI = "memory://"  # REDIS_URL replaces it (see finalize)
    RATELIMIT_HEADERS_ENABLED = True
    # Redis out of reach: limits go on in each worker's memory, and a limiter fault never fails a request.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # Failed logins (puskesos/accounts/lockout.py, in Redis when REDIS_URL is set). An account is locked after
    # LOGIN_LOCKOUT_AFTER consecutive failures for LOGIN_LOCKOUT_SECONDS, doubled at each further failure up to
    # LOGIN_LOCKOUT_MAX_SECONDS; a right password, or a day without failures, forgets the run. An address may
    # fail LOGIN_ADDRESS_FAILURES times per LOGIN_ADDRESS_WINDOW_SECONDS; successful logins never count.
    LOGIN_LOCKOUT_AFTER = 5
    LOGIN_LOCKOUT_SECONDS = 60
    LOGIN_LOCKOUT_MAX_SECONDS = 3600
    LOGIN_LOCKOUT_FORGET_SECONDS = 86400
    LOGIN_ADDRESS_FAILURES = 30
    LOGIN_ADDRESS_WINDOW_SECONDS = 900

    # Deadlines in working days are declared beside the states in the workflow tables (cases/workflow.py
    # DEADLINES, referrals/workflow.py DEADLINES); an office that agreed other ones overrides them here, by
    # state or status, e.g. {"in_assessment": 10}.
    # A caseworker's referral waits for a supervisor of the regency to sign it off (penetapan layanan) before it
    # gets its letter number and reaches the agency. `REFERRAL_SIGNOFF=0` sends referrals straight to agencies.
    REFERRAL_SIGNOFF = os.environ.get("REFERRAL_SIGNOFF", "1") != "0"
    SLA_DAYS: dict = {}
    REFERRAL_SLA_DAYS: dict = {}

    # Signed checkpoints of the audit chain (puskesos/audit/checkpoints.py, README "Audit checkpoints"): the
    # Ed25519 private key `flask audit keygen` wrote (only the hourly checkpoint job holds it), its public half
    # (what the web servers and `verify` read), and the append-only log `flask audit checkpoint` adds to.
    AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY") or None
    AUDIT_PUBLIC_KEY = os.environ.get("AUDIT_PUBLIC_KEY") or None  # its .pub: all the web servers hold
    AUDIT_CHECKPOINTS = os.environ.get("AUDIT_CHECKPOINTS") or None

    # `flask retention apply` erases the personal data of cases closed longer than this (Law 27/2022).
    RETENTION_YEARS = int(os.environ.get("RETENTION_YEARS", "5"))

    # How many reverse proxies (nginx) stand before the app: their X-Forwarded-For/-Proto/-Host are trusted, so
    # the failed-login budget and the audit log see the client's address. 0: the app faces clients directly.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))

    PAGE_SIZE = 50
    MAX_CONTENT_LENGTH = 1024 * 1024  # no form or API call of ours comes near a megabyte

    # The JSON API (puskesos/api) and the OpenAPI document flask-smorest derives from it.
    API_TITLE = "Puskesos API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {"info": {"description": "Case management for the SLRT referral programme. Errors are "
                                                "RFC 9457 problem details in the caller's language "
                                                "(Accept-Language: id, en)."}}
    API_TOKEN_HOURS = 12

    # Notifications by e-mail (`flask notifications deliver`): none unless MAIL_SERVER is set. Links in the
    # e-mails start with PUBLIC_BASE_URL, the address users open the application at.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"  # STARTTLS
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "0") == "1"  # TLS from the first byte (port 465)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_FROM = os.environ.get("MAIL_FROM", "Puskesos <puskesos@localhost>")
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_RETRY_SECONDS = int(os.environ.get("MAIL_RETRY_SECONDS", "60"))  # doubled after each failure
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "8"))
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    # Personal data at rest (puskesos/core/pii.py): `flask keys generate` prints these; `flask keys rotate`
    # re-encrypts under PII_KEY_ID and recomputes the keyed hashes.
    PII_KEYS = os.environ.get("PII_KEYS")  # kid=base64key,kid=base64key (32-byte keys)
    PII_KEY_ID = os.environ.get("PII_KEY_ID")  # the id new values use
    PII_HASH_KEY = os.environ.get("PII_HASH_KEY")  # base64, for the keyed hash of NIK and KK
    PII_HASH_KEY_PREVIOUS = os.environ.get("PII_HASH_KEY_PREVIOUS")  # while rotating the hash key


class TestingConfig(Config):
    ENV_NAME = "testing"
    # Most tests walk the shorter road (refer → pending); the sign-off tests switch it on, as production has it.
    REFERRAL_SIGNOFF = False
    TESTING = True
    SECRET_KEY = "testing-only-secret"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = None  # the login counters of one test must not meet another's: a test that wants Redis says so
    MIGRATION_DATABASE_URL = None  # a test that needs the two roles sets both
    DATABASE_APP_ROLE = None
    MAIL_SERVER = None  # a test that sends e-mail starts its own SMTP server


def finalize(app_config: dict) -> None:
    """Refuse to start without a real secret outside development and tests."""
    if not app_config.get("SECRET_KEY"):
        if app_config.get("ENV_NAME") in ("development", "testing"):
            app_config["SECRET_KEY"] = "development-only-secret"
        else:
            raise RuntimeError("SECRET_KEY must be set in the environment (see README, Production).")
    _finalize_pii_keys(app_config)
    for key in ("SQLALCHEMY_DATABASE_URI", "MIGRATION_DATABASE_URL"):
        uri = app_config.get(key)
        if uri and (uri.startswith("postgresql://") or uri.startswith("postgres://")):
            # psycopg 3 is the driver we ship; accept the plain URL operators tend to paste.
            app_config[key] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app_config.get(key) is None:
            app_config[key] = app_config.get("ENV_NAME") not in RELAXED_ENVS
    if app_config.get("REDIS_URL") and app_config.get("RATELIMIT_STORAGE_URI", "memory://") == "memory://":
        app_config["RATELIMIT_STORAGE_URI"] = app_config["REDIS_URL"]


def _finalize_pii_keys(app_config: dict) -> None:
    """Throw-away keys in development and tests; elsewhere real keys, checked now rather than at the first
    case read."""
    from puskesos.core import pii

    if not app_config.get("PII_KEYS") and not app_config.get("PII_HASH_KEY"):
        if app_config.get("ENV_NAME") not in ("development", "testing"):
            raise RuntimeError("PII_KEYS, PII_KEY_ID and PII_HASH_KEY must be set in the environment "
                               "(flask keys generate; see README, Production).")
        app_config.update(pii.DEVELOPMENT_KEYS)
    try:
        pii.parse(app_config)
    except pii.KeysInvalid as exc:
        raise RuntimeError(str(exc)) from None
