"""The agency inbox and referral page, and the admin's agency pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func
from sqlalchemy.orm import joinedload

from puskesos.accounts.roles import Role
from puskesos.cases import services as case_services
from puskesos.cases.forms import AcceptForm, DeclineForm, ServiceReportForm
from puskesos.cases.workflow import EVENT_LABELS
from puskesos.core.errors import Conflict, ServiceError
from puskesos.core.ids import parse_id
from puskesos.core.pagination import newest_first
from puskesos.extensions import db
from puskesos.referrals import services
from puskesos.referrals.forms import AgencyForm
from puskesos.referrals.models import Agency, Referral, ReferralStatus
from puskesos.web.access import require_role
from puskesos.web.forms import run, show_refusal
from puskesos.web.templating import prime_region_names

bp = Blueprint("referrals", __name__)

# Which answers a referral can take in each of its own statuses.
OFFERED_BY_STATUS = {ReferralStatus.PENDING: ("accept", "decline"), ReferralStatus.ACCEPTED: ("report_service",)}
ANSWER_FORMS = {"accept": AcceptForm, "decline": DeclineForm, "report_service": ServiceReportForm}


@bp.get("/referrals")
@login_required
def inbox():
    require_role(Role.AGENCY)
    status = request.args.get("status") or None
    if status not in {s.value for s in ReferralStatus}:
        status = None
    page = newest_first(services.referral_query(current_user, status).options(joinedload(Referral.case)),
                        Referral.id, parse_id(request.args.get("before")), current_app.config["PAGE_SIZE"])
    prime_region_names(r.case.village_code for r in page.rows)
    counts = dict(db.session.execute(
        services.referral_query(current_user).with_only_columns(Referral.status, func.count())
        .order_by(None).group_by(Referral.status)).all())
    return render_template("referrals/inbox.html", referrals=page.rows, status=status, counts=counts,
                           statuses=list(ReferralStatus), next_before=page.next_before)


def _load(referral_id: int) -> Referral:
    require_role(Role.AGENCY)
    try:
        return services.get_referral(current_user, referral_id)
    except ServiceError:
        abort(404)


def _forms(referral: Referral) -> dict:
    forms = {}
    for event, form_class in ANSWER_FORMS.items():
        form = form_class(formdata=None, version=referral.case.version)
        form.referral_id.data = str(referral.id)
        forms[event] = form
    return forms


def _render(referral: Referral, forms: dict | None = None, full_nik: str | None = None, status: int = 200):
    allowed = case_services.allowed_events(referral.case, current_user)
    offered = [e for e in OFFERED_BY_STATUS.get(referral.status, ()) if e in allowed]
    return render_template("referrals/show.html", referral=referral, case=referral.case, offered=offered,
                           forms=forms or _forms(referral), full_nik=full_nik), status


@bp.get("/referrals/<id:referral_id>")
@login_required
def show(referral_id: int):
    return _render(_load(referral_id))


@bp.post("/referrals/<id:referral_id>/nik")
@login_required
def reveal_nik(referral_id: int):
    referral = _load(referral_id)
    nik, refusal = run(case_services.reveal_nik, referral.case, current_user)
    if refusal is not None:
        abort(refusal.status)
    return _render(referral, full_nik=nik)


@bp.post("/referrals/<id:referral_id>/<event>")
@login_required
def answer(referral_id: int, event: str):
    referral = _load(referral_id)
    if event not in ANSWER_FORMS:
        abort(404)
    form = ANSWER_FORMS[event]()
    form.referral_id.data = str(referral.id)  # the URL names the referral; a form cannot redirect the answer
    forms = _forms(referral)
    forms[event] = form
    if not form.validate_on_submit():
        return _render(referral, forms, status=422)
    inputs = form.inputs()
    _result, refusal = run(case_services.fire, referral.case, event, current_user, expected_version=form.version.data,
                     **inputs)
    if refusal is None:
        flash(_("%(event)s: berhasil.", event=EVENT_LABELS[event]), "success")
        if event == "decline":  # a declined referral is no longer the agency's to open
            return redirect(url_for("referrals.inbox"))
        return redirect(url_for("referrals.show", referral_id=referral_id))
    show_refusal(form, refusal)
    if isinstance(refusal, Conflict):
        return redirect(url_for("referrals.show", referral_id=referral_id))
    return _render(_load(referral_id), forms, status=refusal.status)


# -- admin: agencies ------------------------------------------------------------------------------------------


@bp.get("/admin/agencies")
@login_required
def agencies():
    require_role(Role.ADMIN)
    return render_template("referrals/agencies.html", agencies=services.list_agencies())


@bp.route("/admin/agencies/new", methods=["GET", "POST"])
@bp.route("/admin/agencies/<id:agency_id>", methods=["GET", "POST"])
@login_required
def agency_form(agency_id: int | None = None):
    require_role(Role.ADMIN)
    agency = db.session.get(Agency, agency_id) if agency_id is not None else None
    if agency_id is not None and agency is None:
        abort(404)
    form = AgencyForm(obj=agency)
    status = 200
    if form.validate_on_submit():
        fields = {"name": form.name.data, "kind": form.kind.data, "region_code": form.region_code.data.strip(),
                  "contact": form.contact.data}
        if agency is None:
            _result, refusal = run(services.create_agency, current_user, **fields)
        else:
            _result, refusal = run(services.update_agency, current_user, agency.id, active=form.active.data, **fields)
        if refusal is None:
            flash(_("Instansi disimpan."), "success")
            return redirect(url_for("referrals.agencies"))
        show_refusal(form, refusal)
        status = refusal.status
    elif form.errors:
        status = 422
    return render_template("referrals/agency_form.html", form=form, agency=agency), status
