"""The case workflow: one declarative table, run by the `transitions` library.

`TABLE` is the whole workflow of DESIGN.md. Each row names an event, the
states it may start from, where it goes, who may fire it, the inputs it takes,
the guards that must pass (each refuses with a message that says why), the
routing conditions that choose between rows of the same event, and the effect
it has beyond the state change. The UI's buttons, the services' permission
checks and the state diagram are all read from this table.

`CaseFlow` is the model the state machine drives for one case and one actor:
its `guard_*` methods explain refusals, its `when_*` methods route, and its
`effect_*` methods change the case, its assessment and its referrals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from transitions import Machine

from puskesos.accounts.roles import Role
from puskesos.cases.models import OUTCOME_LABELS, Assessment, Case, Outcome
from puskesos.core.ids import parse_id
from puskesos.core.timeutil import today, utcnow
from puskesos.extensions import db
from puskesos.referrals.models import Agency, Referral, ReferralStatus


class State(StrEnum):
    REGISTERED = "registered"
    SUBMITTED = "submitted"
    IN_ASSESSMENT = "in_assessment"
    NEEDS_INFO = "needs_info"
    ASSESSED = "assessed"
    REFERRED = "referred"
    IN_SERVICE = "in_service"
    CLOSED = "closed"


STATE_LABELS = {
    State.REGISTERED: _l("Terdaftar"),
    State.SUBMITTED: _l("Diajukan ke Dinsos"),
    State.IN_ASSESSMENT: _l("Dalam asesmen"),
    State.NEEDS_INFO: _l("Perlu data tambahan"),
    State.ASSESSED: _l("Selesai asesmen"),
    State.REFERRED: _l("Dirujuk"),
    State.IN_SERVICE: _l("Dalam layanan"),
    State.CLOSED: _l("Ditutup"),
}


@dataclass(frozen=True)
class Step:
    event: str
    sources: tuple[State, ...]
    dest: State
    roles: frozenset[Role]
    inputs: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    when: tuple[str, ...] = ()
    effect: str | None = None


S = State
OFFICER, CASEWORKER, AGENCY, SUPERVISOR = (frozenset({r}) for r in (Role.OFFICER, Role.CASEWORKER, Role.AGENCY,
                                                                      Role.SUPERVISOR))
ANSWERING = (S.REFERRED, S.IN_SERVICE)  # an agency may answer a pending referral in either
# Where a case goes when one of its referrals is declined or revoked: it follows the referrals still open.
# Only an in_service case can still hold an accepted referral (closing a case withdraws its open ones).
ROUTES_AFTER_ANSWER = (
    (ANSWERING, S.ASSESSED, "none_open"),
    ((S.IN_SERVICE,), S.IN_SERVICE, "one_accepted"),
    (ANSWERING, S.REFERRED, "only_pending"),
)

TABLE: tuple[Step, ...] = (
    Step("resolve_at_intake", (S.REGISTERED,), S.CLOSED, OFFICER,
         inputs=("action_taken",), guards=("action_taken_given",), effect="resolve_at_intake"),
    Step("submit", (S.REGISTERED, S.NEEDS_INFO), S.SUBMITTED, OFFICER,
         guards=("intake_complete",), effect="submit"),
    Step("start_assessment", (S.SUBMITTED,), S.IN_ASSESSMENT, CASEWORKER, effect="assign_to_actor"),
    Step("request_info", (S.IN_ASSESSMENT,), S.NEEDS_INFO, CASEWORKER,
         inputs=("note",), guards=("note_given",), effect="request_info"),
    Step("complete_assessment", (S.IN_ASSESSMENT,), S.ASSESSED, CASEWORKER,
         inputs=("findings", "eligible", "recommended_services"), guards=("assessment_complete",),
         effect="record_assessment"),
    Step("refer", (S.ASSESSED, S.REFERRED), S.REFERRED, CASEWORKER,
         inputs=("agency_id", "service", "reason", "consent"), guards=("referral_complete",),
         effect="create_referral"),
    *(
        Step("revoke_referral", sources, dest, CASEWORKER,
             inputs=("referral_id", "reason"), guards=("open_referral_chosen", "reason_given"),
             when=(route,), effect="revoke_referral")
        for sources, dest, route in ROUTES_AFTER_ANSWER
    ),
    Step("accept", ANSWERING, S.IN_SERVICE, AGENCY,
         inputs=("referral_id",), guards=("own_pending_referral",), effect="accept_referral"),
    *(
        Step("decline", sources, dest, AGENCY,
             inputs=("referral_id", "reason"), guards=("own_pending_referral", "reason_given"),
             when=(route,), effect="decline_referral")
        for sources, dest, route in ROUTES_AFTER_ANSWER
    ),
    Step("report_service", (S.IN_SERVICE,), S.IN_SERVICE, AGENCY,
         inputs=("referral_id", "service_given", "delivered_on"),
         guards=("own_accepted_referral", "service_report_complete"), effect="complete_referral"),
    Step("close", (S.REGISTERED,), S.CLOSED, OFFICER,
         inputs=("outcome", "note"), guards=("outcome_withdrawn",), effect="close"),
    Step("close", (S.REGISTERED, S.SUBMITTED), S.CLOSED, CASEWORKER,
         inputs=("outcome", "note"), guards=("outcome_duplicate_or_withdrawn",), effect="close"),
    Step("close", (S.ASSESSED, S.REFERRED, S.IN_SERVICE), S.CLOSED, CASEWORKER,
         inputs=("outcome", "note"), guards=("outcome_allowed", "referrals_settled"), effect="close"),
    Step("reopen", (S.CLOSED,), S.IN_ASSESSMENT, CASEWORKER | SUPERVISOR,
         inputs=("reason",), guards=("reason_given",), effect="reopen"),
)

EVENTS: tuple[str, ...] = tuple(dict.fromkeys(step.event for step in TABLE))

EVENT_LABELS = {
    "resolve_at_intake": _l("Selesaikan di tempat"),
    "submit": _l("Ajukan ke Dinsos"),
    "start_assessment": _l("Ambil dan mulai asesmen"),
    "request_info": _l("Minta data tambahan"),
    "complete_assessment": _l("Simpan hasil asesmen"),
    "refer": _l("Rujuk ke instansi"),
    "revoke_referral": _l("Batalkan rujukan"),
    "accept": _l("Terima rujukan"),
    "decline": _l("Tolak rujukan"),
    "report_service": _l("Laporkan layanan"),
    "close": _l("Tutup kasus"),
    "reopen": _l("Buka kembali"),
}

# Events that act on one referral (audited as `referral.<event>`); the rest act on the case as a whole.
REFERRAL_EVENTS = ("revoke_referral", "accept", "decline", "report_service")


def inputs_of(event: str) -> tuple[str, ...]:
    return next(step.inputs for step in TABLE if step.event == event)


def roles_of(event: str) -> frozenset[Role]:
    return frozenset().union(*(step.roles for step in TABLE if step.event == event))


class GuardFailed(Exception):
    """A guard's refusal: `message` says why, `field` names the input at fault."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def _as_bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("1", "true", "yes", "ya", "y", "on"):
        return True
    if text in ("0", "false", "no", "tidak", "n", "off"):
        return False
    return None


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(_text(value))
    except ValueError:
        return None


INTAKE_REQUIRED = ("nik", "name", "village_code", "category", "description", "address")


class CaseFlow:
    """One case, one actor, one event's inputs: the model the state machine drives.

    With `dry_run=True` the guards that need inputs pass, and those about the case's referrals only ask
    whether one fits, so `may_<event>()` answers "is this event offered to this user now" for buttons and
    the API.
    """

    def __init__(self, case: Case, actor, inputs: dict | None = None, *, dry_run: bool = False):
        self.case = case
        self.actor = actor
        self.inputs = dict(inputs or {})
        self.dry_run = dry_run
        self.referral: Referral | None = None  # the referral the event acted on
        self.audit_details: dict = {}
        current = State(case.state).value  # a plain string: `transitions` names Enum members by their name
        self.state = current
        self.machine = Machine(
            model=self,
            states=[s.value for s in State],
            transitions=[self._machine_row(step) for step in TABLE],
            initial=current,
            auto_transitions=False,
            send_event=True,
        )

    def _machine_row(self, step: Step) -> dict:
        def role_allows(_event, roles=step.roles) -> bool:
            return self.actor.role in roles

        return {
            "trigger": step.event,
            "source": [s.value for s in step.sources],
            "dest": step.dest.value,
            "conditions": [role_allows, *(f"guard_{g}" for g in step.guards), *(f"when_{w}" for w in step.when)],
            "after": f"effect_{step.effect}" if step.effect else None,
        }

    # -- inputs -----------------------------------------------------------------------------------------------

    def _need(self, name: str, message) -> str:
        value = _text(self.inputs.get(name))
        if not value:
            raise GuardFailed(message, name)
        return value

    def _guard(self, check) -> bool:
        """Run a guard unless this is a dry run; guards raise GuardFailed or pass."""
        if not self.dry_run:
            check()
        return True

    # -- guards -----------------------------------------------------------------------------------------------

    def guard_action_taken_given(self, _e) -> bool:
        return self._guard(lambda: self._need("action_taken", _l("Tuliskan apa yang sudah dilakukan di tempat.")))

    def guard_intake_complete(self, _e) -> bool:
        def check():
            missing = [f for f in INTAKE_REQUIRED if not _text(getattr(self.case, f))]
            if missing:
                raise GuardFailed(_l("Data pengaduan belum lengkap: %(fields)s.", fields=", ".join(missing)))
        return self._guard(check)

    def guard_note_given(self, _e) -> bool:
        return self._guard(lambda: self._need("note", _l("Tuliskan data apa yang kurang.")))

    def guard_reason_given(self, _e) -> bool:
        return self._guard(lambda: self._need("reason", _l("Alasan wajib diisi.")))

    def guard_assessment_complete(self, _e) -> bool:
        def check():
            if not _text(self.inputs.get("findings")) or _as_bool(self.inputs.get("eligible")) is None:
                raise GuardFailed(_l("Asesmen belum lengkap: isi temuan dan keputusan kelayakan."), "findings")
            if _as_bool(self.inputs.get("eligible")) and not _text(self.inputs.get("recommended_services")):
                raise GuardFailed(_l("Asesmen belum lengkap: isi layanan yang direkomendasikan."),
                                  "recommended_services")
        return self._guard(check)

    def guard_referral_complete(self, _e) -> bool:
        def check():
            assessment = self.case.assessment
            if assessment is None or not assessment.eligible:
                raise GuardFailed(_l("Kasus hanya dapat dirujuk bila hasil asesmen menyatakan layak."))
            agency = db.session.get(Agency, parse_id(self.inputs.get("agency_id")) or 0)
            if agency is None or not agency.active or not agency.serves(self.case.village_code):
                raise GuardFailed(_l("Pilih instansi aktif yang melayani wilayah kasus ini."), "agency_id")
            if any(r.agency_id == agency.id and r.is_open for r in self.case.referrals):
                raise GuardFailed(_l("Masih ada rujukan terbuka ke instansi ini."), "agency_id")
            self._need("service", _l("Tuliskan layanan yang diminta."))
            self._need("reason", _l("Tuliskan alasan rujukan."))
            if _text(self.inputs.get("consent")) not in ("written", "verbal"):
                raise GuardFailed(
                    _l("Rujukan memerlukan persetujuan pengadu untuk berbagi data (tertulis atau lisan)."), "consent")
            self.inputs["agency"] = agency
        return self._guard(check)

    def _chosen_referral(self) -> Referral:
        referral_id = parse_id(self.inputs.get("referral_id"))
        referral = next((r for r in self.case.referrals if r.id == referral_id), None)
        if referral is None:
            raise GuardFailed(_l("Rujukan tidak ditemukan pada kasus ini."), "referral_id")
        return referral

    def guard_open_referral_chosen(self, _e) -> bool:
        if self.dry_run:  # offered only while there is a referral to choose
            return any(r.is_open for r in self.case.referrals)

        def check():
            referral = self._chosen_referral()
            if not referral.is_open:
                raise GuardFailed(_l("Rujukan ini sudah tidak terbuka."), "referral_id")
            self.referral = referral
        return self._guard(check)

    def _own_referral(self, status: ReferralStatus, message) -> None:
        referral = self._chosen_referral()
        if referral.agency_id != self.actor.agency_id:
            raise GuardFailed(_l("Rujukan tidak ditemukan pada kasus ini."), "referral_id")
        if referral.status != status:
            raise GuardFailed(message, "referral_id")
        self.referral = referral

    def _has_own(self, status: ReferralStatus) -> bool:
        return any(r.agency_id == self.actor.agency_id and r.status == status for r in self.case.referrals)

    def guard_own_pending_referral(self, _e) -> bool:
        if self.dry_run:
            return self._has_own(ReferralStatus.PENDING)
        return self._guard(lambda: self._own_referral(
            ReferralStatus.PENDING, _l("Rujukan ini sudah dijawab; hanya rujukan yang menunggu dapat diterima atau "
                                       "ditolak.")))

    def guard_own_accepted_referral(self, _e) -> bool:
        if self.dry_run:
            return self._has_own(ReferralStatus.ACCEPTED)
        return self._guard(lambda: self._own_referral(
            ReferralStatus.ACCEPTED, _l("Layanan hanya dapat dilaporkan untuk rujukan yang sudah diterima.")))

    def guard_service_report_complete(self, _e) -> bool:
        def check():
            self._need("service_given", _l("Tuliskan layanan yang sudah diberikan."))
            delivered = _as_date(self.inputs.get("delivered_on"))
            if delivered is None:
                raise GuardFailed(_l("Tanggal layanan tidak valid."), "delivered_on")
            if delivered > today():
                raise GuardFailed(_l("Tanggal layanan tidak boleh di masa depan."), "delivered_on")
            self.inputs["delivered_on"] = delivered
        return self._guard(check)

    def _outcome_in(self, allowed: tuple[Outcome, ...], message) -> None:
        if _text(self.inputs.get("outcome")) not in allowed:
            raise GuardFailed(message, "outcome")

    def guard_outcome_withdrawn(self, _e) -> bool:
        return self._guard(lambda: self._outcome_in(
            (Outcome.WITHDRAWN,), _l("Sebelum diajukan, petugas desa hanya dapat menutup kasus yang ditarik oleh "
                                     "pengadu.")))

    def guard_outcome_duplicate_or_withdrawn(self, _e) -> bool:
        return self._guard(lambda: self._outcome_in(
            (Outcome.DUPLICATE, Outcome.WITHDRAWN),
            _l("Kasus yang belum diases hanya dapat ditutup sebagai duplikat atau ditarik.")))

    def guard_outcome_allowed(self, _e) -> bool:
        return self._guard(lambda: self._outcome_in(
            tuple(o for o in Outcome if o != Outcome.RESOLVED_AT_INTAKE), _l("Pilih hasil penutupan kasus.")))

    def guard_referrals_settled(self, _e) -> bool:
        """`resolved` needs every referral answered (completed or declined). A revoked one was withdrawn and
        counts for nothing: it neither blocks the outcome nor, alone, makes a case resolved."""
        def check():
            if _text(self.inputs.get("outcome")) != Outcome.RESOLVED:
                return
            if any(r.is_open for r in self.case.referrals):
                raise GuardFailed(_l("Kasus belum dapat dinyatakan selesai: masih ada rujukan yang belum selesai "
                                     "dilayani atau ditolak."), "outcome")
            referrals = self.case.referrals
            if referrals and all(r.status == ReferralStatus.REVOKED for r in referrals):
                raise GuardFailed(_l("Semua rujukan kasus ini dibatalkan: tidak ada layanan yang dapat dinyatakan "
                                     "selesai. Rujuk kembali atau pilih hasil lain."), "outcome")
        return self._guard(check)

    # -- routing: where an answered referral leaves the case ---------------------------------------------------

    def _other_open(self) -> list[Referral]:
        return [r for r in self.case.referrals if r.is_open and r is not self.referral]

    def when_none_open(self, _e) -> bool:
        return not self._other_open()

    def when_one_accepted(self, _e) -> bool:
        return any(r.status == ReferralStatus.ACCEPTED for r in self._other_open())

    def when_only_pending(self, _e) -> bool:
        others = self._other_open()
        return bool(others) and all(r.status == ReferralStatus.PENDING for r in others)

    # -- effects ----------------------------------------------------------------------------------------------

    def effect_resolve_at_intake(self, _e) -> None:
        self.case.outcome = Outcome.RESOLVED_AT_INTAKE
        self.case.outcome_note = _text(self.inputs.get("action_taken"))
        self.case.closed_at = utcnow()
        self.audit_details["action_taken"] = self.case.outcome_note

    def effect_submit(self, _e) -> None:
        self.case.info_request = None

    def effect_assign_to_actor(self, _e) -> None:
        self.case.assignee_id = self.actor.id
        self.audit_details["assignee"] = self.actor.username

    def effect_request_info(self, _e) -> None:
        self.case.info_request = _text(self.inputs.get("note"))
        self.audit_details["note"] = self.case.info_request

    def effect_record_assessment(self, _e) -> None:
        assessment = Assessment(
            case=self.case,
            findings=_text(self.inputs.get("findings")),
            eligible=bool(_as_bool(self.inputs.get("eligible"))),
            recommended_services=_text(self.inputs.get("recommended_services")),
            assessed_by_id=self.actor.id,
        )
        db.session.add(assessment)
        self.audit_details.update(findings=assessment.findings, eligible=assessment.eligible,
                                  recommended_services=assessment.recommended_services)

    def effect_create_referral(self, _e) -> None:
        agency: Agency = self.inputs["agency"]
        self.referral = Referral(
            case=self.case, agency_id=agency.id, agency=agency,
            service=_text(self.inputs.get("service")), reason=_text(self.inputs.get("reason")),
            consent=_text(self.inputs.get("consent")), created_by_id=self.actor.id,
        )
        db.session.add(self.referral)
        self.audit_details.update(agency=agency.name, agency_id=agency.id, service=self.referral.service,
                                  reason=self.referral.reason, consent=self.referral.consent)

    def _answer(self, status: ReferralStatus) -> Referral:
        referral = self.referral
        referral.status = status
        referral.answered_by_id = self.actor.id
        referral.answered_at = utcnow()
        self.audit_details.update(referral_id=referral.id, agency=referral.agency.name, status=status.value)
        return referral

    def effect_revoke_referral(self, _e) -> None:
        self._answer(ReferralStatus.REVOKED).revoke_reason = _text(self.inputs.get("reason"))
        self.audit_details["reason"] = self.referral.revoke_reason

    def effect_accept_referral(self, _e) -> None:
        self._answer(ReferralStatus.ACCEPTED)

    def effect_decline_referral(self, _e) -> None:
        self._answer(ReferralStatus.DECLINED).decline_reason = _text(self.inputs.get("reason"))
        self.audit_details["reason"] = self.referral.decline_reason

    def effect_complete_referral(self, _e) -> None:
        referral = self._answer(ReferralStatus.COMPLETED)
        referral.service_given = _text(self.inputs.get("service_given"))
        referral.delivered_on = self.inputs["delivered_on"]
        self.audit_details.update(service_given=referral.service_given, delivered_on=referral.delivered_on)

    def effect_close(self, _e) -> None:
        self.case.outcome = _text(self.inputs.get("outcome"))
        self.case.outcome_note = _text(self.inputs.get("note")) or None
        self.case.closed_at = utcnow()
        self.audit_details.update(outcome=self.case.outcome, note=self.case.outcome_note)
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
        self.audit_details.update(reason=_text(self.inputs.get("reason")), previous_outcome=self.case.outcome)
        self.case.outcome = None
        self.case.outcome_note = None
        self.case.closed_at = None
        if self.actor.role == Role.CASEWORKER:
            self.case.assignee_id = self.actor.id


def _check_table() -> None:
    """The table names guards, routes and effects; a typo should fail at import, not in production."""
    for step in TABLE:
        names = [f"guard_{g}" for g in step.guards] + [f"when_{w}" for w in step.when]
        names += [f"effect_{step.effect}"] if step.effect else []
        for name in names:
            if not callable(getattr(CaseFlow, name, None)):
                raise AssertionError(f"workflow row {step.event}: CaseFlow.{name} is missing")
        if step.event not in EVENT_LABELS:
            raise AssertionError(f"workflow event {step.event} has no label")


_check_table()
