"""Reading the audit log: a case's timeline and the supervisors' filtered log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from puskesos.accounts.jurisdiction import audit_filter
from puskesos.audit.models import AuditEvent
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
        query = query.where(AuditEvent.created_at >= dt.datetime.combine(filters.since, dt.time()))
    if filters.until:
        query = query.where(AuditEvent.created_at <= dt.datetime.combine(filters.until, dt.time.max))
    return query.order_by(AuditEvent.seq.desc())
