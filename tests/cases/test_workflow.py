"""The workflow table, row by row, state by state and role by role, through `services.fire`.

Every expectation here is derived from `TABLE` (and from DESIGN.md for the guards), never from
the services' own answers, so a change to the table or to the services that disagrees shows up.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from puskesos.accounts.roles import Role
from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.cases import services
from puskesos.cases.models import Case
from puskesos.cases.workflow import EVENTS, REFERRAL_EVENTS, TABLE, State, roles_of
from puskesos.core import timeutil
from puskesos.core.errors import Conflict, NotFound, WorkflowRefused
from puskesos.extensions import db
from puskesos.referrals.models import ReferralStatus
from puskesos.referrals.services import create_agency
from puskesos.workdays.services import add_working_days, import_csv
from tests import factories

SLA = {"submitted": 3, "in_assessment": 7, "referred": 5, "in_service": 14, "needs_info": 10}  # DESIGN.md defaults
ASSESSED = ("submit", "start", "assess")


# -- helpers ------------------------------------------------------------------------------------------------


def last_seq() -> int:
    return db.session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()


def events_after(seq: int) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))
                .scalars())


def referral_of(case, agency):
    return [r for r in case.referrals if r.agency_id == agency.id][-1]


@dataclass
class Kit:
    """The world plus a third agency, and the ways to drive a case somewhere and act on it."""

    w: factories.World
    agencies: dict
    agency_users: dict

    def build(self, recipe) -> object:
        w, case = self.w, factories.register(self.w.officer)
        for item in recipe:
            name, _, arg = item.partition(":")
            if name == "submit":
                factories.fire(case, "submit", w.officer)
            elif name == "start":
                factories.fire(case, "start_assessment", w.caseworker)
            elif name == "info":
                factories.fire(case, "request_info", w.caseworker, note="Lampirkan foto KK.")
            elif name == "assess":
                factories.fire(case, "complete_assessment", w.caseworker, **factories.ASSESSMENT)
            elif name == "refer":
                factories.fire(case, "refer", w.caseworker, **factories.refer_inputs(self.agencies[arg]))
            elif name == "accept":
                factories.fire(case, "accept", self.agency_users[arg],
                               referral_id=referral_of(case, self.agencies[arg]).id)
            elif name == "decline":
                factories.fire(case, "decline", self.agency_users[arg],
                               referral_id=referral_of(case, self.agencies[arg]).id, reason="Bukan kewenangan kami")
            elif name == "report":
                factories.fire(case, "report_service", self.agency_users[arg],
                               referral_id=referral_of(case, self.agencies[arg]).id, service_given="PBI aktif",
                               delivered_on=timeutil.today().isoformat())
            elif name == "close":
                factories.fire(case, "close", w.caseworker, outcome=arg or "not_eligible", note="Ditutup")
            elif name == "reopen":
                factories.fire(case, "reopen", w.caseworker, reason="Ada data baru")
            else:  # pragma: no cover - a typo in a recipe
                raise AssertionError(item)
        return case

    def actor(self, role: str, target: str | None = None):
        return {
            Role.OFFICER: self.w.officer,
            Role.CASEWORKER: self.w.caseworker2,
            Role.AGENCY: self.agency_users[target or "bpjs"],
            Role.SUPERVISOR: self.w.supervisor,
            Role.ADMIN: self.w.admin,
        }[Role(role)]

    def target_referral(self, event: str, case, actor, target: str | None):
        """The referral an event acts on: the named agency's, else the actor's own, else any fitting one."""
        if target is not None:
            return referral_of(case, self.agencies[target])
        wanted = {"accept": ("pending",), "decline": ("pending",), "report_service": ("accepted",),
                  "revoke_referral": ("pending", "accepted")}[event]
        own = [r for r in case.referrals if r.agency_id == actor.agency_id and r.status in wanted]
        fitting = [r for r in case.referrals if r.status in wanted]
        candidates = own or fitting or list(case.referrals)
        return candidates[0] if candidates else None

    def valid_inputs(self, event: str, case, actor, target: str | None = None) -> dict:
        """Inputs that satisfy every guard of `event`'s row for this role in this state."""
        if event == "resolve_at_intake":
            return {"action_taken": "Dijelaskan cara mengaktifkan kembali KIS."}
        if event == "request_info":
            return {"note": "Lampirkan foto KK."}
        if event == "complete_assessment":
            return dict(factories.ASSESSMENT)
        if event == "refer":
            busy = {r.agency_id for r in case.referrals if r.is_open}
            agency = next(a for a in self.agencies.values() if a.id not in busy)
            return factories.refer_inputs(agency)
        if event in REFERRAL_EVENTS:
            referral = self.target_referral(event, case, actor, target)
            inputs = {"referral_id": referral.id if referral else 0, "reason": "Alasan tertulis"}
            if event == "report_service":
                inputs.update(service_given="PBI aktif kembali", delivered_on=timeutil.today().isoformat())
            return inputs
        if event == "close":
            if actor.role == Role.OFFICER:
                outcome = "withdrawn"
            elif case.state in (State.REGISTERED, State.SUBMITTED):
                outcome = "duplicate"
            else:
                outcome = "not_eligible"
            return {"outcome": outcome, "note": "Catatan penutupan"}
        if event == "reopen":
            return {"reason": "Pengadu datang lagi dengan data baru"}
        return {}


@pytest.fixture
def kit(world) -> Kit:
    third = create_agency(None, name="Dinas Sosial Muara Enim", kind="social", region_code="16.03")
    db.session.commit()
    return Kit(world, {"bpjs": world.bpjs, "dukcapil": world.dukcapil, "third": third},
               {"bpjs": world.agency_user, "dukcapil": world.agency_other_user})


# -- every row, every source, every allowed role --------------------------------------------------------------

# How to bring a case to each (event, source, destination) of the table, and whose referral the event acts on.
# Rows that share an event and source but route to different destinations need different referral situations.
SETUPS: dict[tuple[str, str, str], tuple[tuple[str, ...], str | None]] = {
    ("resolve_at_intake", "registered", "closed"): ((), None),
    ("submit", "registered", "submitted"): ((), None),
    ("submit", "needs_info", "submitted"): (("submit", "start", "info"), None),
    ("start_assessment", "submitted", "in_assessment"): (("submit",), None),
    ("request_info", "in_assessment", "needs_info"): (("submit", "start"), None),
    ("complete_assessment", "in_assessment", "assessed"): (("submit", "start"), None),
    ("refer", "assessed", "referred"): (ASSESSED, None),
    ("refer", "referred", "referred"): ((*ASSESSED, "refer:bpjs"), None),
    # revoke: no other open referral / another accepted / only others pending
    ("revoke_referral", "referred", "assessed"): ((*ASSESSED, "refer:bpjs"), "bpjs"),
    ("revoke_referral", "referred", "referred"): ((*ASSESSED, "refer:bpjs", "refer:dukcapil"), "bpjs"),
    ("revoke_referral", "in_service", "assessed"): ((*ASSESSED, "refer:bpjs", "accept:bpjs"), "bpjs"),
    ("revoke_referral", "in_service", "in_service"): (
        (*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:bpjs", "accept:dukcapil"), "bpjs"),
    ("revoke_referral", "in_service", "referred"): (
        (*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:bpjs"), "bpjs"),
    ("accept", "referred", "in_service"): ((*ASSESSED, "refer:bpjs"), "bpjs"),
    ("accept", "in_service", "in_service"): ((*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:dukcapil"), "bpjs"),
    # decline: the same three routes, from both states an agency answers in
    ("decline", "referred", "assessed"): ((*ASSESSED, "refer:bpjs"), "bpjs"),
    ("decline", "referred", "referred"): ((*ASSESSED, "refer:bpjs", "refer:dukcapil"), "bpjs"),
    ("decline", "in_service", "assessed"): (
        (*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:dukcapil", "report:dukcapil"), "bpjs"),
    ("decline", "in_service", "in_service"): ((*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:dukcapil"), "bpjs"),
    ("decline", "in_service", "referred"): (
        (*ASSESSED, "refer:bpjs", "refer:dukcapil", "refer:third", "accept:dukcapil", "report:dukcapil"), "bpjs"),
    ("report_service", "in_service", "in_service"): ((*ASSESSED, "refer:bpjs", "accept:bpjs"), "bpjs"),
    ("close", "registered", "closed"): ((), None),
    ("close", "submitted", "closed"): (("submit",), None),
    ("close", "assessed", "closed"): (ASSESSED, None),
    ("close", "referred", "closed"): ((*ASSESSED, "refer:bpjs"), None),
    ("close", "in_service", "closed"): ((*ASSESSED, "refer:bpjs", "accept:bpjs"), None),
    ("reopen", "closed", "in_assessment"): ((*ASSESSED, "close"), None),
}

ROWS = [pytest.param(index, id=f"{step.event}->{step.dest}:{'+'.join(sorted(step.roles))}")
        for index, step in enumerate(TABLE)]


def test_every_row_and_source_of_the_table_has_a_setup():
    wanted = {(step.event, str(source), str(step.dest)) for step in TABLE for source in step.sources}
    assert wanted == set(SETUPS)


def _check_effect(event: str, case, actor, inputs: dict, referral, details: dict) -> None:
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
        assert (new.agency_id, new.status, new.consent) == (inputs["agency_id"], ReferralStatus.PENDING, "written")
        assert new.due_on == add_working_days(timeutil.today(), 5).day
        assert details["referral_id"] == new.id
    elif event in REFERRAL_EVENTS:
        status = {"accept": "accepted", "decline": "declined", "revoke_referral": "revoked",
                  "report_service": "completed"}[event]
        assert referral.status == status
        assert details["referral_id"] == referral.id
        if event == "decline":
            assert referral.decline_reason == inputs["reason"]
        if event == "revoke_referral":
            assert referral.revoke_reason == inputs["reason"]
        if event == "report_service":
            assert referral.delivered_on == timeutil.today()
    elif event in ("close", "resolve_at_intake"):
        assert case.outcome == (inputs["outcome"] if event == "close" else "resolved_at_intake")
        assert case.closed_at is not None
        assert case.due_on is None
    elif event == "reopen":
        assert (case.outcome, case.closed_at) == (None, None)
        if actor.role == Role.CASEWORKER:
            assert case.assignee_id == actor.id


@pytest.mark.parametrize("row", ROWS)
def test_allowed_roles_move_the_case_along_the_row(kit, row):
    """Each row, from each of its sources, for each of its roles."""
    step = TABLE[row]
    for source in map(str, step.sources):
        recipe, target = SETUPS[(step.event, source, str(step.dest))]
        case = kit.build(recipe)
        assert case.state == source
        for role in sorted(step.roles):
            _fire_allowed(kit, case, step, source, role, target)


def _fire_allowed(kit, case, step, source: str, role: str, target: str | None) -> None:
    where = (step.event, source, role)
    actor = kit.actor(role, target)
    version, seq, due_before = case.version, last_seq(), case.due_on
    inputs = kit.valid_inputs(step.event, case, actor, target)
    referral = kit.target_referral(step.event, case, actor, target) if step.event in REFERRAL_EVENTS else None

    services.fire(case, step.event, actor, expected_version=version, **inputs)

    assert case.state == step.dest, where
    assert case.version == version + 1, where
    events = events_after(seq)
    prefix = "referral" if step.event in REFERRAL_EVENTS else "case"
    assert [e.action for e in events] == [f"{prefix}.{step.event}"], where
    event = events[0]
    assert (event.case_id, event.actor_id, event.actor_role) == (case.id, actor.id, role), where
    details = json.loads(event.details)
    assert (details["from"], details["to"]) == (source, step.dest), where
    _check_effect(step.event, case, actor, inputs, referral, details)
    if step.dest == source:
        assert case.due_on == due_before, where
    elif str(step.dest) in SLA:
        assert case.due_on == add_working_days(timeutil.today(), SLA[str(step.dest)]).day, where
    else:
        assert case.due_on is None, where

    db.session.rollback()
    assert (case.state, case.version, last_seq()) == (source, version, seq), where


# -- every state, every event, every user: what is forbidden is refused and changes nothing ---------------------

STATE_SCENARIOS = {
    "registered": (),
    "submitted": ("submit",),
    "submitted-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs", "close", "reopen", "info", "submit"),
    "in_assessment": ("submit", "start"),
    "in_assessment-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs", "close", "reopen"),
    "needs_info": ("submit", "start", "info"),
    "needs_info-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs", "close", "reopen", "info"),
    "assessed": ASSESSED,
    "assessed-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs"),
    "referred": (*ASSESSED, "refer:bpjs"),
    "referred-two-agencies": (*ASSESSED, "refer:bpjs", "refer:dukcapil"),
    "in_service": (*ASSESSED, "refer:bpjs", "accept:bpjs"),
    "in_service-other-pending": (*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:bpjs"),
    "in_service-served": (*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs"),
    "closed": (*ASSESSED, "close"),
    "closed-after-referral": (*ASSESSED, "refer:bpjs", "decline:bpjs", "close"),
}

IN_AREA = ("officer", "caseworker", "caseworker2", "supervisor", "supervisor_province")
OUT_OF_AREA = ("officer_b", "officer_lahat", "caseworker_lahat", "supervisor_lahat", "admin")
AGENCIES = ("agency_user", "agency_other_user")
USERS = IN_AREA + AGENCIES + OUT_OF_AREA


def sees(user_key: str, case, kit) -> bool:
    """Who may read officer A's case: its area, and an agency while its referral is live (pending, accepted)
    or served; a declined or revoked referral (closing revokes open ones) ends the agency's access."""
    if user_key in IN_AREA:
        return True
    agency = {"agency_user": kit.agencies["bpjs"], "agency_other_user": kit.agencies["dukcapil"]}.get(user_key)
    return agency is not None and any(
        r.agency_id == agency.id and r.status in ("pending", "accepted", "completed") for r in case.referrals)


def table_allows(state: str, role: str, event: str) -> bool:
    return any(step.event == event and state in step.sources and role in step.roles for step in TABLE)


def expected_events(case, actor, visible: bool) -> set[str]:
    """What the table offers this user now, given the referrals the case actually has."""
    if not visible:
        return set()
    offered = {e for e in EVENTS if table_allows(case.state, actor.role, e)}
    own = {r.status for r in case.referrals if r.agency_id == actor.agency_id}
    if "pending" not in own:
        offered -= {"accept", "decline"}
    if "accepted" not in own:
        offered.discard("report_service")
    if not any(r.is_open for r in case.referrals):
        offered.discard("revoke_referral")
    return offered


def probe(case_id: int) -> tuple:
    """State and version as the database has them now (flushed or not), and the audit head."""
    row = db.session.execute(select(Case.state, Case.version).where(Case.id == case_id)).one()
    return (*row, last_seq())


@pytest.mark.parametrize("state", [str(s) for s in State])
def test_every_state_event_and_user(kit, state):
    """Forbidden (user, state, event) combinations are refused and change nothing; allowed_events() offers
    exactly what fire() accepts; both agree with the table. Each state is tried in the variants of
    STATE_SCENARIOS, so that agencies see some of the cases."""
    for scenario, recipe in STATE_SCENARIOS.items():
        if scenario.split("-")[0] == state:
            _every_event_and_user(kit, kit.build(recipe), recipe, state)


def _every_event_and_user(kit, case, recipe, state: str) -> None:
    assert case.state == state
    before = probe(case.id)
    refused = 0
    for user_key in USERS:
        actor = getattr(kit.w, user_key)
        visible = sees(user_key, case, kit)
        offered = services.allowed_events(case, actor)
        accepted = set()
        for event in EVENTS:
            where = (recipe, user_key, event)
            forbidden = not (visible and table_allows(state, actor.role, event))
            inputs = kit.valid_inputs(event, case, actor)
            savepoint = db.session.begin_nested()
            try:
                services.fire(case, event, actor, expected_version=case.version, **inputs)
            except (WorkflowRefused, NotFound) as exc:
                if forbidden:
                    assert type(exc) is (WorkflowRefused if visible else NotFound), where
                    assert str(exc.message).strip(), where
                    if visible and actor.role not in roles_of(event):
                        assert "Peran Anda" in str(exc.message), where
                    refused += 1
                assert not (db.session.new or db.session.dirty or db.session.deleted), where
                assert probe(case.id) == before, where
            else:
                assert not forbidden, where
                accepted.add(event)
            finally:
                savepoint.rollback()
            assert (case.state, case.version) == before[:2], where
        assert len(offered) == len(set(offered)), (recipe, user_key)
        assert set(offered) == accepted, (recipe, user_key)
        assert accepted == expected_events(case, actor, visible), (recipe, user_key)
    assert refused > len(EVENTS) * len(OUT_OF_AREA)
    db.session.rollback()
    assert probe(case.id) == before


# -- guards: each refusal says why, and nothing is written ----------------------------------------------------


def refuse(case, event: str, actor, message: str, field: str | None = None, **inputs) -> WorkflowRefused:
    state, version, seq = case.state, case.version, last_seq()
    referral_statuses = [r.status for r in case.referrals]
    with pytest.raises(WorkflowRefused) as refusal:
        services.fire(case, event, actor, expected_version=version, **inputs)
    assert message in str(refusal.value.message)
    if field is not None:
        assert field in refusal.value.errors
    db.session.rollback()
    assert (case.state, case.version, last_seq()) == (state, version, seq)
    assert [r.status for r in case.referrals] == referral_statuses
    return refusal.value


def test_assessment_needs_findings_eligibility_and_services(kit):
    w, case = kit.w, kit.build(("submit", "start"))
    full = dict(factories.ASSESSMENT)
    refuse(case, "complete_assessment", w.caseworker, "Asesmen belum lengkap", "findings", **{**full, "findings": " "})
    refuse(case, "complete_assessment", w.caseworker, "Asesmen belum lengkap", "findings",
           **{**full, "eligible": "perhaps"})
    refuse(case, "complete_assessment", w.caseworker, "Asesmen belum lengkap", "recommended_services",
           **{**full, "recommended_services": ""})
    # not eligible needs no recommended services
    services.fire(case, "complete_assessment", w.caseworker, findings="Mampu", eligible="tidak")
    assert case.state == State.ASSESSED and case.assessment.eligible is False


def test_refer_needs_consent(kit):
    w, case = kit.w, kit.build(ASSESSED)
    for consent in (None, "", "maybe"):
        refuse(case, "refer", w.caseworker, "persetujuan", "consent",
               **{**factories.refer_inputs(w.bpjs), "consent": consent})
    factories.fire(case, "refer", w.caseworker, **{**factories.refer_inputs(w.bpjs), "consent": "verbal"})
    assert case.referrals[0].consent == "verbal"


def test_refer_needs_an_active_agency_serving_the_area(kit):
    w, case = kit.w, kit.build(ASSESSED)
    refuse(case, "refer", w.caseworker, "melayani wilayah", "agency_id", **factories.refer_inputs(w.lahat_agency))
    refuse(case, "refer", w.caseworker, "melayani wilayah", "agency_id",
           **{**factories.refer_inputs(w.bpjs), "agency_id": 999_999})
    w.dukcapil.active = False
    db.session.commit()
    refuse(case, "refer", w.caseworker, "melayani wilayah", "agency_id", **factories.refer_inputs(w.dukcapil))


def test_refer_needs_service_and_reason_and_no_open_referral_to_the_same_agency(kit):
    w, case = kit.w, kit.build((*ASSESSED, "refer:bpjs"))
    refuse(case, "refer", w.caseworker, "rujukan terbuka", "agency_id", **factories.refer_inputs(w.bpjs))
    refuse(case, "refer", w.caseworker, "layanan yang diminta", "service",
           **{**factories.refer_inputs(w.dukcapil), "service": ""})
    refuse(case, "refer", w.caseworker, "alasan rujukan", "reason", **{**factories.refer_inputs(w.dukcapil),
                                                                        "reason": "  "})


def test_refer_needs_an_eligible_assessment(kit):
    w, case = kit.w, kit.build(("submit", "start"))
    factories.fire(case, "complete_assessment", w.caseworker, findings="Keluarga mampu", eligible=False,
                   recommended_services="")
    refuse(case, "refer", w.caseworker, "menyatakan layak", **factories.refer_inputs(w.bpjs))


def test_closing_resolved_needs_every_referral_settled(kit):
    w, case = kit.w, kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:bpjs"))
    refuse(case, "close", w.caseworker, "masih ada rujukan", "outcome", outcome="resolved")
    factories.fire(case, "report_service", w.agency_user, referral_id=referral_of(case, w.bpjs).id,
                   service_given="PBI aktif", delivered_on=timeutil.today())
    refuse(case, "close", w.caseworker, "masih ada rujukan", "outcome", outcome="resolved")  # dukcapil pending
    factories.fire(case, "decline", w.agency_other_user, referral_id=referral_of(case, w.dukcapil).id,
                   reason="Di luar kewenangan")
    factories.fire(case, "close", w.caseworker, outcome="resolved")
    assert (case.state, case.outcome) == (State.CLOSED, "resolved")


def test_close_outcomes_depend_on_role_and_state(kit):
    w = kit.w
    case = kit.build(())
    for outcome in ("resolved", "duplicate", "not_eligible", "unreachable", "resolved_at_intake", ""):
        refuse(case, "close", w.officer, "hanya dapat menutup kasus yang ditarik", "outcome", outcome=outcome)
    submitted = kit.build(("submit",))
    for outcome in ("resolved", "not_eligible", "unreachable", "resolved_at_intake"):
        refuse(submitted, "close", w.caseworker, "duplikat atau ditarik", "outcome", outcome=outcome)
    assessed = kit.build(ASSESSED)
    for outcome in ("resolved_at_intake", "", "bogus"):
        refuse(assessed, "close", w.caseworker, "hasil penutupan", "outcome", outcome=outcome)


def test_text_inputs_are_required(kit):
    w = kit.w
    refuse(kit.build(()), "resolve_at_intake", w.officer, "sudah dilakukan", "action_taken", action_taken=" ")
    refuse(kit.build(("submit", "start")), "request_info", w.caseworker, "data apa yang kurang", "note")
    refuse(kit.build(("submit", "start")), "request_info", w.caseworker, "data apa yang kurang", "note", note="  ")
    referred = kit.build((*ASSESSED, "refer:bpjs"))
    referral_id = referral_of(referred, w.bpjs).id
    refuse(referred, "decline", w.agency_user, "Alasan wajib diisi", "reason", referral_id=referral_id)
    refuse(referred, "revoke_referral", w.caseworker, "Alasan wajib diisi", "reason", referral_id=referral_id,
           reason="")
    refuse(kit.build((*ASSESSED, "close")), "reopen", w.supervisor, "Alasan wajib diisi", "reason")


def test_intake_must_be_complete_to_submit(kit):
    w, case = kit.w, kit.build(())
    case.address = ""  # an old record, or one a migration left incomplete
    db.session.commit()
    refuse(case, "submit", w.officer, "address")


def test_service_report_needs_an_accepted_referral_and_a_past_date(kit):
    w = kit.w
    case = kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil", "accept:dukcapil"))
    pending = referral_of(case, w.bpjs)
    refuse(case, "report_service", w.agency_user, "sudah diterima", "referral_id", referral_id=pending.id,
           service_given="PBI aktif", delivered_on=timeutil.today())
    served = referral_of(case, w.dukcapil)
    refuse(case, "report_service", w.agency_other_user, "masa depan", "delivered_on", referral_id=served.id,
           service_given="KTP terbit", delivered_on=timeutil.today() + dt.timedelta(days=1))
    refuse(case, "report_service", w.agency_other_user, "Tanggal layanan tidak valid", "delivered_on",
           referral_id=served.id, service_given="KTP terbit", delivered_on="kemarin")
    refuse(case, "report_service", w.agency_other_user, "sudah diberikan", "service_given", referral_id=served.id,
           delivered_on=timeutil.today())


def test_an_agency_answers_only_its_own_pending_referral(kit):
    w = kit.w
    case = kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil"))
    bpjs_referral = referral_of(case, w.bpjs)
    # Disdukcapil sees the case (it has its own referral) but cannot answer BPJS's.
    refuse(case, "accept", w.agency_other_user, "tidak ditemukan", "referral_id", referral_id=bpjs_referral.id)
    refuse(case, "decline", w.agency_other_user, "tidak ditemukan", "referral_id", referral_id=bpjs_referral.id,
           reason="Bukan urusan kami")
    refuse(case, "accept", w.agency_user, "tidak ditemukan", "referral_id", referral_id=999_999)
    factories.fire(case, "accept", w.agency_user, referral_id=bpjs_referral.id)
    refuse(case, "accept", w.agency_user, "sudah dijawab", "referral_id", referral_id=bpjs_referral.id)
    refuse(case, "decline", w.agency_user, "sudah dijawab", "referral_id", referral_id=bpjs_referral.id,
           reason="Berubah pikiran")


def test_an_agency_not_referred_cannot_even_see_the_case(kit):
    w = kit.w
    case = kit.build((*ASSESSED, "refer:bpjs"))
    state, version, seq = case.state, case.version, last_seq()
    with pytest.raises(NotFound):
        services.fire(case, "accept", w.agency_other_user, referral_id=referral_of(case, w.bpjs).id)
    db.session.rollback()
    assert (case.state, case.version, last_seq()) == (state, version, seq)


def test_a_closed_referral_cannot_be_revoked(kit):
    w = kit.w
    case = kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil", "decline:bpjs"))
    refuse(case, "revoke_referral", w.caseworker, "tidak terbuka", "referral_id",
           referral_id=referral_of(case, w.bpjs).id, reason="Salah instansi")


def test_unknown_event_and_stale_version_are_refused(kit):
    w, case = kit.w, kit.build(("submit",))
    refuse(case, "escalate", w.caseworker, "tidak dikenal")
    with pytest.raises(Conflict) as conflict:
        services.fire(case, "start_assessment", w.caseworker, expected_version=case.version - 1)
    assert "Officer A" in str(conflict.value.message)  # the officer submitted it last
    db.session.rollback()
    assert case.state == State.SUBMITTED


# -- a full journey commits a consistent case and chain -------------------------------------------------------


def test_routing_after_answers_is_persisted(kit):
    """decline / revoke route by the other open referrals; checked after commit, not only in the session."""
    w = kit.w
    case = kit.build((*ASSESSED, "refer:bpjs", "refer:dukcapil", "refer:third"))
    factories.fire(case, "decline", w.agency_user, referral_id=referral_of(case, w.bpjs).id, reason="Bukan PBI")
    assert case.state == State.REFERRED  # others only pending
    factories.fire(case, "accept", w.agency_other_user, referral_id=referral_of(case, w.dukcapil).id)
    assert case.state == State.IN_SERVICE
    factories.fire(case, "revoke_referral", w.caseworker, referral_id=referral_of(case, kit.agencies["third"]).id,
                   reason="Tidak diperlukan lagi")
    assert case.state == State.IN_SERVICE  # another accepted
    factories.fire(case, "revoke_referral", w.caseworker, referral_id=referral_of(case, w.dukcapil).id,
                   reason="Salah instansi")
    assert case.state == State.ASSESSED  # none open
    db.session.expire_all()
    assert [r.status for r in case.referrals] == ["declined", "revoked", "revoked"]
    assert verify().ok


def test_one_transition_bumps_the_version_once(kit):
    """The version counts changes: one event is one new version, whatever the event does inside."""
    w = kit.w
    case = kit.build(())
    versions = [case.version]

    def step(event, actor, **inputs):
        factories.fire(case, event, actor, **inputs)
        versions.append(case.version)

    step("submit", w.officer)
    step("start_assessment", w.caseworker)
    step("complete_assessment", w.caseworker, **factories.ASSESSMENT)
    step("refer", w.caseworker, **factories.refer_inputs(w.bpjs))
    step("accept", w.agency_user, referral_id=case.referrals[0].id)
    step("report_service", w.agency_user, referral_id=case.referrals[0].id, service_given="PBI aktif",
         delivered_on=timeutil.today())
    step("close", w.caseworker, outcome="resolved")
    assert versions == list(range(1, 9))


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


def submit_on(kit, monkeypatch, day: dt.date):
    monkeypatch.setattr(services, "today", lambda: day)
    case = kit.build(())
    factories.fire(case, "submit", kit.w.officer)
    return case


def test_submitted_is_due_three_working_days_later(kit, monkeypatch):
    case = submit_on(kit, monkeypatch, dt.date(2026, 11, 26))  # Thursday
    assert (case.due_on, case.due_estimated) == (dt.date(2026, 12, 1), False)  # Fri, Mon, Tue


def test_due_dates_skip_holidays_and_collective_leave(kit, monkeypatch):
    # Tuesday 17 March 2026: Nyepi (18 leave, 19), Idulfitri (20 leave, 21-22, 23-24 leave), a weekend.
    case = submit_on(kit, monkeypatch, dt.date(2026, 3, 17))
    assert (case.due_on, case.due_estimated) == (dt.date(2026, 3, 27), False)


def test_a_year_missing_from_the_calendar_counts_weekends_only_and_is_flagged(kit, monkeypatch):
    case = submit_on(kit, monkeypatch, dt.date(2030, 12, 23))  # Monday; Christmas is not in the table
    assert (case.due_on, case.due_estimated) == (dt.date(2030, 12, 26), True)
    crossing = submit_on(kit, monkeypatch, dt.date(2027, 12, 30))  # Thursday; 2028 is not in the table
    assert crossing.due_estimated is True
    assert crossing.due_on == dt.date(2028, 1, 4)  # Fri 31, Mon 3, Tue 4: weekends only once in 2028
    # Leaving for a state without a deadline clears the flag.
    factories.fire(case, "close", kit.w.caseworker, outcome="withdrawn")
    assert (case.due_on, case.due_estimated) == (None, False)


def test_an_imported_year_is_used_for_due_dates(kit, monkeypatch):
    import io

    import_csv(2028, io.StringIO("2028-01-03,Cuti bersama tahun baru,cuti_bersama\n"))
    db.session.commit()
    case = submit_on(kit, monkeypatch, dt.date(2027, 12, 30))
    assert (case.due_on, case.due_estimated) == (dt.date(2028, 1, 5), False)
