"""The demo data set of DESIGN.md, made through the real services (`flask --app wsgi demo load`)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from puskesos.cases.workflow import State
from puskesos.demo import services
from puskesos.extensions import db


@click.group(help="Demo data.")
def demo() -> None:
    pass


@demo.command("load")
@click.option("--count", default=services.DEFAULT_COUNT, show_default=True,
              type=click.IntRange(min=services.MIN_COUNT), help="How many complaints to invent.")
@click.option("--seed", default=services.DEFAULT_SEED, show_default=True, help="Random seed: same seed, same data.")
@with_appcontext
def load_cmd(count: int, seed: int) -> None:
    """Load the demo accounts, agencies and complaints of Kabupaten Muara Enim into an empty database.

    Does nothing (exit 0) when the demo data is already there; refuses (exit 1) when the database
    holds anything else.
    """
    try:
        if services.check_database():
            click.echo("demo data already loaded")
            _print_accounts()
            return
        services.prepare_reference_data(echo=click.echo)
        with click.progressbar(length=count, label="Demo cases", show_pos=True, file=sys.stderr) as bar:
            result = services.load(count=count, seed=seed, progress=bar.update)
    except (services.DemoRefused, services.DemoFailed) as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    states = ", ".join(f"{state.value} {result.states[state]}" for state in State if result.states[state])
    outcomes = ", ".join(f"{outcome} {n}" for outcome, n in result.outcomes.most_common())
    click.echo(f"loaded {result.cases} demo cases in {result.seconds:.1f} s: {states}")
    click.echo(f"closed as: {outcomes}")
    if result.warnings:
        click.echo(f"note: the services raised {result.warnings} intake warnings", err=True)
    _print_accounts()


def _print_accounts() -> None:
    header = ("username", "role", "area / agency", "password")
    rows = [header, *services.accounts_table()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    click.echo("")
    click.echo("Demo accounts:")
    for i, row in enumerate(rows):
        click.echo("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            click.echo("  " + "  ".join("-" * width for width in widths))
