"""`flask retention apply`: erase the personal data of cases closed longer than the retention period."""

from __future__ import annotations

import contextlib
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from puskesos.core.errors import ServiceError
from puskesos.privacy import services


@click.group(help="Retention of personal data (Law 27/2022).")
def retention() -> None:
    pass


@retention.command("apply")
@click.option("--years", type=click.IntRange(min=1), default=None,
              help="Retention period in years (default: RETENTION_YEARS, 5).")
@click.option("--dry-run", is_flag=True, help="Only count the cases due; change nothing.")
@with_appcontext
def apply_cmd(years: int | None, dry_run: bool) -> None:
    """Anonymise every case closed more than YEARS years ago and not yet anonymised: one audit event per case.

    Commits in batches: an interrupted run keeps what it did and the next run goes on with the rest.
    """
    years = current_app.config["RETENTION_YEARS"] if years is None else years
    with contextlib.ExitStack() as stack:
        bars = []

        def started(total: int) -> None:
            """The bar (on stderr) opens once the number of cases due is known."""
            if not dry_run and total:
                bars.append(stack.enter_context(
                    click.progressbar(length=total, label="Retention", show_pos=True, file=sys.stderr)))

        try:
            result = services.apply_retention(years, dry_run=dry_run, started=started,
                                              progress=lambda n: bars[0].update(n) if bars else None)
        except ServiceError as refusal:
            click.echo(f"retention refused: {refusal.message}", err=True)
            sys.exit(1)
    cutoff = result.cutoff.strftime("%Y-%m-%d %H:%M UTC")
    if dry_run:
        click.echo(f"dry run: {result.due} case(s) closed before {cutoff} would be anonymised")
    else:
        click.echo(f"anonymised {result.anonymised} case(s) closed before {cutoff}")
