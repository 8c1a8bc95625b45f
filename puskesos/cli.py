"""Registers each feature's command group on the app (`flask --app wsgi …`)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from puskesos.accounts.cli import agencies, users
    from puskesos.audit.cli import audit
    from puskesos.demo.cli import demo
    from puskesos.notifications.cli import notifications
    from puskesos.regions.cli import regions
    from puskesos.reports.cli import sla_group
    from puskesos.workdays.cli import holidays

    for group in (regions, users, agencies, audit, demo, holidays, notifications):
        app.cli.add_command(group)
    app.cli.add_command(sla_group, name="sla")
