from __future__ import annotations

import datetime as dt
import secrets

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from puskesos.accounts.roles import Role
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db

ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))  # where notifications are e-mailed, when SMTP is set
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Raised to end every session and API token of the account at once (logout, password, role, deactivation).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    region = relationship("Region", lazy="joined")
    agency = relationship("Agency", lazy="joined")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash, password)

    def get_id(self) -> str:
        """What the session (and a remember-me cookie) holds: the id and the session generation, so raising the
        generation in the database turns every cookie issued before into a stranger's (`services.load_user`)."""
        return f"{self.id}:{self.session_generation or 0}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


_dummy: dict[str, str] = {}


def verify_password(password_hash: str | None, password: str) -> bool:
    """One password-hash check, whatever the account. With no hash (an unknown or unusable account) the check
    runs against a throw-away hash made the same way as users' ones, and fails: the answer takes as long as for
    a real account, so its time does not tell which usernames exist."""
    if password_hash:
        return check_password_hash(password_hash, password)
    if "hash" not in _dummy:
        _dummy["hash"] = generate_password_hash(secrets.token_urlsafe(16))
    check_password_hash(_dummy["hash"], password)
    return False
