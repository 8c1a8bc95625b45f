"""`flask sla sweep`: one overdue event per case (or referral) and step, never twice, also when two sweeps run at
once; the cases' versions do not move (an open form is not made stale by the clock); the chain verifies."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.cases.models import Case
from puskesos.cases.workflow import State
from puskesos.core.timeutil import clock_at
from puskesos.extensions import db
from puskesos.reports import sla
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))  # ten in the morning, WIB


def overdue_events(action: str) -> list[dict]:
    rows = db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
    return [{"case": e.case_number, **json.loads(e.details)} for e in rows.scalars()]


@pytest.fixture
def late(world):
    """Cases made three weeks ago in several steps (all past their deadlines now), one made today (not late)."""
    with clock_at(at(dt.date(2026, 11, 2))):
        cases = {state: factories.case_in(state, world) for state in
                 (State.REGISTERED, State.SUBMITTED, State.NEEDS_INFO, State.REFERRED, State.IN_SERVICE)}
    fresh = factories.case_in(State.SUBMITTED, world)
    return cases, fresh


def test_one_event_per_case_and_step_and_none_the_second_time(late):
    cases, fresh = late
    with clock_at(at(dt.date(2026, 11, 30))):
        versions = {c.id: c.version for c in cases.values()}
        first = sla.sweep()
        assert (first.cases, first.referrals) == (5, 2)  # the referred and in-service cases' referrals too
        second = sla.sweep()
        assert (second.cases, second.referrals) == (0, 0)
    events = overdue_events("case.overdue")
    assert sorted(e["case"] for e in events) == sorted(c.number for c in cases.values())
    assert fresh.number not in {e["case"] for e in events}
    for event in events:
        case = next(c for c in cases.values() if c.number == event["case"])
        assert (event["step"], event["due_on"]) == (case.state, case.due_on.isoformat())
        assert event["days_late"] == (dt.date(2026, 11, 30) - case.due_on).days > 0
    referral_events = overdue_events("referral.overdue")
    assert {(e["case"], e["status"]) for e in referral_events} == {
        (cases[State.REFERRED].number, "pending"), (cases[State.IN_SERVICE].number, "accepted")}
    db.session.expire_all()
    assert {c.id: db.session.get(Case, c.id).version for c in cases.values()} == versions  # nothing changed
    assert verify().ok


def test_a_case_that_moves_on_and_falls_behind_again_is_escalated_again(late, world):
    cases, _fresh = late
    case = cases[State.SUBMITTED]
    with clock_at(at(dt.date(2026, 11, 16))):
        sla.sweep()
        factories.fire(case, "start_assessment", world.caseworker)  # a new step: 7 working days
    def steps_of_case() -> list[str]:
        return [e["step"] for e in overdue_events("case.overdue") if e["case"] == case.number]

    with clock_at(at(dt.date(2026, 11, 20))):
        sla.sweep()
        assert steps_of_case() == ["submitted"]  # in time in its new step (due on the 25th)
    with clock_at(at(dt.date(2026, 11, 30))):
        sla.sweep()
    steps = [e["step"] for e in overdue_events("case.overdue") if e["case"] == case.number]
    assert steps == ["submitted", "in_assessment"]
    assert verify().ok


def test_the_case_timeline_and_log_say_it_in_words(late, client):
    from tests.helpers import login

    cases, _ = late
    with clock_at(at(dt.date(2026, 11, 30))):
        sla.sweep()
    login(client, "supervisor")
    page = client.get(f"/cases/{cases[State.SUBMITTED].number}").get_data(as_text=True)
    assert "Melewati tenggat tahap ini" in page and "Tahap:</span> <span" in page and "Diajukan ke Dinsos" in page


def test_the_command_reports_and_is_idempotent(late, app):
    runner = app.test_cli_runner()
    with clock_at(at(dt.date(2026, 11, 30))):
        first = runner.invoke(args=["sla", "sweep"])
        second = runner.invoke(args=["sla", "sweep"])
    assert first.exit_code == 0 and "escalated 5 case step(s) and 2 referral step(s)" in first.output
    assert second.exit_code == 0 and "escalated 0 case step(s) and 0 referral step(s)" in second.output


SWEEP_AT = """
import datetime as dt, sys
sys.path.insert(0, {root!r})
from puskesos import create_app
from puskesos.core.timeutil import clock_at
from puskesos.reports import sla
app = create_app({{"TESTING": True, "SQLALCHEMY_DATABASE_URI": {url!r}}})
with app.app_context(), clock_at(dt.datetime(2026, 11, 30, 3)):
    result = sla.sweep()
    print(result.cases, result.referrals)
"""


def test_two_sweeps_at_once_write_each_event_once(late, app, backend):
    if backend != "postgresql":
        pytest.skip("two processes at once: PostgreSQL (SQLite serialises every write transaction anyway)")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.commit()
    script = SWEEP_AT.format(root=str(ROOT), url=url)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ}) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    totals = [tuple(int(n) for n in out.split()) for out, _err in outputs]
    assert tuple(map(sum, zip(*totals, strict=True))) == (5, 2), totals  # shared between them, never doubled
    db.session.expire_all()
    counts = db.session.execute(select(AuditEvent.action, func.count()).where(
        AuditEvent.action.in_(["case.overdue", "referral.overdue"])).group_by(AuditEvent.action)).all()
    assert dict(counts) == {"case.overdue": 5, "referral.overdue": 2}
    assert verify().ok


def test_the_sweep_notifies_who_must_act_once(late, world):
    from puskesos.notifications.models import Notification

    cases, _ = late
    with clock_at(at(dt.date(2026, 11, 30))):
        sla.sweep()
        sla.sweep()
    rows = db.session.execute(select(Notification.kind, Notification.case_id, Notification.recipient_id)).all()
    submitted = cases[State.SUBMITTED]  # unassigned: the regency's caseworkers and the area's supervisors
    to_submitted = {r.recipient_id for r in rows if r.kind == "case.overdue" and r.case_id == submitted.id}
    assert {world.caseworker.id, world.caseworker2.id, world.supervisor.id} <= to_submitted
    referred = cases[State.REFERRED]
    to_agency = {r.recipient_id for r in rows if r.kind == "referral.overdue" and r.case_id == referred.id}
    assert world.agency_user.id in to_agency
    assert len(rows) == len(set(rows))  # the second sweep added nothing


def test_deadlines_across_lebaran_and_the_year_end_escalate_on_the_right_day(world):
    """Counted by hand from the 2026/2027 decree: Nyepi 18–19 March and Idulfitri 20–24 March 2026 (leave and
    holidays), Christmas 24–25 December 2026, New Year and Isra Mikraj (1 and 5 January 2027) are not working
    days."""
    with clock_at(at(dt.date(2026, 3, 17))):
        lebaran = factories.case_in(State.SUBMITTED, world)  # 3 working days: the 25th, 26th, 27th
    assert lebaran.due_on == dt.date(2026, 3, 27)
    with clock_at(at(dt.date(2026, 12, 23))):
        year_end = factories.case_in(State.SUBMITTED, world)  # 28th, 29th, 30th
    assert year_end.due_on == dt.date(2026, 12, 30)
    with clock_at(at(dt.date(2026, 12, 30))):
        factories.fire(year_end, "start_assessment", world.caseworker)  # 7: 31 Dec, 4, 6, 7, 8, 11, 12 Jan
    assert year_end.due_on == dt.date(2027, 1, 12) and not year_end.due_estimated

    def late_steps(case) -> list:
        return [(e["step"], e["days_late"]) for e in overdue_events("case.overdue") if e["case"] == case.number]

    with clock_at(at(dt.date(2026, 3, 27))):
        sla.sweep()
    assert late_steps(lebaran) == []  # due today: not yet late
    with clock_at(at(dt.date(2026, 3, 30))):
        sla.sweep()
    assert late_steps(lebaran) == [("submitted", 3)]
    with clock_at(at(dt.date(2027, 1, 12))):
        sla.sweep()
    assert late_steps(year_end) == []
    with clock_at(at(dt.date(2027, 1, 13))):
        sla.sweep()
    assert late_steps(year_end) == [("in_assessment", 1)]
