"""The agency inbox and referral page, and the admin's agency pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func
from sqlalchemy.orm import joinedload

from puskesos.accounts.jurisdiction import AGENCY_ACCESS
from puskesos.accounts.roles import Role
from puskesos.audit.services import details_of
from puskesos.cases import services as case_services
from puskesos.cases.forms import prepare
from puskesos.cases.workflow import EVENT_LABELS
from puskesos.core.errors import ServiceError
from puskesos.core.ids import parse_id
from puskesos.core.pagination import newest_first
from puskesos.extensions import db, limiter
from puskesos.referrals import letters, services
from puskesos.referrals.forms import ANSWER_FORMS, AgencyForm
from puskesos.referrals.models import Agency, Referral, ReferralStatus
from puskesos.referrals.workflow import offered as offered_events
from puskesos.referrals.workflow import step_of
from puskesos.web.access import require_role
from puskesos.web.forms import run, show_refusal
from puskesos.web.reveal import remember_reveal, take_reveal
from puskesos.web.templating import prime_region_names

bp = Blueprint("referrals", __name__)


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
                           statuses=[s for s in ReferralStatus if s in AGENCY_ACCESS], next_before=page.next_before)


@bp.get("/referrals/signoff")
@login_required
def signoff():
    """The supervisor's queue: referrals waiting for sign-off in the regency, oldest first, with their deadline."""
    require_role(Role.SUPERVISOR)
    size = current_app.config["PAGE_SIZE"]
    rows = services.signoff_queue(current_user, parse_id(request.args.get("after")), size + 1)
    prime_region_names(r.case.village_code for r in rows)
    return render_template("referrals/signoff.html", referrals=rows[:size],
                           next_after=rows[size - 1].id if len(rows) > size else None)


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
        prepare(form, step_of(event).inputs, referral.case, current_user, fresh=True)
        forms[event] = form
    return forms


def _render(referral: Referral, forms: dict | None = None, changed=None, status: int = 200):
    offered = [e for e in offered_events(referral, current_user) if e in ANSWER_FORMS]
    own = {r.id for r in referral.case.referrals if r.agency_id == current_user.agency_id}
    # The complainant agreed to share this referral with this agency, not the rest of the case: changes to other
    # referrals are counted, not shown.
    shown = [ev for ev in changed.changes if details_of(ev).get("referral_id") in own] if changed else []
    return render_template("referrals/show.html", referral=referral, case=referral.case, offered=offered,
                           forms=forms or _forms(referral), full_nik=take_reveal(referral.case), changed=changed,
                           changes=shown, other_changes=len(changed.changes) - len(shown) if changed else 0), status


@bp.get("/referrals/<id:referral_id>")
@login_required
def show(referral_id: int):
    return _render(_load(referral_id))


@bp.route("/referrals/<id:referral_id>/nik", methods=["GET", "POST"])
@login_required
def reveal_nik(referral_id: int):
    """POST → redirect → GET, as on the case page: a refresh or a bookmark never meets a 405."""
    referral = _load(referral_id)
    if request.method == "POST":
        _nik, refusal = run(case_services.reveal_nik, referral.case, current_user)
        if refusal is not None:
            abort(refusal.status)
        remember_reveal(referral.case)
    return redirect(url_for("referrals.show", referral_id=referral.id), 303)


@bp.post("/referrals/<id:referral_id>/<event>")
@login_required
def answer(referral_id: int, event: str):
    referral = _load(referral_id)
    if event not in ANSWER_FORMS:
        abort(404)
    form = ANSWER_FORMS[event]()
    forms = _forms(referral)
    forms[event] = form
    if not form.validate_on_submit():
        return _render(referral, forms, status=422)
    # The URL names the referral; a form cannot redirect the answer to another one.
    _result, refusal = run(case_services.fire, referral.case, event, current_user, expected_version=form.version.data,
                           referral_id=referral.id, **form.inputs())
    if refusal is None:
        flash(_("%(event)s: berhasil.", event=EVENT_LABELS[event]), "success")
        if event == "decline":  # a declined referral is no longer the agency's to open
            return redirect(url_for("referrals.inbox"))
        return redirect(url_for("referrals.show", referral_id=referral_id))
    show_refusal(form, refusal)
    referral = _load(referral_id)
    changed = refusal if isinstance(refusal, case_services.CaseChanged) else None
    if changed is not None:
        form.version.data = referral.case.version  # what the agency typed stays, to send again
    return _render(referral, forms, changed=changed, status=refusal.status)


# -- the referral letter and its public check ------------------------------------------------------------------


@bp.get("/referrals/<id:referral_id>/letter")
@login_required
def letter(referral_id: int):
    """The printable Surat Rujukan of an approved referral (A4); each view is audited."""
    try:
        referral = letters.get_letter(current_user, referral_id)
    except ServiceError:
        abort(404)
    printing = request.args.get("print") == "1"
    if not printing:  # the print was recorded by the POST that led here
        run(letters.record, current_user, referral)
    url = letters.verify_url(referral)
    return render_template("referrals/letter.html", referral=referral, case=referral.case, verify_url=url,
                           qr=letters.qr_svg(url), printing=printing)


@bp.post("/referrals/<id:referral_id>/letter/print")
@login_required
def print_letter(referral_id: int):
    try:
        referral = letters.get_letter(current_user, referral_id)
    except ServiceError:
        abort(404)
    run(letters.record, current_user, referral, printed=True)
    return redirect(url_for("referrals.letter", referral_id=referral.id, print=1), 303)


@bp.get("/v/<path:token>")
@limiter.limit("60 per minute")
def verify(token: str):
    """Public: is this referral letter genuine, and where does it stand? Nothing personal; no hint of why not."""
    found = letters.verify(token)
    return render_template("referrals/verify.html", found=found), 200 if found else 404


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
