"""The log takes a new event only at the head of its chain. PostgreSQL refuses anything else (a BEFORE INSERT
trigger), so the app's own role, which may INSERT, cannot hide an event before the chain, between two events or
far beyond the head (where every later append would fail); every database refuses a number below 1."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from puskesos.audit.chain import GENESIS_HASH, verify
from puskesos.audit.models import AuditEvent
from puskesos.extensions import db
from tests import conftest, factories

COLUMNS = "seq, created_at, action, details, prev_hash, hash"


def head() -> AuditEvent:
    return db.session.execute(db.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()


def insert(seq: int, prev_hash: str) -> None:
    db.session.execute(text(f"INSERT INTO audit_event ({COLUMNS}) VALUES (:seq, CURRENT_TIMESTAMP, 'auth.login', "
                            "'{}', :prev, :hash)"), {"seq": seq, "prev": prev_hash, "hash": f"{seq:064d}"[-64:]})


@pytest.fixture
def chain(world):
    factories.register(world.officer)
    db.session.commit()
    return head()


def test_no_database_takes_an_event_numbered_below_one(chain):
    for seq in (0, -1):
        with pytest.raises(DBAPIError):
            insert(seq, GENESIS_HASH)
        db.session.rollback()
    assert verify().ok


def test_postgresql_takes_only_the_next_event_linked_to_the_head(chain, backend):
    if backend != "postgresql":
        pytest.skip("the insert trigger exists on PostgreSQL only (SQLite has no database roles to hold apart)")
    top = chain
    for seq, prev in ((top.seq + 1, "f" * 64),          # the next number, linked to something else
                      (top.seq + 2, top.hash),          # a gap
                      (2**63 - 2, top.hash),            # far beyond: the next append would overflow
                      (top.seq, top.prev_hash)):        # beside an existing event
        with pytest.raises(DBAPIError, match="accepts only the next event of the chain"):
            insert(seq, prev)
        db.session.rollback()
    insert(top.seq + 1, top.hash)  # the next one, linked: taken (its hash is wrong, which verify names)
    db.session.commit()
    assert verify().first_break.seq == top.seq + 1


def test_verify_names_an_event_the_owner_slipped_in_before_the_chain(chain, backend):
    if backend != "postgresql":
        pytest.skip("SQLite cannot drop the CHECK; on PostgreSQL the owner can, as a tamperer would")
    conftest._pg_schema["ours"] = False  # the next test builds the schema again, CHECK included
    db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    db.session.execute(text("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_seq_positive"))
    insert(-1, GENESIS_HASH)
    db.session.commit()
    result = verify()
    assert not result.ok and result.first_break.seq == -1
    assert "before the chain's first event" in result.first_break.reason
