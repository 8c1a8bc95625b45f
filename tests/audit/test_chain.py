"""The audit chain: intact after real work, and every kind of tampering is caught at the first broken event.

On SQLite the tampering is plain SQL. On PostgreSQL the table refuses UPDATE, DELETE and TRUNCATE; to show
that the chain still catches what a superuser could do, those tests switch the trigger off first.
"""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from puskesos.audit.chain import GENESIS_HASH, event_hash, hashed_fields, verify
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import details_of
from puskesos.cases import services
from puskesos.cases.workflow import State
from puskesos.core.errors import NotFound
from puskesos.extensions import db
from tests import factories

COLUMNS = ("seq", "created_at", "actor_id", "actor_name", "actor_role", "action", "case_id", "case_number",
           "region_code", "details", "prev_hash", "hash")


@pytest.fixture
def chain(world, backend):
    """A world and a case taken to `in_service`: some twenty events from several actors."""
    factories.case_in(State.IN_SERVICE, world)
    assert verify().ok
    return SimpleNamespace(world=world, backend=backend, length=event_count())


def event_count() -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def row(seq: int) -> dict:
    return dict(db.session.execute(select(*AuditEvent.__table__.c).where(AuditEvent.seq == seq)).one()._mapping)


PARK = 1_000_000  # renumbering moves rows out of the way first (sequence numbers are unique, and above 0)


def tamper(backend: str, *statements: tuple[str, dict]) -> None:
    """Run raw SQL against the log and commit, with PostgreSQL's immutability and insert-at-the-head triggers
    switched off, as the table's owner can."""
    if backend == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update"))
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_at_head"))
    for sql, params in statements:
        db.session.execute(text(sql), params)
    db.session.commit()


def first_break() -> tuple[int, str]:
    result = verify()
    assert not result.ok
    assert result.checked == result.first_break.seq - 1  # everything before the break was checked and good
    return result.first_break.seq, result.first_break.reason


def test_chain_verifies_after_a_workflow(chain):
    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [r.seq for r in rows] == list(range(1, chain.length + 1))
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    assert {"case.created", "case.submit", "case.start_assessment", "case.complete_assessment", "case.refer",
            "referral.accept"} <= {r.action for r in rows}
    result = verify()
    assert (result.ok, result.checked) == (True, chain.length)


@pytest.mark.parametrize(("column", "value"), [
    ("details", '{"from":"submitted","to":"closed"}'),
    ("action", "case.close"),
    ("actor_name", "admin"),
    ("actor_role", "admin"),
    ("created_at", "2020-01-01 00:00:00"),
    ("case_number", "SLRT-1603-2026-999999"),
    ("region_code", "16.04"),
    ("hash", "f" * 64),
    ("prev_hash", "e" * 64),
])
def test_changing_a_column_is_caught_at_that_event(chain, column, value):
    seq = chain.length - 3
    tamper(chain.backend, (f"UPDATE audit_event SET {column} = :v WHERE seq = :s", {"v": value, "s": seq}))
    assert first_break()[0] == seq


def test_changing_the_actor_is_caught(chain):
    seq = chain.length - 2
    admin_id = chain.world.admin.id
    assert row(seq)["actor_id"] != admin_id
    tamper(chain.backend, ("UPDATE audit_event SET actor_id = :a WHERE seq = :s", {"a": admin_id, "s": seq}))
    assert first_break()[0] == seq


def test_deleting_a_middle_event_is_caught(chain):
    seq = chain.length // 2
    tamper(chain.backend, ("DELETE FROM audit_event WHERE seq = :s", {"s": seq}))
    broken, reason = first_break()
    assert broken == seq and "missing" in reason


def test_deleting_an_event_and_closing_the_gap_is_caught(chain):
    seq = chain.length // 2
    tamper(chain.backend,
           ("DELETE FROM audit_event WHERE seq = :s", {"s": seq}),
           ("UPDATE audit_event SET seq = seq + :park WHERE seq > :s", {"s": seq, "park": PARK}),
           ("UPDATE audit_event SET seq = seq - :park - 1 WHERE seq > :park", {"park": PARK}))
    assert event_count() == chain.length - 1
    assert first_break()[0] == seq


def _swap(backend: str, a: int, b: int, columns: tuple[str, ...]) -> None:
    first, second = row(a), row(b)
    statements = []
    if "hash" in columns:  # the hash is unique: park one value while swapping
        statements.append(("UPDATE audit_event SET hash = :h WHERE seq = :s", {"h": "parked", "s": a}))
    for seq, source in ((b, first), (a, second)):
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        statements.append((f"UPDATE audit_event SET {assignments} WHERE seq = :seq",
                           {"seq": seq, **{c: source[c] for c in columns}}))
    tamper(backend, *statements)


def test_swapping_two_events_content_is_caught(chain):
    a = chain.length - 4
    content = ("created_at", "actor_id", "actor_name", "actor_role", "action", "case_id", "case_number",
               "region_code", "details")
    _swap(chain.backend, a, a + 1, content)
    assert row(a)["action"] != row(a + 1)["action"]
    assert first_break()[0] == a


def test_swapping_two_whole_events_is_caught(chain):
    a = chain.length - 4
    _swap(chain.backend, a, a + 2, tuple(c for c in COLUMNS if c != "seq"))
    assert first_break()[0] == a


def _forge(fields: dict, prev: str) -> dict:
    """An event the way `append` would have written it, after `prev`."""
    forged = {**fields, "prev_hash": prev}
    forged["hash"] = event_hash(prev, hashed_fields(SimpleNamespace(**forged)))
    return forged


def test_recomputing_a_tampered_events_hash_breaks_the_next_link(chain):
    seq = chain.length - 3
    original = row(seq)
    details = json.loads(original["details"])
    details["note"] = "diubah"
    forged = _forge({**original, "details": json.dumps(details, separators=(",", ":"))}, original["prev_hash"])
    tamper(chain.backend, ("UPDATE audit_event SET details = :details, hash = :hash WHERE seq = :seq", forged))
    broken, reason = first_break()
    assert broken == seq + 1 and "previous-hash" in reason


def test_a_forged_event_inserted_in_the_middle_is_caught(chain):
    seq = chain.length // 2
    before = row(seq - 1)
    forged = _forge({**before, "seq": seq, "action": "case.reopen", "details": '{"reason":"palsu"}'}, before["hash"])
    names = ", ".join(COLUMNS)
    tamper(chain.backend,
           ("UPDATE audit_event SET seq = seq + :park WHERE seq >= :s", {"s": seq, "park": PARK}),
           ("UPDATE audit_event SET seq = seq - :park + 1 WHERE seq > :park", {"park": PARK}),
           (f"INSERT INTO audit_event ({names}) VALUES ({', '.join(':' + c for c in COLUMNS)})", forged))
    assert event_count() == chain.length + 1
    assert first_break()[0] == seq + 1  # the forged event itself is well formed; its successor is not


# -- PostgreSQL refuses to change the log -------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "sql"), [
    ("UPDATE", "UPDATE audit_event SET details = '{}' WHERE seq = 2"),
    ("DELETE", "DELETE FROM audit_event WHERE seq = 2"),
    ("TRUNCATE", "TRUNCATE audit_event"),
])
def test_postgresql_refuses_to_change_the_log(chain, operation, sql):
    if chain.backend != "postgresql":
        pytest.skip("the immutability trigger exists on PostgreSQL only")
    original = row(2)
    with pytest.raises(DBAPIError) as refusal:
        db.session.execute(text(sql))
        db.session.flush()
    assert "append-only" in str(refusal.value.orig) and f"{operation} refused" in str(refusal.value.orig)
    db.session.rollback()
    assert row(2) == original
    assert event_count() == chain.length and verify().ok
    # Writing new events still works.
    factories.register(chain.world.officer)
    assert event_count() == chain.length + 1 and verify().ok


# -- the command ------------------------------------------------------------------------------------------------


def test_cli_verify(app, chain):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"{chain.length} events" in result.output

    seq = chain.length - 5
    tamper(chain.backend, ("UPDATE audit_event SET details = '{}' WHERE seq = :s", {"s": seq}))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert f"event {seq}:" in result.output
    assert "intact" not in result.output


# -- personal data in the log ---------------------------------------------------------------------------------


def test_revealing_a_nik_is_audited(chain):
    w = chain.world
    case = factories.register(w.officer)
    for user in (w.officer, w.caseworker, w.supervisor_province):
        count = event_count()
        assert services.reveal_nik(case, user) == case.nik
        db.session.commit()
        event = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert event_count() == count + 1
        assert (event.action, event.case_id, event.actor_id, event.actor_role) == (
            "pii.viewed", case.id, user.id, user.role)
        assert json.loads(event.details) == {"field": "nik"}
        assert case.nik not in event.details
    for outsider in (w.officer_b, w.caseworker_lahat, w.agency_user, w.admin):
        count = event_count()
        with pytest.raises(NotFound):
            services.reveal_nik(case, outsider)
        db.session.rollback()
        assert event_count() == count
    assert verify().ok


def test_audit_details_never_hold_a_full_nik_or_kk(chain):
    w = chain.world
    nik, kk, new_nik, new_kk = factories.nik(), "1603011111110001", factories.nik(), "1603012222220002"
    case, _ = services.register(w.officer, factories.intake(nik=nik, kk_number=kk))
    db.session.commit()
    services.update_intake(case, w.officer, factories.intake(nik=new_nik, kk_number=new_kk, name="Siti Lubis"),
                           expected_version=case.version)
    db.session.commit()
    factories.fire(case, "submit", w.officer)
    services.reveal_nik(case, w.caseworker)
    db.session.commit()
    details = db.session.execute(select(AuditEvent.details).where(AuditEvent.case_id == case.id)).scalars().all()
    assert len(details) == 4
    everything = "\n".join(details)
    for secret in (nik, kk, new_nik, new_kk):
        assert secret not in everything
    masked = nik[:4] + "********" + nik[-4:]
    assert masked not in everything  # masked, and sealed too (the birth date and village would rebuild it)
    [updated] = [e for e in db.session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id)).scalars()
                 if e.action == "case.updated"]
    assert details_of(updated)["changes"]["nik"][0] == masked  # the masked form is what the diff shows a reader


def test_cutting_off_the_last_events_of_a_case_is_caught(chain):
    """The tail links up on its own; the case's version says how many events it should have."""
    tamper(chain.backend, ("DELETE FROM audit_event WHERE seq >= :s", {"s": chain.length - 1}))
    broken, reason = first_break()
    assert broken == chain.length - 1
    assert "version" in reason and "missing" in reason


def test_revealing_nik_does_not_count_as_a_case_write(chain):
    case = factories.case_in(State.SUBMITTED, chain.world)
    services.reveal_nik(case, chain.world.caseworker)
    db.session.commit()
    assert verify().ok
