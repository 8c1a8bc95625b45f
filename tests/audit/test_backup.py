"""Backups as the README documents them: SQLite's online backup, PostgreSQL's `pg_dump -Fc` restored with
`pg_restore` into an empty database. The restored copy holds the same cases, its chain verifies, and it agrees with
the checkpoint taken before the backup; a checkpoint taken after the backup reports the events the copy lacks.

The PostgreSQL run needs TEST_DATABASE_URL (the `app` fixture skips it, saying so, when it is unset): it creates a
database of its own beside the test database and drops it afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from puskesos import create_app
from puskesos.audit import checkpoints
from puskesos.audit.chain import verify
from puskesos.cases.models import Case
from puskesos.cases.workflow import State
from puskesos.extensions import db
from tests import factories


def backup_sqlite(source: str, target: Path) -> str:
    """`sqlite3 instance/puskesos.sqlite ".backup FILE"`, through the same API: consistent while the app writes."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return f"sqlite:///{target}"


@contextlib.contextmanager
def restored_postgres(url, dump: Path) -> Iterator[str]:
    """`pg_dump -Fc`, then `pg_restore` into a new, empty database made for it; dropped on the way out."""
    libpq = url.set(drivername="postgresql")
    subprocess.run(["/usr/bin/pg_dump", "-Fc", "-f", str(dump), "-d", libpq.render_as_string(hide_password=False)],
                   check=True, capture_output=True, timeout=120)
    name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        target = libpq.set(database=name).render_as_string(hide_password=False)
        subprocess.run(["/usr/bin/pg_restore", "--exit-on-error", "-d", target, str(dump)],
                       check=True, capture_output=True, timeout=120)
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def backup(backend: str, tmp_path: Path) -> Iterator[str]:
    """A backup of the running database, restored; yields the restored copy's URL."""
    db.session.commit()
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    if backend == "sqlite":
        yield backup_sqlite(url.database, tmp_path / "restored.sqlite")
    else:
        with restored_postgres(url, tmp_path / "puskesos.dump") as restored:
            yield restored


def test_a_restored_backup_verifies_against_the_checkpoint_taken_before_it(app, world, backend, tmp_path):
    for state in (State.REGISTERED, State.SUBMITTED, State.IN_SERVICE, State.CLOSED):
        factories.case_in(state, world)
    key, pub = checkpoints.keygen(tmp_path / "keys")
    log = tmp_path / "checkpoints.jsonl"
    checkpoints.create_checkpoint(checkpoints.load_private_key(key), log)
    cases, head = db.session.execute(select(func.count(Case.id))).scalar_one(), verify().checked

    with backup(backend, tmp_path) as restored_url:
        shutil.copy(log, tmp_path / "checkpoints-at-backup.jsonl")
        factories.case_in(State.SUBMITTED, world)  # the live database moves on, and is checkpointed again
        checkpoints.create_checkpoint(checkpoints.load_private_key(key), log)
        db.session.commit()

        restored = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": restored_url})
        with restored.app_context():
            try:
                assert db.session.execute(select(func.count(Case.id))).scalar_one() == cases
                result = verify()
                assert (result.ok, result.checked) == (True, head)
                public = checkpoints.load_public_key(pub)
                agreed = checkpoints.verify_checkpoints(tmp_path / "checkpoints-at-backup.jsonl", public)
                assert (agreed.events, agreed.last.seq) == (head, head)

                # The latest checkpoint was signed after the backup: the copy lacks its events, and says from where.
                with pytest.raises(checkpoints.CheckpointError) as lacking:
                    checkpoints.verify_checkpoints(log, public)
                assert lacking.value.seq == head + 1 and "cut off" in str(lacking.value)

                runner = restored.test_cli_runner()
                answer = runner.invoke(args=["audit", "verify", "--checkpoints",
                                             str(tmp_path / "checkpoints-at-backup.jsonl"), "--public-key", str(pub)])
                assert answer.exit_code == 0, answer.output
            finally:
                db.session.remove()
                db.engine.dispose()  # PostgreSQL: no connection may hold the copy when it is dropped


# What README "Backups" says to run after restoring into a new database, as a superuser: pg_restore carries no
# database-level grants, and a new database gives PUBLIC CONNECT (and, before PostgreSQL 15, CREATE on public).
HARDEN = """
ALTER SCHEMA public OWNER TO {owner};
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE {database} FROM PUBLIC;
GRANT CONNECT ON DATABASE {database} TO {app};
"""


def test_a_postgresql_restore_hardened_as_documented_keeps_the_log_out_of_the_app_roles_reach(app, world, backend,
                                                                                               tmp_path):
    """The README's restore, step by step: a new database owned by the owner role, hardened, `pg_restore --no-owner
    --no-acl` as the owner, `db-roles grant`, then `db-roles check` and `audit verify --checkpoints` as the app's
    role. The roles are cluster-wide: their names carry the restored database's."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no roles")
    factories.case_in(State.CLOSED, world)
    key, pub = checkpoints.keygen(tmp_path / "keys")
    log = tmp_path / "checkpoints.jsonl"
    checkpoints.create_checkpoint(checkpoints.load_private_key(key), log)
    db.session.commit()
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    libpq = url.set(drivername="postgresql")
    dump = tmp_path / "puskesos.dump"
    subprocess.run(["/usr/bin/pg_dump", "-Fc", "-f", str(dump), "-d", libpq.render_as_string(hide_password=False)],
                   check=True, capture_output=True, timeout=120)

    name = f"{url.database}_hardened_{uuid.uuid4().hex[:8]}"
    owner, app_role = f"{name}_owner", f"{name}_app"
    superuser = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with superuser.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
        conn.execute(text(f'CREATE ROLE "{app_role}" LOGIN'))
    as_owner, as_app = (libpq.set(database=name, username=role).render_as_string(hide_password=False)
                        for role in (owner, app_role))
    try:
        server = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username]
        subprocess.run(["/usr/bin/createdb", *server, "-O", owner, name], check=True, capture_output=True, timeout=60)
        subprocess.run(["/usr/bin/psql", *server, "-d", name, "-v", "ON_ERROR_STOP=1", "-q", "-c",
                        HARDEN.format(owner=f'"{owner}"', database=f'"{name}"', app=f'"{app_role}"')],
                       check=True, capture_output=True, timeout=60)
        restore = subprocess.run(["/usr/bin/pg_restore", "--exit-on-error", "--no-owner", "--no-acl", "-d", as_owner,
                                  str(dump)], capture_output=True, text=True, timeout=120)
        assert restore.returncode == 0, restore.stderr

        restored = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": as_app, "MIGRATION_DATABASE_URL": as_owner})
        with restored.app_context():
            try:
                runner = restored.test_cli_runner()
                may = text("SELECT has_table_privilege('audit_event', 'SELECT'), "
                           "has_table_privilege('audit_event', 'INSERT'), has_table_privilege('case_file', 'UPDATE')")
                assert tuple(db.session.execute(may).one()) == (False, False, False)  # --no-acl: no grants came
                db.session.rollback()
                granted = runner.invoke(args=["db-roles", "grant", app_role])
                assert granted.exit_code == 0, granted.output
                assert tuple(db.session.execute(may).one()) == (True, True, True)
                db.session.rollback()
                check = runner.invoke(args=["db-roles", "check"])
                assert check.exit_code == 0, check.output
                assert f"database role {app_role} may only SELECT and INSERT audit_event" in check.output
                answer = runner.invoke(args=["audit", "verify", "--checkpoints", str(log), "--public-key", str(pub)])
                assert answer.exit_code == 0, answer.output
                assert "agreeing with 1 signed checkpoints" in answer.output
                public_acl = db.session.execute(text(
                    "SELECT (SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a "
                    "        WHERE d.datname = current_database() AND a.grantee = 0), "
                    "       (SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a "
                    "        WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE')")).one()
                assert tuple(public_acl) == (0, 0)  # PUBLIC may neither connect nor create in the copy
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        with superuser.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for role in (app_role, owner):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        superuser.dispose()
