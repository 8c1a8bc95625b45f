"""Writing and verifying the hash chain.

Each event's hash is SHA-256 over the previous hash and a canonical JSON
encoding of the event. Appends take a lock on the chain head so that several
app workers writing at once still produce one unbroken chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select, text

from puskesos.audit import sealing
from puskesos.audit.models import AuditEvent
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the PostgreSQL advisory lock that serialises appends.
CHAIN_LOCK_KEY = 0x5155534B


def canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, fields: dict) -> str:
    payload = prev_hash + "\n" + canonical(fields)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def hashed_fields(ev: AuditEvent) -> dict:
    """The fields the hash covers. `details` is hashed as stored text, so nothing is re-encoded."""
    return {
        "seq": ev.seq,
        "created_at": ev.created_at.isoformat(timespec="microseconds"),
        "actor_id": ev.actor_id,
        "actor_name": ev.actor_name,
        "actor_role": ev.actor_role,
        "action": ev.action,
        "case_id": ev.case_id,
        "case_number": ev.case_number,
        "region_code": ev.region_code,
        "details": ev.details,
    }


def lock_chain() -> None:
    """Hold the chain's lock for the rest of the transaction: a writer that claims other rows before appending
    (the SLA sweep) takes it first, so two such writers queue instead of deadlocking."""
    _lock_head()


def _lock_head() -> None:
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
    # SQLite: every transaction starts with BEGIN IMMEDIATE (see puskesos/database.py),
    # so this transaction already holds the only write lock.


def append(
    action: str,
    *,
    actor=None,
    case=None,
    region_code: str | None = None,
    details: dict | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Add an event to the chain inside the caller's transaction; the caller commits. A case's personal details
    are sealed under its key before they are hashed (`sealing.py`): the log never holds them in clear."""
    _lock_head()
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS_HASH)
    ev = AuditEvent(
        seq=seq,
        created_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else actor_name,
        actor_role=actor.role if actor is not None else None,
        action=action,
        case_id=case.id if case is not None else None,
        case_number=case.number if case is not None else None,
        region_code=region_code or (case.village_code if case is not None else None),
        details=canonical(sealing.seal(case.id if case is not None else None, details or {})),
        prev_hash=prev,
    )
    ev.hash = event_hash(prev, hashed_fields(ev))
    db.session.add(ev)
    db.session.flush()
    return ev


@dataclass
class Break:
    seq: int
    reason: str


@dataclass
class VerifyResult:
    checked: int
    first_break: Break | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(batch_size: int = 5000, progress=None) -> VerifyResult:
    """Walk the chain in sequence order, in constant memory, and stop at the first break."""
    return verify_from(0, GENESIS_HASH, batch_size, progress)


def verify_from(seq: int, hash_: str, batch_size: int = 5000, progress=None, observe=None) -> VerifyResult:
    """Walk the events after `seq`, linking from `hash_` (a checkpoint's head): the tail since the last checkpoint
    in seconds, or, from (0, GENESIS_HASH) with `observe`, the whole chain compared with the signed checkpoints.
    `observe(ev)` sees each event that links and hashes correctly (and may raise to stop there)."""
    lowest = db.session.execute(select(func.min(AuditEvent.seq))).scalar()
    if lowest is not None and lowest < 1:  # (refused by a CHECK since revision 0009; an older table may hold one)
        return VerifyResult(0, Break(lowest, f"event {lowest} is numbered before the chain's first event (1), "
                                             "where no verification would reach it"))
    expected_seq, prev, checked = seq + 1, hash_, 0
    for ev in _stream(batch_size, after=seq):
        if ev.seq != expected_seq:
            return VerifyResult(checked, Break(expected_seq, f"event {expected_seq} is missing (next is {ev.seq})"))
        if ev.prev_hash != prev:
            return VerifyResult(checked, Break(ev.seq, "previous-hash link does not match the event before it"))
        if event_hash(prev, hashed_fields(ev)) != ev.hash:
            return VerifyResult(checked, Break(ev.seq, "content does not match its hash"))
        if observe is not None:
            observe(ev)
        prev, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
        if progress is not None:
            progress(1)
    return VerifyResult(checked, _missing_tail(expected_seq))


# Events that record something about a case without changing it: no version bump (a NIK reveal, an escalation).
UNVERSIONED_ACTIONS = ("pii.viewed", "case.overdue", "referral.overdue", "letter.viewed", "letter.printed")


def _missing_tail(next_seq: int) -> Break | None:
    """A chain cut short still links up; the cases tell. Every write to a case bumps its version and
    writes one event (reading a NIK writes one too, without a version), so a case with fewer events
    than its version lost events at the end of the log (events that change nothing, UNVERSIONED_ACTIONS, aside)."""
    from puskesos.cases.models import Case

    events = (select(func.count(AuditEvent.seq)).where(AuditEvent.case_id == Case.id,
                                                       AuditEvent.action.not_in(UNVERSIONED_ACTIONS))
              .correlate(Case).scalar_subquery())
    row = db.session.execute(select(Case.number, Case.version, events.label("events"))
                             .where(events != Case.version).limit(1)).first()
    if row is None:
        return None
    return Break(next_seq, f"case {row.number} is at version {row.version} but has {row.events} events: "
                           f"events from {next_seq} on are missing")


def _stream(batch_size: int, after: int = 0) -> Iterator:
    """Keyset batches: constant memory on any database, no server-side cursor needed."""
    last = after
    while True:
        rows = db.session.execute(
            select(*AuditEvent.__table__.c).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch_size)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
