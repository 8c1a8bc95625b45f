from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from puskesos.cases.intake import limit
from puskesos.cases.vocabulary import (  # noqa: F401  (the words of a case, read with the model)
    CATEGORY_LABELS,
    DTKS_LABELS,
    OUTCOME_LABELS,
    URGENCY_LABELS,
    Category,
    DtksStatus,
    Outcome,
    Urgency,
)
from puskesos.core.pii import Encrypted, blind_index
from puskesos.core.timeutil import today, utcnow, wib_date
from puskesos.extensions import db


class Case(db.Model):
    """A complaint and its complainant. The complainant lives on the case: each complaint
    records the person's data as it was told at that intake."""

    __tablename__ = "case_file"
    __table_args__ = (
        Index("ix_case_village_state_due", "village_code", "state", "due_on", "id"),
        Index("ix_case_regency_state_due", "regency_code", "state", "due_on", "id"),
        Index("ix_case_province_state_due", "province_code", "state", "due_on", "id"),
        Index("ix_case_assignee_state", "assignee_id", "state"),
        Index("ix_case_due_on", "due_on"),  # the SLA sweep: every case past its due date (closed ones have none)
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

    # The complainant (beneficiary). NIK, KK and phone numbers are stored encrypted (core/pii.py) and read as
    # plain strings; exact search and the duplicate check compare the keyed hashes, kept in step by
    # `_keep_hashes`. The NIK is None once retention has erased it.
    nik: Mapped[str | None] = mapped_column(Encrypted("case_file.nik"))
    nik_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    kk_number: Mapped[str | None] = mapped_column(Encrypted("case_file.kk_number"))
    kk_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(limit("name")))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(Encrypted("case_file.phone"))
    address: Mapped[str | None] = mapped_column(String(limit("address")))
    rt: Mapped[str | None] = mapped_column(String(3))
    rw: Mapped[str | None] = mapped_column(String(3))
    dtks_status: Mapped[str] = mapped_column(String(10), default=DtksStatus.UNKNOWN)
    dtsen_decile: Mapped[int | None] = mapped_column(SmallInteger)

    # Someone else who brought the complaint, if any.
    reporter_name: Mapped[str | None] = mapped_column(String(limit("reporter_name")))
    reporter_relation: Mapped[str | None] = mapped_column(String(limit("reporter_relation")))
    reporter_phone: Mapped[str | None] = mapped_column(Encrypted("case_file.reporter_phone"))

    # Workflow bookkeeping.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    info_request: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # When the case entered its current state: "days in this step" counts from here.
    step_started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When `flask retention apply` erased the complainant's personal data (Law 27/2022); None while kept.
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

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
    def days_in_step(self) -> int:
        """Calendar days since the case entered its current state (0 on the day itself)."""
        return max(0, (today() - wib_date(self.step_started_at or self.updated_at)).days)

    @validates("nik", "kk_number")
    def _keep_hashes(self, name: str, value: str | None) -> str | None:
        """The one place the keyed hashes follow the numbers: every assignment, None (erasure) included."""
        setattr(self, HASH_OF[name], blind_index(value))
        return value

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


HASH_OF = {"nik": "nik_hash", "kk_number": "kk_hash"}


def mask_number(value: str | None) -> str:
    """`1603********0002`: region and serial stay readable, the birth date does not. Empty once erased."""
    if not value:
        return ""
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
