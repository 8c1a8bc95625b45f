"""The outbox: one row per recipient and event, and one row per e-mail delivery attempt.

A notification stores its kind and the parameters of its message (a case number, an agency's name, a status
code), never a sentence: the sentence is made when it is read, in the reader's language.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puskesos.core.timeutil import utcnow
from puskesos.extensions import db


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        # The bell: one COUNT of a user's unread rows reads this index only; the unread list, newest first, too.
        Index("ix_notification_recipient_read", "recipient_id", "read_at", "id"),
        # The list: a user's rows newest first, paged by id.
        Index("ix_notification_recipient_id", "recipient_id", "id"),
        # Delivery: rows whose e-mail is due; NULL once sent, given up or never wanted.
        Index("ix_notification_next_attempt", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    params: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    # E-mail: wanted when SMTP was configured and the recipient had an address when the row was written.
    email_to: Mapped[str | None] = mapped_column(String(254))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Set by the one delivery process that won the row; cleared when its attempt is recorded.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} to {self.recipient_id}>"


class NotificationAttempt(db.Model):
    """One try at sending a notification's e-mail, kept whatever its outcome."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
