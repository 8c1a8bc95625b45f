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


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-secret"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    SQLALCHEMY_DATABASE_URI = "sqlite://"


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
