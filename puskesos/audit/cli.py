from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.extensions import db


@click.group(help="The audit log.")
def audit() -> None:
    pass


@audit.command("verify")
@with_appcontext
def verify_cmd() -> None:
    """Check the whole hash chain; exit 1 naming the first broken event."""
    total = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    with click.progressbar(length=total, label="Audit", show_pos=True, file=sys.stderr) as bar:
        result = verify(progress=bar.update)
    if result.ok:
        click.echo(f"audit chain intact: {result.checked} events")
        return
    click.echo(f"audit chain broken at event {result.first_break.seq}: {result.first_break.reason}", err=True)
    sys.exit(1)
