"""Fixtures: an app per test with a fresh database, on SQLite and (when
TEST_DATABASE_URL is set) on PostgreSQL too, and a small world of regions,
agencies and one user of each kind to act in it."""

from __future__ import annotations

import functools
import os

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

from puskesos import create_app
from puskesos.accounts import models as account_models
from puskesos.extensions import db
from tests import factories

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def database_url(backend: str, tmp_path) -> str:
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
        url = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1) if PG_URL.startswith("postgresql://") \
            else PG_URL
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """The world's dozen users would cost about a second of scrypt per test. Only the work factor changes:
    `check_password_hash` reads the method from the stored hash, so signing in works as in production."""
    monkeypatch.setattr(account_models, "generate_password_hash",
                        functools.partial(generate_password_hash, method="pbkdf2:sha256:1"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


class IsolatingClient(FlaskClient):
    """Each request in its own application context, as in production: its own database session and its own
    `g` (where Flask-Login and Flask-Babel cache the user and the locale). Without this, requests would share
    the test's context. The test's own session commits first so that it holds no SQLite write lock the
    request would wait for."""

    def open(self, *args, **kwargs):
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(config: dict):
    app = create_app({"TESTING": True, **config})
    app.test_client_class = IsolatingClient
    return app


@pytest.fixture
def app(backend, tmp_path):
    app = make_app({"SQLALCHEMY_DATABASE_URI": database_url(backend, tmp_path)})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(app) -> factories.World:
    """Regions of Muara Enim (16.03) and Lahat (16.04), the calendar, agencies and users."""
    return factories.build_world()


@pytest.fixture
def client(app):
    return app.test_client()
