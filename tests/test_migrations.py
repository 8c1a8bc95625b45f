"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from puskesos import create_app
from puskesos.extensions import db
from tests.conftest import database_url


@pytest.fixture
def empty_app(backend, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url(backend, tmp_path)})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_diff() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_gives_the_models_schema(empty_app):
    upgrade()
    assert schema_diff() == []


def test_downgrade_removes_everything_and_upgrade_again(empty_app):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert schema_diff() == []


def test_postgres_migration_installs_the_audit_trigger(empty_app, backend):
    if backend != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    upgrade()
    with db.engine.connect() as conn:
        triggers = {row[0] for row in conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal")}
    assert triggers == {"audit_event_no_update", "audit_event_no_truncate"}
