"""Every write to a case goes through here: register, edit, fire an event, reveal a NIK.

Each function checks jurisdiction and permission, changes the models, writes
the audit event, and flushes; the caller (a view, the API or a command)
commits once, so the change and its audit event land together or not at all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from transitions import MachineError

from puskesos.accounts.jurisdiction import can_read_case, case_filter, in_area
from puskesos.accounts.roles import Role
from puskesos.audit.chain import append as audit
from puskesos.cases.identity import check_nik, clean_kk, clean_phone
from puskesos.cases.models import Case, CaseCounter, Category, DtksStatus, Urgency, mask_number
from puskesos.cases.workflow import EVENTS, REFERRAL_EVENTS, STATE_LABELS, CaseFlow, GuardFailed, State, roles_of
from puskesos.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, WorkflowRefused
from puskesos.core.ids import parse_id
from puskesos.core.timeutil import today, utcnow
from puskesos.extensions import db
from puskesos.referrals.models import Referral
from puskesos.regions.models import Region
from puskesos.workdays.services import add_working_days

EDITABLE_STATES = (State.REGISTERED, State.NEEDS_INFO)

# Intake fields an officer fills and may later correct, in form order.
INTAKE_FIELDS = (
    "nik", "kk_number", "name", "birth_date", "sex", "phone", "village_code", "address", "rt", "rw",
    "dtks_status", "dtsen_decile", "category", "urgency", "description",
    "reporter_name", "reporter_relation", "reporter_phone",
)
PII_FIELDS = ("nik", "kk_number")


class DuplicateFound(Conflict):
    """An open case already exists for this NIK or family card; `cases` are those the caller may open."""

    def __init__(self, message, cases: list[Case], elsewhere: int):
        super().__init__(message)
        self.cases = cases
        self.elsewhere = elsewhere


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


def allowed_events(case: Case, user) -> list[str]:
    """The events the table offers this user on this case now (guards are checked when fired)."""
    if not can_read_case(user, case):
        return []
    flow = CaseFlow(case, user, dry_run=True)
    return [event for event in EVENTS if getattr(flow, f"may_{event}")()]


def may_edit(case: Case, user) -> bool:
    return user.role == Role.OFFICER and case.state in EDITABLE_STATES and can_read_case(user, case)


# -- intake ---------------------------------------------------------------------------------------------------


def validate_intake(actor, data: dict) -> Intake:
    """Check and normalise intake fields; every problem is reported at once, per field."""
    errors: dict[str, list] = {}
    values: dict = {}
    warnings: list = []

    def fail(name: str, message) -> None:
        errors.setdefault(name, []).append(message)

    def text(name: str, limit: int, required: bool = False) -> str | None:
        value = str(data.get(name) or "").strip()
        if required and not value:
            fail(name, _l("Wajib diisi."))
        elif len(value) > limit:
            fail(name, _l("Paling banyak %(n)s karakter.", n=limit))
        return value or None

    birth_date = data.get("birth_date") or None
    if birth_date is not None and not isinstance(birth_date, dt.date):
        try:
            birth_date = dt.date.fromisoformat(str(birth_date))
        except ValueError:
            fail("birth_date", _l("Tanggal lahir tidak valid."))
            birth_date = None
    if birth_date is not None and not dt.date(1900, 1, 1) <= birth_date <= today():
        fail("birth_date", _l("Tanggal lahir harus antara 1900 dan hari ini."))
        birth_date = None
    sex = str(data.get("sex") or "").strip().upper() or None
    if sex not in (None, "L", "P"):
        fail("sex", _l("Jenis kelamin harus L atau P."))
        sex = None

    nik = check_nik(str(data.get("nik") or ""), birth_date=birth_date, sex=sex)
    if nik.valid and nik.birth_date > today():
        nik.errors.append(_l("Tanggal lahir pada NIK ada di masa depan."))
    if nik.valid:
        values.update(nik=nik.nik, birth_date=birth_date or nik.birth_date, sex=sex or nik.sex)
        warnings.extend(nik.warnings)
    else:
        errors["nik"] = list(nik.errors)

    for name, cleaner in (("kk_number", clean_kk), ("phone", clean_phone), ("reporter_phone", clean_phone)):
        try:
            values[name] = cleaner(str(data.get(name) or ""))
        except ValueError as exc:
            fail(name, str(exc))

    values["name"] = text("name", 120, required=True)
    values["address"] = text("address", 255)  # may follow later: `submit` needs it, registering does not
    values["description"] = text("description", 5000, required=True)
    values["reporter_name"] = text("reporter_name", 120)
    values["reporter_relation"] = text("reporter_relation", 60)
    for name in ("rt", "rw"):
        value = text(name, 3)
        digits = bool(value) and re.fullmatch(r"[0-9]{1,3}", value) is not None
        if value and not digits:
            fail(name, _l("Isi dengan angka, misalnya 003."))
        values[name] = value.zfill(3) if digits else None

    values["category"] = _choice(data.get("category"), Category, None, "category", fail)
    values["urgency"] = _choice(data.get("urgency"), Urgency, Urgency.NORMAL, "urgency", fail)
    values["dtks_status"] = _choice(data.get("dtks_status"), DtksStatus, DtksStatus.UNKNOWN, "dtks_status", fail)

    decile = data.get("dtsen_decile")
    if decile in (None, ""):
        values["dtsen_decile"] = None
    else:
        try:
            values["dtsen_decile"] = int(decile)
            if not 1 <= values["dtsen_decile"] <= 10:
                raise ValueError
        except (TypeError, ValueError):
            fail("dtsen_decile", _l("Desil DTSEN antara 1 dan 10."))

    village_code = str(data.get("village_code") or "").strip()
    village = db.session.get(Region, village_code) if village_code else None
    if village is None or village.level != 4:
        fail("village_code", _l("Pilih desa/kelurahan yang valid."))
    elif not in_area(actor, village_code):
        fail("village_code", _l("Desa/kelurahan ini di luar wilayah kerja Anda."))
    values["village_code"] = village_code

    if errors:
        raise ValidationFailed(_l("Periksa kembali isian yang ditandai."), errors)
    return Intake(values, warnings)


def _choice(value, enum, default, name, fail):
    value = str(value or "").strip()
    if not value:
        if default is None:
            fail(name, _l("Wajib diisi."))
        return default
    if value not in {e.value for e in enum}:
        fail(name, _l("Pilihan tidak dikenal."))
        return default
    return value


def find_open_duplicates(nik: str | None, kk_number: str | None, exclude_id: int | None = None) -> list[Case]:
    """Open cases anywhere in the system with the same NIK or family card number."""
    keys = []
    if nik:
        keys.append(Case.nik == nik)
    if kk_number:
        keys.append(Case.kk_number == kk_number)
    if not keys:
        return []
    query = select(Case).where(or_(*keys), Case.state != State.CLOSED)
    if exclude_id is not None:
        query = query.where(Case.id != exclude_id)
    return list(db.session.execute(query.order_by(Case.id).limit(20)).scalars())


def _check_duplicates(actor, intake: Intake, exclude_id: int | None = None) -> None:
    found = find_open_duplicates(intake.values.get("nik"), intake.values.get("kk_number"), exclude_id)
    if found:
        visible = [c for c in found if can_read_case(actor, c)]
        raise DuplicateFound(
            _l("NIK atau nomor KK ini sudah memiliki pengaduan yang masih terbuka. Periksa dulu sebelum menyimpan."),
            visible, len(found) - len(visible))


def register(actor, data: dict, *, confirm_duplicate: bool = False) -> tuple[Case, list]:
    """Create a case in `registered`; returns it with the warnings the officer should see."""
    if actor.role != Role.OFFICER:
        raise Forbidden(_l("Hanya petugas Puskesos yang dapat mendaftarkan pengaduan."))
    intake = validate_intake(actor, data)
    if not confirm_duplicate:
        _check_duplicates(actor, intake)
    village_code = intake.values["village_code"]
    case = Case(state=State.REGISTERED.value, created_by_id=actor.id, updated_by_id=actor.id, **intake.values)
    _place(case, village_code)
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
    """Run one workflow event on a case for an actor, with the inputs its row of the table takes."""
    if not can_read_case(actor, case):
        raise NotFound(_l("Kasus tidak ditemukan."))
    _check_version(case, expected_version)
    if event not in EVENTS:
        raise WorkflowRefused(_l("Aksi tidak dikenal."))
    before = case.state
    # One flush at the end: an autoflush halfway (a guard's or a due date's query) would bump the version twice.
    with db.session.no_autoflush:
        flow = CaseFlow(case, actor, inputs)
        try:
            fired = flow.trigger(event)
        except GuardFailed as refusal:
            raise WorkflowRefused(refusal.message, {refusal.field: [refusal.message]} if refusal.field else None) \
                from None
        except MachineError:
            fired = False
        if not fired:
            raise WorkflowRefused(_why_not(case, event, actor))
        case.state = flow.state
        if case.state != before:
            _set_due(case)
        _set_referral_due(flow.referral, event)
        _touch(case, actor)
    _flush_or_conflict(case)
    prefix = "referral" if event in REFERRAL_EVENTS else "case"
    details = {"from": before, "to": case.state, **flow.audit_details}
    if flow.referral is not None:
        details["referral_id"] = flow.referral.id
    audit(f"{prefix}.{event}", actor=actor, case=case, details=details)
    return case


def _why_not(case: Case, event: str, actor):
    if actor.role not in roles_of(event):
        return _l("Peran Anda tidak dapat melakukan aksi ini.")
    return _l("Aksi ini tidak tersedia untuk kasus berstatus \u201c%(state)s\u201d.",
              state=STATE_LABELS[State(case.state)])


def _set_due(case: Case) -> None:
    days = current_app.config["SLA_DAYS"].get(case.state)
    if not days:
        case.due_on, case.due_estimated = None, False
        return
    due = add_working_days(today(), days)
    case.due_on, case.due_estimated = due.day, due.estimated


def _set_referral_due(referral: Referral | None, event: str) -> None:
    if referral is None:
        return
    config = current_app.config
    if event == "refer":
        referral.due_on = add_working_days(today(), config["REFERRAL_ANSWER_DAYS"]).day
    elif event == "accept":
        referral.due_on = add_working_days(today(), config["SLA_DAYS"].get(State.IN_SERVICE, 14)).day
    else:
        referral.due_on = None


def _touch(case: Case, actor) -> None:
    case.updated_at = utcnow()
    case.updated_by_id = actor.id


def _check_version(case: Case, expected_version) -> None:
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        expected = -1
    if expected != case.version:
        raise _conflict(case)


def _flush_or_conflict(case: Case) -> None:
    """The version column makes a concurrent writer's UPDATE match no row; that is a conflict, not a crash."""
    case_id = case.id  # read before the flush: a failed flush expires the object with the transaction
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise _conflict(db.session.get(Case, case_id)) from None


def _conflict(case: Case) -> Conflict:
    who = case.updated_by.full_name if case.updated_by else "?"
    return Conflict(_l("Kasus ini sudah diubah oleh %(who)s pada %(when)s. Muat ulang halaman lalu ulangi.",
                       who=who, when=format_datetime(case.updated_at, "d MMM yyyy HH:mm")))


# -- personal data --------------------------------------------------------------------------------------------


def reveal_nik(case: Case, actor) -> str:
    """The full NIK, for a user in scope; each reveal is an audit event (UU 27/2022)."""
    if not can_read_case(actor, case):
        raise NotFound(_l("Kasus tidak ditemukan."))
    audit("pii.viewed", actor=actor, case=case, details={"field": "nik"})
    return case.nik


# -- lists ----------------------------------------------------------------------------------------------------


@dataclass
class CaseFilters:
    state: str | None = None  # a state, or "open"
    village_code: str | None = None
    category: str | None = None
    overdue: bool = False
    q: str | None = None
    assignee_id: int | None = None


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
    if filters.q:
        q = filters.q.strip()
        digits = q.replace(" ", "")
        if len(digits) == 16 and digits.isdigit():
            query = query.where(or_(Case.nik == digits, Case.kk_number == digits))
        elif q.upper().startswith("SLRT-"):
            query = query.where(Case.number == q.upper())
        else:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(Case.name.ilike(pattern, escape="\\"), Case.number.like(pattern, escape="\\")))
    return query


def state_counts(user, filters: CaseFilters | None = None) -> dict[str, int]:
    base = scoped_cases(user, filters or CaseFilters()).with_only_columns(Case.state, func.count())
    return dict(db.session.execute(base.group_by(Case.state)).all())


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
