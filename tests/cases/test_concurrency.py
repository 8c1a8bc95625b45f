"""Two people acting on one case at the same moment, and many officers registering at once.

Each thread has its own app context, hence its own session and connection, as two requests served by two
workers would. SQLite serialises writers with BEGIN IMMEDIATE; PostgreSQL with row locks and the audit
chain's advisory lock. Either way exactly one of two racing writers wins, and the chain stays whole.
"""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select, update

from puskesos.accounts.models import User
from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.cases import services
from puskesos.cases.models import Case
from puskesos.cases.services import CaseChanged
from puskesos.cases.workflow import State
from puskesos.core.errors import Conflict, WorkflowRefused
from puskesos.extensions import db
from tests import factories

TIMEOUT = 60


def run_threads(app, jobs) -> list:
    """Run each job in its own thread and app context, all released together; return results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def runner(index, job):
        with app.app_context():
            try:
                results[index] = job(barrier)
            except BaseException as exc:  # reported by the test
                results[index] = exc
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=runner, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung: lock never released?"
    return results


def attempt(case_id: int, event: str, user_id: int, *, reload: bool, **inputs):
    """A request: read the case and its version, then (once everyone has read) fire the event with it."""

    def job(barrier):
        session = db.session()
        session.expire_on_commit = False
        case = session.get(Case, case_id)
        actor = session.get(User, user_id)
        version = case.version
        _ = (list(case.referrals), list(case.assessments), actor.role, actor.agency_id)
        session.commit()  # end the read: SQLite's BEGIN IMMEDIATE would otherwise hold the write lock
        barrier.wait(TIMEOUT)
        if reload:  # a second request that reads the case again after the race started
            session.refresh(case)
        try:
            services.fire(case, event, actor, expected_version=version, **inputs)
            session.commit()
        except (Conflict, WorkflowRefused) as refusal:
            # What the page would list beside the stale form, read before the session lets go of it.
            refusal.changes_seen = [(e.action, e.actor_id) for e in getattr(refusal, "changes", None) or []]
            session.rollback()
            return refusal
        return "ok"

    return job


def action_count(case_id: int, *actions: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.case_id == case_id, AuditEvent.action.in_(actions))).scalar_one()


def one_winner(results, names: list[str], changes: list[tuple[str, int]] | None = None) -> int:
    """Exactly one attempt succeeded; the other was told, by name, who changed the case first, and (a stale
    version: CaseChanged) was given the winner's change, `changes[winner]`, as the change it missed."""
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict | WorkflowRefused)], \
        results
    winners = [i for i, r in enumerate(results) if r == "ok"]
    assert len(winners) == 1, results
    (winner,) = winners
    (loser,) = [r for i, r in enumerate(results) if i != winner]
    assert isinstance(loser, Conflict | WorkflowRefused), results
    assert str(loser.message).strip()
    if isinstance(loser, Conflict):
        assert names[winner] in str(loser.message)
    if isinstance(loser, CaseChanged) and changes is not None:
        assert loser.changes_seen == [changes[winner]], (loser.changes_seen, changes[winner])
    return winner


@pytest.mark.parametrize("reload", [False, True], ids=["stale-read", "fresh-read"])
def test_two_caseworkers_take_the_same_case(app, world, reload):
    for _round in range(3):
        case = factories.case_in(State.SUBMITTED, world)
        case_id, version = case.id, case.version
        users = [world.caseworker, world.caseworker2]
        ids, names = [u.id for u in users], [u.full_name for u in users]
        db.session.commit()  # the main thread must not hold SQLite's write lock while the threads run

        results = run_threads(app, [attempt(case_id, "start_assessment", uid, reload=reload) for uid in ids])

        winner = one_winner(results, names, [("case.start_assessment", uid) for uid in ids])
        db.session.expire_all()
        case = db.session.get(Case, case_id)
        assert (case.state, case.assignee_id, case.version) == (State.IN_ASSESSMENT, ids[winner], version + 1)
        assert action_count(case_id, "case.start_assessment") == 1
        assert verify().ok


@pytest.mark.parametrize("reload", [False, True], ids=["stale-read", "fresh-read"])
def test_an_agency_accepts_while_the_caseworker_revokes(app, world, reload):
    for _round in range(3):
        case = factories.case_in(State.REFERRED, world)
        case_id, version, referral_id = case.id, case.version, case.referrals[0].id
        users = [world.agency_user, world.caseworker]
        ids, names = [u.id for u in users], [u.full_name for u in users]
        db.session.commit()

        results = run_threads(app, [
            attempt(case_id, "accept", ids[0], reload=reload, referral_id=referral_id),
            attempt(case_id, "revoke_referral", ids[1], reload=reload, referral_id=referral_id,
                    reason="Salah instansi"),
        ])

        winner = one_winner(results, names, [("referral.accept", ids[0]), ("referral.revoke_referral", ids[1])])
        db.session.expire_all()
        case = db.session.get(Case, case_id)
        expected = [("in_service", "accepted", "referral.accept"), ("assessed", "revoked", "referral.revoke_referral")]
        state, status, action = expected[winner]
        assert (case.state, case.referrals[0].status, case.version) == (state, status, version + 1)
        assert action_count(case_id, "referral.accept", "referral.revoke_referral") == 1
        assert action_count(case_id, action) == 1
        assert verify().ok


def test_a_write_that_lost_the_race_is_a_conflict(world):
    """The deterministic core of the races above: another worker commits between our read and our write.

    The version column makes our UPDATE match no row; the caller must get the Conflict that names who
    changed the case, with nothing written, not a database error.
    """
    case = factories.case_in(State.SUBMITTED, world)
    actor, other = world.caseworker, world.caseworker2
    version, other_id, other_name = case.version, other.id, other.full_name
    _ = (case.state, list(case.referrals), list(case.assessments), actor.role)  # our request has read the case
    seq = db.session.execute(select(func.max(AuditEvent.seq))).scalar_one()
    db.session().expire_on_commit = False
    db.session.commit()  # and finished reading; our copy stays as it was read
    table = Case.__table__
    with db.engine.begin() as connection:  # the other worker's committed write
        connection.execute(update(table).where(table.c.id == case.id)
                           .values(version=table.c.version + 1, updated_by_id=other_id))
    assert case.version == version

    with pytest.raises(CaseChanged) as conflict:
        services.fire(case, "start_assessment", actor, expected_version=version)
    assert other_name in str(conflict.value.message)
    assert conflict.value.changes == []  # the other write (by hand, here) left no audit event to show
    db.session.rollback()
    assert db.session.execute(select(func.max(AuditEvent.seq))).scalar_one() == seq
    assert action_count(case.id, "case.start_assessment") == 0
    assert (case.state, case.version) == (State.SUBMITTED, version + 1)


THREADS, PER_THREAD = 4, 10


def test_concurrent_registrations_get_gapless_numbers_and_one_chain(app, world):
    officers = [world.officer, world.officer_b, world.officer, world.officer_b]
    villages = [factories.VILLAGE_A, factories.VILLAGE_B, factories.VILLAGE_A, factories.VILLAGE_B]
    forms = [[factories.intake(village_code=villages[t]) for _ in range(PER_THREAD)] for t in range(THREADS)]
    officer_ids = [o.id for o in officers]
    events_before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    db.session.commit()

    def registrar(officer_id, batch):
        def job(barrier):
            officer = db.session.get(User, officer_id)
            db.session.commit()
            barrier.wait(TIMEOUT)
            numbers = []
            for data in batch:
                case, _ = services.register(officer, data)
                db.session.commit()
                numbers.append(case.number)
            return numbers
        return job

    results = run_threads(app, [registrar(officer_ids[t], forms[t]) for t in range(THREADS)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    numbers = [n for batch in results for n in batch]
    year = numbers[0].split("-")[2]
    assert sorted(numbers) == [f"SLRT-1603-{year}-{i:06d}" for i in range(1, THREADS * PER_THREAD + 1)]
    for batch in results:
        assert batch == sorted(batch)  # each officer's own cases are numbered in the order they were saved
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Case)).scalar_one() == THREADS * PER_THREAD
    created = db.session.execute(select(AuditEvent.case_number, AuditEvent.details)
                                 .where(AuditEvent.action == "case.created")).all()
    assert sorted(n for n, _ in created) == sorted(numbers)
    assert all(json.loads(d)["state"] == "registered" for _, d in created)
    result = verify()
    assert result.ok and result.checked == events_before + THREADS * PER_THREAD
