"""Case pages: lists, intake, the case page with its timeline, and one form per workflow event."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from puskesos.accounts.roles import Role
from puskesos.audit.services import timeline
from puskesos.cases import services
from puskesos.cases.contact import contact
from puskesos.cases.forms import EVENT_FORMS, CaseFilterForm, CaseSearchForm, IntakeForm, fill_from, prepare
from puskesos.cases.intake import INTAKE, INTAKE_BY_NAME
from puskesos.cases.workflow import EVENT_LABELS, STATE_LABELS, State, inputs_of
from puskesos.core import pii
from puskesos.core.errors import ServiceError
from puskesos.core.ids import parse_id
from puskesos.core.inputs import form_value
from puskesos.web.access import require_role
from puskesos.web.forms import run, show_refusal
from puskesos.web.reveal import remember_reveal, take_reveal
from puskesos.web.templating import prime_region_names

bp = Blueprint("cases", __name__, url_prefix="/cases")

CASE_ROLES = (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR)
CONTACT_ROLES = (Role.OFFICER, Role.CASEWORKER)  # those who talk to the complainant


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
    counts = services.state_counts(current_user, filters)
    # Each count links to the list it counts: the same filters, that state. A search travels as the id of the
    # posted search (the query itself never enters a URL); an old link's name search stays as it came.
    searched = search_id() if filters.q and recall_search(search_id()) == filters.q else None
    base = {"search": searched, "q": filters.q if filters.q and not searched else None,
            "category": filters.category, "village_code": filters.village_code,
            "overdue": "y" if filters.overdue else None,
            "assignee": "me" if filters.assignee_id == current_user.id else filters.assignee_id,
            "district_code": filters.district_code, "agency_id": filters.agency_id, "referral": filters.referral,
            "decile_max": filters.decile_max, "unserved": "y" if filters.unserved else None,
            "opened_week": filters.opened_week, "closed_week": filters.closed_week}
    base = {key: value for key, value in base.items() if value}
    return render_template("cases/index.html", page=page, counts=counts, form=form, title=template_title,
                           tab=tab, states=list(State), count_args=base, filters=filters,
                           count_cap=services.COUNT_CAP)


@bp.get("/")
@login_required
def index():
    require_role(*CASE_ROLES)
    form = CaseFilterForm(request.args)
    form.state.choices = [("", _("Semua status")), ("open", _("Semua yang terbuka"))] + [
        (s.value, label) for s, label in STATE_LABELS.items()]
    if pii.looks_like_nik(request.args.get("q")):
        flash(_("Demi perlindungan data pribadi, pencarian NIK atau nomor KK tidak dibaca dari alamat halaman. "
                "Ketik nomornya di kotak pencarian."), "warning")
    elif search_id() and recall_search(search_id()) is None:
        flash(_("Pencarian ini sudah tidak tersimpan. Ketik lagi di kotak pencarian."), "warning")
    filters = list_filters(form)
    form.q.data = filters.q  # the box shows what was searched, never a NIK the address carried
    mine = form.assignee.data == "me" and current_user.role == Role.CASEWORKER
    return _case_list(_("Kasus saya") if mine else _("Daftar kasus"), filters, form,
                      tab="mine" if mine else "all")


@bp.post("/search")
@login_required
def search():
    """The search box posts here (CSRF-checked): the query is kept in the session, encrypted, under an opaque
    id, and the list is shown with that id and the other filters in its address, so pagination, the per-state
    counts and the exports keep the search while a NIK never enters a URL, a log or the browser's history."""
    require_role(*CASE_ROLES)
    form = CaseSearchForm()
    if not form.validate():
        for messages in form.errors.values():
            flash(" ".join(str(m) for m in messages), "danger")
        return redirect(url_for("cases.index"), 303)
    args = {"state": form.state.data, "category": form.category.data,
            "village_code": (form.village_code.data or "").strip(), "overdue": "y" if form.overdue.data else None,
            "assignee": form.assignee.data, "search": remember_search((form.q.data or "").strip())}
    return redirect(url_for("cases.index", **{key: value for key, value in args.items() if value}), 303)


SEARCHES = "case_searches"
KEPT_SEARCHES = 5


def search_id() -> str | None:
    return (request.args.get("search") or "").strip()[:20] or None


def remember_search(q: str) -> str | None:
    """Keep a posted query in the session under a random id; the cookie holds it encrypted (it is signed, not
    encrypted, by itself). The last few searches are kept, so a second tab's search does not end the first's."""
    if not q:
        return None
    kept = dict(session.get(SEARCHES) or {})
    sid = secrets.token_urlsafe(8)
    kept[sid] = pii.encrypt(q, SEARCHES)
    session[SEARCHES] = dict(list(kept.items())[-KEPT_SEARCHES:])
    return sid


def recall_search(sid: str | None) -> str | None:
    stored = (session.get(SEARCHES) or {}).get(sid) if sid else None
    if not isinstance(stored, str):
        return None
    try:
        return pii.decrypt(stored, SEARCHES)
    except pii.DecryptionFailed:  # kept under a key since retired: the user types it again
        return None


def list_filters(form: CaseFilterForm | None = None) -> services.CaseFilters:
    """The case list's filters from the query string: the list page and its exports read them here. The search
    comes from the session (`search`, see `search`); a `q` in the address is read only when it holds no full
    NIK or KK, for old links: a NIK in an address is never searched."""
    form = form or CaseFilterForm(request.args)
    mine = form.assignee.data == "me" and current_user.role == Role.CASEWORKER
    typed = (request.args.get("q") or "").strip()[:60]
    q = recall_search(search_id()) or (typed if typed and not pii.looks_like_nik(typed) else None)
    return services.CaseFilters(
        state=form.state.data or None, category=form.category.data or None,
        village_code=(form.village_code.data or "").strip() or None, overdue=bool(form.overdue.data),
        q=q, assignee_id=current_user.id if mine else parse_id(form.assignee.data),
        **_dashboard_filters(request.args))


def _dashboard_filters(args) -> dict:
    """The filters the dashboard's numbers link to, read leniently: a value that does not parse is ignored."""
    def date(name):
        try:
            day = dt.date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None
        return day if 2000 <= day.year <= 2999 else None  # nor a week at the calendar's edge (no overflow)

    return {"district_code": args.get("district_code", "").strip()[:8] or None,
            "agency_id": parse_id(args.get("agency_id")), "referral": args.get("referral", "").strip()[:12] or None,
            "decile_max": parse_id(args.get("decile_max")), "unserved": args.get("unserved") == "y",
            "opened_week": date("opened_week"), "closed_week": date("closed_week")}


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


def _intake_page(form: IntakeForm, case=None, refusal: ServiceError | None = None, status: int = 200,
                 still_allowed: bool = True, taken: list | None = None):
    duplicates = refusal if isinstance(refusal, services.DuplicateFound) else None
    changed = refusal if isinstance(refusal, services.CaseChanged) else None
    return render_template("cases/intake.html", form=form, case=case, duplicates=duplicates, changed=changed,
                           still_allowed=still_allowed, taken=taken or []), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require_role(Role.OFFICER)
    form = IntakeForm()
    prepare(form, INTAKE, None, current_user)
    if form.validate_on_submit():
        result, refusal = run(services.register, current_user, form.intake_data(),
                              confirm_duplicate=bool(form.confirm_duplicate.data))
        if refusal is None:
            case, warnings = result
            for warning in warnings:
                flash(str(warning), "warning")
            flash(_("Pengaduan %(number)s terdaftar.", number=case.number), "success")
            return redirect(url_for("cases.show", number=case.number))
        show_refusal(form, refusal)
        return _intake_page(form, refusal=refusal, status=refusal.status)
    return _intake_page(form, status=422 if form.errors else 200)


@bp.route("/<number>/edit", methods=["GET", "POST"])
@login_required
def edit(number: str):
    case = _load(number)
    form = IntakeForm()
    prepare(form, INTAKE, case, current_user)
    if not services.may_edit(case, current_user):
        seen = parse_id(form.version.data) if request.method == "POST" else None
        if seen is not None and seen < case.version and current_user.role == Role.OFFICER:
            # The case moved on while the officer typed: keep what was typed, show what happened, offer no save.
            changed = services.stale(case, seen)
            return _intake_page(form, case, changed, status=changed.status, still_allowed=False)
        flash(_("Data pengaduan hanya dapat diubah oleh petugas desa selama kasus berstatus terdaftar atau perlu "
                "data tambahan."), "warning")
        return redirect(url_for("cases.show", number=case.number))
    if request.method == "GET":
        _shown, refusal = run(services.record_pii_view, case, current_user)  # the form shows NIK and KK in full
        if refusal is not None:
            abort(refusal.status)
        fill_from(form, case)
        form.version.data = case.version
        return _intake_page(form, case)
    if not form.validate_on_submit():
        return _intake_page(form, case, status=422)
    result, refusal = run(services.update_intake, case, current_user, form.intake_data(),
                          expected_version=form.version.data, confirm_duplicate=bool(form.confirm_duplicate.data))
    if refusal is None:
        for warning in result[1]:
            flash(str(warning), "warning")
        flash(_("Data pengaduan diperbarui."), "success")
        return redirect(url_for("cases.show", number=case.number))
    show_refusal(form, refusal)
    still_allowed = True
    if isinstance(refusal, services.CaseChanged):
        # What the user typed stays; what a colleague changed and the user did not touch takes the new value; the
        # form now carries the version they have been shown the changes of.
        case = _load(number)
        still_allowed = services.may_edit(case, current_user)
        taken = services.taken_over(refusal, form.intake_data())
        for name in taken:
            getattr(form, name).data = form_value(INTAKE_BY_NAME[name], getattr(case, name))
        if set(taken) & set(services.PII_FIELDS):  # a colleague's new NIK or KK, now shown in full
            run(services.record_pii_view, case, current_user, [n for n in taken if n in services.PII_FIELDS])
        form.version.data = case.version
        return _intake_page(form, case, refusal, status=refusal.status, still_allowed=still_allowed,
                            taken=[INTAKE_BY_NAME[name].label for name in taken])
    return _intake_page(form, case, refusal, status=refusal.status)


# -- the case page --------------------------------------------------------------------------------------------


def _render_case(case, *, status: int = 200):
    actions = services.referral_actions(case, current_user)
    allowed = services.allowed_events(case, current_user, actions)
    return render_template(
        "cases/show.html", case=case, allowed=allowed, full_nik=take_reveal(case), events=timeline(case),
        history=services.complainant_history(current_user, case.nik, case.kk_number, exclude_id=case.id),
        contact=contact(case) if current_user.role in CONTACT_ROLES else None,
        referral_actions=actions,
        may_edit=services.may_edit(case, current_user),
        inline_events=[e for e in allowed if not inputs_of(e)], form_events=[e for e in allowed if inputs_of(e)],
    ), status


@bp.get("/<number>")
@login_required
def show(number: str):
    return _render_case(_load(number))


@bp.route("/<number>/nik", methods=["GET", "POST"])
@login_required
def reveal_nik(number: str):
    """Show the full NIK once, on purpose, and record that it was seen: POST, then back to the case page, which
    shows it once. A refresh or a bookmark of this address lands on the case page."""
    case = _load(number)
    if request.method == "POST":
        _nik, refusal = run(services.reveal_nik, case, current_user)
        if refusal is not None:
            abort(refusal.status)
        remember_reveal(case)
    return redirect(url_for("cases.show", number=case.number), 303)


def _event_page(form, case, event: str, refusal: ServiceError | None = None, status: int = 200):
    changed = refusal if isinstance(refusal, services.CaseChanged) else None
    still_allowed = changed is None or event in services.allowed_events(case, current_user)
    return render_template("cases/event.html", form=form, case=case, event=event, changed=changed,
                           still_allowed=still_allowed), status


@bp.route("/<number>/events/<event>", methods=["GET", "POST"])
@login_required
def event(number: str, event: str):
    case = _load(number)
    if event not in EVENT_FORMS:
        abort(404)
    form = EVENT_FORMS[event]()
    prepare(form, inputs_of(event), case, current_user, event=event, fresh=request.method == "GET")
    if request.method == "GET":
        if event not in services.allowed_events(case, current_user):
            flash(_("Aksi \u201c%(event)s\u201d tidak tersedia untuk kasus ini sekarang.",
                    event=EVENT_LABELS[event]), "warning")
            return redirect(url_for("cases.show", number=case.number))
        form.version.data = case.version
        if "referral_id" in request.args and hasattr(form, "referral_id"):
            form.referral_id.data = request.args["referral_id"]
        return _event_page(form, case, event)
    if not form.validate_on_submit():
        return _event_page(form, case, event, status=422)
    _result, refusal = run(services.fire, case, event, current_user, expected_version=form.version.data,
                           **form.inputs())
    if refusal is None:
        flash(_("%(event)s: berhasil.", event=EVENT_LABELS[event]), "success")
        return redirect(url_for("cases.show", number=case.number))
    if not inputs_of(event):  # nothing typed to keep: the case page says why
        show_refusal(None, refusal)
        return redirect(url_for("cases.show", number=number))
    show_refusal(form, refusal)
    case = _load(number)
    if isinstance(refusal, services.CaseChanged):
        form.version.data = case.version  # what the user typed stays, to send again having seen the changes
    prepare(form, inputs_of(event), case, current_user, event=event)
    return _event_page(form, case, event, refusal, refusal.status)
