"""Registers each feature's command group on the app (`flask --app wsgi …`)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from puskesos.accounts.cli import agencies, users
    from puskesos.audit.cli import audit
    from puskesos.database_roles import db_roles
    from puskesos.demo.cli import demo
    from puskesos.keys.cli import keys
    from puskesos.notifications.cli import notifications
    from puskesos.privacy.cli import retention
    from puskesos.regions.cli import regions
    from puskesos.reports.cli import sla_group
    from puskesos.workdays.cli import holidays

    for group in (regions, users, agencies, audit, demo, holidays, notifications):
        app.cli.add_command(group)
    app.cli.add_command(sla_group, name="sla")
    app.cli.add_command(keys)
    app.cli.add_command(retention)
    app.cli.add_command(db_roles)
