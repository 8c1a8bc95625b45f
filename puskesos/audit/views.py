"""The supervisors' audit log (filters, pages by sequence number), its signed checkpoints, and the public key that
verifies them."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from puskesos.accounts.roles import Role
from puskesos.audit import checkpoints, sealing
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
    sealing.prime(ev.case_id for ev in page.rows)  # the cases' keys, to open their details: one query too
    return render_template("audit/log.html", form=form, events=page.rows, next_before=page.next_before)


CHECKPOINTS_SHOWN = 100  # the file grows by a line an hour; the page reads its end only


@bp.get("/audit/checkpoints")
@login_required
def checkpoint_list():
    require_role(Role.SUPERVISOR)
    return render_template("audit/checkpoints.html", listing=checkpoints.listing(current_app.config,
                                                                                 CHECKPOINTS_SHOWN))


@bp.get("/audit/signing-key.pub")
def signing_key():
    """Public, no sign-in: anyone holding a copy of the checkpoints must be able to fetch the key to check them.
    Read from AUDIT_PUBLIC_KEY: the web servers need not hold the private key."""
    try:
        key = checkpoints.configured_public_key(current_app.config)
    except checkpoints.CheckpointError:
        return Response(_("Kunci penanda tangan log audit belum dikonfigurasi.") + "\n", 404, mimetype="text/plain")
    return Response(checkpoints.public_pem(key), mimetype="text/plain")
