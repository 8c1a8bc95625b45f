"""The referral's own life: one declarative table, run by the `transitions` library.

A referral is created by the case event `refer` (its inputs are declared in `referrals/inputs.py`, with the
referral's other inputs) and then answered by its agency or withdrawn by Dinsos. Each row names an event, the
statuses it starts from, where it goes, who may fire it, its inputs and its effect. Each open status has its
deadline in working days beside it. The case follows its referrals: `cases.workflow.state_from_referrals`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from transitions import Machine

from puskesos.accounts.roles import Role
from puskesos.core.inputs import Input
from puskesos.core.timeutil import utcnow
from puskesos.referrals.inputs import (
    DECLINE_REASON,
    DELIVERED_ON,
    FAILURE_REASON,
    REFERRAL_ID,
    RETURN_NOTE,
    REVOKE_REASON,
    SERVICE_GIVEN,
)
from puskesos.referrals.models import Referral, ReferralStatus

R = ReferralStatus

# Working days an open referral may stay in each status before it is overdue (config REFERRAL_SLA_DAYS
# overrides). A status without a deadline is a final one.
DEADLINES: dict[ReferralStatus, int] = {
    R.PROPOSED: 2,  # a supervisor of the regency signs it off (penetapan layanan) or sends it back
    R.PENDING: 5,  # the agency answers: accept or decline
    R.ACCEPTED: 14,  # the agency serves, or says it could not
}


def initial_status() -> ReferralStatus:
    """Where `refer` puts a new referral: waiting for sign-off when REFERRAL_SIGNOFF is on (the default)."""
    return R.PROPOSED if current_app.config.get("REFERRAL_SIGNOFF", True) else R.PENDING


def deadline_days(status: str) -> int | None:
    overrides = current_app.config.get("REFERRAL_SLA_DAYS") or {}
    return overrides.get(str(status), DEADLINES.get(ReferralStatus(status)))


# -- the table ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    event: str
    sources: tuple[ReferralStatus, ...]
    dest: ReferralStatus
    role: Role
    inputs: tuple[Input, ...]
    effect: str


AGENCY, CASEWORKER, SUPERVISOR = Role.AGENCY, Role.CASEWORKER, Role.SUPERVISOR

TABLE: tuple[Step, ...] = (
    Step("approve_referral", (R.PROPOSED,), R.PENDING, SUPERVISOR, (REFERRAL_ID,), "approve"),
    Step("return_referral", (R.PROPOSED,), R.RETURNED, SUPERVISOR, (REFERRAL_ID, RETURN_NOTE), "return_"),
    Step("accept", (R.PENDING,), R.ACCEPTED, AGENCY, (REFERRAL_ID,), "accept"),
    Step("decline", (R.PENDING,), R.DECLINED, AGENCY, (REFERRAL_ID, DECLINE_REASON), "decline"),
    Step("report_service", (R.ACCEPTED,), R.COMPLETED, AGENCY, (REFERRAL_ID, SERVICE_GIVEN, DELIVERED_ON),
         "complete"),
    Step("report_failure", (R.ACCEPTED,), R.FAILED, AGENCY, (REFERRAL_ID, FAILURE_REASON), "fail"),
    Step("revoke_referral", (R.PROPOSED, R.PENDING, R.ACCEPTED), R.REVOKED, CASEWORKER, (REFERRAL_ID, REVOKE_REASON),
         "revoke"),
)

EVENTS: tuple[str, ...] = tuple(step.event for step in TABLE)

EVENT_LABELS = {
    "approve_referral": _l("Tetapkan rujukan"),
    "return_referral": _l("Kembalikan rujukan"),
    "accept": _l("Terima rujukan"),
    "decline": _l("Tolak rujukan"),
    "report_service": _l("Laporkan layanan"),
    "report_failure": _l("Laporkan tidak dapat dilayani"),
    "revoke_referral": _l("Batalkan rujukan"),
}


def step_of(event: str) -> Step:
    return next(step for step in TABLE if step.event == event)


class Refused(Exception):
    """The referral table refuses: `message` says why, `field` names the input at fault."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class ReferralFlow:
    """One referral, one actor, one event's cleaned inputs: the model the referral's state machine drives.

    With `dry_run=True` nothing is changed and `may_<event>()` answers "may this user fire this now".
    """

    def __init__(self, referral: Referral, actor, values: dict | None = None, *, dry_run: bool = False):
        self.referral = referral
        self.actor = actor
        self.values = values or {}
        self.dry_run = dry_run
        self.audit_details: dict = {}
        self.state = ReferralStatus(referral.status).value
        self.machine = Machine(
            model=self, states=[s.value for s in ReferralStatus], initial=self.state, auto_transitions=False,
            send_event=True,
            transitions=[{
                "trigger": step.event, "source": [s.value for s in step.sources], "dest": step.dest.value,
                "conditions": [self._allowed_for(step)], "after": None if dry_run else f"effect_{step.effect}",
            } for step in TABLE],
        )

    def _allowed_for(self, step: Step):
        def allowed(_event) -> bool:
            if self.actor.role != step.role:
                return False
            if step.role == Role.SUPERVISOR:  # sign-off is the regency's: not a province's, not a neighbour's
                return self.actor.region_code == self.referral.case.regency_code
            # An agency answers only its own referrals; Dinsos staff reach the case through their area.
            return step.role != Role.AGENCY or self.referral.agency_id == self.actor.agency_id
        return allowed

    # -- effects ----------------------------------------------------------------------------------------------

    def _answered(self) -> None:
        referral = self.referral
        referral.status = self.state
        referral.answered_by_id = self.actor.id
        referral.answered_at = utcnow()
        self.audit_details.update(referral_id=referral.id, agency=referral.agency.name, status=self.state)

    def effect_accept(self, _e) -> None:
        self._answered()

    def effect_decline(self, _e) -> None:
        self._answered()
        self.referral.decline_reason = self.audit_details["reason"] = self.values["reason"]

    def effect_complete(self, _e) -> None:
        self._answered()
        self.referral.service_given = self.audit_details["service_given"] = self.values["service_given"]
        self.referral.delivered_on = self.audit_details["delivered_on"] = self.values["delivered_on"]

    def effect_fail(self, _e) -> None:
        self._answered()
        self.referral.failure_reason = self.audit_details["reason"] = self.values["reason"]

    def _reviewed(self) -> None:
        referral = self.referral
        referral.status = self.state
        referral.reviewed_by_id = self.actor.id
        referral.reviewed_at = utcnow()
        self.audit_details.update(referral_id=referral.id, agency=referral.agency.name, status=self.state)

    def effect_approve(self, _e) -> None:
        """Only an approved referral has a letter number, reaches the agency's inbox and starts its clock."""
        self._reviewed()
        referral = self.referral
        referral.letter_number = self.audit_details["letter_number"] = letter_number(referral)
        referral.verify_token = secrets.token_urlsafe(32)  # never in the audit log: it is the letter's key

    def effect_return_(self, _e) -> None:
        self._reviewed()
        self.referral.return_note = self.audit_details["note"] = self.values["note"]

    def effect_revoke(self, _e) -> None:
        self._answered()
        self.referral.revoke_reason = self.audit_details["reason"] = self.values["reason"]


def letter_number(referral: Referral) -> str:
    """`RJK/1603/2026/000123`: the regency, the year of approval, the referral: unique without a counter."""
    return f"RJK/{referral.case.regency_code.replace('.', '')}/{referral.reviewed_at.year}/{referral.id:06d}"


def offered(referral: Referral, user) -> list[str]:
    """The referral events this user may fire on this referral now (the table's dry run)."""
    flow = ReferralFlow(referral, user, dry_run=True)
    return [event for event in EVENTS if getattr(flow, f"may_{event}")()]


def _check_table() -> None:
    for step in TABLE:
        if not callable(getattr(ReferralFlow, f"effect_{step.effect}", None)):
            raise AssertionError(f"referral row {step.event}: ReferralFlow.effect_{step.effect} is missing")
        if step.event not in EVENT_LABELS:
            raise AssertionError(f"referral event {step.event} has no label")
        if step.inputs[0] is not REFERRAL_ID:
            raise AssertionError(f"referral event {step.event} must name its referral first")


_check_table()
