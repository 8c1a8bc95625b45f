"""Configuration: safe defaults, overridden by environment variables.

`PUSKESOS_ENV=development` (what `make run` sets) allows a throw-away secret
key; anywhere else `SECRET_KEY` must come from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'puskesos.sqlite'}"


class Config:
    ENV_NAME = os.environ.get("PUSKESOS_ENV", "production")
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # a village officer may leave a form open all morning

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    BOOTSTRAP_SERVE_LOCAL = True

    RATELIMIT_STORAGE_URI = "memory://"  # REDIS_URL replaces it (see finalize)
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute"

    # Deadlines in working days are declared beside the states in the workflow tables (cases/workflow.py
    # DEADLINES, referrals/workflow.py DEADLINES); an office that agreed other ones overrides them here, by
    # state or status, e.g. {"in_assessment": 10}.
    # A caseworker's referral waits for a supervisor of the regency to sign it off (penetapan layanan) before it
    # gets its letter number and reaches the agency. `REFERRAL_SIGNOFF=0` sends referrals straight to agencies.
    REFERRAL_SIGNOFF = os.environ.get("REFERRAL_SIGNOFF", "1") != "0"
    SLA_DAYS: dict = {}
    REFERRAL_SLA_DAYS: dict = {}

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
    API_TOKEN_RATE_LIMIT = "10 per minute"

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


class TestingConfig(Config):
    ENV_NAME = "testing"
    # Most tests walk the shorter road (refer → pending); the sign-off tests switch it on, as production has it.
    REFERRAL_SIGNOFF = False
    TESTING = True
    SECRET_KEY = "testing-only-secret"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    MAIL_SERVER = None  # a test that sends e-mail starts its own SMTP server


def finalize(app_config: dict) -> None:
    """Refuse to start without a real secret outside development and tests."""
    if not app_config.get("SECRET_KEY"):
        if app_config.get("ENV_NAME") in ("development", "testing"):
            app_config["SECRET_KEY"] = "development-only-secret"
        else:
            raise RuntimeError("SECRET_KEY must be set in the environment (see README, Production).")
    uri = app_config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        # psycopg 3 is the driver we ship; accept the plain URL operators tend to paste.
        app_config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if app_config.get("REDIS_URL") and app_config.get("RATELIMIT_STORAGE_URI", "memory://") == "memory://":
        app_config["RATELIMIT_STORAGE_URI"] = app_config["REDIS_URL"]
