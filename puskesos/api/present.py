"""Models as the API shows them. Agencies see only their own referrals of a case."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from flask_babel import lazy_gettext as _l

from puskesos.accounts.roles import Role
from puskesos.audit.services import details_of
from puskesos.cases.services import allowed_events
from puskesos.core.errors import BadRequest
from puskesos.referrals.letters import verify_url


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Stored naive in UTC; shown with its zone, so no client has to guess."""
    return value.replace(tzinfo=dt.UTC) if value is not None else None


def summary(case) -> dict:
    return {
        "number": case.number, "state": case.state, "version": case.version, "category": case.category,
        "urgency": case.urgency, "village_code": case.village_code, "nik_masked": case.nik_masked,
        "name": case.name, "due_at": case.due_on, "overdue": case.is_overdue,
        "days_in_step": case.days_in_step if case.state != "closed" else None,
        "assignee": case.assignee.username if case.assignee else None, "created_at": utc(case.created_at),
    }


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
    referrals = [r for r in case.referrals if user.role != Role.AGENCY or r.agency_id == user.agency_id]
    return {
        **summary(case),
        "description": case.description, "outcome": case.outcome, "outcome_note": case.outcome_note,
        "info_request": case.info_request, "updated_at": utc(case.updated_at),
        "assessment": None if assessment is None else {
            "findings": assessment.findings, "eligible": assessment.eligible,
            "recommended_services": assessment.recommended_services,
            "assessed_by": assessment.assessed_by.username, "created_at": utc(assessment.created_at),
        },
        "referrals": [referral(r) for r in referrals],
        "allowed_events": allowed_events(case, user),
    }


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
