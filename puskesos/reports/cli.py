"""`flask sla sweep`: escalate what went past its deadline (see reports/sla.py); meant for cron."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from puskesos.reports import sla


@click.group(help="Deadlines (SLA).")
def sla_group() -> None:
    pass


@sla_group.command("sweep")
@with_appcontext
def sweep_cmd() -> None:
    """Write one overdue event (and its notifications) per case and referral and step past its deadline.

    Idempotent; safe to run every few minutes on several servers at once.
    """
    result = sla.sweep()
    click.echo(f"escalated {result.cases} case step(s) and {result.referrals} referral step(s)")
