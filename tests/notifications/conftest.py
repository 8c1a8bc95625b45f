"""A real SMTP server for the delivery tests (aiosmtpd), and helpers to read the outbox as committed."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from puskesos.accounts.models import User
from puskesos.extensions import db
from puskesos.notifications.models import Notification


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the SMTP server received: each message parsed, with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()
        self.delay = 0.0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        if self.delay:
            time.sleep(self.delay)  # let two delivery processes overlap
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app):
    """An SMTP server on a free local port; the app is configured to send through it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="Puskesos <noreply@puskesos.test>")
    try:
        yield inbox
    finally:
        controller.stop()


def give_emails(*users) -> None:
    for user in users:
        user.email = f"{user.username}@dinsos.test"
    db.session.commit()


def outbox() -> list[tuple[str, str, dict]]:
    """(recipient username, kind, params) of every notification as committed, in id order."""
    db.session.rollback()
    rows = db.session.execute(select(User.username, Notification.kind, Notification.params)
                              .join(User, User.id == Notification.recipient_id).order_by(Notification.id)).all()
    db.session.commit()
    return [tuple(row) for row in rows]
