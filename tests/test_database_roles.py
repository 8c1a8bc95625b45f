"""The app's database role may append to the audit log and read it, never rewrite it.

Two roles as in production (README, Database roles): the owner builds the schema with the real migrations and
grants the app's role; connected as the app's role, PostgreSQL itself refuses every way of rewriting the log,
while the whole workflow still runs. The roles are cluster-wide, so their names carry the test database's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from puskesos import create_app
from puskesos.audit.chain import verify
from puskesos.cases.workflow import State
from puskesos.core import pii
from puskesos.extensions import db
from tests import conftest, factories


@dataclass
class Roles:
    owner: str
    app: str
    owner_url: str
    app_url: str
    superuser_url: str


def _url_as(url: str, role: str) -> str:
    return make_url(url).set(username=role).render_as_string(hide_password=False)


def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _drop_roles(superuser_url: str, *roles: str) -> None:
    engine = create_engine(superuser_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for role in roles:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.exec_driver_sql(f'DROP OWNED BY "{role}" CASCADE')
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
    engine.dispose()


@pytest.fixture(scope="module")
def roles():
    """An owner and an app role; the schema built by the real migrations as the owner, DATABASE_APP_ROLE set."""
    superuser_url = conftest.database_url("postgresql", None)  # skips without TEST_DATABASE_URL
    database = make_url(superuser_url).database
    owner, app_role = f"puskesos_owner_{database}", f"puskesos_app_{database}"
    _drop_roles(superuser_url, owner, app_role)  # left behind by an interrupted run
    # What the operator does once (README): two login roles, the schema belongs to the owner.
    _execute(superuser_url, f'CREATE ROLE "{owner}" LOGIN', f'CREATE ROLE "{app_role}" LOGIN',
             f'ALTER SCHEMA public OWNER TO "{owner}"')
    result = Roles(owner=owner, app=app_role, owner_url=_url_as(superuser_url, owner),
                   app_url=_url_as(superuser_url, app_role), superuser_url=superuser_url)
    # The plain postgresql:// URL operators paste: config.finalize gives it the psycopg driver.
    migrate_with = result.owner_url.replace("postgresql+psycopg://", "postgresql://", 1)
    app = make_app(result.app_url, MIGRATION_DATABASE_URL=migrate_with, DATABASE_APP_ROLE=app_role)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield result
    _drop_roles(superuser_url, owner, app_role)
    conftest.database_url("postgresql", None)  # a fresh public schema for the tests that follow


def make_app(url: str, **config):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, **config})


def run(app, *args: str):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
        db.engine.dispose()
    return result


# -- what PostgreSQL refuses the app's role -------------------------------------------------------------------

REFUSED = {
    "update": "UPDATE audit_event SET details = '{{}}'",
    "delete": "DELETE FROM audit_event",
    "truncate": "TRUNCATE audit_event",
    "disable the triggers": "ALTER TABLE audit_event DISABLE TRIGGER USER",
    "add a column": "ALTER TABLE audit_event ADD COLUMN note text",
    "take the table": "ALTER TABLE audit_event OWNER TO {app}",
    "drop the trigger": "DROP TRIGGER audit_event_no_update ON audit_event",
    "drop the table": "DROP TABLE audit_event",
    "replace the trigger's function": "CREATE OR REPLACE FUNCTION audit_event_immutable() RETURNS trigger AS "
                                      "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
    "replica mode (no triggers)": "SET session_replication_role = replica",
    "become superuser": "ALTER ROLE {app} SUPERUSER",
    "join the owner's role": "GRANT {owner} TO {app}",
    "act as the owner": "SET ROLE {owner}",
    "drop the at-head trigger": "DROP TRIGGER audit_event_at_head ON audit_event",
    "remove an audit case key": "DELETE FROM case_key",
    "empty the audit case keys": "TRUNCATE case_key",
}


@pytest.mark.parametrize("statement", REFUSED.values(), ids=REFUSED.keys())
def test_postgresql_refuses_the_app_role_every_rewrite(roles, statement):
    sql = statement.format(app=f'"{roles.app}"', owner=f'"{roles.owner}"')
    engine = create_engine(roles.app_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        conn.exec_driver_sql(sql)
    engine.dispose()
    # insufficient_privilege: refused for want of a right, before any trigger had to stop it
    assert refused.value.orig.sqlstate == "42501", refused.value.orig


def test_the_workflow_runs_as_the_app_role_and_the_chain_verifies(roles):
    app = make_app(roles.app_url)
    with app.app_context():
        assert db.session.execute(text("SELECT current_user")).scalar_one() == roles.app
        world = factories.build_world()
        case = factories.case_in(State.IN_SERVICE, world)
        assert case.referrals[-1].status == "accepted"
        assert verify().ok
        db.session.remove()
        db.engine.dispose()
    sweep = run(app, "sla", "sweep")
    assert sweep.exit_code == 0, sweep.output
    verified = run(app, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "audit chain intact" in verified.output


def test_a_table_a_later_migration_adds_is_open_to_the_app_role(roles):
    _execute(roles.owner_url, "CREATE TABLE later_table (id serial PRIMARY KEY, note text)")
    try:
        _execute(roles.app_url, "INSERT INTO later_table (note) VALUES ('default privileges')",
                 "UPDATE later_table SET note = 'still' ", "DELETE FROM later_table")
    finally:
        _execute(roles.owner_url, "DROP TABLE later_table")


# -- the operator's commands ------------------------------------------------------------------------------------


def test_check_answers_for_each_connection(roles):
    as_app = run(make_app(roles.app_url), "db-roles", "check")
    assert as_app.exit_code == 0, as_app.output
    assert f"database role {roles.app} may only SELECT and INSERT audit_event" in as_app.output

    as_owner = run(make_app(roles.owner_url), "db-roles", "check")
    assert as_owner.exit_code == 1
    assert as_owner.output.strip() == f"database role {roles.owner} can rewrite the audit log: it owns audit_event"

    as_superuser = run(make_app(roles.superuser_url), "db-roles", "check")
    assert as_superuser.exit_code == 1
    superuser = make_url(roles.superuser_url).username
    assert as_superuser.output.strip() == f"database role {superuser} can rewrite the audit log: it is a superuser"


def test_upgrade_and_grant_take_back_a_drifted_privilege(roles):
    drift = f'GRANT UPDATE, DELETE, TRUNCATE ON audit_event TO "{roles.app}"'
    check = make_app(roles.app_url)

    _execute(roles.owner_url, drift)
    drifted = run(check, "db-roles", "check")
    assert drifted.exit_code == 1
    assert drifted.output.strip() == (f"database role {roles.app} can rewrite the audit log: "
                                      "it holds UPDATE, DELETE, TRUNCATE on audit_event")
    owner_side = make_app(roles.app_url, MIGRATION_DATABASE_URL=roles.owner_url, DATABASE_APP_ROLE=roles.app)
    with owner_side.app_context():
        upgrade()  # nothing left to migrate: the grants run again all the same
    assert run(check, "db-roles", "check").exit_code == 0

    _execute(roles.owner_url, drift)
    granted = run(owner_side, "db-roles", "grant")
    assert granted.exit_code == 0, granted.output
    assert run(check, "db-roles", "check").exit_code == 0


def test_downgrade_connects_as_the_owner_too(roles):
    owner_side = make_app(roles.app_url, MIGRATION_DATABASE_URL=roles.owner_url, DATABASE_APP_ROLE=roles.app)
    # 0008's downgrade refuses while an audit case key lives (their sealed details would become unreadable);
    # the cases the tests above made are expendable here.
    _execute(roles.owner_url, "DELETE FROM case_key")
    with owner_side.app_context():
        downgrade(revision="-1")  # the app's role could not: it owns no table
        upgrade()
    assert run(make_app(roles.app_url), "db-roles", "check").exit_code == 0


def test_grant_refuses_what_it_cannot_do(roles):
    unknown = run(make_app(roles.app_url, MIGRATION_DATABASE_URL=roles.owner_url), "db-roles", "grant", "nobody_x")
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "database role 'nobody_x' does not exist: create it first (README, Database roles)"

    to_itself = run(make_app(roles.owner_url), "db-roles", "grant", roles.owner)
    assert to_itself.exit_code == 1
    assert "is the role that runs the migrations" in to_itself.output

    not_the_owner = run(make_app(roles.app_url), "db-roles", "grant", roles.owner)
    assert not_the_owner.exit_code == 1
    assert not_the_owner.output.strip() == (f"connected as a role that does not own the tables ({roles.owner} "
                                            "does): grant as the owner (MIGRATION_DATABASE_URL)")

    no_role = run(make_app(roles.owner_url), "db-roles", "grant")
    assert no_role.exit_code == 1
    assert "set DATABASE_APP_ROLE" in no_role.output


def test_an_upgrade_naming_an_unknown_role_stops_with_one_line(roles):
    app = make_app(roles.app_url, MIGRATION_DATABASE_URL=roles.owner_url, DATABASE_APP_ROLE="nobody_x")
    with app.app_context(), pytest.raises(SystemExit) as stopped:
        upgrade()
    assert stopped.value.code == 1


def test_a_production_app_warns_when_its_role_could_rewrite_the_log(roles, caplog):
    caplog.set_level(logging.WARNING, logger="puskesos.database_roles")
    for url in (roles.owner_url, roles.app_url):
        app = make_app(url, ENV_NAME="production", **pii.DEVELOPMENT_KEYS)
        with app.app_context():
            db.session.execute(text("SELECT 1"))  # the first connection: the app still starts and answers
            db.session.remove()
            db.engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.name == "puskesos.database_roles"]
    assert warnings == [f"database role {roles.owner} can rewrite the audit log: it owns audit_event; "
                        "connect the app as DATABASE_APP_ROLE (README, Database roles)"]


def test_sqlite_has_no_roles(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'test.sqlite'}")
    checked = run(app, "db-roles", "check")
    assert checked.exit_code == 0
    assert "file permissions and signed checkpoints protect the audit log" in checked.output
    granted = run(app, "db-roles", "grant", "puskesos_app")
    assert granted.exit_code == 1
    assert "sqlite has no database roles" in granted.output
