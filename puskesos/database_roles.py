"""PostgreSQL roles: the app may append to the audit log and read it, never rewrite it.

The tables belong to the role that runs the migrations (the owner). The app connects as another role
(`DATABASE_APP_ROLE`) that gets plain read and write on every table except `audit_event`, where it may only
SELECT and INSERT. Not owning the table, it cannot ALTER it, disable or drop its append-only triggers,
replace their function, or TRUNCATE it; not being a superuser, it cannot `SET session_replication_role`.
`migrations/env.py` calls `grant_app_role` after every upgrade, and `flask db-roles check` tells an operator
whether the app's connection holds.

SQLite has no roles: there the file's permissions and the signed checkpoints protect the log.
"""

from __future__ import annotations

import logging
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

AUDIT_TABLE = "audit_event"
VERSION_TABLE = "alembic_version"  # written by migrations only: the app reads it at most
# The audit log's per-case keys (audit/sealing.py): the app makes and (retention) destroys them by UPDATE, never
# removes a row, so a key cannot vanish without leaving its destroyed row behind.
KEYS_TABLE = "case_key"
# Privileges that would let a role change or remove rows it did not just insert, or hang triggers on them.
REWRITING_PRIVILEGES = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")


class RoleError(RuntimeError):
    """A grant that cannot be made; a RuntimeError, so `flask db upgrade` prints it on one line and exits 1."""


def grant_app_role(connection: Connection, role: str) -> None:
    """Give `role` what the app needs on the current schema, as the owner, inside the caller's transaction.

    Idempotent: it also takes back any rewriting privilege on the audit log that drifted in since. Default
    privileges cover the tables and sequences a later migration adds; the grants run again after each upgrade
    anyway.
    """
    if connection.dialect.name != "postgresql":
        log.info("%s has no database roles: DATABASE_APP_ROLE is ignored", connection.dialect.name)
        return
    if not connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
        raise RoleError(f"database role {role!r} does not exist: create it first (README, Database roles)")
    if connection.execute(text("SELECT current_user")).scalar_one() == role:
        raise RoleError(f"DATABASE_APP_ROLE {role!r} is the role that runs the migrations: "
                        "the app must connect as another role (README, Database roles)")
    # GRANT by a role that does not own a table only warns; say so instead of granting nothing.
    foreign = connection.execute(text(
        "SELECT string_agg(DISTINCT tableowner, ', ') FROM pg_tables WHERE schemaname = current_schema() "
        "AND NOT pg_has_role(current_user, tableowner, 'USAGE')")).scalar_one()
    if foreign:
        raise RoleError(f"connected as a role that does not own the tables ({foreign} does): "
                        "grant as the owner (MIGRATION_DATABASE_URL)")
    quote = connection.dialect.identifier_preparer.quote
    grantee = quote(role)
    schema = quote(connection.execute(text("SELECT current_schema()")).scalar_one())
    tables = {name for (name,) in connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))}
    statements = [
        f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {grantee}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {grantee}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {grantee}",
    ]
    if AUDIT_TABLE in tables:
        statements.append(f"REVOKE {', '.join(REWRITING_PRIVILEGES)} ON {AUDIT_TABLE} FROM {grantee}")
    if VERSION_TABLE in tables:
        statements.append(f"REVOKE INSERT, {', '.join(REWRITING_PRIVILEGES)} ON {VERSION_TABLE} FROM {grantee}")
    if KEYS_TABLE in tables:
        statements.append(f"REVOKE DELETE, TRUNCATE ON {KEYS_TABLE} FROM {grantee}")
    for statement in statements:
        connection.exec_driver_sql(statement)


def audit_log_exposures(connection: Connection, *, table_required: bool = True) -> list[str]:
    """What lets the connected role rewrite the audit log, in words; an empty list when nothing does.
    A missing audit table is one too, unless `table_required` is false (a database not yet migrated)."""
    me = connection.execute(text(
        "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")).one()
    problems = []
    if me.rolsuper:
        problems.append("is a superuser")
    if me.rolcreaterole and not me.rolsuper:
        problems.append("has CREATEROLE (it may grant itself the owner's role)")
    table = {"t": AUDIT_TABLE}
    if connection.execute(text("SELECT to_regclass(:t) IS NULL"), table).scalar_one():
        missing = [f"sees no {AUDIT_TABLE} table (run `flask db upgrade` as the owner)"] if table_required else []
        return problems + missing
    owner, owns = connection.execute(text(
        "SELECT pg_get_userbyid(relowner), pg_has_role(current_user, relowner, 'MEMBER') FROM pg_class "
        "WHERE oid = CAST(:t AS regclass)"), table).one()
    if owns and not me.rolsuper:
        problems.append(f"owns {AUDIT_TABLE}" if owner == me.rolname else f"is a member of {owner}, its owner")
    held = [p for p in REWRITING_PRIVILEGES
            if connection.execute(text("SELECT has_table_privilege(:t, :p)"), {**table, "p": p}).scalar_one()]
    if held and not (owns or me.rolsuper):
        problems.append(f"holds {', '.join(held)} on {AUDIT_TABLE}")
    if not (owns or me.rolsuper) and connection.execute(text(
            "SELECT to_regclass(:k) IS NOT NULL AND (has_table_privilege(:k, 'DELETE') "
            "OR has_table_privilege(:k, 'TRUNCATE'))"), {"k": KEYS_TABLE}).scalar_one():
        problems.append(f"may remove rows of {KEYS_TABLE} (the audit log's keys)")
    triggers = connection.execute(text(
        "SELECT tgname, tgenabled, tgfoid = to_regproc('audit_event_at_head') FROM pg_trigger "
        "WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal "
        "AND tgfoid IN (to_regproc('audit_event_immutable'), to_regproc('audit_event_at_head'))"), table).all()
    if not any(not at_head for _name, _enabled, at_head in triggers):
        problems.append(f"finds no append-only trigger on {AUDIT_TABLE}")
    if not any(at_head for _name, _enabled, at_head in triggers):
        problems.append(f"finds no trigger keeping inserts at the head of {AUDIT_TABLE} (run `flask db upgrade`)")
    problems += [f"finds trigger {name} disabled" for name, enabled, _at_head in triggers if enabled == "D"]
    return problems


def describe(connection: Connection, *, table_required: bool = True) -> tuple[str, list[str]]:
    """The connected role's name and what lets it rewrite the audit log."""
    role = connection.execute(text("SELECT current_user")).scalar_one()
    return role, audit_log_exposures(connection, table_required=table_required)


def exposure_line(role: str, problems: list[str]) -> str:
    return f"database role {role} can rewrite the audit log: it {'; it '.join(problems)}"


def register(app: Flask) -> None:
    """Outside development and tests, on PostgreSQL: check the app's role at its first connection."""
    from puskesos.extensions import db

    if app.config["ENV_NAME"] in ("development", "testing"):
        return
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            warn_if_exposed(db.engine)


def warn_if_exposed(engine: Engine) -> None:
    """On the first connection of a production app: a warning (never a refusal to start) when the app's role
    could rewrite the audit log. No database work happens before the app first needs its database."""

    def first_connect(_dbapi_connection, _record) -> None:
        try:
            # A connection of its own: the pool's first one is still being set up. No audit table yet is no
            # warning: this may be the `flask db upgrade` that makes it.
            with create_engine(engine.url, poolclass=NullPool).connect() as connection:
                role, problems = describe(connection, table_required=False)
        except DBAPIError as exc:
            log.warning("could not check the database role: %s", str(exc.orig).splitlines()[0])
            return
        if problems:
            log.warning("%s; connect the app as DATABASE_APP_ROLE (README, Database roles)",
                        exposure_line(role, problems))

    event.listen(engine, "first_connect", first_connect)


def owner_engine() -> Engine:
    """The migrations' connection (MIGRATION_DATABASE_URL), else the app's own."""
    from puskesos.extensions import db

    url = current_app.config.get("MIGRATION_DATABASE_URL")
    return create_engine(url, poolclass=NullPool) if url else db.engine


@click.group("db-roles", help="PostgreSQL roles: the app may append to the audit log, never rewrite it.")
def db_roles() -> None:
    pass


@db_roles.command("grant")
@click.argument("role", required=False)
@with_appcontext
def grant_cmd(role: str | None) -> None:
    """Grant ROLE (default DATABASE_APP_ROLE) the app's privileges, connected as the owner (MIGRATION_DATABASE_URL).

    `flask db upgrade` does this by itself when DATABASE_APP_ROLE is set.
    """
    role = role or current_app.config.get("DATABASE_APP_ROLE")
    if not role:
        _fail("name the app's role: flask db-roles grant ROLE, or set DATABASE_APP_ROLE")
    engine = owner_engine()
    if engine.dialect.name != "postgresql":
        _fail(f"{engine.dialect.name} has no database roles: nothing to grant (README, Database roles)")
    try:
        with engine.begin() as connection:
            grant_app_role(connection, role)
    except RoleError as exc:
        _fail(str(exc))
    except DBAPIError as exc:
        _fail(f"grant refused: {str(exc.orig).splitlines()[0]} (connect as the owner: MIGRATION_DATABASE_URL)")
    click.echo(f"granted {role}: read and write on every table, SELECT and INSERT only on {AUDIT_TABLE}")


@db_roles.command("check")
@with_appcontext
def check_cmd() -> None:
    """Exit 1 when the app's connection (DATABASE_URL) could rewrite the audit log, saying why."""
    from puskesos.extensions import db

    if db.engine.dialect.name != "postgresql":
        click.echo(f"{db.engine.dialect.name} has no database roles: file permissions and signed checkpoints "
                   "protect the audit log (README, Database roles)")
        return
    try:
        # An engine of its own: the app's would also log the start-up warning, saying the same thing twice.
        with create_engine(db.engine.url, poolclass=NullPool).connect() as connection:
            role, problems = describe(connection)
    except DBAPIError as exc:
        _fail(f"cannot check the database role: {str(exc.orig).splitlines()[0]}")
    if problems:
        _fail(exposure_line(role, problems))
    click.echo(f"database role {role} may only SELECT and INSERT {AUDIT_TABLE}: the audit log is safe from it")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
