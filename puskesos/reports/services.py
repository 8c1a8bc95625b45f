"""Exports of the case list, the referral list and the audit log: the same queries as the lists, the same
jurisdiction, one audit event per export naming the filter and the row count.

Each export reads from its own connection in one read-only snapshot (PostgreSQL REPEATABLE READ; SQLite a
deferred read transaction, which in WAL mode never blocks writers): the rows are counted, the audit event is
written with that count through the request's session (committed by `exports.stream_response` before the first
byte leaves), and the file is then streamed from the same snapshot. So the count in the log is exactly the
number of rows in the file, and no file leaves without its event. Rows are fetched 1,000 at a time from one
cursor (a server-side cursor on PostgreSQL), so memory stays flat however many rows there are.

Personal data: NIK and KK (stored encrypted, decrypted row by row as the batches stream) are masked as on the
lists (`1603********0002`); phone numbers, birth dates, addresses and the complaint's text are left out (a
spreadsheet leaves the system; what a caseworker needs to call or visit is on the case page, where reading it is
audited).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from puskesos.accounts.jurisdiction import in_area
from puskesos.accounts.models import User
from puskesos.accounts.roles import ROLE_LABELS, Role
from puskesos.audit import sealing
from puskesos.audit.chain import append as audit
from puskesos.audit.models import AuditEvent
from puskesos.audit.present import action_label, describe
from puskesos.audit.services import AuditFilters, log_query
from puskesos.cases.intake import INTAKE_BY_NAME, SEX_LABELS
from puskesos.cases.models import Case, mask_number
from puskesos.cases.services import CaseFilters, get_case, scoped_cases
from puskesos.cases.vocabulary import CATEGORY_LABELS, DTKS_LABELS, OUTCOME_LABELS, URGENCY_LABELS
from puskesos.cases.workflow import STATE_LABELS, State, inputs_of
from puskesos.core.errors import BadRequest, NotFound
from puskesos.core.pii import mask_numbers
from puskesos.core.timeutil import today, utcnow, wib_date
from puskesos.extensions import db
from puskesos.referrals.inputs import DELIVERED_ON, REQUEST_INPUTS, SERVICE_GIVEN
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, Agency, Referral
from puskesos.referrals.services import referral_query
from puskesos.regions.models import Region
from puskesos.reports.exports import CONTENT_TYPES, FORMATS, Export, Sheet, wib, wib_offset, write

BATCH = 1000
# Who may export which list: those who can read it. The pages narrow further to the roles that have the page.
CASE_EXPORTERS = (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR, Role.AGENCY)
REFERRAL_EXPORTERS = (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR, Role.AGENCY)
AUDIT_EXPORTERS = (Role.SUPERVISOR,)
# Filters naming a region: outside the user's area they answer "not found", never an empty file.
REGION_FILTERS = ("village_code", "district_code")

BAD_FORMAT = _l("Format ekspor tidak dikenal. Pilih CSV atau XLSX.")
NOT_FOUND = _l("Halaman atau data tidak ditemukan.")

# Headers that are not an intake field's or an input's label (those are taken from their declarations).
NUMBER = _l("Nomor kasus")
STATUS = _l("Status")
VILLAGE_CODE = _l("Kode desa/kelurahan")
ASSIGNEE = _l("Petugas Dinsos")
REGISTERED_ON = _l("Tanggal pengaduan")
DUE = _l("Tenggat")
DAYS_IN_STEP = _l("Hari di tahap ini")
OVERDUE = _l("Terlambat")
CLOSED_ON = _l("Tanggal ditutup")
AGENCY = _l("Instansi")
REFERRAL_STATUS = _l("Status rujukan")
REFERRED_ON = _l("Dirujuk")
ANSWERED_ON = _l("Dijawab")
REASON = _l("Alasan")
YES, NO = _l("Ya"), _l("Tidak")


def check_format(fmt: str | None) -> str:
    if fmt not in FORMATS:
        raise BadRequest(BAD_FORMAT, {"format": [BAD_FORMAT]})
    return fmt


def _words(table: dict) -> dict[str, str]:
    """A label table in the reader's language, translated once per export rather than once per row."""
    return {str(key): str(label) for key, label in table.items()}


def _label(name: str) -> str:
    return str(INTAKE_BY_NAME[name].label)


def _reader() -> Connection:
    """A connection of its own holding one read-only snapshot for the count and the rows."""
    conn = db.engine.connect()
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    else:
        conn.execution_options(snapshot_read=True)  # puskesos/database.py: BEGIN, not BEGIN IMMEDIATE
    conn.begin()
    return conn


def _batches(conn: Connection, query) -> Iterator[list]:
    result = conn.execute(query, execution_options={"stream_results": True, "yield_per": BATCH})
    yield from result.partitions()


def _export(user, action: str, query, fmt: str, sheet: Sheet, rows, filters: dict, name: str) -> Export:
    """Count in the snapshot, write the audit event, and hand back the file to stream from the same snapshot."""
    conn = _reader()
    try:
        count = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
        audit(action, actor=user, region_code=user.region_code,
              details={"filters": filters, "format": fmt, "count": count})
    except BaseException:
        conn.close()
        raise

    def chunks() -> Iterator[bytes]:
        try:
            yield from write(fmt, sheet, (rows(batch) for batch in _batches(conn, query)))
        finally:
            conn.close()

    stamp = wib_date(utcnow()).strftime("%Y%m%d")
    filename = f"{name}-{(user.region_code or 'instansi').replace('.', '')}-{stamp}.{fmt}"
    return Export(filename, CONTENT_TYPES[fmt], count, chunks(), [conn.close])


def _named(filters) -> dict:
    """The filter as the audit event names it: what was set, nothing else; a NIK searched for is masked, as the
    log holds every NIK."""
    named = {key: value for key, value in dataclasses.asdict(filters).items() if value not in (None, False, "")}
    if isinstance(named.get("q"), str):
        named["q"] = mask_numbers(named["q"])
    return named


def _check_regions(user, filters) -> None:
    for name in REGION_FILTERS:
        code = getattr(filters, name, None)
        if not code:
            continue
        allowed = in_area(user, code) if user.region_code else (
            user.agency is not None and user.agency.serves(code))
        if not allowed:
            raise NotFound(NOT_FOUND)


# -- cases ----------------------------------------------------------------------------------------------------

CASE_COLUMNS = ("number", "state", "category", "urgency", "name", "nik", "kk_number", "sex", "village", "village_code",
                "dtks_status", "dtsen_decile", "assignee", "registered_on", "due", "days_in_step", "overdue",
                "outcome", "closed_on")
# An agency exports what its API view of a case shows (api/present.py AGENCY_CASE_FIELDS): not the household, the
# welfare data, the caseworker or how the case ended.
AGENCY_WITHHELD = frozenset({"kk_number", "sex", "dtks_status", "dtsen_decile", "assignee", "outcome", "closed_on"})


def export_cases(user, filters: CaseFilters, fmt: str) -> Export:
    """The filtered case list, oldest case first."""
    check_format(fmt)
    if user.role not in CASE_EXPORTERS:
        raise NotFound(NOT_FOUND)
    _check_regions(user, filters)
    assignee = aliased(User)
    query = (select(Case.number, Case.state, Case.category, Case.urgency, Case.name, Case.nik, Case.kk_number,
                    Case.sex, Region.name.label("village"), Case.village_code, Case.dtks_status, Case.dtsen_decile,
                    assignee.full_name.label("assignee"), Case.created_at, Case.due_on, Case.step_started_at,
                    Case.outcome, Case.closed_at)
             .select_from(Case).outerjoin(Region, Region.code == Case.village_code)
             .outerjoin(assignee, assignee.id == Case.assignee_id)
             .where(scoped_cases(user, filters).whereclause).order_by(Case.id))
    outcome = next(spec for spec in inputs_of("close") if spec.name == "outcome")
    keep = [i for i, column in enumerate(CASE_COLUMNS) if user.role != Role.AGENCY or column not in AGENCY_WITHHELD]
    headers = [
        str(NUMBER), str(STATUS), _label("category"), _label("urgency"), _label("name"), _label("nik"),
        _label("kk_number"), _label("sex"), _label("village_code"), str(VILLAGE_CODE), _label("dtks_status"),
        _label("dtsen_decile"), str(ASSIGNEE), str(REGISTERED_ON), str(DUE), str(DAYS_IN_STEP), str(OVERDUE),
        str(outcome.label), str(CLOSED_ON),
    ]
    kinds = ["label", "label", "label", "label", "text", "label", "label", "label", "label", "label", "label", "int",
             "text", "date", "date", "int", "label", "label", "date"]
    sheet = Sheet(str(_l("Kasus")), [headers[i] for i in keep], [kinds[i] for i in keep])
    states, categories, urgencies = _words(STATE_LABELS), _words(CATEGORY_LABELS), _words(URGENCY_LABELS)
    sexes, dtks, outcomes = _words(SEX_LABELS), _words(DTKS_LABELS), _words(OUTCOME_LABELS)
    yes, no, now, closed, offset = str(YES), str(NO), today(), State.CLOSED.value, wib_offset()

    def rows(batch) -> list[tuple]:
        out = []
        for (number, state, category, urgency, name, nik, kk, sex, village, village_code, dtks_status, decile,
             assignee_name, created_at, due_on, step_started_at, outcome_code, closed_at) in batch:
            is_open = state != closed
            out.append((
                number, states.get(state, state), categories.get(category, category), urgencies.get(urgency, urgency),
                name, mask_number(nik), mask_number(kk) if kk else None, sexes.get(sex) if sex else None, village,
                village_code, dtks.get(dtks_status, dtks_status), decile, assignee_name, (created_at + offset).date(),
                due_on, max(0, (now - (step_started_at + offset).date()).days) if is_open and step_started_at else None,
                (yes if due_on < now else no) if is_open and due_on else None,
                outcomes.get(outcome_code, outcome_code) if outcome_code else None,
                (closed_at + offset).date() if closed_at else None,
            ))
        return out if len(keep) == len(CASE_COLUMNS) else [tuple(row[i] for i in keep) for row in out]

    return _export(user, "export.cases", query, fmt, sheet, rows, _named(filters), "kasus")


# -- referrals ------------------------------------------------------------------------------------------------


def export_referrals(user, status: str | None, fmt: str) -> Export:
    """An agency's referrals, or those of the cases in a Dinsos user's area; oldest first."""
    check_format(fmt)
    if user.role not in REFERRAL_EXPORTERS:
        raise NotFound(NOT_FOUND)
    query = (select(Case.number, Agency.name.label("agency"), Referral.service, Referral.status,
                    Referral.created_at, Referral.due_on, Referral.answered_at, Referral.delivered_on,
                    Referral.service_given,
                    func.coalesce(Referral.decline_reason, Referral.failure_reason,
                                  Referral.revoke_reason).label("reason"),
                    Case.name, Case.nik, Region.name.label("village"), Case.village_code, Case.category)
             .select_from(Referral).join(Case, Case.id == Referral.case_id)
             .join(Agency, Agency.id == Referral.agency_id).outerjoin(Region, Region.code == Case.village_code)
             .where(referral_query(user, status).whereclause).order_by(Referral.id))
    service = next(spec for spec in REQUEST_INPUTS if spec.name == "service")
    sheet = Sheet(str(_l("Rujukan")), [
        str(NUMBER), str(AGENCY), str(service.label), str(REFERRAL_STATUS), str(REFERRED_ON), str(DUE),
        str(ANSWERED_ON), str(DELIVERED_ON.label), str(SERVICE_GIVEN.label), str(REASON), _label("name"),
        _label("nik"), _label("village_code"), str(VILLAGE_CODE), _label("category"),
    ], ["label", "text", "text", "label", "datetime", "date", "datetime", "date", "text", "text", "text", "label",
        "label", "label", "label"])
    statuses, categories, offset = _words(REFERRAL_STATUS_LABELS), _words(CATEGORY_LABELS), wib_offset()

    def rows(batch) -> list[tuple]:
        return [(
            number, agency, service, statuses.get(status, status), wib(created_at, offset), due_on,
            wib(answered_at, offset), delivered_on, service_given, reason, name, mask_number(nik), village,
            village_code, categories.get(category, category),
        ) for (number, agency, service, status, created_at, due_on, answered_at, delivered_on, service_given,
               reason, name, nik, village, village_code, category) in batch]

    return _export(user, "export.referrals", query, fmt, sheet, rows, {"status": status} if status else {},
                   "rujukan")


# -- the audit log --------------------------------------------------------------------------------------------


def export_audit(user, filters: AuditFilters, fmt: str) -> Export:
    """The supervisor's filtered log, in the order it was written; each event in words, as the log page shows
    it (personal details are sealed in the log itself and opened here for a reader of the area)."""
    check_format(fmt)
    if user.role not in AUDIT_EXPORTERS:
        raise NotFound(NOT_FOUND)
    if filters.case_number:
        get_case(user, filters.case_number.strip().upper())  # a case outside the area: not found
    actor = aliased(User)
    query = (select(AuditEvent.seq, AuditEvent.created_at, AuditEvent.actor_name, actor.full_name,
                    AuditEvent.actor_role, AuditEvent.action, AuditEvent.case_id, AuditEvent.case_number,
                    AuditEvent.region_code, AuditEvent.details, AuditEvent.hash)
             .select_from(AuditEvent).outerjoin(actor, actor.id == AuditEvent.actor_id)
             .where(log_query(user, filters).whereclause).order_by(AuditEvent.seq))
    sheet = Sheet(str(_l("Log audit")), [
        "#", str(_l("Waktu")), str(_l("Pengguna")), str(_l("Nama")), str(_l("Peran")), str(_l("Aksi")),
        str(_l("Kasus")), str(_l("Wilayah")), str(_l("Rincian")), str(_l("Hash")),
    ], ["int", "datetime", "text", "text", "label", "label", "label", "label", "text", "label"])
    roles, offset = _words(ROLE_LABELS), wib_offset()

    def rows(batch) -> list[tuple]:
        sealing.prime(r.case_id for r in batch)  # the batch's case keys in one query, to open their details
        out = [(
            r.seq, wib(r.created_at, offset), r.actor_name, r.full_name,
            roles.get(r.actor_role) if r.actor_role else None, str(action_label(r.action)), r.case_number,
            r.region_code, _in_words(r), r.hash,
        ) for r in batch]
        # Naming a village in the details reads the region table through the request's session: end that read
        # now, so that on SQLite it holds no lock while the file is being sent.
        db.session.rollback()
        return out

    named = {key: value for key, value in dataclasses.asdict(filters).items()
             if value not in (None, "", False) and key not in ("include_auth", "actor_by_name")}
    if not filters.include_auth and not filters.action:  # sign-ins left out (the log page's default)
        named["include_auth"] = False
    return _export(user, "export.audit", query, fmt, sheet, rows, named, "log-audit")


def _in_words(event) -> str:
    described = describe(event)
    parts = [f"{described.transition[0]} → {described.transition[1]}"] if described.transition else []
    parts += [f"{label}: {value}" for label, value in described.lines]
    return "; ".join(parts)

