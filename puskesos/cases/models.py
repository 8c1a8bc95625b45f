from __future__ import annotations

import datetime as dt
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from puskesos.core.timeutil import today, utcnow
from puskesos.extensions import db


class Category(StrEnum):
    HEALTH = "health"
    EDUCATION = "education"
    SOCIO_ECONOMIC = "socio_economic"
    FOOD = "food"
    ENERGY = "energy"
    AGRICULTURE = "agriculture"
    FISHERIES = "fisheries"
    HOUSING = "housing"
    CIVIL_DOCUMENTS = "civil_documents"
    DISABILITY = "disability"
    ELDERLY = "elderly"
    CHILD_PROTECTION = "child_protection"
    EMPLOYMENT = "employment"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.HEALTH: _l("Kesehatan"),
    Category.EDUCATION: _l("Pendidikan"),
    Category.SOCIO_ECONOMIC: _l("Sosial ekonomi / PKH"),
    Category.FOOD: _l("Bantuan pangan / Sembako"),
    Category.ENERGY: _l("Energi"),
    Category.AGRICULTURE: _l("Pertanian"),
    Category.FISHERIES: _l("Perikanan"),
    Category.HOUSING: _l("Perumahan / RTLH"),
    Category.CIVIL_DOCUMENTS: _l("Dokumen kependudukan"),
    Category.DISABILITY: _l("Disabilitas"),
    Category.ELDERLY: _l("Lanjut usia"),
    Category.CHILD_PROTECTION: _l("Perlindungan anak"),
    Category.EMPLOYMENT: _l("Ketenagakerjaan"),
    Category.OTHER: _l("Lainnya"),
}


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


URGENCY_LABELS = {
    Urgency.NORMAL: _l("Biasa"),
    Urgency.URGENT: _l("Mendesak"),
    Urgency.EMERGENCY: _l("Darurat"),
}


class DtksStatus(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


DTKS_LABELS = {
    DtksStatus.YES: _l("Terdaftar"),
    DtksStatus.NO: _l("Tidak terdaftar"),
    DtksStatus.UNKNOWN: _l("Belum diketahui"),
}


class Outcome(StrEnum):
    RESOLVED_AT_INTAKE = "resolved_at_intake"
    RESOLVED = "resolved"
    NOT_ELIGIBLE = "not_eligible"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"
    UNREACHABLE = "unreachable"


OUTCOME_LABELS = {
    Outcome.RESOLVED_AT_INTAKE: _l("Selesai di tempat"),
    Outcome.RESOLVED: _l("Selesai, kebutuhan terpenuhi"),
    Outcome.NOT_ELIGIBLE: _l("Tidak memenuhi syarat"),
    Outcome.DUPLICATE: _l("Duplikat"),
    Outcome.WITHDRAWN: _l("Ditarik oleh pengadu"),
    Outcome.UNREACHABLE: _l("Pengadu tidak dapat dihubungi"),
}


class Case(db.Model):
    """A complaint and its complainant. The complainant lives on the case: each complaint
    records the person's data as it was told at that intake."""

    __tablename__ = "case_file"
    __table_args__ = (
        Index("ix_case_village_state_due", "village_code", "state", "due_on", "id"),
        Index("ix_case_regency_state_due", "regency_code", "state", "due_on", "id"),
        Index("ix_case_province_state_due", "province_code", "state", "due_on", "id"),
        Index("ix_case_assignee_state", "assignee_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    category: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(10), default=Urgency.NORMAL)

    # Where the complainant lives; the codes above the village are kept for area queries.
    village_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str] = mapped_column(String(8))
    regency_code: Mapped[str] = mapped_column(String(5))
    province_code: Mapped[str] = mapped_column(String(2))

    # The complainant (beneficiary).
    nik: Mapped[str] = mapped_column(String(16), index=True)
    kk_number: Mapped[str | None] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(120))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(255))
    rt: Mapped[str | None] = mapped_column(String(3))
    rw: Mapped[str | None] = mapped_column(String(3))
    dtks_status: Mapped[str] = mapped_column(String(10), default=DtksStatus.UNKNOWN)
    dtsen_decile: Mapped[int | None] = mapped_column(SmallInteger)

    # Someone else who brought the complaint, if any.
    reporter_name: Mapped[str | None] = mapped_column(String(120))
    reporter_relation: Mapped[str | None] = mapped_column(String(60))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))

    # Workflow bookkeeping.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    info_request: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    assignee = relationship("User", foreign_keys=[assignee_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    updated_by = relationship("User", foreign_keys=[updated_by_id])
    village = relationship("Region", foreign_keys=[village_code])
    referrals = relationship("Referral", back_populates="case", order_by="Referral.id")
    assessments = relationship("Assessment", back_populates="case", order_by="Assessment.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_overdue(self) -> bool:
        return self.due_on is not None and self.due_on < today()

    @property
    def nik_masked(self) -> str:
        return mask_number(self.nik)

    @property
    def kk_masked(self) -> str | None:
        return mask_number(self.kk_number) if self.kk_number else None

    @property
    def assessment(self) -> Assessment | None:
        """The latest assessment: a reopened case is assessed again."""
        return self.assessments[-1] if self.assessments else None

    def __repr__(self) -> str:
        return f"<Case {self.number} {self.state}>"


def mask_number(value: str) -> str:
    """`1603********0002`: region and serial stay readable, the birth date does not."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


class Assessment(db.Model):
    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    findings: Mapped[str] = mapped_column(Text)
    eligible: Mapped[bool] = mapped_column(Boolean)
    recommended_services: Mapped[str] = mapped_column(Text)
    assessed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    case = relationship("Case", back_populates="assessments")
    assessed_by = relationship("User")


class CaseCounter(db.Model):
    """The last serial given per regency and year, for gapless human case numbers."""

    __tablename__ = "case_counter"

    regency_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)
