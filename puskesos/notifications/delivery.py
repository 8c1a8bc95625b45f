"""E-mail delivery of the outbox: claim a due row, send it, record the attempt; retry later with backoff.

A row is claimed by one conditional UPDATE that also clears its `next_attempt_at`: of two delivery processes
racing for it, the database lets exactly one match, whatever the timing (PostgreSQL re-checks the condition on
the row the winner committed; SQLite writes one transaction at a time). The claim commits before the message
is sent, and only a recorded failure puts the row back on the schedule, so a process that dies between sending
and recording leaves its row claimed and unsent rather than risking a second copy: at most once, never twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from puskesos.core.timeutil import utcnow
from puskesos.extensions import db
from puskesos.notifications.models import Notification, NotificationAttempt
from puskesos.notifications.services import kind_label, message, target


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    given_up: int = 0


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` failed ones: doubling from MAIL_RETRY_SECONDS, at most 6 hours."""
    base = current_app.config["MAIL_RETRY_SECONDS"]
    return dt.timedelta(seconds=min(base * 2 ** max(0, attempts - 1), 6 * 3600))


def due(now: dt.datetime, limit: int) -> list[int]:
    query = (select(Notification.id).where(Notification.next_attempt_at <= now)
             .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
    return list(db.session.execute(query).scalars())


def claim(notification_id: int, now: dt.datetime) -> bool:
    """Take the row for this process, or learn that another one has: committed either way."""
    won = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.sent_at.is_(None),
               Notification.next_attempt_at.is_not(None), Notification.next_attempt_at <= now)
        .values(next_attempt_at=None, claimed_at=now, attempts=Notification.attempts + 1)
    ).rowcount == 1
    db.session.commit()
    return won


def record(notification_id: int, attempts: int, error: str | None) -> bool:
    """The attempt's outcome; a failure is tried again after the backoff until MAIL_MAX_ATTEMPTS. Returns
    whether the row was given up."""
    now = utcnow()
    db.session.execute(insert(NotificationAttempt).values(notification_id=notification_id, at=now,
                                                          ok=error is None, error=error))
    values: dict = {"claimed_at": None}
    given_up = False
    if error is None:
        values.update(sent_at=now, last_error=None)
    else:
        given_up = attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
        values.update(last_error=error, next_attempt_at=None if given_up else now + backoff(attempts))
    db.session.execute(update(Notification).where(Notification.id == notification_id).values(**values))
    db.session.commit()
    return given_up


def compose(notification: Notification, recipient) -> EmailMessage:
    """The e-mail in the office's language: the same sentence the bell shows, and the link to act on it."""
    config = current_app.config
    with current_app.test_request_context(base_url=config["PUBLIC_BASE_URL"]), \
            force_locale(config["BABEL_DEFAULT_LOCALE"]):
        text = message(notification)
        subject = f"Puskesos · {kind_label(notification.kind)}"
        link = target(notification, recipient, _external=True)
        footer = str(_l("Buka di Puskesos:"))
    mail = EmailMessage()
    mail["From"] = config["MAIL_FROM"]
    mail["To"] = notification.email_to
    mail["Subject"] = subject
    # The domain of the sender, not the host's name: looking that up can stall on a machine without DNS.
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "puskesos.invalid"
    mail["Message-ID"] = make_msgid(idstring=f"notification-{notification.id}", domain=domain)
    mail.set_content(f"{text}\n\n{footer} {link}\n")
    return mail


class Mailer:
    """One SMTP connection for a run, opened on first use and again after a failure."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = current_app.config
        host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        if config["MAIL_USE_SSL"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        return smtp

    def send(self, mail: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.send_message(mail)
        except (smtplib.SMTPException, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None


def deliver(limit: int = 500) -> Delivery:
    """Send the e-mails due now, each by the one process that claims it."""
    from puskesos.accounts.models import User

    outcome = Delivery()
    mailer = Mailer()
    try:
        for notification_id in due(utcnow(), limit):
            if not claim(notification_id, utcnow()):
                continue  # another process has it
            notification = db.session.get(Notification, notification_id)
            mail = compose(notification, db.session.get(User, notification.recipient_id))
            attempts = notification.attempts
            db.session.commit()  # no transaction (nor SQLite lock) held while talking to the mail server
            try:
                mailer.send(mail)
            except (smtplib.SMTPException, OSError) as exc:
                outcome.failed += 1
                outcome.given_up += record(notification_id, attempts, f"{type(exc).__name__}: {exc}"[:1000])
            else:
                outcome.sent += 1
                record(notification_id, attempts, None)
    finally:
        mailer.close()
    return outcome
