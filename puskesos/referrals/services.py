"""Agencies (admin-managed) and reading referrals; referral answers are workflow events (cases.services.fire)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from puskesos.accounts.jurisdiction import referral_filter
from puskesos.accounts.models import User
from puskesos.accounts.roles import Role
from puskesos.audit.chain import append as audit
from puskesos.core.errors import Forbidden, NotFound, ValidationFailed
from puskesos.extensions import db
from puskesos.referrals.models import Agency, AgencyKind, Referral
from puskesos.regions.models import Region


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
