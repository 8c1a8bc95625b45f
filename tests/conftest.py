"""Fixtures: an app per test with a fresh database, on SQLite and (when
TEST_DATABASE_URL is set) on PostgreSQL too, and a small world of regions,
agencies and one user of each kind to act in it."""

from __future__ import annotations

import functools
import os

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text
from werkzeug.security import generate_password_hash

from puskesos import create_app
from puskesos.accounts import models as account_models
from puskesos.extensions import db
from tests import factories

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]
# Under pytest-xdist (`make test` runs two workers) each worker has a PostgreSQL database of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_database(url: str, worker: str) -> str:
    """`…/test` → `…/test_gw0`, made on first use: workers must not drop each other's schema."""
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


if PG_URL and WORKER:
    PG_URL = _worker_database(PG_URL, WORKER)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# Whether the PostgreSQL schema is the one the `app` fixture made (and may be emptied rather than rebuilt).
_pg_schema = {"ours": False}


def _pg_url() -> str:
    if not PG_URL:
        pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1) if PG_URL.startswith("postgresql://") \
        else PG_URL


def database_url(backend: str, tmp_path) -> str:
    """A fresh, empty database: a new SQLite file, or PostgreSQL's `public` schema dropped and made again."""
    if backend == "postgresql":
        url = _pg_url()
        _reset_postgres(url)
        _pg_schema["ours"] = False
        return url
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


def _empty_postgres_tables() -> None:
    """Every table emptied and its ids restarted: as fresh as a new schema, at a fraction of its cost. The audit
    table refuses DELETE by trigger, so its triggers are switched off around it, and switched on again whatever an
    earlier test did to them."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        # DELETE, not TRUNCATE: a test leaves a few hundred rows, and TRUNCATE's new files cost more than that.
        for table in reversed(db.metadata.sorted_tables):
            conn.exec_driver_sql(f'DELETE FROM "{table.name}"')
        conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")
        for (sequence,) in conn.exec_driver_sql(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").all():
            conn.exec_driver_sql(f"ALTER SEQUENCE \"{sequence}\" RESTART")


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
    reuse = backend == "postgresql" and _pg_schema["ours"]
    app = make_app({"SQLALCHEMY_DATABASE_URI": _pg_url() if reuse else database_url(backend, tmp_path)})
    with app.app_context():
        if reuse:
            _empty_postgres_tables()
        else:
            db.create_all()
            _pg_schema["ours"] = backend == "postgresql"
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


# The longest files, started first: under xdist's `loadfile` one worker begins with them while the other takes the
# rest, instead of the whole run waiting for them at its end.
LONG_FILES = ("tests/browser/test_accessibility.py", "tests/reports/test_exports.py")


def pytest_collection_modifyitems(config, items) -> None:
    items.sort(key=lambda item: next((i for i, path in enumerate(LONG_FILES) if item.nodeid.startswith(path)),
                                     len(LONG_FILES)))
