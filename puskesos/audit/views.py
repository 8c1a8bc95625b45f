"""The supervisors' audit log: filters and pages by sequence number."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from puskesos.accounts.roles import Role
from puskesos.audit.forms import AuditFilterForm
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import AuditFilters, log_query
from puskesos.core.ids import parse_id
from puskesos.core.pagination import newest_first
from puskesos.web.access import require_role

bp = Blueprint("audit", __name__)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/audit")
@login_required
def log():
    require_role(Role.SUPERVISOR)
    form = AuditFilterForm(request.args)
    filters = AuditFilters(case_number=form.case_number.data or None, actor=form.actor.data or None,
                           action=form.action.data or None, since=_date(form.since.data),
                           until=_date(form.until.data), include_auth=bool(form.include_auth.data),
                           actor_by_name=True)
    page = newest_first(log_query(current_user, filters).options(selectinload(AuditEvent.actor)), AuditEvent.seq,
                        parse_id(request.args.get("before")), current_app.config["PAGE_SIZE"])
    return render_template("audit/log.html", form=form, events=page.rows, next_before=page.next_before)
