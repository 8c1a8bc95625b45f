from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from puskesos.accounts.roles import Role
from puskesos.accounts.services import create_user
from puskesos.core.errors import ServiceError
from puskesos.extensions import db
from puskesos.referrals.models import Agency, AgencyKind
from puskesos.referrals.services import create_agency


def _fail(exc: ServiceError) -> None:
    problems = "; ".join(f"{k}: {', '.join(str(m) for m in v)}" for k, v in exc.errors.items())
    click.echo(f"error: {exc.message}" + (f" ({problems})" if problems else ""), err=True)
    sys.exit(1)


@click.group(help="User accounts.")
def users() -> None:
    pass


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "full_name", help="Full name (defaults to the username).")
@click.option("--region", "region_code", help="Village code for officers, regency for caseworkers, …")
@click.option("--agency", "agency_name", help="Agency name, for agency users.")
@click.option("--email", default=None, help="Where notifications are e-mailed (when SMTP is configured).")
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create(username: str, role: str, full_name: str | None, region_code: str | None, agency_name: str | None,
           email: str | None, password: str) -> None:
    """Create an account (the first admin, typically)."""
    agency_id = None
    if agency_name:
        agency_id = db.session.execute(select(Agency.id).where(Agency.name == agency_name)).scalar_one_or_none()
        if agency_id is None:
            click.echo(f"error: no agency named {agency_name!r}", err=True)
            sys.exit(1)
    try:
        user = create_user(None, username=username, full_name=full_name or username, password=password, role=role,
                           region_code=region_code, agency_id=agency_id, email=email)
    except ServiceError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"created {user.role} {user.username}")


@click.group(help="Referral agencies.")
def agencies() -> None:
    pass


@agencies.command("create")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in AgencyKind]), required=True)
@click.option("--region", "region_code", required=True, help="Area served: province, regency or district code.")
@click.option("--contact", default=None)
@with_appcontext
def create_agency_cmd(name: str, kind: str, region_code: str, contact: str | None) -> None:
    """Create an agency that can receive referrals."""
    try:
        agency = create_agency(None, name=name, kind=kind, region_code=region_code, contact=contact)
    except ServiceError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"created agency {agency.id}: {agency.name}")


@users.command("revoke-tokens")
@click.argument("username")
@with_appcontext
def revoke_tokens(username: str) -> None:
    """Revoke every live API token of a user (a lost phone, a departed officer)."""
    from puskesos.accounts.models import User
    from puskesos.api.tokens import revoke_all

    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        click.echo(f"error: no user named {username!r}", err=True)
        sys.exit(1)
    count = revoke_all(user)
    db.session.commit()
    click.echo(f"revoked {count} token(s) of {user.username}")
