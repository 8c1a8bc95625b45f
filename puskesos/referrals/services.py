"""Agencies (admin-managed), reading referrals, and the referral's life: created by `refer`, answered by the
agency or withdrawn by Dinsos through the referral table. Every referral event enters through
`cases.services.fire`, which checks the case's version, writes the audit event and keeps the case in step."""

from __future__ import annotations

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from puskesos.accounts.jurisdiction import referral_filter
from puskesos.accounts.models import User
from puskesos.accounts.roles import Role
from puskesos.audit.chain import append as audit
from puskesos.cases.models import Case
from puskesos.core.errors import Forbidden, NotFound, ValidationFailed, WorkflowRefused
from puskesos.core.ids import parse_id
from puskesos.core.inputs import validate
from puskesos.core.timeutil import today, wib_date
from puskesos.extensions import db
from puskesos.referrals.inputs import REFERRAL_ID
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, Agency, AgencyKind, Referral, ReferralStatus
from puskesos.referrals.workflow import ReferralFlow, deadline_days, initial_status, offered, step_of
from puskesos.regions.models import Region
from puskesos.workdays.services import add_working_days


def _check(name: str, kind: str, region_code: str, errors: dict, agency_id: int | None = None) -> Region | None:
    name = (name or "").strip()
    if not name or len(name) > 150:
        errors["name"] = [_l("Nama instansi wajib diisi (paling banyak 150 karakter).")]
    else:
        clash = select(Agency.id).where(func.lower(Agency.name) == name.lower())
        if agency_id is not None:
            clash = clash.where(Agency.id != agency_id)
        if db.session.execute(clash).first():
            errors["name"] = [_l("Nama instansi sudah ada.")]
    if kind not in {k.value for k in AgencyKind}:
        errors["kind"] = [_l("Jenis instansi tidak dikenal.")]
    region = db.session.get(Region, region_code or "")
    if region is None or region.level > 3:
        errors["region_code"] = [_l("Pilih wilayah layanan: provinsi, kabupaten/kota atau kecamatan.")]
    return region


def create_agency(actor: User | None, *, name: str, kind: str, region_code: str, contact: str | None = None) -> Agency:
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(_l("Hanya admin sistem yang dapat mengelola instansi."))
    errors: dict = {}
    region = _check(name, kind, region_code, errors)
    if errors:
        raise ValidationFailed(_l("Periksa kembali isian yang ditandai."), errors)
    agency = Agency(name=name.strip(), kind=kind, region_code=region.code, contact=(contact or "").strip() or None)
    db.session.add(agency)
    db.session.flush()
    audit("agency.created", actor=actor, actor_name="cli" if actor is None else None, region_code=agency.region_code,
          details={"agency_id": agency.id, "name": agency.name, "kind": kind, "region_code": agency.region_code})
    return agency


def update_agency(actor: User, agency_id: int, *, name: str, kind: str, region_code: str, contact: str | None,
                  active: bool) -> Agency:
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("Hanya admin sistem yang dapat mengelola instansi."))
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(_l("Instansi tidak ditemukan."))
    errors: dict = {}
    region = _check(name, kind, region_code, errors, agency_id=agency.id)
    if errors:
        raise ValidationFailed(_l("Periksa kembali isian yang ditandai."), errors)
    new = {"name": name.strip(), "kind": kind, "region_code": region.code,
           "contact": (contact or "").strip() or None, "active": bool(active)}
    diff = {k: [getattr(agency, k), v] for k, v in new.items() if getattr(agency, k) != v}
    for key, value in new.items():
        setattr(agency, key, value)
    if diff:
        db.session.flush()
        audit("agency.updated", actor=actor, region_code=agency.region_code,
              details={"agency_id": agency.id, "changes": diff})
    return agency


def list_agencies() -> list[Agency]:
    return list(db.session.execute(select(Agency).order_by(Agency.name)).scalars())


def agencies_serving(village_code: str) -> list[Agency]:
    """Active agencies whose area contains this village (a province, regency or district code)."""
    parts = village_code.split(".")
    codes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    query = select(Agency).where(Agency.active.is_(True), Agency.region_code.in_(codes)).order_by(Agency.name)
    return list(db.session.execute(query).scalars())


def referral_query(user: User, status: str | None = None):
    query = select(Referral).where(referral_filter(user)).order_by(Referral.id.desc())  # newest first
    if status:
        query = query.where(Referral.status == status)
    return query


def signoff_queue(user: User, after: int | None = None, limit: int = 50) -> list[Referral]:
    """Referrals waiting for this supervisor's sign-off (their regency's), oldest first: the oldest is the most
    overdue. A page of `limit` after the referral id `after`."""
    if user.role != Role.SUPERVISOR or not user.region_code:
        return []
    query = (select(Referral).join(Referral.case).where(referral_filter(user),
                                                       Referral.status == ReferralStatus.PROPOSED.value,
                                                       Case.regency_code == user.region_code)
             .order_by(Referral.id).limit(limit).options(joinedload(Referral.case), joinedload(Referral.created_by)))
    if after is not None:
        query = query.where(Referral.id > after)
    return list(db.session.execute(query).scalars())


def get_referral(user: User, referral_id: int) -> Referral:
    referral = db.session.execute(
        select(Referral).where(Referral.id == referral_id, referral_filter(user))
    ).scalar_one_or_none()
    if referral is None:
        raise NotFound(_l("Rujukan tidak ditemukan."))
    return referral


def agencies_in_area(user: User) -> list[Agency]:
    """Agencies serving somewhere in the user's area (for filters and the API)."""
    if not user.region_code:
        return list_agencies() if user.role == Role.ADMIN else []
    code = user.region_code
    parts = code.split(".")
    ancestors = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    query = select(Agency).where(or_(Agency.region_code.in_(ancestors), Agency.region_code.like(code + ".%")))
    return list(db.session.execute(query.order_by(Agency.name)).scalars())


# -- the referral's life (called by cases.services.fire, which owns the case's transaction and audit event) ----


def set_due(referral: Referral) -> None:
    """A referral's own clock: its current status's deadline from today, none once it is answered for good."""
    days = deadline_days(referral.status)
    due = add_working_days(today(), days) if days else None
    referral.due_on, referral.due_estimated = (due.day, due.estimated) if due else (None, False)


def referrable_agency(case, agency_id) -> Agency:
    """The agency a case may be referred to now: active, serving the case's village, no referral open there."""
    agency = db.session.get(Agency, parse_id(agency_id) or 0)
    if agency is None or not agency.active or not agency.serves(case.village_code):
        raise WorkflowRefused(_l("Pilih instansi aktif yang melayani wilayah kasus ini."),
                              {"agency_id": [_l("Pilih instansi aktif yang melayani wilayah kasus ini.")]})
    if any(r.agency_id == agency.id and r.is_open for r in case.referrals):
        raise WorkflowRefused(_l("Masih ada rujukan terbuka ke instansi ini."),
                              {"agency_id": [_l("Masih ada rujukan terbuka ke instansi ini.")]})
    return agency


def create_referral(case, actor: User, values: dict) -> Referral:
    agency: Agency = values["agency"]
    referral = Referral(case=case, agency_id=agency.id, agency=agency, service=values["service"],
                        reason=values["reason"], consent=values["consent"], created_by_id=actor.id,
                        status=initial_status().value)
    db.session.add(referral)
    set_due(referral)
    return referral


def answer(case, event: str, actor: User, raw: dict) -> tuple[Referral, dict]:
    """Fire a referral event of the referral table on one referral of `case`; returns it and the audit details.

    Refusals, in the order a user can act on them: a role that never fires this event, a referral that is not
    this case's (or not this agency's: the same answer, so ids cannot be probed), a status the event does not
    start from, then the inputs.
    """
    step = step_of(event)
    if actor.role != step.role:
        raise WorkflowRefused(_l("Peran Anda tidak dapat melakukan aksi ini."))
    if step.role == Role.SUPERVISOR and actor.region_code != case.regency_code:
        raise WorkflowRefused(_l("Penetapan rujukan hanya oleh supervisor kabupaten/kota kasus ini."))
    referral_id = parse_id(raw.get("referral_id"))
    if referral_id is None and not str(raw.get("referral_id") or "").strip():
        raise WorkflowRefused(REFERRAL_ID.message, {"referral_id": [REFERRAL_ID.message]})
    referral = next((r for r in case.referrals if r.id == referral_id), None)
    if referral is None or (actor.role == Role.AGENCY and referral.agency_id != actor.agency_id):
        message = _l("Rujukan tidak ditemukan pada kasus ini.")
        raise WorkflowRefused(message, {"referral_id": [message]})
    if event not in offered(referral, actor):
        message = _l("Aksi ini tidak tersedia untuk rujukan berstatus \u201c%(status)s\u201d.",
                     status=REFERRAL_STATUS_LABELS[ReferralStatus(referral.status)])
        raise WorkflowRefused(message, {"referral_id": [message]})
    values, errors = validate(step.inputs, raw, skip=("referral_id",))
    delivered = values.get("delivered_on")
    if delivered is not None and delivered < wib_date(referral.created_at):
        errors["delivered_on"] = [_l("Tanggal layanan tidak boleh sebelum tanggal rujukan (%(day)s).",
                                     day=format_date(wib_date(referral.created_at), "d MMMM yyyy"))]
    if errors:
        raise WorkflowRefused(_l("Periksa kembali isian yang ditandai."), errors)
    flow = ReferralFlow(referral, actor, values)
    flow.trigger(event)
    set_due(referral)
    return referral, flow.audit_details
