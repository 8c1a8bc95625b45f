"""Jurisdiction: which cases, referrals, regions and events a user may see.

Written once and used by every query, service, view and template. A case
outside the caller's area is reported as not found, never as forbidden.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.sql import ColumnElement

from puskesos.accounts.models import User
from puskesos.accounts.roles import Role
from puskesos.regions.models import level_of


def _level_column(model, code: str):
    return {1: model.province_code, 2: model.regency_code, 3: model.district_code, 4: model.village_code}[
        level_of(code)
    ]


# An agency reaches a case only through a referral it is working on or has served. A declined or revoked
# referral ends its access: the complainant's consent covered that referral, not the case.
AGENCY_ACCESS = ("pending", "accepted", "completed", "failed")


def in_area(user: User, region_code: str | None) -> bool:
    """Is this region (a village, say) inside the user's own area?"""
    if not region_code or not user.region_code:
        return False
    return region_code == user.region_code or region_code.startswith(user.region_code + ".")


def case_filter(user: User) -> ColumnElement[bool]:
    """SQL condition limiting `Case` rows to those the user may read."""
    from puskesos.cases.models import Case
    from puskesos.referrals.models import Referral

    role = user.role
    if role in (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR) and user.region_code:
        return _level_column(Case, user.region_code) == user.region_code
    if role == Role.AGENCY and user.agency_id:
        return exists(
            select(Referral.id).where(and_(Referral.case_id == Case.id, Referral.agency_id == user.agency_id,
                                           Referral.status.in_(AGENCY_ACCESS)))
        )
    return false()


def can_read_case(user: User, case) -> bool:
    role = user.role
    if role in (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR):
        return in_area(user, case.village_code)
    if role == Role.AGENCY:
        return any(r.agency_id == user.agency_id and r.status in AGENCY_ACCESS for r in case.referrals)
    return False


def referral_filter(user: User) -> ColumnElement[bool]:
    """Referrals an agency user answers, or those of cases in a Dinsos user's area."""
    from puskesos.cases.models import Case
    from puskesos.referrals.models import Referral

    if user.role == Role.AGENCY:
        if not user.agency_id:
            return false()
        return and_(Referral.agency_id == user.agency_id, Referral.status.in_(AGENCY_ACCESS))
    if user.role in (Role.CASEWORKER, Role.SUPERVISOR, Role.OFFICER):
        return Referral.case_id.in_(select(Case.id).where(case_filter(user)))
    return false()


def audit_filter(user: User) -> ColumnElement[bool]:
    """Audit events a supervisor may read: those of its area (case or user region)."""
    from puskesos.audit.models import AuditEvent

    if user.role != Role.SUPERVISOR or not user.region_code:
        return false()
    code = user.region_code
    return or_(AuditEvent.region_code == code, AuditEvent.region_code.like(code + ".%"))

