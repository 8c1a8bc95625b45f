"""Models as the API shows them. An agency sees of a case what its referral page shows, nothing more."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from puskesos.accounts.jurisdiction import referral_filter
from puskesos.accounts.roles import Role
from puskesos.audit.services import details_of
from puskesos.cases.services import allowed_events
from puskesos.core.errors import BadRequest
from puskesos.extensions import db
from puskesos.referrals.letters import verify_url
from puskesos.referrals.models import Referral

# What an agency reads of a case, by API name: whom to serve, where the case stands and what the agency may do
# now (its inbox and referral page show the same). The complaint's description, the assessment, the assignee,
# the outcome and its note, and other agencies' referrals stay with Dinsos: the complainant consented to one
# referral, not to the case file.
AGENCY_CASE_FIELDS = ("number", "state", "version", "category", "urgency", "village_code", "nik_masked", "name",
                      "due_at", "overdue", "days_in_step", "created_at", "updated_at", "referrals", "allowed_events")


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Stored naive in UTC; shown with its zone, so no client has to guess."""
    return value.replace(tzinfo=dt.UTC) if value is not None else None


def for_caller(body: dict, user) -> dict:
    """A case as this user may read it: an agency gets AGENCY_CASE_FIELDS only."""
    if user is not None and user.role == Role.AGENCY:
        return {key: value for key, value in body.items() if key in AGENCY_CASE_FIELDS}
    return body


def visible_referrals(case, user) -> list:
    """The case's referrals this user may read: every one for Dinsos; for an agency, those its inbox lists and
    its referral page opens, by the same rule (`referral_filter`): its own, while pending, accepted or done."""
    if user.role != Role.AGENCY:
        return list(case.referrals)
    ids = set(db.session.execute(select(Referral.id).where(Referral.case_id == case.id,
                                                           referral_filter(user))).scalars())
    return [r for r in case.referrals if r.id in ids]


def summary(case, user=None) -> dict:
    return for_caller({
        "number": case.number, "state": case.state, "version": case.version, "category": case.category,
        "urgency": case.urgency, "village_code": case.village_code, "nik_masked": case.nik_masked,
        "name": case.name, "due_at": case.due_on, "overdue": case.is_overdue,
        "days_in_step": case.days_in_step if case.state != "closed" else None,
        "assignee": case.assignee.username if case.assignee else None, "created_at": utc(case.created_at),
    }, user)


def referral(r) -> dict:
    return {
        "id": r.id, "case_number": r.case.number, "agency_id": r.agency_id, "agency": r.agency.name,
        "service": r.service, "reason": r.reason, "consent": r.consent, "status": r.status, "due_on": r.due_on,
        "created_at": utc(r.created_at), "decline_reason": r.decline_reason, "service_given": r.service_given,
        "delivered_on": r.delivered_on, "revoke_reason": r.revoke_reason, "failure_reason": r.failure_reason,
        "letter_number": r.letter_number, "return_note": r.return_note, "verify_url": verify_url(r),
    }


def case_detail(case, user) -> dict:
    assessment = case.assessment
    return for_caller({
        **summary(case),
        "description": case.description, "outcome": case.outcome, "outcome_note": case.outcome_note,
        "info_request": case.info_request, "updated_at": utc(case.updated_at),
        "assessment": None if assessment is None else {
            "findings": assessment.findings, "eligible": assessment.eligible,
            "recommended_services": assessment.recommended_services,
            "assessed_by": assessment.assessed_by.username, "created_at": utc(assessment.created_at),
        },
        "referrals": [referral(r) for r in visible_referrals(case, user)],
        "allowed_events": allowed_events(case, user),
    }, user)


def timeline_event(ev) -> dict:
    return {"seq": ev.seq, "at": utc(ev.created_at), "actor": ev.actor_name, "role": ev.actor_role,
            "action": ev.action, "details": details_of(ev)}


def audit_event(ev) -> dict:
    return {**timeline_event(ev), "case": ev.case_number, "region_code": ev.region_code,
            "prev_hash": ev.prev_hash, "hash": ev.hash}


def encode_cursor(value: str | None) -> str | None:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=") if value else None


def decode_cursor(value: str | None) -> str | None:
    """Cursors are opaque to clients; one that was not ours is a malformed request."""
    if not value:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise bad_cursor() from None


def bad_cursor() -> BadRequest:
    message = _l("Kursor halaman tidak valid.")
    return BadRequest(message, {"cursor": [message]})
