"""Who is told what: a declarative table from kinds to recipients, written in the event's own transaction.

`notify_event` is called by `cases.services.fire` right after the event's audit append, so a notification
exists exactly when its event committed: a refused event raises before it, a rolled-back one takes it along.
The sweep of overdue cases and referrals calls `notify` with its own kinds (rows of the same table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, literal_column, select, update

from puskesos.accounts.jurisdiction import can_read_case
from puskesos.accounts.models import User
from puskesos.accounts.roles import Role
from puskesos.cases.workflow import STATE_LABELS, State
from puskesos.core.errors import NotFound
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db
from puskesos.notifications.models import Notification
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, Referral, ReferralStatus


class Kind(StrEnum):
    CASE_SUBMITTED = "case.submitted"
    INFO_REQUESTED = "case.info_requested"
    REFERRAL_NEW = "referral.new"
    REFERRAL_ANSWERED = "referral.answered"
    CASE_OVERDUE = "case.overdue"
    REFERRAL_OVERDUE = "referral.overdue"


# -- audiences: who, for one case (and referral) ----------------------------------------------------------------

Audience = Callable[["object", "Referral | None"], list[User]]


def _active(*conditions) -> list[User]:
    return list(db.session.execute(select(User).where(User.active.is_(True), *conditions).order_by(User.id))
                .scalars())


def regency_caseworkers(case, _referral=None) -> list[User]:
    return _active(User.role == Role.CASEWORKER, User.region_code == case.regency_code)


def village_officers(case, _referral=None) -> list[User]:
    """The officers of the case's village; when it has none any more, its creator if still allowed to read it."""
    officers = _active(User.role == Role.OFFICER, User.region_code == case.village_code)
    if officers:
        return officers
    creator = db.session.get(User, case.created_by_id)
    return [creator] if creator is not None and creator.active and can_read_case(creator, case) else []


def agency_users(_case, referral: Referral | None) -> list[User]:
    if referral is None:
        return []
    return _active(User.role == Role.AGENCY, User.agency_id == referral.agency_id)


def caseworker_in_charge(case, _referral=None) -> list[User]:
    """The assigned caseworker while still able to act on the case, else every caseworker of the regency."""
    assignee = db.session.get(User, case.assignee_id) if case.assignee_id else None
    if assignee is not None and assignee.active and assignee.role == Role.CASEWORKER and can_read_case(assignee, case):
        return [assignee]
    return regency_caseworkers(case)


def area_supervisors(case, _referral=None) -> list[User]:
    """Supervisors of the case's regency and of its province."""
    return _active(User.role == Role.SUPERVISOR, User.region_code.in_([case.regency_code, case.province_code]))


def _pending(_case, referral: Referral | None) -> bool:
    """A referral reaches the agency only once it waits for its answer (not while a proposal awaits sign-off)."""
    return referral is not None and referral.status == ReferralStatus.PENDING


# -- the table ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    kind: Kind
    events: tuple[str, ...]  # workflow events that cause it (fired through cases.services.fire)
    audiences: tuple[Audience, ...]
    message: object  # a lazy string over the parameters below
    params: tuple[str, ...] = ("case",)
    when: Callable | None = None  # a further condition on (case, referral)


RULES: tuple[Rule, ...] = (
    Rule(Kind.CASE_SUBMITTED, ("submit",), (regency_caseworkers,),
         _l("Pengaduan %(case)s diajukan ke Dinsos dan menunggu asesmen.")),
    Rule(Kind.INFO_REQUESTED, ("request_info",), (village_officers,),
         _l("Dinsos meminta data tambahan untuk pengaduan %(case)s.")),
    Rule(Kind.REFERRAL_NEW, ("refer", "approve_referral"), (agency_users,),
         _l("Rujukan baru untuk %(agency)s: pengaduan %(case)s."), ("case", "agency"), when=_pending),
    Rule(Kind.REFERRAL_ANSWERED, ("accept", "decline", "report_service", "report_failure"), (caseworker_in_charge,),
         _l("Jawaban %(agency)s untuk pengaduan %(case)s: %(status)s."), ("case", "agency", "status")),
    # Written by the SLA sweep (`notify`), not by an event.
    Rule(Kind.CASE_OVERDUE, (), (caseworker_in_charge, area_supervisors),
         _l("Pengaduan %(case)s melewati tenggat tahap \u201c%(state)s\u201d."), ("case", "state")),
    Rule(Kind.REFERRAL_OVERDUE, (), (agency_users, caseworker_in_charge, area_supervisors),
         _l("Rujukan pengaduan %(case)s ke %(agency)s melewati tenggat (%(status)s)."),
         ("case", "agency", "status")),
)

RULE_OF: dict[str, Rule] = {rule.kind.value: rule for rule in RULES}
RULES_OF_EVENT: dict[str, list[Rule]] = {}
for _rule in RULES:
    for _event in _rule.events:
        RULES_OF_EVENT.setdefault(_event, []).append(_rule)

KIND_LABELS = {
    Kind.CASE_SUBMITTED: _l("Pengaduan diajukan"),
    Kind.INFO_REQUESTED: _l("Perlu data tambahan"),
    Kind.REFERRAL_NEW: _l("Rujukan baru"),
    Kind.REFERRAL_ANSWERED: _l("Jawaban instansi"),
    Kind.CASE_OVERDUE: _l("Pengaduan terlambat"),
    Kind.REFERRAL_OVERDUE: _l("Rujukan terlambat"),
}

# How a parameter is read from the case and referral when the notification is written (codes, not words).
PARAMS: dict[str, Callable] = {
    "case": lambda case, referral: case.number,
    "state": lambda case, referral: case.state,
    "agency": lambda case, referral: referral.agency.name if referral is not None else "",
    "status": lambda case, referral: referral.status if referral is not None else "",
}
# How a stored code is put into words when the notification is read.
WORDS: dict[str, Callable] = {
    "state": lambda code: STATE_LABELS.get(State(code), code) if code in set(State) else code,
    "status": lambda code: REFERRAL_STATUS_LABELS.get(ReferralStatus(code), code) if code in set(ReferralStatus)
    else code,
}


# -- writing --------------------------------------------------------------------------------------------------


def notify_event(case, event: str, actor, details: dict) -> int:
    """The notifications a workflow event causes, in the caller's transaction; returns how many."""
    rules = RULES_OF_EVENT.get(event)
    if not rules:
        return 0
    referral_id = details.get("referral_id")
    referral = next((r for r in case.referrals if r.id == referral_id), None) if referral_id else None
    return sum(notify(rule.kind, case, referral=referral, actor=actor) for rule in rules)


def notify(kind: Kind | str, case, *, referral: Referral | None = None, actor=None) -> int:
    """One notification per recipient of this kind's audiences (the actor, who knows, excepted)."""
    rule = RULE_OF[str(kind)]
    if rule.when is not None and not rule.when(case, referral):
        return 0
    recipients: dict[int, User] = {}
    for audience in rule.audiences:
        for user in audience(case, referral):
            recipients.setdefault(user.id, user)
    if actor is not None:
        recipients.pop(actor.id, None)
    if not recipients:
        return 0
    params = {name: PARAMS[name](case, referral) for name in rule.params}
    now = utcnow()
    mail = bool(current_app.config.get("MAIL_SERVER"))
    rows = [{"recipient_id": user.id, "kind": rule.kind.value, "case_id": case.id,
             "referral_id": referral.id if referral is not None else None, "params": params, "created_at": now,
             "email_to": user.email if mail and user.email else None,
             "next_attempt_at": now if mail and user.email else None, "attempts": 0}
            for user in recipients.values()]
    db.session.execute(insert(Notification), rows)
    return len(rows)


# -- reading --------------------------------------------------------------------------------------------------


def message(notification: Notification) -> str:
    """The notification's sentence in the current language, made from its kind and parameters."""
    rule = RULE_OF.get(notification.kind)
    params = dict(notification.params or {})
    if rule is None:
        return notification.kind
    values = {name: str(WORDS[name](params.get(name, "")) if name in WORDS else params.get(name, ""))
              for name in rule.params}
    return str(rule.message) % values


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def target(notification: Notification, user, **url_options) -> str:
    """Where the notification leads: the referral's page for an agency user, else the case's page."""
    if user.role == Role.AGENCY and notification.referral_id:
        return url_for("referrals.show", referral_id=notification.referral_id, **url_options)
    return url_for("cases.show", number=notification.params.get("case", ""), **url_options)


def _readable(user):
    """A notification names a case: once the user may no longer read that case (a referral declined, a move to
    another area), its notification is not shown either."""
    from puskesos.accounts.jurisdiction import case_filter
    from puskesos.cases.models import Case

    return Notification.case_id.in_(select(Case.id).where(case_filter(user)))


def user_notifications(user, unread: bool | None = None):
    """A SELECT of the user's notifications, newest first, optionally only unread (True) or read (False)."""
    query = select(Notification).where(Notification.recipient_id == user.id, _readable(user))
    if unread is True:
        query = query.where(Notification.read_at.is_(None))
    elif unread is False:
        query = query.where(Notification.read_at.is_not(None))
    return query.order_by(Notification.id.desc())


BELL_CAP = 99


def unread_count(user, cap: int = BELL_CAP) -> int:
    """Unread notifications, counted on the (recipient_id, read_at) index and only up to `cap` + 1."""
    rows = (select(literal_column("1")).where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
            .limit(cap + 1))
    return db.session.execute(select(func.count()).select_from(rows.subquery())).scalar_one()


def get_notification(user, notification_id: int | None) -> Notification:
    """The user's own notification; another user's, or none, is NotFound alike."""
    row = None
    if notification_id is not None:
        row = db.session.execute(select(Notification).where(
            Notification.id == notification_id, Notification.recipient_id == user.id, _readable(user),
        )).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("Notifikasi tidak ditemukan."))
    return row


def mark_read(user, notification_id: int | None) -> Notification:
    row = get_notification(user, notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.flush()
    return row


def mark_all_read(user) -> int:
    result = db.session.execute(update(Notification).where(Notification.recipient_id == user.id,
                                                           Notification.read_at.is_(None))
                                .values(read_at=utcnow()))
    return result.rowcount
