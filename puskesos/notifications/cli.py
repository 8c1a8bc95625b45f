"""`flask notifications deliver`: send the e-mails due now; run it from cron every minute or so."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from puskesos.notifications.delivery import deliver


@click.group(help="Notifications.")
def notifications() -> None:
    pass


@notifications.command("deliver")
@click.option("--limit", default=500, show_default=True, help="At most this many e-mails in one run.")
@with_appcontext
def deliver_cmd(limit: int) -> None:
    """Send pending notification e-mails; failures are retried by a later run, after a growing wait.

    Safe to run on several servers at once: each e-mail is claimed by one run and sent at most once.
    Exits 1 when MAIL_SERVER is not set or when an attempt failed in this run.
    """
    if not current_app.config.get("MAIL_SERVER"):
        click.echo("error: MAIL_SERVER is not set; notifications are shown in the application only", err=True)
        sys.exit(1)
    outcome = deliver(limit)
    line = f"sent {outcome.sent}, failed {outcome.failed} (given up {outcome.given_up})"
    if outcome.failed:
        click.echo(f"error: {line}; failed ones are retried later", err=True)
        sys.exit(1)
    click.echo(line)
