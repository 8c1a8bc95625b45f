from __future__ import annotations

from sqlalchemy import ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from puskesos.extensions import db


def level_of(code: str) -> int:
    """Level of a dotted Kemendagri code: `16` → 1 … `16.03.01.2001` → 4."""
    return code.count(".") + 1


class Region(db.Model):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
