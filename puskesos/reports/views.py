"""Export buttons' targets: the case list, the referral list and the audit log as CSV or XLSX, with the filters
of the list they were pressed on (read by the same code as the list), streamed."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user, login_required

from puskesos.accounts.roles import Role
from puskesos.audit.forms import AuditFilterForm
from puskesos.cases.views import CASE_ROLES, list_filters
from puskesos.referrals.models import ReferralStatus
from puskesos.reports import services
from puskesos.reports.exports import stream_response
from puskesos.web.access import require_role

bp = Blueprint("reports", __name__, url_prefix="/exports")


def _format() -> str:
    return services.check_format(request.args.get("format", "csv"))


@bp.get("/cases")
@login_required
def cases():
    require_role(*CASE_ROLES)
    return stream_response(services.export_cases(current_user, list_filters(), _format()))


@bp.get("/referrals")
@login_required
def referrals():
    require_role(*services.REFERRAL_EXPORTERS)
    status = request.args.get("status")
    status = status if status in {s.value for s in ReferralStatus} else None  # as the inbox reads it
    return stream_response(services.export_referrals(current_user, status, _format()))


@bp.get("/audit")
@login_required
def audit():
    require_role(Role.SUPERVISOR)
    return stream_response(services.export_audit(current_user, AuditFilterForm(request.args).filters(), _format()))
