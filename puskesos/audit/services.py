"""Reading the audit log: a case's timeline and the supervisors' filtered log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from puskesos.accounts.jurisdiction import audit_filter
from puskesos.audit.models import AuditEvent
from puskesos.core.timeutil import WIB
from puskesos.extensions import db


def timeline(case) -> list[AuditEvent]:
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        .options(selectinload(AuditEvent.actor))
    ).scalars())


def details_of(event: AuditEvent) -> dict:
    try:
        return json.loads(event.details)
    except ValueError:
        return {}


@dataclass
class AuditFilters:
    case_number: str | None = None
    actor: str | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def _utc_start_of(day: dt.date) -> dt.datetime:
    """Supervisors ask for days in Indonesia (WIB); the log keeps naive UTC. Days beyond any event are clamped
    (the zone shift would overflow at the ends of the calendar)."""
    day = min(max(day, dt.date(1900, 1, 1)), dt.date(9999, 12, 30))
    return dt.datetime.combine(day, dt.time(), tzinfo=WIB).astimezone(dt.UTC).replace(tzinfo=None)


def log_query(user, filters: AuditFilters):
    """Events of the supervisor's area, newest first."""
    query = select(AuditEvent).where(audit_filter(user))
    if filters.case_number:
        query = query.where(AuditEvent.case_number == filters.case_number.strip().upper())
    if filters.actor:
        query = query.where(AuditEvent.actor_name == filters.actor.strip())
    if filters.action:
        action = filters.action.strip()
        query = query.where(AuditEvent.action.like(action.rstrip("*") + "%") if action.endswith("*")
                            else AuditEvent.action == action)
    if filters.since:
        query = query.where(AuditEvent.created_at >= _utc_start_of(filters.since))
    if filters.until and filters.until < dt.date(9999, 12, 30):
        query = query.where(AuditEvent.created_at < _utc_start_of(filters.until + dt.timedelta(days=1)))
    return query.order_by(AuditEvent.seq.desc())
