"""The case workflow: one declarative table, run by the `transitions` library.

`TABLE` is the case table of DESIGN.md. Each row names an event, the states it may start from, where it goes,
who may fire it, the inputs it takes (declared once, as `Input`s: the forms, the API schema and the validation
are made from them), the choices a row narrows an input to, the guards that must pass (each refuses with a
message that says why) and the effect it has beyond the state change. The referral's own events live in
`referrals/workflow.py`; while a case has referrals its state follows them (`state_from_referrals`), and a row
whose destination is `DERIVED` lands wherever they say. Every open state has its deadline in `DEADLINES`.

`CaseFlow` is the model the state machine drives for one case and one actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from flask import current_app
from flask_babel import lazy_gettext as _l
from transitions import Machine

from puskesos.accounts.roles import Role
from puskesos.cases.intake import INTAKE_BY_NAME, SUBMIT_NEEDS
from puskesos.cases.models import Assessment, Case
from puskesos.cases.vocabulary import OUTCOME_LABELS, Outcome
from puskesos.core.inputs import Input
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db
from puskesos.referrals import workflow as referral_table
from puskesos.referrals.inputs import REQUEST_INPUTS
from puskesos.referrals.models import ANSWERED_REFERRAL_STATUSES, Referral, ReferralStatus


class State(StrEnum):
    REGISTERED = "registered"
    SUBMITTED = "submitted"
    IN_ASSESSMENT = "in_assessment"
    NEEDS_INFO = "needs_info"
    ASSESSED = "assessed"
    REFERRED = "referred"
    IN_SERVICE = "in_service"
    ANSWERED = "answered"
    CLOSED = "closed"


STATE_LABELS = {
    State.REGISTERED: _l("Terdaftar"),
    State.SUBMITTED: _l("Diajukan ke Dinsos"),
    State.IN_ASSESSMENT: _l("Dalam asesmen"),
    State.NEEDS_INFO: _l("Perlu data tambahan"),
    State.ASSESSED: _l("Selesai asesmen"),
    State.REFERRED: _l("Dirujuk"),
    State.IN_SERVICE: _l("Dalam layanan"),
    State.ANSWERED: _l("Rujukan terjawab"),
    State.CLOSED: _l("Ditutup"),
}

S = State
FOLLOWS_REFERRALS = "referrals"  # the deadline of a state that is due when its earliest open referral is

# Working days a case may stay in each open state before it is overdue (config SLA_DAYS overrides).
DEADLINES: dict[State, int | str] = {
    S.REGISTERED: 2,  # the officer submits it or resolves it on the spot
    S.SUBMITTED: 3,  # a caseworker takes it
    S.IN_ASSESSMENT: 7,
    S.NEEDS_INFO: 10,  # the officer completes what is missing
    S.ASSESSED: 3,  # the caseworker refers or closes
    S.REFERRED: FOLLOWS_REFERRALS,
    S.IN_SERVICE: FOLLOWS_REFERRALS,
    S.ANSWERED: 3,  # the caseworker closes or refers again
}


def deadline_days(state: str) -> int | str | None:
    """Working days allowed in `state`, FOLLOWS_REFERRALS, or None for `closed`."""
    overrides = current_app.config.get("SLA_DAYS") or {}
    return overrides.get(str(state), DEADLINES.get(State(state)))


def state_from_referrals(referrals: list[Referral]) -> State:
    """Where a case with referrals stands: the one rule that places it after any referral event."""
    statuses = {r.status for r in referrals}
    if ReferralStatus.ACCEPTED in statuses:
        return S.IN_SERVICE
    if statuses & {ReferralStatus.PENDING, ReferralStatus.PROPOSED}:
        return S.REFERRED
    if statuses & set(ANSWERED_REFERRAL_STATUSES):
        return S.ANSWERED
    return S.ASSESSED


# -- inputs of the case events --------------------------------------------------------------------------------

ACTION_TAKEN = Input("action_taken", _l("Apa yang sudah dilakukan"), kind="textarea", max_length=2000, required=True,
                     personal=True,
                     message=_l("Tuliskan apa yang sudah dilakukan di tempat."),
                     description=_l("Misalnya: informasi diberikan, formulir diisi bersama."))
INFO_NOTE = Input("note", _l("Data yang kurang"), kind="textarea", max_length=2000, required=True, personal=True,
                  message=_l("Tuliskan data apa yang kurang."))
FINDINGS = Input("findings", _l("Temuan asesmen"), kind="textarea", max_length=5000, required=True, personal=True,
                 message=_l("Asesmen belum lengkap: isi temuan dan keputusan kelayakan."), render_kw={"rows": 5})
ELIGIBLE = Input("eligible", _l("Keputusan kelayakan"), kind="bool", required=True,
                 choices=lambda: [("yes", _l("Layak dibantu")), ("no", _l("Tidak layak"))],
                 message=_l("Asesmen belum lengkap: isi temuan dan keputusan kelayakan."))
RECOMMENDED = Input("recommended_services", _l("Layanan yang direkomendasikan"), kind="textarea", max_length=2000,
                    personal=True,
                    required=lambda values: values.get("eligible") is True,
                    message=_l("Asesmen belum lengkap: isi layanan yang direkomendasikan."))
OUTCOME = Input("outcome", _l("Hasil"), kind="choice", required=True, message=_l("Pilih hasil penutupan kasus."),
                choices=lambda: [(o.value, OUTCOME_LABELS[o]) for o in Outcome if o != Outcome.RESOLVED_AT_INTAKE])
CLOSE_NOTE = Input("note", _l("Catatan penutupan"), kind="textarea", max_length=2000, personal=True)
REOPEN_REASON = Input("reason", _l("Alasan membuka kembali"), kind="textarea", max_length=2000, required=True,
                      personal=True,
                      message=_l("Alasan wajib diisi."))

ANY_OUTCOME = tuple(o.value for o in Outcome if o != Outcome.RESOLVED_AT_INTAKE)


@dataclass(frozen=True)
class Step:
    event: str
    sources: tuple[State, ...]
    dest: State | None  # None: DERIVED from the case's referrals
    roles: frozenset[Role]
    inputs: tuple[Input, ...] = ()
    guards: tuple[str, ...] = ()
    effect: str | None = None
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # an input's choices, narrowed for this row


DERIVED = None
OFFICER, CASEWORKER, SUPERVISOR = (frozenset({r}) for r in (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR))
CLOSING = (OUTCOME, CLOSE_NOTE)

TABLE: tuple[Step, ...] = (
    Step("resolve_at_intake", (S.REGISTERED,), S.CLOSED, OFFICER, (ACTION_TAKEN,), effect="resolve_at_intake"),
    Step("submit", (S.REGISTERED, S.NEEDS_INFO), S.SUBMITTED, OFFICER, guards=("intake_complete",),
         effect="submit"),
    Step("start_assessment", (S.SUBMITTED,), S.IN_ASSESSMENT, CASEWORKER, effect="assign_to_actor"),
    Step("request_info", (S.IN_ASSESSMENT,), S.NEEDS_INFO, CASEWORKER, (INFO_NOTE,), effect="request_info"),
    Step("complete_assessment", (S.IN_ASSESSMENT,), S.ASSESSED, CASEWORKER, (FINDINGS, ELIGIBLE, RECOMMENDED),
         effect="record_assessment"),
    Step("refer", (S.ASSESSED, S.REFERRED, S.IN_SERVICE, S.ANSWERED), DERIVED, CASEWORKER,
         REQUEST_INPUTS, guards=("assessed_eligible", "agency_available"), effect="create_referral"),
    Step("close", (S.REGISTERED,), S.CLOSED, OFFICER, CLOSING, effect="close",
         choices={"outcome": (Outcome.WITHDRAWN.value,)}),
    Step("close", (S.REGISTERED, S.SUBMITTED), S.CLOSED, CASEWORKER, CLOSING, effect="close",
         choices={"outcome": (Outcome.DUPLICATE.value, Outcome.WITHDRAWN.value)}),
    # A complainant who never brings what was asked for must not hold a case open for ever.
    Step("close", (S.NEEDS_INFO,), S.CLOSED, CASEWORKER, CLOSING, effect="close",
         choices={"outcome": (Outcome.WITHDRAWN.value, Outcome.UNREACHABLE.value, Outcome.DUPLICATE.value)}),
    Step("close", (S.ASSESSED, S.REFERRED, S.IN_SERVICE, S.ANSWERED), S.CLOSED, CASEWORKER, CLOSING,
         guards=("referrals_settled",), effect="close", choices={"outcome": ANY_OUTCOME}),
    Step("reopen", (S.CLOSED,), S.IN_ASSESSMENT, CASEWORKER | SUPERVISOR, (REOPEN_REASON,),
         guards=("not_anonymised",), effect="reopen"),
)

CASE_EVENTS: tuple[str, ...] = tuple(dict.fromkeys(step.event for step in TABLE))
REFERRAL_EVENTS: tuple[str, ...] = referral_table.EVENTS  # acting on one referral; audited as `referral.<event>`
EVENTS: tuple[str, ...] = CASE_EVENTS + REFERRAL_EVENTS

EVENT_LABELS = {
    "resolve_at_intake": _l("Selesaikan di tempat"),
    "submit": _l("Ajukan ke Dinsos"),
    "start_assessment": _l("Ambil dan mulai asesmen"),
    "request_info": _l("Minta data tambahan"),
    "complete_assessment": _l("Simpan hasil asesmen"),
    "refer": _l("Rujuk ke instansi"),
    "close": _l("Tutup kasus"),
    "reopen": _l("Buka kembali"),
    **referral_table.EVENT_LABELS,
}


def inputs_of(event: str) -> tuple[Input, ...]:
    """The inputs an event takes, whichever table it is in."""
    if event in REFERRAL_EVENTS:
        return referral_table.step_of(event).inputs
    return next(step.inputs for step in TABLE if step.event == event)


def roles_of(event: str) -> frozenset[Role]:
    if event in REFERRAL_EVENTS:
        return frozenset({referral_table.step_of(event).role})
    return frozenset().union(*(step.roles for step in TABLE if step.event == event))


def row_for(event: str, state: str, role: str) -> Step | None:
    """The one row of the case table that fires `event` from `state` for `role` (None: not allowed)."""
    return next((step for step in TABLE if step.event == event and state in step.sources and role in step.roles),
                None)


class GuardFailed(Exception):
    """A guard's refusal: `message` says why, `field` names the input at fault."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class CaseFlow:
    """One case, one actor, one event's cleaned inputs: the model the state machine drives.

    With `dry_run=True` the guards that look at inputs pass and nothing is changed, so `may_<event>()` answers
    "is this event offered to this user now" for buttons and the API.
    """

    def __init__(self, case: Case, actor, values: dict | None = None, *, dry_run: bool = False):
        self.case = case
        self.actor = actor
        self.values = dict(values or {})
        self.dry_run = dry_run
        self.referral: Referral | None = None  # the referral the event created
        self.audit_details: dict = {}
        self.state = State(case.state).value  # a plain string: `transitions` names Enum members by their name
        self.machine = Machine(
            model=self,
            states=[s.value for s in State],
            transitions=[self._machine_row(step) for step in TABLE],
            initial=self.state,
            auto_transitions=False,
            send_event=True,
        )

    def _machine_row(self, step: Step) -> dict:
        def role_allows(_event, roles=step.roles) -> bool:
            return self.actor.role in roles

        return {
            "trigger": step.event,
            "source": [s.value for s in step.sources],
            "dest": step.dest.value if step.dest else None,  # None: an internal transition, placed afterwards
            "conditions": [role_allows, *(f"guard_{g}" for g in step.guards)],
            "after": f"effect_{step.effect}" if step.effect and not self.dry_run else None,
        }

    # -- guards: about the case, not about the shape of the inputs (the Input declarations check those) -------

    def guard_intake_complete(self, _e) -> bool:
        missing = [INTAKE_BY_NAME[name].label for name in SUBMIT_NEEDS if not getattr(self.case, name)]
        if missing and not self.dry_run:
            raise GuardFailed(_l("Data pengaduan belum lengkap: %(fields)s.",
                                 fields=", ".join(str(label) for label in missing)))
        return True

    def guard_not_anonymised(self, _e) -> bool:
        """A case whose personal data retention erased has no complainant left to serve: not offered."""
        if self.case.anonymised_at is not None:
            if self.dry_run:
                return False
            raise GuardFailed(_l("Data pribadi kasus ini sudah dihapus sesuai masa retensi: kasus tidak dapat "
                                 "dibuka kembali. Daftarkan pengaduan baru."))
        return True

    def guard_assessed_eligible(self, _e) -> bool:
        assessment = self.case.assessment
        if assessment is None or not assessment.eligible:
            if self.dry_run:
                return False  # not offered: nothing to refer
            raise GuardFailed(_l("Kasus hanya dapat dirujuk bila hasil asesmen menyatakan layak."))
        return True

    def guard_agency_available(self, _e) -> bool:
        if self.dry_run:
            return True
        from puskesos.referrals.services import referrable_agency

        self.values["agency"] = referrable_agency(self.case, self.values.get("agency_id"))
        return True

    def guard_referrals_settled(self, _e) -> bool:
        """`resolved` needs every referral answered. A revoked one was withdrawn and counts for nothing: it
        neither blocks the outcome nor, alone, makes a case resolved."""
        if self.dry_run or self.values.get("outcome") != Outcome.RESOLVED:
            return True
        referrals = self.case.referrals
        if any(r.is_open for r in referrals):
            raise GuardFailed(_l("Kasus belum dapat dinyatakan selesai: masih ada rujukan yang belum selesai "
                                 "dilayani atau ditolak."), "outcome")
        if referrals and all(r.status == ReferralStatus.REVOKED for r in referrals):
            raise GuardFailed(_l("Semua rujukan kasus ini dibatalkan: tidak ada layanan yang dapat dinyatakan "
                                 "selesai. Rujuk kembali atau pilih hasil lain."), "outcome")
        return True

    # -- effects ----------------------------------------------------------------------------------------------

    def effect_resolve_at_intake(self, _e) -> None:
        self.case.outcome = Outcome.RESOLVED_AT_INTAKE
        self.case.outcome_note = self.audit_details["action_taken"] = self.values["action_taken"]
        self.case.closed_at = utcnow()

    def effect_submit(self, _e) -> None:
        self.case.info_request = None

    def effect_assign_to_actor(self, _e) -> None:
        self.case.assignee_id = self.actor.id
        self.audit_details["assignee"] = self.actor.username

    def effect_request_info(self, _e) -> None:
        self.case.info_request = self.audit_details["note"] = self.values["note"]

    def effect_record_assessment(self, _e) -> None:
        assessment = Assessment(
            case=self.case, findings=self.values["findings"], eligible=bool(self.values["eligible"]),
            recommended_services=self.values.get("recommended_services") or "", assessed_by_id=self.actor.id,
        )
        db.session.add(assessment)
        self.audit_details.update(findings=assessment.findings, eligible=assessment.eligible,
                                  recommended_services=assessment.recommended_services)

    def effect_create_referral(self, _e) -> None:
        from puskesos.referrals.services import create_referral

        self.referral = create_referral(self.case, self.actor, self.values)
        agency = self.referral.agency
        self.audit_details.update(agency=agency.name, agency_id=agency.id, service=self.referral.service,
                                  reason=self.referral.reason, consent=self.referral.consent)

    def effect_close(self, _e) -> None:
        self.case.outcome = self.audit_details["outcome"] = self.values["outcome"]
        self.case.outcome_note = self.audit_details["note"] = self.values.get("note")
        self.case.closed_at = utcnow()
        # A closed case asks nothing more of any agency: what is still open is withdrawn, never counted as served.
        still_open = [r for r in self.case.referrals if r.is_open]
        for referral in still_open:
            referral.status = ReferralStatus.REVOKED
            referral.revoke_reason = str(_l("Kasus ditutup: %(outcome)s",
                                            outcome=OUTCOME_LABELS[Outcome(self.case.outcome)]))
            referral.due_on = None
        if still_open:
            self.audit_details["revoked_referrals"] = [r.id for r in still_open]

    def effect_reopen(self, _e) -> None:
        self.audit_details.update(reason=self.values["reason"], previous_outcome=self.case.outcome)
        self.case.outcome = None
        self.case.outcome_note = None
        self.case.closed_at = None
        if self.actor.role == Role.CASEWORKER:
            self.case.assignee_id = self.actor.id


def _check_table() -> None:
    """The table names guards and effects; a typo should fail at import, not in production."""
    seen = set()
    for step in TABLE:
        names = [f"guard_{g}" for g in step.guards] + ([f"effect_{step.effect}"] if step.effect else [])
        for name in names:
            if not callable(getattr(CaseFlow, name, None)):
                raise AssertionError(f"workflow row {step.event}: CaseFlow.{name} is missing")
        if step.event not in EVENT_LABELS:
            raise AssertionError(f"workflow event {step.event} has no label")
        for source in step.sources:
            for role in step.roles:
                if (step.event, source, role) in seen:
                    raise AssertionError(f"workflow event {step.event} has two rows for {source} and {role}")
                seen.add((step.event, source, role))
    open_states = set(State) - {State.CLOSED}
    if set(DEADLINES) != open_states:
        raise AssertionError(f"every open state needs a deadline: {sorted(open_states - set(DEADLINES))}")


_check_table()
