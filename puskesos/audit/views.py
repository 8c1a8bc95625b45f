"""The supervisors' audit log: filters and pages by sequence number."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user, login_required

from puskesos.accounts.roles import Role
from puskesos.audit.forms import AuditFilterForm
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import AuditFilters, details_of, log_query
from puskesos.core.ids import parse_id
from puskesos.extensions import db

bp = Blueprint("audit", __name__)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/audit")
@login_required
def log():
    if current_user.role != Role.SUPERVISOR:
        abort(404)
    form = AuditFilterForm(request.args)
    filters = AuditFilters(case_number=form.case_number.data or None, actor=form.actor.data or None,
                           action=form.action.data or None, since=_date(form.since.data),
                           until=_date(form.until.data))
    query = log_query(current_user, filters)
    before = parse_id(request.args.get("before"))
    if before:
        query = query.where(AuditEvent.seq < before)
    limit = current_app.config["PAGE_SIZE"]
    events = list(db.session.execute(query.limit(limit + 1)).scalars())
    next_before = events[limit - 1].seq if len(events) > limit else None
    return render_template("audit/log.html", form=form, events=events[:limit], next_before=next_before,
                           details_of=details_of)
