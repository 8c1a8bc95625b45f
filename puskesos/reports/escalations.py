"""The record that a case or a referral was escalated in one step: what makes `flask sla sweep` idempotent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from puskesos.core.timeutil import utcnow
from puskesos.extensions import db


class Escalation(db.Model):
    """One row per case (or referral) and step that went past its deadline. `key` names the step: the state (or
    status) and the moment it was entered, so a case that moves on and falls behind again is escalated again,
    and two sweeps at once insert it once (the unique key decides which one writes the audit event)."""

    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
