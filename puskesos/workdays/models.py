from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from puskesos.extensions import db


class Holiday(db.Model):
    """A national holiday or collective leave day (cuti bersama); no work is counted on it."""

    __tablename__ = "holiday"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(20))  # libur_nasional | cuti_bersama
    source: Mapped[str | None] = mapped_column(String(200))
