"""Escalation: `flask sla sweep` finds cases and referrals that went past the deadline of the step they are in.

For each one, once per step, it writes a `case.overdue` or `referral.overdue` audit event and the
notifications that tell who must act (the assigned caseworker or the regency's, the area's supervisors; for a
referral also the agency), all in one transaction. It is safe to run from cron every few minutes on several
servers at once: the step's key is inserted with ON CONFLICT DO NOTHING, and only the sweep whose insert went
through writes the event. Escalations change nothing on the case (no version bump: an officer's open form is
not made stale by the clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from puskesos.audit.chain import append as audit
from puskesos.audit.chain import lock_chain
from puskesos.cases.models import Case
from puskesos.core.timeutil import today, utcnow
from puskesos.extensions import db
from puskesos.notifications.services import notify
from puskesos.referrals.models import OPEN_REFERRAL_STATUSES, Referral
from puskesos.reports.escalations import Escalation

BATCH = 500
SWEEPER = "sla"  # the audit log's actor name for the sweep


@dataclass
class SweepResult:
    cases: int = 0
    referrals: int = 0


def case_step_key(case: Case) -> str:
    return f"case:{case.id}:{case.state}:{case.step_started_at:%Y%m%d%H%M%S%f}"


def referral_step_key(referral: Referral) -> str:
    return f"referral:{referral.id}:{referral.status}:{referral.status_since:%Y%m%d%H%M%S%f}"


def _claim(key: str, case_id: int, referral_id: int | None) -> bool:
    """Insert the step's key; True only for the sweep that inserted it."""
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[db.session.get_bind().dialect.name]
    row = db.session.execute(
        insert(Escalation.__table__).values(key=key, case_id=case_id, referral_id=referral_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"]).returning(Escalation.__table__.c.id)
    ).first()
    return row is not None


def _batches(query, key_column) -> Iterator[list]:
    """Keyset batches by id: constant memory however many are overdue."""
    last = 0
    while True:
        rows = list(db.session.execute(query.where(key_column > last).order_by(key_column).limit(BATCH))
                    .unique().scalars())
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _escalate(query, key_column, key_of, escalate) -> int:
    """Escalate each row of `query` whose step has no escalation yet. What is already escalated is skipped
    before the chain's lock is taken, so a sweep that finds nothing new holds up no other writer."""
    count = 0
    for rows in _batches(query, key_column):
        keys = {row.id: key_of(row) for row in rows}
        seen = set(db.session.execute(select(Escalation.key).where(Escalation.key.in_(keys.values()))).scalars())
        todo = [row for row in rows if keys[row.id] not in seen]
        if not todo:
            db.session.rollback()
            continue
        lock_chain()  # before the claims: a second sweep waits here, then finds the keys taken
        for row in todo:
            if escalate(row, keys[row.id]):
                count += 1
        db.session.commit()
    return count


def _escalate_cases(day: dt.date) -> int:
    def escalate(case: Case, key: str) -> bool:
        if not _claim(key, case.id, None):
            return False
        audit("case.overdue", actor=None, actor_name=SWEEPER, case=case, details={
            "step": case.state, "due_on": case.due_on.isoformat(), "days_late": (day - case.due_on).days,
            "assignee": case.assignee.username if case.assignee else None})
        notify("case.overdue", case)
        return True

    query = select(Case).where(Case.due_on < day).options(joinedload(Case.assignee))  # closed: no due date
    return _escalate(query, Case.id, case_step_key, escalate)


def _escalate_referrals(day: dt.date) -> int:
    def escalate(referral: Referral, key: str) -> bool:
        if not _claim(key, referral.case_id, referral.id):
            return False
        audit("referral.overdue", actor=None, actor_name=SWEEPER, case=referral.case, details={
            "referral_id": referral.id, "agency": referral.agency.name, "status": referral.status,
            "due_on": referral.due_on.isoformat(), "days_late": (day - referral.due_on).days})
        notify("referral.overdue", referral.case, referral=referral)
        return True

    query = (select(Referral).where(and_(Referral.due_on < day, Referral.status.in_(OPEN_REFERRAL_STATUSES)))
             .options(joinedload(Referral.case).joinedload(Case.assignee)))
    return _escalate(query, Referral.id, referral_step_key, escalate)


def sweep() -> SweepResult:
    """Escalate every case and referral past the deadline of its current step, once per step, and notify who
    must act (notifications' `case.overdue` / `referral.overdue` rows); commits in batches."""
    day = today()
    return SweepResult(cases=_escalate_cases(day), referrals=_escalate_referrals(day))
