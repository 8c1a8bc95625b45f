"""Both workflow tables, row by row, state (or status) by state and role by role, through `services.fire`.

The case table (`cases.workflow.TABLE`) moves a case; the referral table (`referrals.workflow.TABLE`) moves one
referral, and the case then stands where its referrals place it (DESIGN: some accepted → in_service; else some
pending → referred; else some completed or failed → answered; else assessed). Every expectation here is derived
from the two tables and their DEADLINES (and from the design for the guards), never from the services' own
answers, so a change to a table or to the services that disagrees shows up.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from flask import current_app
from sqlalchemy import func, select

from puskesos.accounts.jurisdiction import can_read_case
from puskesos.accounts.roles import Role
from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.cases import services
from puskesos.cases.models import Case
from puskesos.cases.vocabulary import Outcome
from puskesos.cases.workflow import (
    CASE_EVENTS,
    DEADLINES,
    EVENTS,
    FOLLOWS_REFERRALS,
    REFERRAL_EVENTS,
    TABLE,
    State,
    roles_of,
)
from puskesos.core import timeutil
from puskesos.core.errors import NotFound, WorkflowRefused
from puskesos.extensions import db
from puskesos.referrals import workflow as referral_workflow
from puskesos.referrals.models import Referral, ReferralStatus
from puskesos.referrals.services import create_agency
from puskesos.workdays.services import add_working_days, import_csv
from tests import factories

REFERRAL_TABLE = referral_workflow.TABLE
REFERRAL_DEADLINES = referral_workflow.DEADLINES
ASSESSED = ("submit", "start", "assess")
OPEN = ("proposed", "pending", "accepted")  # DESIGN: the referral statuses someone still has to act on
INPUT_ERROR = "Periksa kembali isian yang ditandai."


# -- what the design says, written out in the test ------------------------------------------------------------


def derived_state(statuses) -> State:
    """DESIGN: some accepted → in_service; else some pending or proposed → referred; else some completed or
    failed → answered; else (no referral, or only declined, returned and revoked ones) → assessed."""
    statuses = {str(s) for s in statuses}
    if "accepted" in statuses:
        return State.IN_SERVICE
    if statuses & {"pending", "proposed"}:
        return State.REFERRED
    if statuses & {"completed", "failed"}:
        return State.ANSWERED
    return State.ASSESSED


def expected_case_due(case, source: str, due_before):
    """The due date of the state the case is in now (`DEADLINES`): working days from today when it has just
    entered it, the earliest due date of its open referrals while it follows them, none once closed."""
    if case.state == State.CLOSED:
        return None
    days = DEADLINES[State(case.state)]
    if days == FOLLOWS_REFERRALS:
        dues = [r.due_on for r in case.referrals if r.status in OPEN]
        return min(dues) if dues else None
    if case.state == source:
        return due_before
    return add_working_days(timeutil.today(), days).day


def expected_referral_due(status: str):
    """A referral's own clock (referral `DEADLINES`): its status's working days from today, none once final."""
    days = REFERRAL_DEADLINES.get(ReferralStatus(status))
    return add_working_days(timeutil.today(), days).day if days else None


def referral_step(event: str):
    return next(step for step in REFERRAL_TABLE if step.event == event)


def case_row(event: str, state: str, role: str):
    return next((step for step in TABLE if step.event == event and state in step.sources and role in step.roles),
                None)


def table_allows(state: str, role: str, event: str) -> bool:
    return case_row(event, state, role) is not None


def referral_table_allows(referral, actor, event: str) -> bool:
    """The referral table's row for `event` starts from this referral's status and names the actor's role; an
    agency answers only the referrals addressed to it."""
    step = referral_step(event)
    return (referral.status in step.sources and actor.role == step.role
            and (actor.role != Role.AGENCY or referral.agency_id == actor.agency_id)
            and (actor.role != Role.SUPERVISOR or actor.region_code == referral.case.regency_code))


# -- helpers ------------------------------------------------------------------------------------------------


def last_seq() -> int:
    return db.session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()


def events_after(seq: int) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))
                .scalars())


def referral_of(case, agency):
    return [r for r in case.referrals if r.agency_id == agency.id][-1]


def snapshot(case) -> tuple:
    """What a refusal must leave alone: the case's state, version and due date, its referrals, the audit head."""
    return (case.state, case.version, case.due_on, last_seq(),
            tuple((r.id, r.status, r.due_on) for r in case.referrals))


def probe(case_id: int) -> tuple:
    """The same, as the database has it now (flushed or not)."""
    head = select(func.coalesce(func.max(AuditEvent.seq), 0)).scalar_subquery()
    row = db.session.execute(select(Case.state, Case.version, Case.due_on, head).where(Case.id == case_id)).one()
    referrals = db.session.execute(select(Referral.id, Referral.status, Referral.due_on)
                                   .where(Referral.case_id == case_id).order_by(Referral.id)).all()
    return (*row, tuple(tuple(r) for r in referrals))


@dataclass
class Kit:
    """The world plus a third agency, and the ways to drive a case somewhere and act on it."""

    w: factories.World
    agencies: dict
    agency_users: dict

    def build(self, recipe) -> Case:
        return self.apply(factories.register(self.w.officer), recipe)

    def apply(self, case, recipe) -> Case:
        w = self.w
        for item in recipe:
            name, _, arg = item.partition(":")
            agency = self.agencies.get(arg)
            if name == "submit":
                factories.fire(case, "submit", w.officer)
            elif name == "start":
                factories.fire(case, "start_assessment", w.caseworker)
            elif name == "info":
                factories.fire(case, "request_info", w.caseworker, note="Lampirkan foto KK.")
            elif name == "assess":
                factories.fire(case, "complete_assessment", w.caseworker, **factories.ASSESSMENT)
            elif name == "noteligible":
                factories.fire(case, "complete_assessment", w.caseworker, findings="Keluarga mampu",
                               eligible=False)
            elif name == "refer":
                factories.fire(case, "refer", w.caseworker, **factories.refer_inputs(agency))
            elif name == "propose":  # with sign-off on: the referral waits for a supervisor
                current_app.config["REFERRAL_SIGNOFF"] = True
                try:
                    factories.fire(case, "refer", w.caseworker, **factories.refer_inputs(agency))
                finally:
                    current_app.config["REFERRAL_SIGNOFF"] = False
            elif name == "approve":
                factories.fire(case, "approve_referral", w.supervisor, referral_id=referral_of(case, agency).id)
            elif name == "return":
                factories.fire(case, "return_referral", w.supervisor, referral_id=referral_of(case, agency).id,
                               note="Instansi kurang tepat")
            elif name == "accept":
                factories.fire(case, "accept", self.agency_users[arg], referral_id=referral_of(case, agency).id)
            elif name == "decline":
                factories.fire(case, "decline", self.agency_users[arg], referral_id=referral_of(case, agency).id,
                               reason="Bukan kewenangan kami")
            elif name == "report":
                factories.fire(case, "report_service", self.agency_users[arg],
                               referral_id=referral_of(case, agency).id, service_given="PBI aktif",
                               delivered_on=timeutil.today().isoformat())
            elif name == "fail":
                factories.fire(case, "report_failure", self.agency_users[arg],
                               referral_id=referral_of(case, agency).id, reason="Peserta tidak dapat dihubungi")
            elif name == "revoke":
                factories.fire(case, "revoke_referral", w.caseworker, referral_id=referral_of(case, agency).id,
                               reason="Salah instansi")
            elif name == "close":
                factories.fire(case, "close", w.caseworker, outcome=arg or "not_eligible", note="Ditutup")
            elif name == "reopen":
                factories.fire(case, "reopen", w.caseworker, reason="Ada data baru")
            else:  # pragma: no cover - a typo in a recipe
                raise AssertionError(item)
        return case

    def actor(self, role: str, target: str = "bpjs"):
        return {
            Role.OFFICER: self.w.officer,
            Role.CASEWORKER: self.w.caseworker2,  # not the assignee: any caseworker of the area may act
            Role.AGENCY: self.agency_users[target],
            Role.SUPERVISOR: self.w.supervisor,
            Role.ADMIN: self.w.admin,
        }[Role(role)]

    def target_referral(self, event: str, case, actor):
        """The referral an event acts on: the actor's own that the row starts from, else any the row starts
        from, else any at all (to be refused)."""
        wanted = {str(s) for s in referral_step(event).sources}
        own = [r for r in case.referrals if r.agency_id == actor.agency_id and r.status in wanted]
        fitting = [r for r in case.referrals if r.status in wanted]
        candidates = own or fitting or list(case.referrals)
        return candidates[0] if candidates else None

    def valid_inputs(self, event: str, case, actor, referral=None) -> dict:
        """Inputs that satisfy every input and guard of `event`'s row for this role in this state."""
        if event == "resolve_at_intake":
            return {"action_taken": "Dijelaskan cara mengaktifkan kembali KIS."}
        if event == "request_info":
            return {"note": "Lampirkan foto KK."}
        if event == "complete_assessment":
            return dict(factories.ASSESSMENT)
        if event == "refer":
            busy = {r.agency_id for r in case.referrals if r.status in OPEN}
            agency = next(a for a in self.agencies.values() if a.id not in busy)
            return factories.refer_inputs(agency)
        if event in REFERRAL_EVENTS:
            referral = referral or self.target_referral(event, case, actor)
            inputs = {"referral_id": referral.id if referral else 0, "reason": "Alasan tertulis",
                      "note": "Catatan supervisor"}
            if event == "report_service":
                inputs.update(service_given="PBI aktif kembali", delivered_on=timeutil.today().isoformat())
            return inputs
        if event == "close":
            row = case_row("close", case.state, actor.role)
            choices = row.choices["outcome"] if row else ("not_eligible",)
            # any outcome the row offers; `resolved` has a guard of its own, tried in the close tests
            return {"outcome": next(o for o in choices if o != Outcome.RESOLVED), "note": "Catatan penutupan"}
        if event == "reopen":
            return {"reason": "Pengadu datang lagi dengan data baru"}
        return {}


@pytest.fixture
def kit(world) -> Kit:
    third = create_agency(None, name="Dinas Sosial Muara Enim", kind="social", region_code="16.03")
    db.session.commit()
    return Kit(world, {"bpjs": world.bpjs, "dukcapil": world.dukcapil, "third": third},
               {"bpjs": world.agency_user, "dukcapil": world.agency_other_user})


def test_the_tables_hold_the_designed_deadlines():
    """DESIGN defaults, in working days: a table edit that changes one must change the design too."""
    assert {str(k): v for k, v in DEADLINES.items()} == {
        "registered": 2, "submitted": 3, "in_assessment": 7, "needs_info": 10, "assessed": 3,
        "referred": FOLLOWS_REFERRALS, "in_service": FOLLOWS_REFERRALS, "answered": 3}
    assert {str(k): v for k, v in REFERRAL_DEADLINES.items()} == {"proposed": 2, "pending": 5, "accepted": 14}
    assert set(CASE_EVENTS) | set(REFERRAL_EVENTS) == set(EVENTS) and not set(CASE_EVENTS) & set(REFERRAL_EVENTS)
    assert set(REFERRAL_EVENTS) == {step.event for step in REFERRAL_TABLE}


# -- the case table: every row, every source, every allowed role ----------------------------------------------

# How to bring a case to each (event, source) of the case table; several recipes where the referrals behind the
# state make a difference (refer lands where the referrals say; close withdraws what is still open).
SETUPS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("resolve_at_intake", "registered"): ((),),
    ("submit", "registered"): ((),),
    ("submit", "needs_info"): (("submit", "start", "info"),),
    ("start_assessment", "submitted"): (("submit",),),
    ("request_info", "in_assessment"): (("submit", "start"),),
    ("complete_assessment", "in_assessment"): (("submit", "start"),),
    ("refer", "assessed"): (ASSESSED, (*ASSESSED, "refer:bpjs", "decline:bpjs")),
    ("refer", "referred"): ((*ASSESSED, "refer:bpjs"),),
    ("refer", "in_service"): ((*ASSESSED, "refer:bpjs", "accept:bpjs"),),
    ("refer", "answered"): ((*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs"),
                            (*ASSESSED, "refer:bpjs", "accept:bpjs", "fail:bpjs")),
    ("close", "registered"): ((),),
    ("close", "submitted"): (("submit",),),
    ("close", "needs_info"): (("submit", "start", "info"),),
    ("close", "assessed"): (ASSESSED, (*ASSESSED, "refer:bpjs", "revoke:bpjs")),
    ("close", "referred"): ((*ASSESSED, "refer:bpjs"), (*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs",
                                                       "refer:dukcapil")),
    ("close", "in_service"): ((*ASSESSED, "refer:bpjs", "accept:bpjs", "refer:dukcapil"),),
    ("close", "answered"): ((*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs"),
                            (*ASSESSED, "refer:bpjs", "accept:bpjs", "fail:bpjs", "refer:dukcapil",
                             "decline:dukcapil")),
    ("reopen", "closed"): ((*ASSESSED, "close"), (*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs",
                                                  "close:resolved")),
}


def test_every_row_and_source_of_both_tables_has_a_setup():
    assert {(step.event, str(source)) for step in TABLE for source in step.sources} == set(SETUPS)
    # the referral rows are driven from a referral in each of these statuses (see REFERRAL_CONTEXTS)
    assert {str(source) for step in REFERRAL_TABLE for source in step.sources} == set(REFERRAL_SOURCES)


def _check_case_effect(event: str, case, actor, inputs: dict, details: dict, before: dict) -> None:
    """`before`: referral id → status before the event."""
    if event == "start_assessment":
        assert case.assignee_id == actor.id
    elif event == "request_info":
        assert case.info_request == inputs["note"]
    elif event == "submit":
        assert case.info_request is None
    elif event == "complete_assessment":
        assert case.assessment.findings == inputs["findings"]
        assert case.assessment.eligible is True
        assert case.assessment.assessed_by_id == actor.id
    elif event == "refer":
        new = case.referrals[-1]
        assert new.id not in before
        assert (new.agency_id, new.status, new.consent, new.service) == (
            inputs["agency_id"], ReferralStatus.PENDING, "written", inputs["service"])
        assert new.due_on == add_working_days(timeutil.today(), REFERRAL_DEADLINES[ReferralStatus.PENDING]).day
        assert details["referral_id"] == new.id
    elif event in ("close", "resolve_at_intake"):
        assert case.outcome == (inputs["outcome"] if event == "close" else "resolved_at_intake")
        assert case.closed_at is not None
    elif event == "reopen":
        assert (case.outcome, case.closed_at) == (None, None)
        if actor.role == Role.CASEWORKER:
            assert case.assignee_id == actor.id
    # Referrals: `refer` adds one, `close` withdraws those still open, nothing else touches them.
    after = {r.id: r.status for r in case.referrals if r.id in before}
    if event == "close":
        assert after == {rid: ("revoked" if status in OPEN else status) for rid, status in before.items()}
        assert all(r.due_on is None for r in case.referrals)
        revoked = [rid for rid, status in before.items() if status in OPEN]
        assert details.get("revoked_referrals", []) == revoked
    else:
        assert after == before


def test_allowed_roles_move_the_case_along_the_row(kit):
    """Each row of the case table, from each of its sources (in each referral situation of SETUPS), for each of
    its roles: the row's destination (or where the referrals place the case), one audit event, its effect and
    the new state's due date. (One test for the whole table: a world per row would cost more than the rows.)"""
    landed = set()
    for step in TABLE:
        for source in map(str, step.sources):
            for recipe in SETUPS[(step.event, source)]:
                case = kit.build(recipe)
                assert case.state == source, recipe
                for role in sorted(step.roles):
                    landed.add((step.event, _fire_allowed(kit, case, step, source, role, recipe)))
    # `refer` has no destination of its own: it lands where the new pending referral and the others place it
    assert {dest for event, dest in landed if event == "refer"} == {State.REFERRED, State.IN_SERVICE}


def _fire_allowed(kit, case, step, source: str, role: str, recipe) -> None:
    where = (step.event, source, role, recipe)
    actor = kit.actor(role)
    before = snapshot(case)
    version, seq, due_before, started_before = case.version, last_seq(), case.due_on, case.step_started_at
    statuses_before = {r.id: r.status for r in case.referrals}
    inputs = kit.valid_inputs(step.event, case, actor)

    services.fire(case, step.event, actor, expected_version=version, **inputs)

    dest = step.dest if step.dest is not None else derived_state(r.status for r in case.referrals)
    assert case.state == dest, where
    assert case.version == version + 1, where
    events = events_after(seq)
    assert [e.action for e in events] == [f"case.{step.event}"], where
    event = events[0]
    assert (event.case_id, event.actor_id, event.actor_role) == (case.id, actor.id, role), where
    details = json.loads(event.details)
    assert (details["from"], details["to"]) == (source, dest), where
    _check_case_effect(step.event, case, actor, inputs, details, statuses_before)
    assert case.due_on == expected_case_due(case, source, due_before), where
    if case.state != State.CLOSED:
        assert case.due_on is not None, where  # every open state has a clock
    if dest != source:
        assert case.step_started_at > started_before, where
    else:
        assert case.step_started_at == started_before, where

    db.session.rollback()
    assert snapshot(case) == before, where
    return dest


# -- the referral table: every row, every source status, every allowed role -----------------------------------

# The referral acted on is BPJS's latest; the case's other referrals (before it or after it) change where the
# case lands. Together they reach every derived state.
REFERRAL_CONTEXTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "alone": ((), ()),
    "other-pending": ((), ("refer:dukcapil",)),
    "other-accepted": ((), ("refer:dukcapil", "accept:dukcapil")),
    "other-completed": (("refer:dukcapil", "accept:dukcapil", "report:dukcapil"), ()),
    "other-failed": (("refer:dukcapil", "accept:dukcapil", "fail:dukcapil"), ()),
    "other-declined": (("refer:dukcapil", "decline:dukcapil"), ()),
    "other-revoked": (("refer:dukcapil", "revoke:dukcapil"), ()),
    "own-earlier-completed": (("refer:bpjs", "accept:bpjs", "report:bpjs"), ()),
}
# How the referral acted on reaches each status a referral row starts from.
REFERRAL_SOURCES = {"proposed": ("propose:bpjs",), "pending": ("refer:bpjs",),
                    "accepted": ("refer:bpjs", "accept:bpjs")}


def test_every_referral_row_moves_the_referral_and_the_case(kit):
    """Each row of the referral table, from each of its statuses, for its role, in each context: the referral
    goes to the row's destination with its own due date, the case to where its referrals place it (with that
    state's due date), one `referral.<event>` audit event."""
    derived = set()
    for context, (before_target, after_target) in REFERRAL_CONTEXTS.items():
        for status, path in REFERRAL_SOURCES.items():
            case = kit.build((*ASSESSED, *before_target, path[0]))
            target = referral_of(case, kit.agencies["bpjs"])
            kit.apply(case, (*after_target, *path[1:]))
            assert target.status == status, (context, status)
            for step in REFERRAL_TABLE:
                if status in step.sources:
                    derived.add(_fire_referral_allowed(kit, case, target, step, (context, status, step.event)))
    assert derived == {State.IN_SERVICE, State.REFERRED, State.ANSWERED, State.ASSESSED}


def _fire_referral_allowed(kit, case, target, step, where) -> State:
    actor = kit.actor(step.role, "bpjs")
    before = snapshot(case)
    source_state, version, seq, due_before = case.state, case.version, last_seq(), case.due_on
    started_before, source_status = case.step_started_at, target.status
    others = {r.id: r.status for r in case.referrals if r.id != target.id}
    inputs = kit.valid_inputs(step.event, case, actor, target)

    services.fire(case, step.event, actor, expected_version=version, **inputs)

    assert target.status == step.dest, where
    assert {r.id: r.status for r in case.referrals if r.id != target.id} == others, where
    expected_state = derived_state([*others.values(), str(step.dest)])
    assert case.state == expected_state, where
    assert case.version == version + 1, where
    events = events_after(seq)
    assert [e.action for e in events] == [f"referral.{step.event}"], where
    event = events[0]
    assert (event.case_id, event.actor_id, event.actor_role) == (case.id, actor.id, str(step.role)), where
    details = json.loads(event.details)
    assert (details["from"], details["to"], details["referral_id"]) == (source_state, expected_state,
                                                                         target.id), where
    assert details["status"] == step.dest, where
    # the referral's own clock, then the case's
    assert target.due_on == expected_referral_due(step.dest), where
    assert case.due_on == expected_case_due(case, source_state, due_before), where
    assert case.due_on is not None, where
    if expected_state != source_state:
        assert case.step_started_at > started_before, where
    else:
        assert case.step_started_at == started_before, where
    # the row's effect
    if step.event in ("approve_referral", "return_referral"):  # the sign-off: reviewed, not answered
        assert (target.reviewed_by_id, target.reviewed_at is not None) == (actor.id, True), where
        assert (target.letter_number is not None) == (step.event == "approve_referral"), where
    else:
        assert (target.answered_by_id, target.answered_at is not None) == (actor.id, True), where
    if step.event == "return_referral":
        assert target.return_note == inputs["note"], where
    if step.event == "decline":
        assert target.decline_reason == inputs["reason"], where
    elif step.event == "report_failure":
        assert target.failure_reason == inputs["reason"], where
    elif step.event == "revoke_referral":
        assert target.revoke_reason == inputs["reason"], where
    elif step.event == "report_service":
        assert (target.service_given, target.delivered_on) == (inputs["service_given"], timeutil.today()), where

    db.session.rollback()
    assert snapshot(case) == before and target.status == source_status, where
    return expected_state


# The BPJS referral acted on, in each status; for the final statuses that end BPJS's access to the case, a newer
# BPJS referral keeps the agency on it so that its refusal is about the status, not about access.
STATUS_SCENARIOS: dict[str, tuple[str, ...]] = {
    "proposed": (*ASSESSED, "refer:dukcapil", "propose:bpjs"),
    "returned": (*ASSESSED, "refer:dukcapil", "propose:bpjs", "return:bpjs", "refer:bpjs"),
    "pending": (*ASSESSED, "refer:dukcapil", "refer:bpjs"),
    "accepted": (*ASSESSED, "refer:dukcapil", "refer:bpjs", "accept:bpjs"),
    "declined": (*ASSESSED, "refer:dukcapil", "refer:bpjs", "decline:bpjs", "refer:bpjs"),
    "revoked": (*ASSESSED, "refer:dukcapil", "refer:bpjs", "accept:bpjs", "revoke:bpjs", "refer:bpjs"),
    "completed": (*ASSESSED, "refer:dukcapil", "refer:bpjs", "accept:bpjs", "report:bpjs"),
    "failed": (*ASSESSED, "refer:dukcapil", "refer:bpjs", "accept:bpjs", "fail:bpjs"),
}
REFERRAL_ACTORS = ("officer", "caseworker2", "supervisor", "supervisor_province", "agency_user",
                   "agency_other_user", "admin", "caseworker_lahat")


def test_every_referral_status_event_and_role(kit):
    """Every (status, event, role) the referral table has no row for is refused (4xx) and changes nothing:
    the case, the referrals, the audit log; what it has a row for is accepted."""
    assert set(STATUS_SCENARIOS) == {str(s) for s in ReferralStatus}
    bpjs = kit.agencies["bpjs"]
    refused = 0
    for status, recipe in STATUS_SCENARIOS.items():
        case = kit.build(recipe)
        target = next(r for r in case.referrals if r.agency_id == bpjs.id)  # BPJS's first
        assert target.status == status
        before = probe(case.id)
        for user_key in REFERRAL_ACTORS:
            actor = getattr(kit.w, user_key)
            for event in REFERRAL_EVENTS:
                where = (status, user_key, event)
                allowed = can_read_case(actor, case) and referral_table_allows(target, actor, event)
                inputs = kit.valid_inputs(event, case, actor, target)
                # Only what should pass runs in a savepoint: a refusal must leave nothing to roll back.
                savepoint = db.session.begin_nested() if allowed else None
                try:
                    services.fire(case, event, actor, expected_version=case.version, **inputs)
                except (WorkflowRefused, NotFound) as exc:
                    assert not allowed, (where, str(exc))
                    assert 400 <= exc.status < 500, where
                    _check_referral_refusal(exc, case, target, actor, event, where)
                    refused += 1
                    assert not (db.session.new or db.session.dirty or db.session.deleted), where
                else:
                    assert allowed, where
                    assert target.status == referral_step(event).dest, where
                finally:
                    if savepoint is not None:
                        savepoint.rollback()
            assert probe(case.id) == before, (status, user_key)  # a refusal flushed nothing
        db.session.rollback()
    assert refused > len(STATUS_SCENARIOS) * len(REFERRAL_EVENTS) * 4


def _check_referral_refusal(exc, case, target, actor, event, where) -> None:
    """Refusals say why, in the design's order: role, then a referral not the actor's to act on, then status."""
    step = referral_step(event)
    message = str(exc.message)
    if not can_read_case(actor, case):
        assert type(exc) is NotFound, where
    elif actor.role != step.role:
        assert "Peran Anda tidak dapat melakukan aksi ini." in message, where
    elif actor.role == Role.SUPERVISOR and actor.region_code != case.regency_code:
        assert "hanya oleh supervisor kabupaten/kota kasus ini" in message, where
    elif actor.role == Role.AGENCY and target.agency_id != actor.agency_id:
        assert "Rujukan tidak ditemukan pada kasus ini." in message and "referral_id" in exc.errors, where
    else:
        assert target.status not in step.sources, where
        assert "tidak tersedia untuk rujukan berstatus" in message and "referral_id" in exc.errors, where


# -- every case state, every event, every user ----------------------------------------------------------------

STATE_SCENARIOS = {
    "registered": (),
    "submitted": ("submit",),
    "submitted-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs", "close", "reopen", "info", "submit"),
    "in_assessment": ("submit", "start"),
    "in_assessment-after-answer": (*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs", "close:resolved",
                                   "reopen"),
    "needs_info": ("submit", "start", "info"),
    "needs_info-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs", "close", "reopen", "info"),
    "assessed": ASSESSED,
    "assessed-not-eligible": ("submit", "start", "noteligible"),
    "assessed-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs", "refer:dukcapil", "revoke:dukcapil"),
    "referred": (*ASSESSED, "refer:bpjs"),
    "referred-two-agencies": (*ASSESSED, "refer:bpjs", "refer:dukcapil"),
    "referred-again": (*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs", "refer:bpjs"),
    "in_service": (*ASSESSED, "refer:bpjs", "accept:bpjs"),
    "in_service-other-pending": (*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:bpjs"),
    "answered": (*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs"),
    "answered-failed": (*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:bpjs", "fail:bpjs", "decline:dukcapil"),
    "closed": (*ASSESSED, "close"),
    "closed-while-referred": (*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:dukcapil", "close"),
    "closed-after-answer": (*ASSESSED, "refer:bpjs", "accept:bpjs", "fail:bpjs", "close:unreachable"),
}

IN_AREA = ("officer", "caseworker", "caseworker2", "supervisor", "supervisor_province")
OUT_OF_AREA = ("officer_b", "officer_lahat", "caseworker_lahat", "supervisor_lahat", "admin")
AGENCIES = ("agency_user", "agency_other_user")
USERS = IN_AREA + AGENCIES + OUT_OF_AREA


def sees(user_key: str, case, kit) -> bool:
    """Who may read officer A's case: its area, and an agency while it has a referral of the case pending,
    accepted, completed or failed; a declined or revoked one (closing revokes open ones) gives no access."""
    if user_key in IN_AREA:
        return True
    agency = {"agency_user": kit.agencies["bpjs"], "agency_other_user": kit.agencies["dukcapil"]}.get(user_key)
    return agency is not None and any(
        r.agency_id == agency.id and r.status in ("pending", "accepted", "completed", "failed") for r in case.referrals)


def guard_blocks(case, event: str) -> bool:
    """DESIGN: `refer` is not offered (and refused) while the latest assessment is not eligible."""
    return event == "refer" and not (case.assessment and case.assessment.eligible)


def expected_events(case, actor, visible: bool) -> set[str]:
    """What the tables offer this user now, given the referrals the case actually has."""
    if not visible:
        return set()
    offered = {e for e in CASE_EVENTS if table_allows(case.state, actor.role, e) and not guard_blocks(case, e)}
    offered |= {e for e in REFERRAL_EVENTS if any(referral_table_allows(r, actor, e) for r in case.referrals)}
    return offered


def test_every_state_event_and_user(kit):
    """Forbidden (user, state, event) combinations are refused (4xx) and change nothing; allowed_events() offers
    exactly what fire() accepts; both agree with the tables. Each state is tried in the variants of
    STATE_SCENARIOS, so that agencies see some of the cases."""
    assert {name.split("-")[0] for name in STATE_SCENARIOS} == {str(s) for s in State}
    for scenario, recipe in STATE_SCENARIOS.items():
        _every_event_and_user(kit, kit.build(recipe), scenario, scenario.split("-")[0])


def _every_event_and_user(kit, case, scenario, state: str) -> None:
    assert case.state == state, scenario
    before = probe(case.id)
    refused = 0
    for user_key in USERS:
        actor = getattr(kit.w, user_key)
        visible = sees(user_key, case, kit)
        offered = services.allowed_events(case, actor)
        expected = expected_events(case, actor, visible)
        accepted = set()
        for event in EVENTS:
            where = (scenario, user_key, event)
            inputs = kit.valid_inputs(event, case, actor)
            # Only what should pass runs in a savepoint: a refusal must leave nothing to roll back.
            savepoint = db.session.begin_nested() if event in expected else None
            try:
                services.fire(case, event, actor, expected_version=case.version, **inputs)
            except (WorkflowRefused, NotFound) as exc:
                assert event not in expected, (where, str(exc.message), exc.errors)
                assert type(exc) is (WorkflowRefused if visible else NotFound), where
                assert 400 <= exc.status < 500 and str(exc.message).strip(), where
                if visible and actor.role not in roles_of(event):
                    assert "Peran Anda" in str(exc.message), where
                elif visible and event in CASE_EVENTS and not table_allows(state, actor.role, event):
                    assert "tidak tersedia untuk kasus berstatus" in str(exc.message), where
                refused += 1
                assert not (db.session.new or db.session.dirty or db.session.deleted), where
            else:
                assert event in expected, where
                accepted.add(event)
            finally:
                if savepoint is not None:
                    savepoint.rollback()
        assert probe(case.id) == before, (scenario, user_key)  # a refusal flushed nothing
        assert len(offered) == len(set(offered)), (scenario, user_key)
        assert set(offered) == accepted == expected, (scenario, user_key)
    assert refused > len(EVENTS) * len(OUT_OF_AREA)
    db.session.rollback()
    assert probe(case.id) == before


# -- guards: each refusal says why, and nothing is written ----------------------------------------------------


def refuse(case, event: str, actor, message: str, field: str | None = None, **inputs) -> WorkflowRefused:
    """The event is refused with `message` (the refusal's own or, with `field`, that field's), nothing changes."""
    before = snapshot(case)
    with pytest.raises(WorkflowRefused) as refusal:
        services.fire(case, event, actor, expected_version=case.version, **inputs)
    exc = refusal.value
    said = [str(exc.message)]
    if field is not None:
        assert field in exc.errors, (exc.errors, str(exc.message))
        said += [str(m) for m in exc.errors[field]]
    assert any(message in text for text in said), said
    assert exc.status == 422
    db.session.rollback()
    assert snapshot(case) == before
    return exc


def test_inputs_are_checked_as_declared(kit):
    """Each event's inputs say what is missing or wrong, on the input, in their own words; intake must be
    complete to submit, and says which fields by their labels."""
    w = kit.w
    case = kit.build(("submit", "start"))
    full = dict(factories.ASSESSMENT)
    refuse(case, "complete_assessment", w.caseworker, "Asesmen belum lengkap: isi temuan", "findings",
           **{**full, "findings": " "})
    refuse(case, "complete_assessment", w.caseworker, "Pilihan tidak dikenal.", "eligible",
           **{**full, "eligible": "perhaps"})
    refuse(case, "complete_assessment", w.caseworker, "Asesmen belum lengkap: isi temuan", "eligible",
           **{**full, "eligible": None})
    refusal = refuse(case, "complete_assessment", w.caseworker, "isi layanan yang direkomendasikan",
                     "recommended_services", **{**full, "recommended_services": ""})
    assert str(refusal.message) == INPUT_ERROR
    refuse(case, "complete_assessment", w.caseworker, "Paling banyak 5000 karakter", "findings",
           **{**full, "findings": "x" * 5001})
    refuse(case, "request_info", w.caseworker, "Tuliskan data apa yang kurang.", "note", note="  ")
    # not eligible needs no recommended services
    services.fire(case, "complete_assessment", w.caseworker, findings="Mampu", eligible="tidak")
    assert case.state == State.ASSESSED and case.assessment.eligible is False
    db.session.rollback()

    refuse(kit.build(()), "resolve_at_intake", w.officer, "Tuliskan apa yang sudah dilakukan di tempat.",
           "action_taken", action_taken=" ")
    refuse(kit.build((*ASSESSED, "close")), "reopen", w.supervisor, "Alasan wajib diisi", "reason")
    referred = kit.build((*ASSESSED, "refer:bpjs"))
    referral_id = referral_of(referred, w.bpjs).id
    refuse(referred, "decline", w.agency_user, "Alasan wajib diisi", "reason", referral_id=referral_id)
    refuse(referred, "revoke_referral", w.caseworker, "Alasan wajib diisi", "reason", referral_id=referral_id,
           reason="")
    refuse(referred, "revoke_referral", w.caseworker, "Pilih rujukan.", "referral_id",
           reason="Salah")  # no referral named
    refuse(referred, "revoke_referral", w.caseworker, "Rujukan tidak ditemukan pada kasus ini.", "referral_id",
           referral_id=referral_id + 100, reason="Salah")  # a referral of no case of this one
    kit.apply(referred, ("accept:bpjs",))
    refuse(referred, "report_failure", w.agency_user, "Tuliskan mengapa layanan tidak dapat diberikan.", "reason",
           referral_id=referral_id, reason=" ")

    incomplete = kit.build(())
    incomplete.address = ""  # an old record, or one a migration left incomplete
    incomplete.description = ""
    db.session.commit()
    message = str(refuse(incomplete, "submit", w.officer, "Data pengaduan belum lengkap").message)
    assert "Alamat" in message and "Uraian pengaduan" in message  # the labels the officer sees on the form
    assert "address" not in message and "description" not in message
    needs_info = kit.build(("submit", "start", "info"))
    needs_info.address = None
    db.session.commit()
    assert "Alamat" in str(refuse(needs_info, "submit", w.officer, "Data pengaduan belum lengkap").message)


def test_refer_needs_consent_service_reason_an_agency_and_an_eligible_assessment(kit):
    w, case = kit.w, kit.build(ASSESSED)
    for consent in (None, "", "maybe"):
        refuse(case, "refer", w.caseworker, "persetujuan" if not consent else "Pilihan tidak dikenal", "consent",
               **{**factories.refer_inputs(w.bpjs), "consent": consent})
    refuse(case, "refer", w.caseworker, "Tuliskan layanan yang diminta.", "service",
           **{**factories.refer_inputs(w.bpjs), "service": ""})
    refuse(case, "refer", w.caseworker, "Tuliskan alasan rujukan.", "reason",
           **{**factories.refer_inputs(w.bpjs), "reason": "  "})
    refuse(case, "refer", w.caseworker, "melayani wilayah", "agency_id", **factories.refer_inputs(w.lahat_agency))
    refuse(case, "refer", w.caseworker, "melayani wilayah", "agency_id",
           **{**factories.refer_inputs(w.bpjs), "agency_id": 999_999})
    w.dukcapil.active = False
    db.session.commit()
    refuse(case, "refer", w.caseworker, "melayani wilayah", "agency_id", **factories.refer_inputs(w.dukcapil))
    factories.fire(case, "refer", w.caseworker, **{**factories.refer_inputs(w.bpjs), "consent": "verbal"})
    assert case.referrals[0].consent == "verbal"
    # no second open referral to the same agency, while pending and while accepted; once answered, again
    refuse(case, "refer", w.caseworker, "rujukan terbuka", "agency_id", **factories.refer_inputs(w.bpjs))
    kit.apply(case, ("accept:bpjs",))
    refuse(case, "refer", w.caseworker, "rujukan terbuka", "agency_id", **factories.refer_inputs(w.bpjs))
    kit.apply(case, ("fail:bpjs", "refer:bpjs"))
    assert [r.status for r in case.referrals] == ["failed", "pending"]

    not_eligible = kit.build(("submit", "start", "noteligible"))
    assert "refer" not in services.allowed_events(not_eligible, w.caseworker)
    assert "close" in services.allowed_events(not_eligible, w.caseworker)
    refuse(not_eligible, "refer", w.caseworker, "menyatakan layak", **factories.refer_inputs(w.bpjs))
    # the inputs are checked before the guards about the case
    refuse(not_eligible, "refer", w.caseworker, "persetujuan", "consent",
           **{**factories.refer_inputs(w.bpjs), "consent": ""})


def test_refusals_come_in_the_designed_order(kit):
    """Role, then state (or the referral, then its status), then inputs, then guards about the case; a stale
    version is a conflict that lists what changed since."""
    w = kit.w
    case = kit.build(("submit", "start"))
    refuse(case, "close", w.supervisor, "Peran Anda tidak dapat melakukan aksi ini.")  # no close row names it
    refuse(case, "close", w.officer, "Aksi ini tidak tersedia untuk kasus berstatus \u201cDalam asesmen\u201d.")
    refuse(case, "close", w.caseworker, "Aksi ini tidak tersedia untuk kasus berstatus \u201cDalam asesmen\u201d.")
    refusal = refuse(case, "request_info", w.caseworker, "Tuliskan data apa yang kurang.", "note")
    assert str(refusal.message) == INPUT_ERROR
    refuse(case, "escalate", w.caseworker, "Aksi tidak dikenal.")
    before = snapshot(case)
    with pytest.raises(services.CaseChanged) as conflict:
        services.fire(case, "request_info", w.caseworker, expected_version=case.version - 1)
    assert conflict.value.status == 409
    assert "Caseworker" in str(conflict.value.message)  # who changed it last
    assert [e.action for e in conflict.value.changes] == ["case.start_assessment"]  # what changed since
    db.session.rollback()
    assert snapshot(case) == before

    referred = kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil"))
    bpjs = referral_of(referred, w.bpjs)
    refuse(referred, "decline", w.caseworker, "Peran Anda tidak dapat melakukan aksi ini.", referral_id=bpjs.id)
    refuse(referred, "revoke_referral", w.agency_user, "Peran Anda tidak dapat melakukan aksi ini.",
           referral_id=bpjs.id)
    # another agency's referral: not found, before its status or any missing input
    refuse(referred, "decline", w.agency_other_user, "Rujukan tidak ditemukan pada kasus ini.", "referral_id",
           referral_id=bpjs.id)
    refuse(referred, "report_failure", w.agency_other_user, "Rujukan tidak ditemukan pada kasus ini.",
           "referral_id", referral_id=bpjs.id)
    # the status, before a missing input
    refusal = refuse(referred, "report_failure", w.agency_user,
                     "Aksi ini tidak tersedia untuk rujukan berstatus \u201cMenunggu jawaban\u201d.", "referral_id",
                     referral_id=bpjs.id)
    assert "reason" not in refusal.errors
    kit.apply(referred, ("accept:bpjs",))
    refusal = refuse(referred, "report_failure", w.agency_user, "Tuliskan mengapa layanan tidak dapat diberikan.",
                     "reason", referral_id=bpjs.id)
    assert str(refusal.message) == INPUT_ERROR


CLOSE_SETUPS = {source: SETUPS[("close", source)] for step in TABLE if step.event == "close"
                for source in map(str, step.sources)}
OUTCOMES = (*(o.value for o in Outcome), "", "bogus")


def resolved_blocked(case) -> str | None:
    """DESIGN: `resolved` needs every referral answered (none still open) and not all of them revoked."""
    statuses = [r.status for r in case.referrals]
    if any(s in OPEN for s in statuses):
        return "masih ada rujukan yang belum selesai"
    if statuses and all(s == "revoked" for s in statuses):
        return "Semua rujukan kasus ini dibatalkan"
    return None


def test_close_outcomes_follow_the_rows(kit):
    """Every close row, source and role: the outcomes of `Step.choices` close the case (`resolved` when its
    guard allows: every referral answered, not all of them revoked), every other outcome is refused on the
    outcome field."""
    tried = set()
    for source, recipes in CLOSE_SETUPS.items():
        for recipe in recipes:
            case = kit.build(recipe)
            assert case.state == source
            for role in Role:
                row = case_row("close", source, role)
                if row is None:
                    continue
                actor = kit.actor(role)
                for outcome in OUTCOMES:
                    where = (source, recipe, role, outcome)
                    if outcome in row.choices["outcome"] and not (outcome == "resolved" and resolved_blocked(case)):
                        before = snapshot(case)
                        services.fire(case, "close", actor, expected_version=case.version, outcome=outcome)
                        assert (case.state, case.outcome) == (State.CLOSED, outcome), where
                        db.session.rollback()
                        assert snapshot(case) == before, where
                        tried.add((source, outcome))
                    elif outcome in row.choices["outcome"]:
                        refuse(case, "close", actor, resolved_blocked(case), "outcome", outcome=outcome)
                    else:
                        refuse(case, "close", actor, "Pilih hasil penutupan kasus." if not outcome
                               else "Pilihan tidak dikenal.", "outcome", outcome=outcome)
    # what the design names: a complainant who never brings what was asked for; an answered case resolved
    assert {("needs_info", "withdrawn"), ("needs_info", "unreachable"), ("needs_info", "duplicate"),
            ("answered", "resolved"), ("registered", "withdrawn")} <= tried
    assert ("needs_info", "not_eligible") not in tried and ("registered", "resolved") not in tried

    # `resolved` waits for every referral, then closes
    w, case = kit.w, kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:bpjs"))
    refuse(case, "close", w.caseworker, "masih ada rujukan", "outcome", outcome="resolved")
    kit.apply(case, ("report:bpjs",))
    assert case.state == State.REFERRED  # dukcapil still pending
    refuse(case, "close", w.caseworker, "masih ada rujukan", "outcome", outcome="resolved")
    kit.apply(case, ("decline:dukcapil",))
    assert case.state == State.ANSWERED
    factories.fire(case, "close", w.caseworker, outcome="resolved")
    assert (case.state, case.outcome) == (State.CLOSED, "resolved")
    # every referral revoked: nothing was served, nothing can be called resolved
    revoked = kit.build((*ASSESSED, "refer:bpjs", "revoke:bpjs", "refer:dukcapil", "accept:dukcapil",
                         "revoke:dukcapil"))
    assert revoked.state == State.ASSESSED
    refuse(revoked, "close", w.caseworker, "Semua rujukan kasus ini dibatalkan", "outcome", outcome="resolved")


def test_an_agency_answers_only_its_own_accepted_or_pending_referral(kit):
    w = kit.w
    case = kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil"))
    bpjs_referral, dukcapil_referral = referral_of(case, w.bpjs), referral_of(case, w.dukcapil)
    # Disdukcapil sees the case (it has its own referral) but cannot answer BPJS's.
    for event, inputs in (("accept", {}), ("decline", {"reason": "Bukan urusan kami"})):
        refuse(case, event, w.agency_other_user, "tidak ditemukan", "referral_id", referral_id=bpjs_referral.id,
               **inputs)
    refuse(case, "accept", w.agency_user, "tidak ditemukan", "referral_id", referral_id=999_999)
    refuse(case, "report_service", w.agency_user, "berstatus \u201cMenunggu jawaban\u201d", "referral_id",
           referral_id=bpjs_referral.id, service_given="PBI aktif", delivered_on=timeutil.today())
    factories.fire(case, "accept", w.agency_user, referral_id=bpjs_referral.id)
    for event, inputs in (("report_service", {"service_given": "x", "delivered_on": timeutil.today()}),
                          ("report_failure", {"reason": "Bukan urusan kami"})):
        refuse(case, event, w.agency_other_user, "tidak ditemukan", "referral_id", referral_id=bpjs_referral.id,
               **inputs)
    refuse(case, "accept", w.agency_user, "berstatus \u201cDiterima, dalam layanan\u201d", "referral_id",
           referral_id=bpjs_referral.id)
    refuse(case, "decline", w.agency_user, "berstatus \u201cDiterima, dalam layanan\u201d", "referral_id",
           referral_id=bpjs_referral.id, reason="Berubah pikiran")
    # the service report: a date in the past, the service given
    served = bpjs_referral
    for delivered_on, message in ((timeutil.today() + dt.timedelta(days=1),
                                   "Tanggal layanan tidak boleh di masa depan."),
                                  ("kemarin", "Tanggal tidak valid."), (None, "Isi tanggal layanan.")):
        refuse(case, "report_service", w.agency_user, message, "delivered_on", referral_id=served.id,
               service_given="PBI aktif", delivered_on=delivered_on)
    refuse(case, "report_service", w.agency_user, "Tuliskan layanan yang sudah diberikan.", "service_given",
           referral_id=served.id, delivered_on=timeutil.today())
    # a referral of another case is not this case's, whoever owns it
    other = kit.build((*ASSESSED, "refer:bpjs"))
    refuse(case, "report_failure", w.agency_user, "tidak ditemukan", "referral_id",
           referral_id=referral_of(other, w.bpjs).id, reason="Tidak dapat dihubungi")
    refuse(case, "revoke_referral", w.caseworker, "tidak ditemukan", "referral_id",
           referral_id=referral_of(other, w.bpjs).id, reason="Salah kasus")
    # an agency whose only referral was declined no longer even sees the case
    kit.apply(case, ("decline:dukcapil",))
    before = snapshot(case)
    with pytest.raises(NotFound):
        services.fire(case, "accept", w.agency_other_user, referral_id=dukcapil_referral.id)
    db.session.rollback()
    assert snapshot(case) == before
    # a final referral cannot be revoked
    kit.apply(case, ("fail:bpjs",))
    refuse(case, "revoke_referral", w.caseworker, "berstatus \u201cDitolak\u201d", "referral_id",
           referral_id=dukcapil_referral.id, reason="Salah instansi")
    refuse(case, "revoke_referral", w.caseworker, "berstatus \u201cTidak dapat dilayani\u201d", "referral_id",
           referral_id=bpjs_referral.id, reason="Salah instansi")
    kit.apply(case, ("refer:bpjs", "accept:bpjs", "report:bpjs"))
    refuse(case, "revoke_referral", w.caseworker, "berstatus \u201cSelesai dilayani\u201d", "referral_id",
           referral_id=referral_of(case, w.bpjs).id, reason="Salah instansi")


# -- a full journey commits a consistent case and chain -------------------------------------------------------


def test_the_case_follows_its_referrals_as_committed_one_version_per_event(kit):
    """Checked after commit, not only in the session; each event is one new version, whatever it does inside."""
    w = kit.w
    third = kit.agencies["third"]
    case = kit.build(())
    versions, states = [case.version], []
    for step in (*ASSESSED, "refer:bpjs", "refer:dukcapil", "refer:third", "decline:bpjs", "accept:dukcapil",
                 "revoke:third", "fail:dukcapil", "refer:bpjs", "accept:bpjs", "report:bpjs", "close:resolved",
                 "reopen", "assess", "refer:third", "close:withdrawn"):
        kit.apply(case, (step,))
        versions.append(case.version)
        db.session.expire_all()
        states.append(db.session.get(Case, case.id).state)
    assert states == ["submitted", "in_assessment", "assessed", "referred", "referred", "referred", "referred",
                      "in_service", "in_service", "answered", "referred", "in_service", "answered", "closed",
                      "in_assessment", "assessed", "referred", "closed"]
    assert versions == list(range(1, len(versions) + 1))
    assert [(r.agency_id, r.status) for r in case.referrals] == [
        (w.bpjs.id, "declined"), (w.dukcapil.id, "failed"), (third.id, "revoked"), (w.bpjs.id, "completed"),
        (third.id, "revoked")]
    assert verify().ok


def test_refusals_outside_a_request_are_service_errors(app, world):
    """Services also run from the command line and background jobs (`flask sla sweep`, `users create`):
    a refusal there must be the service's error, not a crash of its translated message."""
    import threading

    from puskesos.accounts.models import User

    case = factories.register(world.officer)
    case_id, user_id = case.id, world.caseworker.id
    db.session.rollback()  # release SQLite's write lock for the job's own session
    outcome = []

    def job():
        with app.app_context():  # no request: what the CLI and a worker have
            try:
                services.fire(db.session.get(Case, case_id), "submit", db.session.get(User, user_id))
            except Exception as exc:  # the type is the assertion
                outcome.append(exc)
            finally:
                db.session.rollback()

    thread = threading.Thread(target=job)
    thread.start()
    thread.join(30)
    assert outcome and isinstance(outcome[0], WorkflowRefused), repr(outcome)


# -- due dates ------------------------------------------------------------------------------------------------


def at(day: dt.date) -> dt.datetime:
    """Ten in the morning in Western Indonesia, as the naive UTC moment `clock_at` takes."""
    return dt.datetime.combine(day, dt.time(3, 0))


def submit_on(kit, day: dt.date):
    with timeutil.clock_at(at(day)):
        case = kit.build(())
        assert case.due_on == add_working_days(day, DEADLINES[State.REGISTERED]).day
        factories.fire(case, "submit", kit.w.officer)
    return case


def test_due_dates_count_working_days_in_the_calendar(kit):
    case = submit_on(kit, dt.date(2026, 11, 26))  # Thursday
    assert (case.due_on, case.due_estimated) == (dt.date(2026, 12, 1), False)  # Fri, Mon, Tue
    # Tuesday 17 March 2026: Nyepi (18 leave, 19), Idulfitri (20 leave, 21-22, 23-24 leave), a weekend.
    case = submit_on(kit, dt.date(2026, 3, 17))
    assert (case.due_on, case.due_estimated) == (dt.date(2026, 3, 27), False)

    # A year missing from the calendar counts weekends only, and says so.
    case = submit_on(kit, dt.date(2030, 12, 23))  # Monday; Christmas is not in the table
    assert (case.due_on, case.due_estimated) == (dt.date(2030, 12, 26), True)
    crossing = submit_on(kit, dt.date(2027, 12, 30))  # Thursday; 2028 is not in the table
    assert crossing.due_estimated is True
    assert crossing.due_on == dt.date(2028, 1, 4)  # Fri 31, Mon 3, Tue 4: weekends only once in 2028
    # Leaving for a state without a deadline clears the flag.
    with timeutil.clock_at(at(dt.date(2030, 12, 23))):
        factories.fire(case, "close", kit.w.caseworker, outcome="withdrawn")
    assert (case.due_on, case.due_estimated) == (None, False)

    # An imported year is used.
    import io

    import_csv(2028, io.StringIO("2028-01-03,Cuti bersama tahun baru,cuti_bersama\n"))
    db.session.commit()
    case = submit_on(kit, dt.date(2027, 12, 30))
    assert (case.due_on, case.due_estimated) == (dt.date(2028, 1, 5), False)
