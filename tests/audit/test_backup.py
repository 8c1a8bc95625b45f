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
