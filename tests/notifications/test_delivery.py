"""E-mail through a real SMTP server started by the test: sent once, failures recorded and retried later,
and two delivery processes at once never send one notification twice."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from puskesos.accounts.models import User
from puskesos.core.timeutil import clock_at, utcnow
from puskesos.extensions import db
from puskesos.notifications.delivery import claim, deliver
from puskesos.notifications.models import Notification, NotificationAttempt
from tests import factories
from tests.notifications.conftest import free_port, give_emails


def rows():
    db.session.rollback()
    found = list(db.session.execute(select(Notification).order_by(Notification.id)).scalars())
    db.session.commit()
    return found


def attempts() -> list[tuple[int, bool, str | None]]:
    db.session.rollback()
    found = db.session.execute(select(NotificationAttempt.notification_id, NotificationAttempt.ok,
                                      NotificationAttempt.error).order_by(NotificationAttempt.id)).all()
    db.session.commit()
    return [tuple(row) for row in found]


def test_deliver_sends_each_email_once_through_a_real_smtp_server(app, world, smtp):
    w = world
    give_emails(w.caseworker, w.caseworker2)
    case = factories.case_in("submitted", w)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["notifications", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0" in result.output
    assert sorted(rcpt for rcpts, _ in smtp.messages for rcpt in rcpts) == ["caseworker2@dinsos.test",
                                                                            "caseworker@dinsos.test"]
    _, mail = smtp.messages[0]
    assert mail["From"] == "Puskesos <noreply@puskesos.test>"
    assert mail["Subject"] == "Puskesos · Pengaduan diajukan"
    body = mail.get_content()
    assert f"Pengaduan {case.number} diajukan ke Dinsos dan menunggu asesmen." in body
    assert f"http://127.0.0.1:5000/cases/{case.number}" in body

    assert runner.invoke(args=["notifications", "deliver"]).exit_code == 0  # again: nothing left to send
    assert len(smtp.messages) == 2
    assert all(n.sent_at is not None and n.attempts == 1 and n.next_attempt_at is None for n in rows())
    assert sorted(attempts()) == sorted((n.id, True, None) for n in rows())

    # Users without an address get the bell only; their rows never wait for delivery.
    factories.fire(case, "start_assessment", w.caseworker)
    factories.fire(case, "request_info", w.caseworker, note="Foto KK.")
    officer_row = rows()[-1]
    assert officer_row.email_to is None and officer_row.next_attempt_at is None
    assert deliver().sent == 0


def test_a_failing_server_records_the_attempt_and_a_later_run_retries(app, world, smtp):
    give_emails(world.caseworker)
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    case = factories.case_in("submitted", world)
    (row,) = [n for n in rows() if n.email_to]

    result = app.test_cli_runner().invoke(args=["notifications", "deliver"])
    assert result.exit_code == 1 and "failed 1" in result.output
    (failed,) = rows_with_mail = [n for n in rows() if n.email_to]
    assert failed.sent_at is None and failed.attempts == 1 and failed.last_error
    retry_after = app.config["MAIL_RETRY_SECONDS"]
    assert failed.next_attempt_at > utcnow() + dt.timedelta(seconds=retry_after - 5)
    assert attempts() == [(row.id, False, failed.last_error)]

    app.config["MAIL_PORT"] = port  # the server is back, but the row waits for its time
    assert deliver().sent == 0 and smtp.messages == []
    with clock_at(failed.next_attempt_at + dt.timedelta(seconds=1)):
        outcome = deliver()
    assert (outcome.sent, outcome.failed) == (1, 0)
    assert [rcpts for rcpts, _ in smtp.messages] == [["caseworker@dinsos.test"]]
    assert case.number in smtp.messages[0][1].get_content()
    (sent,) = [n for n in rows() if n.email_to]
    assert sent.sent_at is not None and sent.attempts == 2 and sent.next_attempt_at is None
    assert [(ok, error is None) for _, ok, error in attempts()] == [(False, False), (True, True)]
    assert len(rows_with_mail) == 1


def test_failures_back_off_and_are_given_up_after_the_last_attempt(app, world, smtp):
    give_emails(world.caseworker)
    app.config.update(MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=3)
    factories.case_in("submitted", world)
    waits = []
    moment = utcnow()
    for _ in range(3):
        with clock_at(moment):
            assert deliver().failed == 1
        (row,) = [n for n in rows() if n.email_to]
        if row.next_attempt_at is not None:
            waits.append(row.next_attempt_at - moment)
            moment = row.next_attempt_at
    base = app.config["MAIL_RETRY_SECONDS"]
    assert [w.total_seconds() for w in waits] == [base, 2 * base]  # doubling
    assert row.next_attempt_at is None and row.sent_at is None and row.attempts == 3  # given up, kept for the record
    with clock_at(moment + dt.timedelta(days=1)):
        assert deliver().failed == 0
    assert len(attempts()) == 3


def test_two_delivery_processes_at_once_send_each_notification_once(app, world, smtp):
    w = world
    give_emails(w.caseworker, w.caseworker2)
    for _ in range(6):
        factories.case_in("submitted", w)
    expected = [n.id for n in rows()]
    assert len(expected) == 12
    smtp.delay = 0.01
    db.session.commit()
    start = threading.Barrier(2)
    outcomes, errors = [], []

    def run():
        try:
            with app.app_context():  # a session of its own, like a second server
                start.wait()
                outcomes.append(deliver())
        except Exception as exc:  # pragma: no cover  (shown by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(o.sent for o in outcomes) == 12 and sum(o.failed for o in outcomes) == 0
    ids = sorted(int(mail["Message-ID"].split("notification-")[1].split("@")[0]) for _, mail in smtp.messages)
    assert ids == expected  # every notification once, none twice
    assert sorted(n for n, ok, _ in attempts() if ok) == expected


def test_a_claimed_row_cannot_be_claimed_again_even_if_its_sender_died(app, world, smtp):
    """The claim is what makes "never twice" hold: a second process, or the same one later, loses it; a row whose
    sender died after claiming it stays unsent rather than risk a second copy."""
    give_emails(world.caseworker)
    factories.case_in("submitted", world)
    (row,) = [n for n in rows() if n.email_to]
    assert claim(row.id, utcnow()) is True
    assert claim(row.id, utcnow()) is False
    with clock_at(utcnow() + dt.timedelta(days=30)):
        assert deliver().sent == 0
    assert smtp.messages == []


def test_users_get_an_address_from_the_command_line_and_deliver_needs_smtp(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "pekerja3", "--role", "caseworker", "--region", "16.03",
                                 "--email", "pekerja3@dinsos.test", "--password", factories.PASSWORD])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["users", "create", "pekerja4", "--role", "caseworker", "--region", "16.03",
                              "--email", "not an address", "--password", factories.PASSWORD])
    assert bad.exit_code == 1 and "email" in bad.output
    db.session.rollback()
    assert db.session.execute(select(User.email).where(User.username == "pekerja3")).scalar_one() \
        == "pekerja3@dinsos.test"
    assert db.session.execute(select(User.id).where(User.username == "pekerja4")).first() is None

    result = runner.invoke(args=["notifications", "deliver"])  # no MAIL_SERVER in this app
    assert result.exit_code == 1 and "MAIL_SERVER" in result.output
    # Without SMTP, notifications are written for the bell only: none waits for an e-mail that cannot go.
    factories.case_in("submitted", world)
    assert {n.recipient_id for n in rows()} >= {world.caseworker.id}
    assert all(n.email_to is None and n.next_attempt_at is None for n in rows())
