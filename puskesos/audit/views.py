"""The supervisors' audit log: filters and pages by sequence number."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from puskesos.accounts.roles import Role
from puskesos.audit.forms import AuditFilterForm
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import log_query
from puskesos.core.ids import parse_id
from puskesos.core.pagination import newest_first
from puskesos.web.access import require_role
from puskesos.web.templating import prime_region_names

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@login_required
def log():
    require_role(Role.SUPERVISOR)
    form = AuditFilterForm(request.args)
    query = log_query(current_user, form.filters()).options(selectinload(AuditEvent.actor))
    page = newest_first(query, AuditEvent.seq, parse_id(request.args.get("before")), current_app.config["PAGE_SIZE"])
    prime_region_names(ev.region_code for ev in page.rows if ev.region_code)  # one query, not one per row
    return render_template("audit/log.html", form=form, events=page.rows, next_before=page.next_before)
