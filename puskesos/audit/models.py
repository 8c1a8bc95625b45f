from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from puskesos.extensions import db


class AuditEvent(db.Model):
    """One event of the chain. `hash` covers the event's canonical encoding and `prev_hash`."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_case_seq", "case_id", "seq"),
        Index("ix_audit_event_region_seq", "region_code", "seq"),
        Index("ix_audit_event_actor_seq", "actor_id", "seq"),
        CheckConstraint("seq > 0", name="seq_positive"),  # the chain starts at 1: nothing may hide before it
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str | None] = mapped_column(String(50))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    case_number: Mapped[str | None] = mapped_column(String(32))
    # The area the event belongs to (the case's village, a user's region), for supervisors' filters.
    region_code: Mapped[str | None] = mapped_column(String(13))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    actor = relationship("User", lazy="raise")  # load it on purpose (timeline), never per row by accident


class CaseKey(db.Model):
    """A case's own data key, under which its events' personal details are sealed (`audit/sealing.py`).

    Stored wrapped (AES-GCM) under the PII master key named by `key_id`; retention erases the wrapped key and
    sets `destroyed_at`, after which the case's sealed details can never be read again while the chain, which
    hashes them as stored, still verifies. `key_id` is NULL once destroyed."""

    __tablename__ = "case_key"

    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), primary_key=True, autoincrement=False)
    wrapped_key: Mapped[str | None] = mapped_column(String(128))
    key_id: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# PostgreSQL refuses to change or remove audit rows, whoever asks.
# Executed through the driver with a parameter list, hence %% for a literal %.
IMMUTABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: %% refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
IMMUTABLE_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_immutable()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_immutable()",
)


# …and accepts a new row only at the head of the chain: the next sequence number, linked to the head's hash. So
# the app's own role (which may INSERT) cannot slip an event in before, between or far beyond the others, where
# it would either escape verification or jam every later append.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_at_head() RETURNS trigger AS $$
DECLARE
    head_seq bigint;
    head_hash text;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_event ORDER BY seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
        RAISE EXCEPTION 'audit_event accepts only the next event of the chain (%%, linked to the head): %% refused',
            head_seq + 1, NEW.seq;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""
APPEND_TRIGGER = ("CREATE TRIGGER audit_event_at_head BEFORE INSERT ON audit_event "
                  "FOR EACH ROW EXECUTE FUNCTION audit_event_at_head()")


def install_immutability(connection) -> None:
    """The update/delete refusal; used by the first migration and by `create_all` (tests) alike."""
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(IMMUTABLE_FUNCTION)
    for statement in IMMUTABLE_TRIGGERS:
        connection.exec_driver_sql(statement)


def install_append_guard(connection) -> None:
    """The insert-at-the-head rule; used by migration 0009 and by `create_all` (tests) alike."""
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(APPEND_FUNCTION)
    connection.exec_driver_sql(APPEND_TRIGGER)


@event.listens_for(AuditEvent.__table__, "after_create")
def _after_create(target, connection, **kw) -> None:
    install_immutability(connection)
    install_append_guard(connection)
