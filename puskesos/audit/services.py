"""Reading the audit log: a case's timeline and the supervisors' filtered log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from puskesos.accounts.jurisdiction import audit_filter
from puskesos.accounts.models import User
from puskesos.audit import sealing
from puskesos.audit.models import AuditEvent
from puskesos.core.text import LIKE_ESCAPE, contains_pattern
from puskesos.core.timeutil import utc_start_of
from puskesos.extensions import db

AUTH_PREFIX = "auth."


def timeline(case) -> list[AuditEvent]:
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        .options(selectinload(AuditEvent.actor))
    ).scalars())


def details_of(event: AuditEvent) -> dict:
    """An event's details as written, personal values opened (`sealing.py`): every reader of the log (pages,
    exports, the API) reads them here. Prime a page's keys with `sealing.prime` first: one query, not one per
    case."""
    try:
        details = json.loads(event.details)
    except ValueError:
        return {}
    return sealing.open_details(getattr(event, "case_id", None), details) if isinstance(details, dict) else {}


@dataclass
class AuditFilters:
    case_number: str | None = None
    actor: str | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    include_auth: bool = True  # sign-ins and tokens; the log page hides them unless asked
    actor_by_name: bool = False  # `actor` may also be part of a full name (the page); the API matches usernames


def log_query(user, filters: AuditFilters):
    """Events of the supervisor's area, newest first."""
    query = select(AuditEvent).where(audit_filter(user))
    if filters.case_number:
        query = query.where(AuditEvent.case_number == filters.case_number.strip().upper())
    if filters.actor:
        # A username exactly (also one typed at a failed sign-in), or on the page part of a user's full name.
        who = filters.actor.strip()
        if filters.actor_by_name:
            named = select(User.id).where(User.full_name.ilike(contains_pattern(who), escape=LIKE_ESCAPE))
            query = query.where(or_(AuditEvent.actor_name == who, AuditEvent.actor_id.in_(named)))
        else:
            query = query.where(AuditEvent.actor_name == who)
    if filters.action:
        action = filters.action.strip()
        query = query.where(AuditEvent.action.like(action.rstrip("*") + "%") if action.endswith("*")
                            else AuditEvent.action == action)
    elif not filters.include_auth:
        query = query.where(AuditEvent.action.not_like(AUTH_PREFIX + "%"))
    if filters.since:
        query = query.where(AuditEvent.created_at >= utc_start_of(filters.since))
    if filters.until and filters.until < dt.date(9999, 12, 30):
        query = query.where(AuditEvent.created_at < utc_start_of(filters.until + dt.timedelta(days=1)))
    return query.order_by(AuditEvent.seq.desc())
