"""The person's rights under Law 27/2022: seeing everything held about oneself, and being forgotten in time.

Subject access: a supervisor types a NIK and gets every case of that complainant inside the supervisor's area
(the jurisdiction rule of `accounts/jurisdiction.py`, nothing new), with its assessments, referrals and timeline
in words, as a printable page or as JSON. Each export is one audit event that names the NIK masked.

Retention: a case closed longer than the retention period loses its complainant's personal data. What the
dashboards and the recap count (state, category, outcome, urgency, regions, dates, referral statuses and
agencies, the assignee) stays, so their numbers do not move; each case's erasure is one version and one audit
event, so `audit verify` still counts one event per version. The audit log itself is never changed: the case's
data key is destroyed instead, so the personal details its events hold, sealed under it, read "(dihapus)" from
then on (`audit/sealing.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from puskesos.accounts.jurisdiction import case_filter
from puskesos.accounts.roles import ROLE_LABELS, Role
from puskesos.audit import sealing
from puskesos.audit.chain import append as audit
from puskesos.audit.models import AuditEvent
from puskesos.audit.present import describe
from puskesos.cases.identity import check_nik
from puskesos.cases.intake import INTAKE
from puskesos.cases.models import Assessment, Case, mask_number
from puskesos.cases.vocabulary import OUTCOME_LABELS
from puskesos.cases.workflow import (
    CLOSE_NOTE,
    ELIGIBLE,
    FINDINGS,
    INFO_NOTE,
    OUTCOME,
    RECOMMENDED,
    STATE_LABELS,
    State,
)
from puskesos.core import pii
from puskesos.core.errors import Forbidden, ValidationFailed
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db
from puskesos.referrals.inputs import (
    DECLINE_REASON,
    DELIVERED_ON,
    FAILURE_REASON,
    REQUEST_INPUTS,
    RETURN_NOTE,
    REVOKE_REASON,
    SERVICE_GIVEN,
)
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, Referral

FORMATS = ("html", "json")
RETENTION_ACTOR = "retention"  # the audit log's actor name for `flask retention apply`
# What an erased complainant is called in lists and on letters: stored, so every page that shows a name says so.
ANONYMISED_NAME = "(data pribadi dihapus)"

# The complainant's personal data on a case, and the free texts that describe the person or their situation.
# Kept: number, state, category, urgency, outcome, village and region codes, dates, due dates, assignee, version:
# what the dashboards, the recap and the SLA figures count (see dashboards/services.py). Sex and birth date go
# too: no figure counts them. `description` is NOT NULL and becomes empty text.
CASE_ERASED = ("nik", "kk_number", "name", "sex", "birth_date", "phone", "address", "rt", "rw", "dtks_status",
               "dtsen_decile", "reporter_name", "reporter_relation", "reporter_phone", "description",
               "info_request", "outcome_note")
ASSESSMENT_ERASED = ("findings", "recommended_services")  # `eligible` stays: a decision, not a description
# Free texts typed about the person by Dinsos, the supervisor and the agency. Agency, status, consent, dates and
# the letter number stay (the referral figures and the public letter check read them).
REFERRAL_ERASED = ("service", "reason", "decline_reason", "service_given", "revoke_reason", "failure_reason",
                   "return_note")


# -- finding a person's cases ---------------------------------------------------------------------------------


def person_cases(nik: str):
    """The one place that says which cases are this person's: those whose complainant NIK is this NIK, found
    through its keyed hash (`core/pii.py`; the number itself is stored encrypted and cannot be compared).

    NIK only, not the family card: a KK match would hand over the spouse's and the children's complaints, which
    are other people's data.
    """
    return select(Case).where(Case.nik_hash.in_(pii.lookups(nik)))


def checked_nik(raw: str | None) -> str:
    """A NIK as the intake checks it (structure, date, serial); ValidationFailed says what is wrong."""
    result = check_nik((raw or "").strip()[:40])
    if not result.valid:
        raise ValidationFailed(_l("NIK tidak valid."), {"nik": list(result.errors)})
    return result.nik


# -- subject access -------------------------------------------------------------------------------------------


@dataclass
class Line:
    """One fact in words: its label, the text shown, and the stored value (for the JSON file)."""

    key: str
    label: str
    text: str
    value: object = None


@dataclass
class Entry:
    """One audit event of a case, as `audit/present.py` puts it into words."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    label: str
    transition: tuple[str, str] | None
    lines: list[tuple[str, str]]


@dataclass
class Record:
    case: Case
    complainant: list[Line]
    complaint: list[Line]
    assessments: list[list[Line]]
    referrals: list[list[Line]]
    timeline: list[Entry]


@dataclass
class SubjectAccess:
    nik: str
    area_code: str
    generated_at: dt.datetime
    generated_by: str
    records: list[Record] = field(default_factory=list)

    @property
    def nik_masked(self) -> str:
        return mask_number(self.nik)


def subject_access(user, raw_nik: str | None, fmt: str) -> SubjectAccess:
    """Everything held about the person with this NIK in the supervisor's area; one `export.subject_access`
    event in the caller's transaction (the caller commits before sending). A bad NIK exports and records
    nothing."""
    if user.role != Role.SUPERVISOR or not user.region_code:
        raise Forbidden(_l("Hanya supervisor yang dapat mengekspor data pribadi seseorang."))
    if fmt not in FORMATS:
        raise ValidationFailed(_l("Format tidak dikenal."), {"format": [_l("Pilih HTML atau JSON.")]})
    nik = checked_nik(raw_nik)
    cases = list(db.session.execute(
        person_cases(nik).where(case_filter(user)).order_by(Case.created_at, Case.id)
        .options(selectinload(Case.referrals), selectinload(Case.assessments).selectinload(Assessment.assessed_by))
    ).scalars())
    events = _timelines([c.id for c in cases])
    doc = SubjectAccess(nik, user.region_code, utcnow(), user.full_name)
    doc.records = [Record(c, _complainant(c), _complaint(c), [_assessment(a) for a in c.assessments],
                          [_referral(r) for r in c.referrals], events.get(c.id, [])) for c in cases]
    audit("export.subject_access", actor=user, region_code=user.region_code,
          details={"nik": mask_number(nik), "format": fmt, "cases": len(cases)})
    return doc


def _timelines(case_ids: list[int]) -> dict[int, list[Entry]]:
    result: dict[int, list[Entry]] = {}
    if not case_ids:
        return result
    rows = db.session.execute(select(AuditEvent).where(AuditEvent.case_id.in_(case_ids))
                              .order_by(AuditEvent.seq).options(selectinload(AuditEvent.actor))).scalars()
    sealing.prime(case_ids)
    for ev in rows:
        said = describe(ev)
        result.setdefault(ev.case_id, []).append(Entry(
            ev.seq, ev.created_at, ev.actor.full_name if ev.actor else (ev.actor_name or "—"),
            str(ROLE_LABELS.get(ev.actor_role, ev.actor_role or "")), str(said.label),
            tuple(str(s) for s in said.transition) if said.transition else None,
            [(str(label), str(text)) for label, text in said.lines]))
    return result


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        return format_datetime(value, "d MMMM yyyy, HH:mm")
    if isinstance(value, dt.date):
        return format_date(value, "d MMMM yyyy")
    return str(value)


def _complainant(case: Case) -> list[Line]:
    """The intake fields, in the intake form's order and words, in full: this is the person's own data."""
    from puskesos.web.templating import region_name

    lines = []
    for spec in INTAKE:
        if spec.name in ("category", "urgency", "description"):
            continue  # the complaint's, below
        value = getattr(case, spec.name)
        if spec.name == "village_code":
            text = region_name(value)
        elif spec.choices is not None and value not in (None, ""):
            text = str(spec.choice_label(value))
        else:
            text = _text(value)
        lines.append(Line(spec.name, str(spec.label), text, value))
    return lines


def _complaint(case: Case) -> list[Line]:
    """The complaint and what Dinsos wrote on it, each named as the form that took it names it."""
    specs = {spec.name: spec for spec in INTAKE}
    lines = [Line("number", str(_l("Nomor kasus")), case.number, case.number),
             Line("state", str(_l("Status")), str(STATE_LABELS.get(State(case.state), case.state)), case.state)]
    for name in ("category", "urgency", "description"):
        value = getattr(case, name)
        text = str(specs[name].choice_label(value)) if specs[name].choices is not None else _text(value)
        lines.append(Line(name, str(specs[name].label), text, value))
    lines += [
        Line("info_request", str(INFO_NOTE.label), _text(case.info_request), case.info_request),
        Line("outcome", str(OUTCOME.label), str(OUTCOME_LABELS.get(case.outcome, case.outcome or "—")), case.outcome),
        Line("outcome_note", str(CLOSE_NOTE.label), _text(case.outcome_note), case.outcome_note),
        Line("created_at", str(_l("Didaftarkan")), _text(case.created_at), case.created_at),
        Line("closed_at", str(_l("Ditutup")), _text(case.closed_at), case.closed_at),
    ]
    return lines


def _assessment(assessment: Assessment) -> list[Line]:
    return [
        Line("findings", str(FINDINGS.label), _text(assessment.findings), assessment.findings),
        Line("eligible", str(ELIGIBLE.label), str(ELIGIBLE.choice_label(assessment.eligible)), assessment.eligible),
        Line("recommended_services", str(RECOMMENDED.label), _text(assessment.recommended_services),
             assessment.recommended_services),
        Line("assessed_by", str(_l("Oleh")), assessment.assessed_by.full_name, assessment.assessed_by.username),
        Line("created_at", str(_l("Tanggal")), _text(assessment.created_at), assessment.created_at),
    ]


# A referral's answers, named as the agency's and the supervisor's forms name them; shown when given.
REFERRAL_ANSWERS = (("letter_number", _l("Nomor surat")), ("answered_at", _l("Dijawab")),
                    ("decline_reason", DECLINE_REASON.label), ("service_given", SERVICE_GIVEN.label),
                    ("delivered_on", DELIVERED_ON.label), ("failure_reason", FAILURE_REASON.label),
                    ("revoke_reason", REVOKE_REASON.label), ("return_note", RETURN_NOTE.label))


def _referral(referral: Referral) -> list[Line]:
    request = {spec.name: spec for spec in REQUEST_INPUTS}
    lines = [
        Line("agency", str(request["agency_id"].label), referral.agency.name, referral.agency.name),
        Line("service", str(request["service"].label), _text(referral.service), referral.service),
        Line("reason", str(request["reason"].label), _text(referral.reason), referral.reason),
        Line("consent", str(_l("Persetujuan")), str(request["consent"].choice_label(referral.consent)),
             referral.consent),
        Line("status", str(_l("Status")), str(REFERRAL_STATUS_LABELS.get(referral.status, referral.status)),
             referral.status),
        Line("created_at", str(_l("Dirujuk")), _text(referral.created_at), referral.created_at),
    ]
    lines += [Line(name, str(label), _text(getattr(referral, name)), getattr(referral, name))
              for name, label in REFERRAL_ANSWERS if getattr(referral, name) not in (None, "")]
    return lines


def as_json(doc: SubjectAccess) -> dict:
    """The same document as data: each fact with its stored value and its words."""
    def facts(lines: list[Line]) -> dict:
        return {line.key: {"label": line.label, "value": _plain(line.value), "text": line.text} for line in lines}

    return {
        "document": str(_l("Data pribadi yang disimpan Puskesos")),
        "nik": doc.nik,
        "area": {"code": doc.area_code, "name": _region(doc.area_code)},
        "generated_at": doc.generated_at.isoformat(timespec="seconds") + "Z",
        "generated_by": doc.generated_by,
        "note": str(OTHER_AREAS_NOTE),
        "cases": [{
            "number": r.case.number,
            "complainant": facts(r.complainant),
            "complaint": facts(r.complaint),
            "assessments": [facts(a) for a in r.assessments],
            "referrals": [facts(ref) for ref in r.referrals],
            "timeline": [{"seq": e.seq, "at": e.at.isoformat(timespec="seconds") + "Z", "actor": e.actor,
                          "role": e.role, "event": e.label,
                          "transition": list(e.transition) if e.transition else None,
                          "details": [{"label": label, "text": text} for label, text in e.lines]}
                         for e in r.timeline],
        } for r in doc.records],
    }


OTHER_AREAS_NOTE = _l("Dokumen ini hanya memuat kasus di wilayah kerja Dinas Sosial ini. Dinas Sosial di wilayah "
                      "lain menyimpan catatan mereka sendiri; permintaan atas data itu diajukan kepada mereka.")


def _plain(value):
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _region(code: str) -> str:
    from puskesos.web.templating import region_name

    return region_name(code)


# -- retention ------------------------------------------------------------------------------------------------


def retention_cutoff(years: int, now: dt.datetime | None = None) -> dt.datetime:
    """`years` calendar years before now (29 February falls back to the 28th)."""
    now = now or utcnow()
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def due_for_retention(cutoff: dt.datetime):
    """Closed before the cutoff and not yet erased, oldest id first (the batches walk the primary key)."""
    return select(Case).where(Case.state == State.CLOSED, Case.closed_at < cutoff, Case.anonymised_at.is_(None))


def count_due(cutoff: dt.datetime) -> int:
    return db.session.execute(select(func.count()).select_from(due_for_retention(cutoff).subquery())).scalar_one()


def _blank(model, name: str):
    """What an erased column holds: NULL where it may, else empty text (the state's default for a status)."""
    column = model.__table__.c[name]
    if column.nullable:
        return None
    if name == "name":
        return ANONYMISED_NAME
    if column.default is not None and not callable(column.default.arg):
        return column.default.arg
    return ""


def anonymise(case: Case, years: int) -> Case:
    """Erase one case's personal data: one version, one `case.anonymised` event (no personal data in it). The
    caller commits. A case that is not closed, or already erased, is refused."""
    if case.state != State.CLOSED or case.closed_at is None:
        raise ValidationFailed(_l("Hanya kasus yang sudah ditutup yang dapat dianonimkan."))
    if case.anonymised_at is not None:
        raise ValidationFailed(_l("Data pribadi kasus ini sudah dihapus."))
    now = utcnow()
    with db.session.no_autoflush:  # one UPDATE of the case: one version
        for name in CASE_ERASED:  # erasing `nik` and `kk_number` erases their keyed hashes too (the model's rule)
            setattr(case, name, _blank(Case, name))
        for assessment in case.assessments:
            for name in ASSESSMENT_ERASED:
                setattr(assessment, name, _blank(Assessment, name))
        for referral in case.referrals:
            for name in REFERRAL_ERASED:
                setattr(referral, name, _blank(Referral, name))
        case.anonymised_at = now
        case.updated_at = now
        flag_modified(case, "updated_at")
        sealing.destroy(case.id)  # the personal details its audit events hold, sealed, can no longer be read
    db.session.flush()
    audit("case.anonymised", actor_name=RETENTION_ACTOR, case=case,
          details={"retention_years": years, "closed_at": case.closed_at.date().isoformat()})
    return case


@dataclass
class RetentionResult:
    cutoff: dt.datetime
    due: int
    anonymised: int


def apply_retention(years: int, *, dry_run: bool = False, batch_size: int = 200,
                    progress: Callable[[int], None] | None = None,
                    started: Callable[[int], None] | None = None) -> RetentionResult:
    """Anonymise every case due, committing after each batch: an interrupted run keeps what it did, and the
    next run starts with what is left (the erased ones no longer match). A dry run only counts."""
    if years < 1:
        raise ValidationFailed(_l("Masa retensi paling sedikit 1 tahun."))
    cutoff = retention_cutoff(years)
    due = count_due(cutoff)
    if started is not None:
        started(due)
    if dry_run:
        return RetentionResult(cutoff, due, 0)
    done, last = 0, 0
    while True:
        batch = list(db.session.execute(
            due_for_retention(cutoff).where(Case.id > last).order_by(Case.id).limit(batch_size)
            .options(selectinload(Case.referrals), selectinload(Case.assessments))).scalars())
        if not batch:
            break
        for case in batch:
            anonymise(case, years)
        db.session.commit()
        last = batch[-1].id
        done += len(batch)
        if progress is not None:
            progress(len(batch))
    return RetentionResult(cutoff, due, done)
