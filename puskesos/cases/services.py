"""Every write to a case goes through here: register, edit, fire an event, reveal a NIK.

Each function checks jurisdiction and permission, changes the models, writes
the audit event, and flushes; the caller (a view, the API or a command)
commits once, so the change and its audit event land together or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from puskesos.accounts.jurisdiction import can_read_case, case_filter, in_area
from puskesos.accounts.roles import Role
from puskesos.audit.chain import UNVERSIONED_ACTIONS
from puskesos.audit.chain import append as audit
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import details_of
from puskesos.cases.identity import check_nik
from puskesos.cases.intake import INTAKE, INTAKE_FIELDS
from puskesos.cases.models import Case, CaseCounter, mask_number
from puskesos.cases.workflow import (
    CASE_EVENTS,
    EVENTS,
    FOLLOWS_REFERRALS,
    REFERRAL_EVENTS,
    STATE_LABELS,
    CaseFlow,
    GuardFailed,
    State,
    deadline_days,
    roles_of,
    row_for,
    state_from_referrals,
)
from puskesos.core import pii
from puskesos.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, WorkflowRefused
from puskesos.core.ids import parse_id
from puskesos.core.inputs import validate
from puskesos.core.text import LIKE_ESCAPE, contains_pattern
from puskesos.core.timeutil import today, utc_start_of, utcnow
from puskesos.extensions import db
from puskesos.notifications.services import notify_event
from puskesos.referrals import services as referrals
from puskesos.referrals.models import OPEN_REFERRAL_STATUSES, Referral
from puskesos.referrals.workflow import offered as referral_events_offered
from puskesos.regions.models import Region
from puskesos.workdays.services import add_working_days

EDITABLE_STATES = (State.REGISTERED, State.NEEDS_INFO)
PII_FIELDS = ("nik", "kk_number")  # never in the audit log in full


class DuplicateFound(Conflict):
    """An open case already exists for this NIK or family card; `cases` are those the caller may open, and
    `history` every case of the same complainant the caller may open, closed ones too."""

    def __init__(self, message, cases: list[Case], elsewhere: int, history: list[Case] | None = None):
        super().__init__(message)
        self.cases = cases
        self.elsewhere = elsewhere
        self.history = history or []


class CaseChanged(Conflict):
    """Someone changed the case since the caller read it: `changes` are the audit events since that version,
    so the page can show what changed and who changed it beside what the user typed."""

    def __init__(self, message, case: Case, changes: list[AuditEvent]):
        super().__init__(message)
        self.case = case
        self.changes = changes


@dataclass
class Intake:
    values: dict
    warnings: list = field(default_factory=list)


# -- reading --------------------------------------------------------------------------------------------------


def get_case(user, number: str) -> Case:
    """The case with this number if the user may read it; NotFound otherwise, whatever the reason."""
    case = db.session.execute(select(Case).where(Case.number == str(number)[:32])).scalar_one_or_none()
    if case is None or not can_read_case(user, case):
        raise NotFound(_l("Kasus tidak ditemukan."))
    return case


def allowed_events(case: Case, user, actions: dict[int, list[str]] | None = None) -> list[str]:
    """The events the tables offer this user on this case now: the case table's, and the referral table's on any
    referral the user may see (guards about the inputs are checked when fired)."""
    if not can_read_case(user, case):
        return []
    flow = CaseFlow(case, user, dry_run=True)
    offered = {event for event in CASE_EVENTS if getattr(flow, f"may_{event}")()}
    for events in (referral_actions(case, user) if actions is None else actions).values():
        offered.update(events)
    return [event for event in EVENTS if event in offered]


def referral_actions(case: Case, user) -> dict[int, list[str]]:
    """Per referral of the case, the referral events this user may fire on it now (the referral table's dry
    run); a case page's referral rows and `allowed_events` read the same answer."""
    if not can_read_case(user, case):
        return {}
    return {referral.id: referral_events_offered(referral, user) for referral in case.referrals}


def complainant_history(user, nik: str | None, kk_number: str | None, exclude_id: int | None = None) -> list[Case]:
    """Every case with the same NIK or family card that the user may read, closed ones too, newest first."""
    keys = same_person(nik, kk_number)
    if keys is None:
        return []
    query = select(Case).where(keys, case_filter(user))
    if exclude_id is not None:
        query = query.where(Case.id != exclude_id)
    return list(db.session.execute(query.order_by(Case.id.desc()).limit(50)).scalars())


def same_person(nik: str | None, kk_number: str | None):
    """The condition "same NIK or same family card", through the keyed hashes (the numbers are stored
    encrypted); None when neither is given. Each hash is looked up through its own index and the case ids
    united: an OR of the two lets a planner walk a whole area in due-date order instead."""
    keys = [select(Case.id).where(column.in_(pii.lookups(value)))
            for column, value in ((Case.nik_hash, nik), (Case.kk_hash, kk_number)) if value]
    if not keys:
        return None
    return Case.id.in_(union(*keys) if len(keys) > 1 else keys[0])


def may_edit(case: Case, user) -> bool:
    return user.role == Role.OFFICER and case.state in EDITABLE_STATES and can_read_case(user, case)


# -- intake ---------------------------------------------------------------------------------------------------


def validate_intake(actor, data: dict) -> Intake:
    """Check and normalise intake fields (the INTAKE declarations), then what only a NIK and a village can say;
    every problem is reported at once, per field."""
    values, errors = validate(INTAKE, data, skip=("nik",))
    nik = check_nik(str(data.get("nik") or ""), birth_date=values.get("birth_date"), sex=values.get("sex"))
    if nik.valid and nik.birth_date > today():
        nik.errors.append(_l("Tanggal lahir pada NIK ada di masa depan."))
    if nik.valid:
        values.update(nik=nik.nik, birth_date=values.get("birth_date") or nik.birth_date,
                      sex=values.get("sex") or nik.sex)
    else:
        errors["nik"] = list(nik.errors)
    if "village_code" not in errors:
        village = db.session.get(Region, values["village_code"])
        if village is None or village.level != 4:
            errors["village_code"] = [_l("Pilih desa/kelurahan yang valid.")]
        elif not in_area(actor, village.code):
            errors["village_code"] = [_l("Desa/kelurahan ini di luar wilayah kerja Anda.")]
    if errors:
        raise ValidationFailed(_l("Periksa kembali isian yang ditandai."), errors)
    return Intake({name: values.get(name) for name in INTAKE_FIELDS}, list(nik.warnings))


def find_open_duplicates(nik: str | None, kk_number: str | None, exclude_id: int | None = None) -> list[Case]:
    """Open cases anywhere in the system with the same NIK or family card number."""
    keys = same_person(nik, kk_number)
    if keys is None:
        return []
    query = select(Case).where(keys, Case.state != State.CLOSED)
    if exclude_id is not None:
        query = query.where(Case.id != exclude_id)
    return list(db.session.execute(query.order_by(Case.id).limit(20)).scalars())


def _check_duplicates(actor, intake: Intake, exclude_id: int | None = None) -> None:
    found = find_open_duplicates(intake.values.get("nik"), intake.values.get("kk_number"), exclude_id)
    if found:
        visible = [c for c in found if can_read_case(actor, c)]
        raise DuplicateFound(
            _l("NIK atau nomor KK ini sudah memiliki pengaduan yang masih terbuka. Periksa dulu sebelum menyimpan."),
            visible, len(found) - len(visible),
            complainant_history(actor, intake.values.get("nik"), intake.values.get("kk_number"), exclude_id))


def register(actor, data: dict, *, confirm_duplicate: bool = False) -> tuple[Case, list]:
    """Create a case in `registered`; returns it with the warnings the officer should see."""
    if actor.role != Role.OFFICER:
        raise Forbidden(_l("Hanya petugas Puskesos yang dapat mendaftarkan pengaduan."))
    intake = validate_intake(actor, data)
    if not confirm_duplicate:
        _check_duplicates(actor, intake)
    village_code = intake.values["village_code"]
    now = utcnow()
    case = Case(state=State.REGISTERED.value, created_by_id=actor.id, updated_by_id=actor.id, created_at=now,
                updated_at=now, step_started_at=now, **intake.values)
    _place(case, village_code)
    _set_due(case)
    case.number = _next_number(case.regency_code, today().year)
    db.session.add(case)
    db.session.flush()
    audit("case.created", actor=actor, case=case, details={
        "state": case.state,
        "fields": {k: _audit_value(k, v) for k, v in intake.values.items() if v not in (None, "")},
        "duplicate_confirmed": bool(confirm_duplicate),
    })
    return case, intake.warnings


def update_intake(case: Case, actor, data: dict, *, expected_version: int | None,
                  confirm_duplicate: bool = False) -> tuple[Case, list]:
    if not can_read_case(actor, case):
        raise NotFound(_l("Kasus tidak ditemukan."))
    if not may_edit(case, actor):
        raise WorkflowRefused(_l("Data pengaduan hanya dapat diubah oleh petugas desa selama kasus berstatus "
                                 "terdaftar atau perlu data tambahan."))
    _check_version(case, expected_version)
    intake = validate_intake(actor, data)
    if not confirm_duplicate and (intake.values["nik"] != case.nik or intake.values["kk_number"] != case.kk_number):
        _check_duplicates(actor, intake, exclude_id=case.id)
    diff = {}
    with db.session.no_autoflush:
        for name, new in intake.values.items():
            old = getattr(case, name)
            if old != new:
                diff[name] = [_audit_value(name, old), _audit_value(name, new)]
                setattr(case, name, new)
        if not diff:
            return case, intake.warnings
        _place(case, case.village_code)
        _touch(case, actor)
    _flush_or_conflict(case)
    audit("case.updated", actor=actor, case=case, details={"changes": diff})
    return case, intake.warnings


def _audit_value(name: str, value):
    """Audit details never hold a full NIK or KK: the log is read more widely than the case."""
    if name in PII_FIELDS and value:
        return mask_number(value)
    return value


def _place(case: Case, village_code: str) -> None:
    parts = village_code.split(".")
    case.province_code = parts[0]
    case.regency_code = ".".join(parts[:2])
    case.district_code = ".".join(parts[:3])


def _next_number(regency_code: str, year: int) -> str:
    """`SLRT-1603-2026-000123`: a counter row per regency and year, bumped under its row lock."""
    table = CaseCounter.__table__
    insert_fn = {"postgresql": pg_insert, "sqlite": sqlite_insert}[db.session.get_bind().dialect.name]
    db.session.execute(insert_fn(table).values(regency_code=regency_code, year=year, last=0).on_conflict_do_nothing())
    serial = db.session.execute(
        update(table).where(table.c.regency_code == regency_code, table.c.year == year)
        .values(last=table.c.last + 1).returning(table.c.last)
    ).scalar_one()
    return f"SLRT-{regency_code.replace('.', '')}-{year}-{serial:06d}"


# -- the workflow ---------------------------------------------------------------------------------------------


def fire(case: Case, event: str, actor, /, *, expected_version: int | None = None, **inputs) -> Case:
    """Run one workflow event on a case for an actor, with the inputs its row of the table takes.

    Case events run the case table; referral events run the referral table on the referral they name, and the
    case then follows its referrals. Either way one version bump, one audit event, one transaction.
    """
    if not can_read_case(actor, case):
        raise NotFound(_l("Kasus tidak ditemukan."))
    _check_version(case, expected_version)
    if event not in EVENTS:
        raise WorkflowRefused(_l("Aksi tidak dikenal."))
    before = case.state
    # One flush at the end: an autoflush halfway (a guard's or a due date's query) would bump the version twice.
    with db.session.no_autoflush:
        if event in REFERRAL_EVENTS:
            referral, details = referrals.answer(case, event, actor, inputs)
            case.state = state_from_referrals(case.referrals).value
        else:
            referral, details = _fire_case_event(case, event, actor, inputs)
        if case.state != before:
            case.step_started_at = utcnow()
        if case.state != before or deadline_days(case.state) == FOLLOWS_REFERRALS:
            _set_due(case)
        _touch(case, actor)
    _flush_or_conflict(case)
    prefix = "referral" if event in REFERRAL_EVENTS else "case"
    details = {"from": before, "to": case.state, **details}
    if referral is not None:
        details["referral_id"] = referral.id
    audit(f"{prefix}.{event}", actor=actor, case=case, details=details)
    notify_event(case, event, actor, details)
    return case


def _fire_case_event(case: Case, event: str, actor, inputs: dict):
    row = row_for(event, case.state, actor.role)
    if row is None:
        raise WorkflowRefused(_why_not(case, event, actor))
    values, errors = validate(row.inputs, inputs, restrict=row.choices)
    if errors:
        raise WorkflowRefused(_l("Periksa kembali isian yang ditandai."), errors)
    flow = CaseFlow(case, actor, values)
    try:
        fired = flow.trigger(event)
    except GuardFailed as refusal:
        raise WorkflowRefused(refusal.message, {refusal.field: [refusal.message]} if refusal.field else None) \
            from None
    if not fired:
        raise WorkflowRefused(_why_not(case, event, actor))
    case.state = flow.state if row.dest is not None else state_from_referrals(case.referrals).value
    return flow.referral, flow.audit_details


def _why_not(case: Case, event: str, actor):
    if actor.role not in roles_of(event):
        return _l("Peran Anda tidak dapat melakukan aksi ini.")
    return _l("Aksi ini tidak tersedia untuk kasus berstatus \u201c%(state)s\u201d.",
              state=STATE_LABELS[State(case.state)])


def _set_due(case: Case) -> None:
    """The deadline of the step the case is in now: its own working days from today, or, while referrals are
    out, the earliest due date of those still open."""
    days = deadline_days(case.state)
    if days == FOLLOWS_REFERRALS:
        dues = [(r.due_on, r.due_estimated) for r in case.referrals if r.is_open and r.due_on is not None]
        case.due_on, case.due_estimated = min(dues) if dues else (None, False)
    elif days:
        due = add_working_days(today(), days)
        case.due_on, case.due_estimated = due.day, due.estimated
    else:
        case.due_on, case.due_estimated = None, False


def _touch(case: Case, actor) -> None:
    """Every write moves the version on, even one that leaves every column as it was (a second referral in the
    same instant, say): the chain's check counts one event per version."""
    case.updated_at = utcnow()
    case.updated_by_id = actor.id
    flag_modified(case, "updated_at")


def _check_version(case: Case, expected_version) -> None:
    if expected_version is None:
        return
    changed = stale(case, expected_version)
    if changed is not None:
        raise changed


def stale(case: Case, seen_version) -> CaseChanged | None:
    """The conflict a form of `seen_version` meets now, with the changes since; None while it is current."""
    try:
        seen = int(seen_version)
    except (TypeError, ValueError):
        seen = -1
    return None if seen == case.version else _conflict(case, seen)


def _flush_or_conflict(case: Case) -> None:
    """The version column makes a concurrent writer's UPDATE match no row; that is a conflict, not a crash."""
    case_id, seen = case.id, case.version  # read before the flush: a failed flush expires the object
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise _conflict(db.session.get(Case, case_id), seen) from None


def changes_since(case: Case, version: int) -> list[AuditEvent]:
    """The audit events that moved the case past `version`: every write to a case bumps its version by one and
    writes one event (a NIK reveal writes one without a version), so they are its events after the first
    `version`."""
    version = max(0, min(version, case.version))  # a version nobody ever saw shows every change, or none
    query = (select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.action.not_in(UNVERSIONED_ACTIONS))
             .order_by(AuditEvent.seq).offset(version).options(joinedload(AuditEvent.actor)))
    return list(db.session.execute(query).scalars())


def taken_over(changed: CaseChanged, typed: dict) -> list[str]:
    """Intake fields a colleague changed meanwhile that the user left as they were: those take the new value, so
    sending the form again keeps both people's work. A field the user changed too stays as the user typed it."""
    values, errors = validate(INTAKE, typed)
    names = []
    for event in changed.changes:
        if event.action != "case.updated":
            continue
        for name, (old, _new) in details_of(event).get("changes", {}).items():
            if name in errors:
                continue  # what the user typed there is not even valid: it stays, for them to mend
            mine = values.get(name)
            if name == "nik":
                mine = check_nik(str(typed.get("nik") or "")).nik
            if _audit_value(name, mine) == old or (mine is not None and str(_audit_value(name, mine)) == str(old)):
                names.append(name)
    return list(dict.fromkeys(names))


def _conflict(case: Case, seen_version: int) -> CaseChanged:
    who = case.updated_by.full_name if case.updated_by else "?"
    message = _l("Kasus ini sudah diubah oleh %(who)s pada %(when)s. Muat ulang halaman lalu ulangi.",
                 who=who, when=format_datetime(case.updated_at, "d MMM yyyy HH:mm"))
    return CaseChanged(message, case, changes_since(case, seen_version))


# -- personal data --------------------------------------------------------------------------------------------


def reveal_nik(case: Case, actor) -> str | None:
    """The full NIK, for a user in scope; each reveal is an audit event (UU 27/2022)."""
    if not can_read_case(actor, case):
        raise NotFound(_l("Kasus tidak ditemukan."))
    audit("pii.viewed", actor=actor, case=case, details={"field": "nik"})
    return case.nik


def record_pii_view(case: Case, actor, names=PII_FIELDS, *, shown_on: str = "edit") -> None:
    """A page showing a full NIK or KK other than by a reveal (the officer's edit form, which shows them so they
    can be corrected): one `pii.viewed` event per number shown, as a reveal writes."""
    if not can_read_case(actor, case):
        raise NotFound(_l("Kasus tidak ditemukan."))
    for name in names:
        if name in PII_FIELDS and getattr(case, name):
            audit("pii.viewed", actor=actor, case=case, details={"field": name, "form": shown_on})


# -- lists ----------------------------------------------------------------------------------------------------


@dataclass
class CaseFilters:
    state: str | None = None  # a state, or "open"
    village_code: str | None = None
    category: str | None = None
    overdue: bool = False
    q: str | None = None
    assignee_id: int | None = None
    # Filters the dashboard's numbers link to (each number is the length of one such list).
    district_code: str | None = None
    agency_id: int | None = None  # with a referral to this agency (of `referral`, when given)
    referral: str | None = None  # a referral status, or "overdue": an open referral past its due date
    decile_max: int | None = None  # DTSEN decile 1..decile_max
    unserved: bool = False  # no referral completed yet
    opened_week: dt.date | None = None  # created in the WIB week starting that day
    closed_week: dt.date | None = None


def scoped_cases(user, filters: CaseFilters):
    """A SELECT of the cases the user may read, narrowed by the filters."""
    query = select(Case).where(case_filter(user))
    if filters.state == "open":
        query = query.where(Case.state != State.CLOSED)
    elif filters.state:
        query = query.where(Case.state == filters.state)
    if filters.village_code:
        query = query.where(Case.village_code == filters.village_code)
    if filters.category:
        query = query.where(Case.category == filters.category)
    if filters.overdue:
        query = query.where(Case.due_on < today(), Case.state != State.CLOSED)
    if filters.assignee_id is not None:
        query = query.where(Case.assignee_id == filters.assignee_id)
    if filters.district_code:
        query = query.where(Case.district_code == filters.district_code)
    if filters.agency_id is not None or filters.referral:
        query = query.where(_with_referral(filters.agency_id, filters.referral))
    if filters.decile_max is not None:
        query = query.where(Case.dtsen_decile.between(1, filters.decile_max))
    if filters.unserved:
        query = query.where(~_with_referral(None, "completed"))
    for column, week in ((Case.created_at, filters.opened_week), (Case.closed_at, filters.closed_week)):
        if week is not None:
            start = utc_start_of(week)
            query = query.where(column >= start, column < start + dt.timedelta(days=7))
    if filters.q:
        q = filters.q.strip()
        digits = q.replace(" ", "")
        if len(digits) == 16 and digits.isdigit():
            query = query.where(same_person(digits, digits))
        elif q.upper().startswith("SLRT-"):
            query = query.where(Case.number == q.upper())
        else:
            pattern = contains_pattern(q)
            query = query.where(or_(Case.name.ilike(pattern, escape=LIKE_ESCAPE),
                                    Case.number.like(pattern, escape=LIKE_ESCAPE)))
    return query


def _with_referral(agency_id: int | None, referral: str | None):
    """The case has a referral to this agency (any, when None) of this status, or open and past its due date."""
    condition = Referral.case_id == Case.id
    if agency_id is not None:
        condition = and_(condition, Referral.agency_id == agency_id)
    if referral == "overdue":
        condition = and_(condition, Referral.status.in_(OPEN_REFERRAL_STATUSES), Referral.due_on < today())
    elif referral:
        condition = and_(condition, Referral.status == referral)
    return exists(select(Referral.id).where(condition))


COUNT_CAP = 500  # counts above a list stop here ("500+"): a count never walks a whole area


def state_counts(user, filters: CaseFilters | None = None, cap: int | None = None) -> dict[str, int]:
    """Cases per state under the same filters as the list (its state aside), so each count is what the list
    would show for that state. Each state is counted through its own index range and only up to `cap` + 1 rows:
    exact below the cap, "more than the cap" above it, at the same cost in a village or a province."""
    cap = COUNT_CAP if cap is None else cap
    narrowed = dataclasses.replace(filters or CaseFilters(), state=None)
    counts = {}
    for state in State:
        rows = scoped_cases(user, narrowed).where(Case.state == state.value).with_only_columns(Case.id).limit(cap + 1)
        counts[state.value] = db.session.execute(select(func.count()).select_from(rows.subquery())).scalar_one()
    return {state: n for state, n in counts.items() if n}


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def page_cases(user, filters: CaseFilters, cursor: str | None = None, limit: int = 50) -> Page:
    """Keyset pages ordered by due date (no date last), then id: cheap at any depth."""
    query = scoped_cases(user, filters)
    after = parse_cursor(cursor)
    if after is not None:
        due, case_id = after
        if due is None:
            query = query.where(Case.due_on.is_(None), Case.id > case_id)
        else:
            query = query.where(or_(Case.due_on > due, and_(Case.due_on == due, Case.id > case_id),
                                    Case.due_on.is_(None)))
    query = query.order_by(Case.due_on.asc().nulls_last(), Case.id.asc()).limit(limit + 1)
    query = query.options(joinedload(Case.assignee))
    rows = list(db.session.execute(query).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = f"{last.due_on.isoformat() if last.due_on else '-'}.{last.id}"
    return Page(rows, next_cursor)


def parse_cursor(cursor: str | None) -> tuple[dt.date | None, int] | None:
    """A cursor someone edited by hand starts the list from the top instead of failing."""
    if not cursor:
        return None
    try:
        due_text, id_text = cursor.rsplit(".", 1)
        due = None if due_text == "-" else dt.date.fromisoformat(due_text)
    except ValueError:
        return None
    case_id = parse_id(id_text)
    return None if case_id is None else (due, case_id)
