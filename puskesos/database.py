"""Engine settings that make SQLite behave like a database several requests share.

Every SQLite transaction starts with BEGIN IMMEDIATE: it takes the write lock
up front, so two requests never read the same case version and then both try
to write (SQLite would fail one of them mid-transaction instead of queueing
it), and the audit chain head is read under the lock that protects it.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection) -> None:
    if connection.dialect.name == "sqlite":
        # A connection that only reads one snapshot for a long while (an export) must not hold the write lock:
        # a deferred BEGIN reads a consistent snapshot and, in WAL mode, never blocks writers.
        snapshot = connection.get_execution_options().get("snapshot_read")
        connection.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")
