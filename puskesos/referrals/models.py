from __future__ import annotations

import datetime as dt
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from puskesos.core.timeutil import today, utcnow, wib_date
from puskesos.extensions import db
from puskesos.referrals.inputs import limit


class AgencyKind(StrEnum):
    BPJS_KESEHATAN = "bpjs_kesehatan"
    DISDUKCAPIL = "disdukcapil"
    EDUCATION = "education"
    BAZNAS = "baznas"
    HOUSING = "housing"
    MANPOWER = "manpower"
    HOSPITAL = "hospital"
    SOCIAL = "social"
    OTHER = "other"


AGENCY_KIND_LABELS = {
    AgencyKind.BPJS_KESEHATAN: _l("Jaminan kesehatan (BPJS Kesehatan)"),
    AgencyKind.DISDUKCAPIL: _l("Dokumen kependudukan (Disdukcapil)"),
    AgencyKind.EDUCATION: _l("Pendidikan"),
    AgencyKind.BAZNAS: _l("Zakat dan dana sosial (Baznas)"),
    AgencyKind.HOUSING: _l("Perumahan (Perkim / PUPR)"),
    AgencyKind.MANPOWER: _l("Ketenagakerjaan"),
    AgencyKind.HOSPITAL: _l("Rumah sakit / puskesmas"),
    AgencyKind.SOCIAL: _l("Program sosial (PKH, Sembako)"),
    AgencyKind.OTHER: _l("Lainnya"),
}


class ReferralStatus(StrEnum):
    PROPOSED = "proposed"
    RETURNED = "returned"
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    FAILED = "failed"
    REVOKED = "revoked"


OPEN_REFERRAL_STATUSES = (ReferralStatus.PROPOSED, ReferralStatus.PENDING, ReferralStatus.ACCEPTED)
# The agency answered for good: the case is `answered` once no referral is open and one of these exists.
ANSWERED_REFERRAL_STATUSES = (ReferralStatus.COMPLETED, ReferralStatus.FAILED)

REFERRAL_STATUS_LABELS = {
    ReferralStatus.PROPOSED: _l("Menunggu penetapan"),
    ReferralStatus.RETURNED: _l("Dikembalikan supervisor"),
    ReferralStatus.PENDING: _l("Menunggu jawaban"),
    ReferralStatus.ACCEPTED: _l("Diterima, dalam layanan"),
    ReferralStatus.DECLINED: _l("Ditolak"),
    ReferralStatus.COMPLETED: _l("Selesai dilayani"),
    ReferralStatus.FAILED: _l("Tidak dapat dilayani"),
    ReferralStatus.REVOKED: _l("Dibatalkan"),
}


class Agency(db.Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    # The area served: a province, regency or district code; cases inside it may be referred here.
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    contact: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    region = relationship("Region", lazy="joined")

    def serves(self, village_code: str) -> bool:
        return village_code == self.region_code or village_code.startswith(self.region_code + ".")

    def __repr__(self) -> str:
        return f"<Agency {self.name}>"


class Referral(db.Model):
    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_agency_status", "agency_id", "status", "created_at"),
                      Index("ix_referral_due_on", "due_on"))  # the SLA sweep

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    service: Mapped[str] = mapped_column(String(limit("service")))
    reason: Mapped[str] = mapped_column(Text)
    consent: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default=ReferralStatus.PENDING)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    service_given: Mapped[str | None] = mapped_column(Text)
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Sign-off (penetapan layanan): the supervisor who approved or returned it, and what it was given.
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    return_note: Mapped[str | None] = mapped_column(Text)
    letter_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    # The letter's QR code carries it: an unguessable token for the public check, given on approval.
    verify_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    agency = relationship("Agency", lazy="joined")
    case = relationship("Case", back_populates="referrals")
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFERRAL_STATUSES

    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])

    @property
    def status_since(self) -> dt.datetime:
        """When the referral reached its status: made (proposed), signed off (pending, returned), or answered."""
        if self.status == ReferralStatus.PROPOSED:
            return self.created_at
        if self.status in (ReferralStatus.PENDING, ReferralStatus.RETURNED):
            return self.reviewed_at or self.created_at
        return self.answered_at or self.reviewed_at or self.created_at

    @property
    def days_in_status(self) -> int:
        return max(0, (today() - wib_date(self.status_since)).days)

    def __repr__(self) -> str:
        return f"<Referral {self.id} {self.status}>"
