"""Case pages: lists, intake, the case page with its timeline, and one form per workflow event."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from puskesos.accounts.roles import Role
from puskesos.audit.services import details_of, timeline
from puskesos.cases import services
from puskesos.cases.forms import EVENT_FORMS, CaseFilterForm, EventForm, IntakeForm
from puskesos.cases.models import Outcome
from puskesos.cases.workflow import EVENT_LABELS, STATE_LABELS, State, inputs_of
from puskesos.core.errors import Conflict, ServiceError
from puskesos.referrals.services import agencies_serving
from puskesos.regions.services import lineage
from puskesos.web.access import require_role
from puskesos.web.forms import run, show_refusal
from puskesos.web.templating import prime_region_names

bp = Blueprint("cases", __name__, url_prefix="/cases")

CASE_ROLES = (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR)


def _load(number: str):
    """Load the case or 404 (also when outside the user's area); agencies use their referral pages."""
    require_role(*CASE_ROLES)
    try:
        return services.get_case(current_user, number)
    except ServiceError:
        abort(404)


# -- lists ----------------------------------------------------------------------------------------------------


def _case_list(template_title, filters: services.CaseFilters, form: CaseFilterForm | None = None, tab=None):
    page = services.page_cases(current_user, filters, request.args.get("cursor"),
                               current_app.config["PAGE_SIZE"])
    prime_region_names(case.village_code for case in page.rows)
    counts = services.state_counts(current_user)
    return render_template("cases/index.html", page=page, counts=counts, form=form, title=template_title,
                           tab=tab, states=list(State))


@bp.get("/")
@login_required
def index():
    require_role(*CASE_ROLES)
    form = CaseFilterForm(request.args)
    form.state.choices = [("", _("Semua status")), ("open", _("Semua yang terbuka"))] + [
        (s.value, label) for s, label in STATE_LABELS.items()]
    filters = services.CaseFilters(
        state=form.state.data or None, category=form.category.data or None,
        village_code=(form.village_code.data or "").strip() or None, overdue=bool(form.overdue.data),
        q=(form.q.data or "").strip() or None)
    return _case_list(_("Daftar kasus"), filters, form, tab="all")


@bp.get("/queue")
@login_required
def queue():
    """The caseworker's desk: submitted cases waiting to be taken, most urgent deadline first."""
    require_role(Role.CASEWORKER)
    return _case_list(_("Antrean kasus masuk"), services.CaseFilters(state=State.SUBMITTED), tab="queue")


@bp.get("/mine")
@login_required
def mine():
    require_role(Role.CASEWORKER)
    return _case_list(_("Kasus saya"), services.CaseFilters(state="open", assignee_id=current_user.id), tab="mine")


# -- intake ---------------------------------------------------------------------------------------------------


def _village_choices(form: IntakeForm) -> None:
    """An officer registers complaints of its own village (DESIGN: officers are bound to one)."""
    village = lineage(current_user.region_code)[-1]
    form.village_code.choices = [(village.code, village.name)]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require_role(Role.OFFICER)
    form = IntakeForm()
    _village_choices(form)
    duplicates, status = None, 200
    if form.validate_on_submit():
        result, refusal = run(services.register, current_user, form.intake_data(),
                              confirm_duplicate=bool(form.confirm_duplicate.data))
        if refusal is None:
            case, warnings = result
            for warning in warnings:
                flash(str(warning), "warning")
            flash(_("Pengaduan %(number)s terdaftar.", number=case.number), "success")
            return redirect(url_for("cases.show", number=case.number))
        duplicates = refusal if isinstance(refusal, services.DuplicateFound) else None
        show_refusal(form, refusal)
        status = refusal.status
    elif form.errors:
        status = 422
    return render_template("cases/intake.html", form=form, case=None, duplicates=duplicates), status


@bp.route("/<number>/edit", methods=["GET", "POST"])
@login_required
def edit(number: str):
    case = _load(number)
    if not services.may_edit(case, current_user):
        flash(_("Data pengaduan hanya dapat diubah oleh petugas desa selama kasus berstatus terdaftar atau perlu "
                "data tambahan."), "warning")
        return redirect(url_for("cases.show", number=case.number))
    form = IntakeForm(obj=case)
    _village_choices(form)
    duplicates, status = None, 200
    if request.method == "GET":
        form.version.data = case.version
        form.birth_date.data = case.birth_date.isoformat() if case.birth_date else ""
        form.dtsen_decile.data = str(case.dtsen_decile or "")
    elif form.validate_on_submit():
        result, refusal = run(services.update_intake, case, current_user, form.intake_data(),
                              expected_version=form.version.data,
                              confirm_duplicate=bool(form.confirm_duplicate.data))
        if refusal is None:
            for warning in result[1]:
                flash(str(warning), "warning")
            flash(_("Data pengaduan diperbarui."), "success")
            return redirect(url_for("cases.show", number=case.number))
        duplicates = refusal if isinstance(refusal, services.DuplicateFound) else None
        show_refusal(form, refusal)
        status = refusal.status
        if isinstance(refusal, Conflict) and duplicates is None:  # changed meanwhile: the form is stale
            return redirect(url_for("cases.show", number=number))
    else:
        status = 422
    return render_template("cases/intake.html", form=form, case=case, duplicates=duplicates), status


# -- the case page --------------------------------------------------------------------------------------------


def _render_case(case, *, full_nik: str | None = None, status: int = 200):
    allowed = services.allowed_events(case, current_user)
    return render_template(
        "cases/show.html", case=case, allowed=allowed, full_nik=full_nik, events=timeline(case),
        details_of=details_of, may_edit=services.may_edit(case, current_user), inline_events=[
            e for e in allowed if not inputs_of(e)], form_events=[e for e in allowed if inputs_of(e)]), status


@bp.get("/<number>")
@login_required
def show(number: str):
    return _render_case(_load(number))


@bp.post("/<number>/nik")
@login_required
def reveal_nik(number: str):
    """Show the full NIK once, on purpose, and record that it was seen."""
    case = _load(number)
    nik, refusal = run(services.reveal_nik, case, current_user)
    if refusal is not None:
        abort(refusal.status)
    return _render_case(case, full_nik=nik)


@bp.route("/<number>/events/<event>", methods=["GET", "POST"])
@login_required
def event(number: str, event: str):
    case = _load(number)
    if event not in EVENT_FORMS:
        abort(404)
    form = EVENT_FORMS[event]()
    _prepare_event_form(form, case, event)
    if request.method == "GET":
        if event not in services.allowed_events(case, current_user):
            flash(_("Aksi \u201c%(event)s\u201d tidak tersedia untuk kasus ini sekarang.",
                    event=EVENT_LABELS[event]), "warning")
            return redirect(url_for("cases.show", number=case.number))
        form.version.data = case.version
        if "referral_id" in request.args and hasattr(form, "referral_id"):
            form.referral_id.data = request.args["referral_id"]
        return render_template("cases/event.html", form=form, case=case, event=event)
    if not form.validate_on_submit():
        return render_template("cases/event.html", form=form, case=case, event=event), 422
    _result, refusal = run(services.fire, case, event, current_user, expected_version=form.version.data,
                     **form.inputs())
    if refusal is None:
        flash(_("%(event)s: berhasil.", event=EVENT_LABELS[event]), "success")
        return redirect(url_for("cases.show", number=case.number))
    show_refusal(form, refusal)
    if isinstance(refusal, Conflict) or not inputs_of(event):
        return redirect(url_for("cases.show", number=number))
    case = _load(number)
    _prepare_event_form(form, case, event)
    return render_template("cases/event.html", form=form, case=case, event=event), refusal.status


def _prepare_event_form(form: EventForm, case, event: str) -> None:
    if event == "refer":
        form.agency_id.choices = [("", "—")] + [(str(a.id), a.name) for a in agencies_serving(case.village_code)]
    if event == "revoke_referral":
        form.referral_id.choices = [(str(r.id), f"{r.agency.name}: {r.service}") for r in case.referrals
                                    if r.is_open]
    if event == "close":
        early = case.state in (State.REGISTERED, State.SUBMITTED)
        allowed = {Outcome.WITHDRAWN} if current_user.role == Role.OFFICER else (
            {Outcome.DUPLICATE, Outcome.WITHDRAWN} if early else None)
        if allowed is not None:
            form.outcome.choices = [c for c in form.outcome.choices if c[0] in allowed]
