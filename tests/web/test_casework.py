"""Casework without dead ends (issue 6, part 4), through the pages as a person meets them.

- A stale edit or event form comes back (409) with everything the user typed, beside what changed meanwhile
  and who changed it, carrying the current version: sending it again works, unless the change made the event
  unavailable, which the page then says instead of offering to send it.
- The referral form starts with the services the assessment recommended; the service report with today.
- The case page and the intake's duplicate warning list the complainant's other cases, closed ones too, within
  the user's area.
- The counts above a list count what that list shows, and each links to it.
- Revealing the full NIK is POST → 303 → GET, shown once; a GET of the reveal address reveals nothing.
- Lists show the days in the current step, and every open case has a due date.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from puskesos.audit.models import AuditEvent
from puskesos.cases import services as case_services
from puskesos.cases.models import Assessment, Case, mask_number
from puskesos.cases.workflow import DEADLINES, STATE_LABELS, State
from puskesos.core.timeutil import clock_at, today, utcnow, wib_date
from puskesos.extensions import db
from puskesos.referrals.models import Referral
from puskesos.workdays.services import add_working_days
from tests import factories
from tests.helpers import signed_in

# -- reading pages --------------------------------------------------------------------------------------------


class Form:
    def __init__(self, attrs: dict):
        self.attrs = attrs
        self.fields: list[tuple[str, str]] = []  # what a browser would send, in order
        self.buttons: list[str] = []  # the texts of its submit buttons

    @property
    def data(self) -> dict:
        return dict(self.fields)


class _FormParser(HTMLParser):
    """The forms of a page and what a browser would send for each, as it stands."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._option: list | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a)
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset") or not a.get("name"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.fields.append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "selected" in a, []]
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._button = []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)
        if self._option is not None:
            self._option[2].append(data)
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "option" and self._option is not None:
            value, selected, text = self._option
            self._options.append((value if value is not None else "".join(text).strip(), selected))
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [v for v, _s in self._options[:1]]
            if chosen:
                self._form.fields.append((self._select, chosen[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self._form.fields.append((self._textarea, re.sub(r"^\r?\n", "", text)))  # HTML drops one leading LF
            self._textarea = None
        elif tag == "button" and self._button is not None:
            self._form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None
        elif tag == "form":
            self._form = None


def forms_of(resp) -> list[Form]:
    parser = _FormParser()
    parser.feed(resp.get_data(as_text=True))
    return parser.forms


def the_form(resp) -> Form:
    """The page's one versioned form (not the sign-out or language buttons)."""
    found = [f for f in forms_of(resp) if "version" in f.data]
    assert len(found) == 1, [f.attrs for f in found]
    return found[0]


def form_for(resp, action_end: str) -> Form:
    found = [f for f in forms_of(resp) if f.attrs.get("action", "").endswith(action_end)]
    assert len(found) == 1, (action_end, [f.attrs for f in forms_of(resp)])
    return found[0]


def html(resp) -> str:
    return resp.get_data(as_text=True)


def changed_panel(resp) -> str:
    match = re.search(r'<div class="[^"]*\bchanged-meanwhile\b[^"]*".*?Isian Anda di bawah tidak hilang', html(resp),
                      re.S)
    assert match, "no changed-meanwhile panel"
    return match.group(0)


def section(resp, css_class: str) -> str:
    match = re.search(rf'<section class="[^"]*\b{css_class}\b[^"]*">.*?</section>', html(resp), re.S)
    return match.group(0) if match else ""


NUMBER_RE = re.compile(r'href="/cases/(SLRT-\d{4}-\d{4}-\d{6})"')


def numbers_in(text: str) -> set[str]:
    return set(NUMBER_RE.findall(text))


def snapshot(case_id: int) -> tuple:
    """Everything a refused write must leave as it was: the case row, its referrals and assessments, the log."""
    db.session.rollback()
    row = db.session.execute(select(Case.__table__).where(Case.id == case_id)).one()
    referrals = db.session.execute(select(Referral.__table__).where(Referral.case_id == case_id)
                                   .order_by(Referral.id)).all()
    assessments = db.session.execute(select(Assessment.__table__).where(Assessment.case_id == case_id)).all()
    events = db.session.execute(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action.notlike("auth.%"))).scalar_one()
    db.session.rollback()
    return row, tuple(referrals), tuple(assessments), events


def fresh(case_id: int) -> Case:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Case, case_id)


def post_page_form(client, url: str, **changes):
    """Open the page's form and send it as it stands, with `changes` typed in."""
    page = client.get(url)
    assert page.status_code == 200, html(page)[-2000:]
    return client.post(url, data={**the_form(page).data, **changes})


# -- a stale edit form ----------------------------------------------------------------------------------------


def test_a_stale_edit_form_comes_back_with_everything_typed_beside_the_change(app, world):
    colleague = factories.user("officer", "officer_a2", factories.VILLAGE_A)  # "Officer A2", same village
    case = factories.register(world.officer)
    seen_version = case.version
    officer = signed_in(app, "officer_a")
    url = f"/cases/{case.number}/edit"
    page = officer.get(url)
    assert page.status_code == 200
    opened = the_form(page).data
    assert opened["version"] == str(seen_version)

    # Meanwhile the colleague corrects the phone number on their own page.
    resp = post_page_form(signed_in(app, "officer_a2"), url, phone="0813 1111 2222")
    assert resp.status_code == 302, html(resp)[-2000:]
    current_version = fresh(case.id).version
    assert current_version == seen_version + 1
    before = snapshot(case.id)

    typed = {**opened, "name": "Siti Aminah Lubis", "birth_date": "1985-04-12", "phone": "0812 5555 6666",
             "address": "Dusun II, Jl. Baru No. 9", "rt": "7", "rw": "3", "dtsen_decile": "2",
             "urgency": "urgent", "description": "KIS nonaktif sejak Januari; sudah dua kali ke puskesmas.",
             "reporter_name": "Budi Santoso", "reporter_relation": "anak", "reporter_phone": "0812 3456 7890"}
    resp = officer.post(url, data=typed)
    assert resp.status_code == 409, html(resp)[-2000:]
    assert snapshot(case.id) == before  # nothing saved, nothing logged

    # The form again, with every value typed, carrying the version the user has now been shown the changes of.
    again = the_form(resp).data
    for name, value in typed.items():
        if name != "version":
            assert again.get(name) == value, (name, again.get(name), value)
    assert again["version"] == str(current_version)
    # Beside it, who changed what, in words, personal data masked.
    panel = changed_panel(resp)
    assert colleague.full_name in panel
    assert "Data pengaduan diubah" in panel
    assert "Nomor HP" in panel and "+62812… → +62813…" in panel
    assert "+6281311112222" not in panel and "phone" not in panel

    # Sending the same page again stores what was typed.
    resp = officer.post(url, data=again)
    assert resp.status_code == 302, html(resp)[-2000:]
    case = fresh(case.id)
    assert (case.name, case.phone, case.address, case.rt, case.rw, case.dtsen_decile, case.urgency,
            case.reporter_name, case.reporter_phone) == (
        "Siti Aminah Lubis", "+6281255556666", "Dusun II, Jl. Baru No. 9", "007", "003", 2, "urgent",
        "Budi Santoso", "+6281234567890")
    assert case.description == typed["description"]
    assert case.version == current_version + 1


def test_a_stale_edit_form_takes_over_what_the_user_left_untouched(app, world):
    """Optimistic locking must not turn into silently undoing a colleague's correction: a field the colleague
    changed and the user left as it was takes the new value; what the user typed stays."""
    factories.user("officer", "officer_a2", factories.VILLAGE_A)
    case = factories.register(world.officer)
    officer = signed_in(app, "officer_a")
    url = f"/cases/{case.number}/edit"
    opened = the_form(officer.get(url)).data
    resp = post_page_form(signed_in(app, "officer_a2"), url, phone="0813 1111 2222", rt="9")
    assert resp.status_code == 302, html(resp)[-2000:]

    typed = {**opened, "description": "Sudah dua kali ke puskesmas.", "rt": "4"}  # phone left as it was
    resp = officer.post(url, data=typed)
    assert resp.status_code == 409
    again = the_form(resp).data
    assert (again["phone"], again["rt"], again["description"]) == ("+6281311112222", "4", typed["description"])
    assert "sudah mengikuti perubahan itu: Nomor HP." in html(resp)
    assert officer.post(url, data=again).status_code == 302
    case = fresh(case.id)
    assert (case.phone, case.rt, case.description) == ("+6281311112222", "004", typed["description"])


def test_a_stale_edit_form_of_a_case_that_moved_on_keeps_what_was_typed(app, world):
    """The officer typed corrections while the case was submitted from another tab: nothing can be saved any
    more, but nothing typed is lost and the page says what happened."""
    case = factories.register(world.officer)
    officer = signed_in(app, "officer_a")
    url = f"/cases/{case.number}/edit"
    opened = the_form(officer.get(url)).data
    factories.fire(fresh(case.id), "submit", world.officer)
    before = snapshot(case.id)

    typed = {**opened, "name": "Siti Aminah Lubis", "description": "Sudah dua kali ke puskesmas."}
    resp = officer.post(url, data=typed)
    assert resp.status_code == 409, html(resp)[-2000:]
    assert snapshot(case.id) == before
    again = the_form(resp).data
    assert (again["name"], again["description"]) == (typed["name"], typed["description"])
    assert "Ajukan ke Dinsos" in changed_panel(resp)
    assert "tidak dapat diubah lagi" in html(resp)
    assert 'type="submit" value="Simpan"' not in html(resp) and ">Simpan<" not in html(resp)
    # Opening the form afresh is not offered: the case page says why.
    assert officer.get(url).status_code == 302


# -- a stale event form ---------------------------------------------------------------------------------------

NOTE = "Lampirkan foto KK dan surat keterangan tidak mampu dari desa."


def test_a_stale_event_form_keeps_the_note_and_can_be_sent_again(app, world):
    case = factories.case_in(State.IN_ASSESSMENT, world)
    caseworker = signed_in(app, "caseworker")
    url = f"/cases/{case.number}/events/request_info"
    opened = the_form(caseworker.get(url)).data

    # Meanwhile: a colleague asks for data, the officer sends the case back, the colleague takes it again.
    colleague, officer = signed_in(app, "caseworker2"), signed_in(app, "officer_a")
    assert post_page_form(colleague, url, note="Minta fotokopi KTP.").status_code == 302
    case_page = officer.get(f"/cases/{case.number}")
    assert officer.post(f"/cases/{case.number}/events/submit",
                        data=form_for(case_page, "/events/submit").data).status_code == 302
    case_page = colleague.get(f"/cases/{case.number}")
    assert colleague.post(f"/cases/{case.number}/events/start_assessment",
                          data=form_for(case_page, "/events/start_assessment").data).status_code == 302
    assert fresh(case.id).state == State.IN_ASSESSMENT  # request_info is offered again
    before = snapshot(case.id)

    resp = caseworker.post(url, data={**opened, "note": NOTE})
    assert resp.status_code == 409, html(resp)[-2000:]
    assert snapshot(case.id) == before
    form = the_form(resp)
    assert form.data["note"] == NOTE
    assert form.data["version"] == str(fresh(case.id).version)
    assert form.buttons == ["Minta data tambahan"]
    # The three changes, in the order they happened, each with its author, in words.
    panel = changed_panel(resp)
    labels = ["Minta data tambahan", "Ajukan ke Dinsos", "Ambil dan mulai asesmen"]
    positions = [panel.find(label) for label in labels]
    assert -1 not in positions and positions == sorted(positions), positions
    assert world.caseworker2.full_name in panel and world.officer.full_name in panel
    assert "Data yang kurang" in panel and "Minta fotokopi KTP." in panel
    assert "request_info" not in panel and "needs_info" not in panel

    resp = caseworker.post(url, data=form.data)
    assert resp.status_code == 302, html(resp)[-2000:]
    case = fresh(case.id)
    assert (case.state, case.info_request) == (State.NEEDS_INFO, NOTE)


def test_a_stale_event_form_that_the_change_made_unavailable_keeps_the_text_and_offers_no_button(app, world):
    case = factories.case_in(State.IN_ASSESSMENT, world)
    caseworker = signed_in(app, "caseworker")
    url = f"/cases/{case.number}/events/request_info"
    opened = the_form(caseworker.get(url)).data
    # Meanwhile a colleague completes the assessment: no more asking for data.
    resp = post_page_form(signed_in(app, "caseworker2"), f"/cases/{case.number}/events/complete_assessment",
                          findings="Rumah semi permanen.", eligible="yes", recommended_services="PBI-JK")
    assert resp.status_code == 302, html(resp)[-2000:]
    before = snapshot(case.id)

    resp = caseworker.post(url, data={**opened, "note": NOTE})
    assert resp.status_code == 409
    assert snapshot(case.id) == before
    form = the_form(resp)
    assert form.data["note"] == NOTE  # still there to copy
    assert form.buttons == []  # nothing to send it with
    assert "tidak tersedia lagi" in html(resp)
    panel = changed_panel(resp)
    assert "Simpan hasil asesmen" in panel and world.caseworker2.full_name in panel
    # Sent anyway (a crafted request), with the current version: refused, still nothing changed.
    resp = caseworker.post(url, data=form.data)
    assert resp.status_code == 422
    assert snapshot(case.id) == before


def test_a_stale_service_report_keeps_what_the_agency_typed(app, world):
    case = factories.case_in(State.IN_SERVICE, world)
    referral_id = case.referrals[-1].id
    agency = signed_in(app, "bpjs_user")
    page_url = f"/referrals/{referral_id}"
    opened = form_for(agency.get(page_url), "/report_service").data
    # Meanwhile the caseworker refers the case to a second agency; the service report is still due.
    resp = post_page_form(signed_in(app, "caseworker"), f"/cases/{case.number}/events/refer",
                          agency_id=str(world.dukcapil.id), service="Penerbitan KK", reason="KK hilang",
                          consent="verbal")
    assert resp.status_code == 302, html(resp)[-2000:]
    before = snapshot(case.id)

    typed = {**opened, "service_given": "PBI-JK aktif kembali per 1 Desember."}
    resp = agency.post(f"{page_url}/report_service", data=typed)
    assert resp.status_code == 409, html(resp)[-2000:]
    assert snapshot(case.id) == before
    form = form_for(resp, "/report_service")
    assert form.data["service_given"] == typed["service_given"]
    assert form.data["delivered_on"] == typed["delivered_on"]
    assert form.data["version"] == str(fresh(case.id).version)
    # The change was a referral to another agency: the consent covered BPJS's referral, not that one, so the
    # panel counts it without saying what it was.
    panel = changed_panel(resp)
    assert "Ditambah 1 perubahan lain pada kasus oleh Dinas Sosial." in panel
    assert "Rujuk ke instansi" not in panel and "Penerbitan KK" not in panel and "Disdukcapil" not in panel

    resp = agency.post(f"{page_url}/report_service", data=form.data)
    assert resp.status_code == 302, html(resp)[-2000:]
    db.session.rollback()
    referral = db.session.get(Referral, referral_id)
    assert (referral.status, referral.service_given) == ("completed", typed["service_given"])


# -- forms that start where the work is -----------------------------------------------------------------------

RECOMMENDED = "Reaktivasi PBI-JK dan pengantar ke Disdukcapil"


def test_the_referral_form_starts_with_the_recommended_services(app, world):
    case = factories.case_in(State.IN_ASSESSMENT, world)
    caseworker = signed_in(app, "caseworker")
    resp = post_page_form(caseworker, f"/cases/{case.number}/events/complete_assessment",
                          findings="KIS nonaktif.", eligible="yes", recommended_services=RECOMMENDED)
    assert resp.status_code == 302, html(resp)[-2000:]
    url = f"/cases/{case.number}/events/refer"
    form = the_form(caseworker.get(url))
    assert form.data["service"] == RECOMMENDED
    # Completed with what only the caseworker knows, the form as it started goes through.
    resp = caseworker.post(url, data={**form.data, "agency_id": str(world.bpjs.id), "reason": "PBI nonaktif",
                                      "consent": "written"})
    assert resp.status_code == 302, html(resp)[-2000:]
    assert fresh(case.id).referrals[-1].service == RECOMMENDED


def test_the_service_report_starts_at_today(app, world):
    case = factories.case_in(State.IN_SERVICE, world)
    referral_id = case.referrals[-1].id
    agency = signed_in(app, "bpjs_user")
    form = form_for(agency.get(f"/referrals/{referral_id}"), "/report_service")
    assert form.data["delivered_on"] == today().isoformat()
    # "Today" is the office's day (WIB): at 01:00 WIB on New Year's Day it is already the new year's date.
    with clock_at(dt.datetime(2026, 12, 31, 18, 0)):
        moved = form_for(agency.get(f"/referrals/{referral_id}"), "/report_service")
        assert moved.data["delivered_on"] == "2027-01-01"
    resp = agency.post(f"/referrals/{referral_id}/report_service",
                       data={**form.data, "service_given": "PBI-JK aktif"})
    assert resp.status_code == 302, html(resp)[-2000:]
    db.session.rollback()
    assert db.session.get(Referral, referral_id).delivered_on == dt.date.fromisoformat(form.data["delivered_on"])


# -- the complainant's history --------------------------------------------------------------------------------


@pytest.fixture
def complainant(world):
    """One complainant (NIK, and a family card) with cases over time and places, and a stranger's case."""
    nik, kk = factories.nik(), "1603010101770001"
    cases = {"closed": factories.case_in(State.CLOSED, world, nik=nik)}
    cases["open"] = factories.register(world.officer, nik=nik)
    cases["family_b"] = factories.register(world.officer_b, village_code=factories.VILLAGE_B, kk_number=kk)
    lahat, _ = case_services.register(world.officer_lahat, factories.intake(
        nik=nik, village_code=factories.VILLAGE_LAHAT), confirm_duplicate=True)
    cases["lahat"] = lahat
    cases["stranger"] = factories.register(world.officer)
    current, _ = case_services.register(world.officer, factories.intake(nik=nik, kk_number=kk),
                                        confirm_duplicate=True)
    cases["current"] = current
    db.session.commit()
    return nik, {key: case.number for key, case in cases.items()}


# Who sees which of the complainant's other cases (their areas: village A, the regency, the province).
HISTORY = {"officer_a": {"closed", "open"}, "caseworker": {"closed", "open", "family_b"},
           "supervisor_prov": {"closed", "open", "family_b", "lahat"}}


@pytest.mark.parametrize("username", list(HISTORY))
def test_the_case_page_lists_the_complainants_other_cases_in_the_area(app, world, complainant, username):
    _nik, numbers = complainant
    resp = signed_in(app, username).get(f"/cases/{numbers['current']}")
    assert resp.status_code == 200
    history = section(resp, "complainant-history")
    assert numbers_in(history) == {numbers[key] for key in HISTORY[username]}
    # The closed one with its outcome, in words.
    assert str(STATE_LABELS[State.CLOSED]) in history and "Tidak memenuhi syarat" in history


def test_the_duplicate_warning_lists_the_closed_cases_too(app, world, complainant):
    nik, numbers = complainant
    resp = signed_in(app, "officer_a").post("/cases/new", data=factories.intake(nik=nik, name="Siti (lagi)"))
    assert resp.status_code == 409, html(resp)[-2000:]
    warning = re.search(r'<div[^>]*id="duplicates".*?</div>', html(resp), re.S).group(0)
    assert numbers_in(warning) == {numbers["closed"], numbers["open"], numbers["current"]}
    assert "1 pengaduan terbuka lainnya ada di luar wilayah Anda" in warning  # the Lahat case, counted only


# -- counts above a list --------------------------------------------------------------------------------------

COUNT_RE = re.compile(r'<a href="([^"]+)" data-state="(\w+)">[^<]*</a>:\s*<strong>([^<]+)</strong>')
ROW_STATE_RE = re.compile(r'<td><span class="badge state-(\w+)">')


def counts_of(resp) -> dict[str, tuple[int, str]]:
    """state → (count, link) above the list."""
    return {state: (int(n), href.replace("&amp;", "&")) for href, state, n in COUNT_RE.findall(html(resp))}


def row_states(resp) -> list[str]:
    body = re.search(r"<tbody>.*?</tbody>", html(resp), re.S)
    return ROW_STATE_RE.findall(body.group(0)) if body else []


def answered_case(w, category: str = "health"):
    case = factories.case_in(State.IN_SERVICE, w, category=category)
    factories.fire(case, "report_service", w.agency_user, referral_id=case.referrals[-1].id,
                   service_given="PBI-JK aktif", delivered_on=today())
    return case


def test_the_counts_count_what_the_list_shows_and_link_to_it(app, world):
    open_states = [s for s in State if s != State.CLOSED]
    month_ago = utcnow() - dt.timedelta(days=30)
    with clock_at(month_ago):  # a month ago: every step of these is overdue now
        for state in open_states:
            if state == State.ANSWERED:
                answered_case(world)
            else:
                factories.case_in(state, world, category="health")
        factories.case_in(State.REFERRED, world, category="health")  # two of one state
        factories.case_in(State.REGISTERED, world, category="food")  # overdue, other category
        factories.case_in(State.CLOSED, world, category="health")  # closed: never overdue
    for state in (State.REGISTERED, State.SUBMITTED, State.ASSESSED):  # today: not overdue
        factories.case_in(state, world, category="health")
    answered_case(world)

    supervisor = signed_in(app, "supervisor")
    resp = supervisor.get("/cases/?category=health&overdue=y")
    assert resp.status_code == 200
    counts, shown = counts_of(resp), row_states(resp)
    expected = {s.value: (2 if s == State.REFERRED else 1) for s in open_states} | {State.CLOSED.value: 0}
    assert {state: n for state, (n, _link) in counts.items()} == expected
    for state, (n, link) in counts.items():
        assert shown.count(state) == n, (state, n, shown)
        url = urlsplit(link)
        assert url.path == "/cases/"
        assert parse_qs(url.query) == {"state": [state], "category": ["health"], "overdue": ["y"]}
        listed = supervisor.get(link)
        assert row_states(listed) == [state] * n, (link, row_states(listed))
        assert counts_of(listed) == counts  # the same counts on the narrowed list


def test_a_caseworkers_own_list_counts_only_their_own_cases(app, world):
    mine = [factories.case_in(State.IN_ASSESSMENT, world), factories.case_in(State.ASSESSED, world),
            factories.case_in(State.CLOSED, world)]  # case_in: taken by world.caseworker
    theirs = factories.case_in(State.SUBMITTED, world)
    factories.fire(theirs, "start_assessment", world.caseworker2)
    factories.case_in(State.SUBMITTED, world)  # nobody's yet
    client = signed_in(app, "caseworker")
    for url in ("/cases/mine", "/cases/?assignee=me"):
        resp = client.get(url)
        assert resp.status_code == 200
        counts = counts_of(resp)
        assert {s: n for s, (n, _l) in counts.items() if n} == {"in_assessment": 1, "assessed": 1, "closed": 1}
        for state, (n, link) in counts.items():
            assert parse_qs(urlsplit(link).query) == {"state": [state], "assignee": ["me"]}
            assert row_states(client.get(link)) == [state] * n, link
        assert theirs.number not in numbers_in(html(resp))
        shown = numbers_in(html(resp))
        assert {c.number for c in mine if c.state != State.CLOSED} <= shown
    # The own list is the open ones; the full list (no assignee) counts everybody's.
    assert sorted(row_states(client.get("/cases/mine"))) == ["assessed", "in_assessment"]
    everybody = counts_of(client.get("/cases/"))
    assert (everybody["in_assessment"][0], everybody["submitted"][0]) == (2, 1)


# -- revealing the full NIK -----------------------------------------------------------------------------------


def pii_views(case_id: int) -> int:
    db.session.rollback()
    n = db.session.execute(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == "pii.viewed", AuditEvent.case_id == case_id)).scalar_one()
    db.session.rollback()
    return n


@pytest.mark.parametrize("who", ["caseworker", "agency"])
def test_revealing_the_nik_is_post_redirect_get_and_shown_once(app, world, who):
    case = factories.case_in(State.REFERRED, world)
    if who == "agency":
        client, page = signed_in(app, "bpjs_user"), f"/referrals/{case.referrals[-1].id}"
        reveal = f"{page}/nik"
    else:
        client, page = signed_in(app, "caseworker"), f"/cases/{case.number}"
        reveal = f"/cases/{case.number}/nik"
    full, masked = case.nik, mask_number(case.nik)
    assert form_for(client.get(page), reveal).attrs.get("method") == "post"

    resp = client.post(reveal)
    assert (resp.status_code, resp.headers["Location"]) == (303, page)
    assert pii_views(case.id) == 1
    shown = html(client.get(page))
    assert f'id="full-nik">{full}<' in shown
    again = html(client.get(page))  # a refresh: masked again, and no second event
    assert full not in again and masked in again
    assert pii_views(case.id) == 1

    resp = client.get(reveal)  # a bookmark or a refresh of the reveal address
    assert (resp.status_code, resp.headers["Location"]) == (303, page)
    assert full not in html(resp)
    assert full not in html(client.get(page))
    assert pii_views(case.id) == 1


# -- days in this step, and a due date in every open step -----------------------------------------------------

DUE_CELL_RE = re.compile(r'<td class="small text-end days-in-step">([^<]*)</td>\s*<td class="small text-nowrap">(.*?)'
                         r"</td>", re.S)


def list_rows(resp) -> dict[str, tuple[str, str, str]]:
    """number → (state, days in this step, due date text) for each row of a case list."""
    body = re.search(r"<tbody>.*?</tbody>", html(resp), re.S).group(0)
    rows = {}
    for row in re.findall(r"<tr.*?</tr>", body, re.S):
        number = NUMBER_RE.search(row).group(1)
        state = ROW_STATE_RE.search(row).group(1)
        days, due = DUE_CELL_RE.search(row).groups()
        rows[number] = (state, days.strip(), " ".join(re.sub(r"<[^>]+>", " ", due).split()))
    return rows


def test_lists_show_days_in_the_step_and_a_due_date_for_every_open_case(app, world):
    cases = {state: factories.case_in(state, world) for state in State}
    answered_case(world)
    client = signed_in(app, "supervisor")
    resp = client.get("/cases/")
    assert "Hari di tahap ini" in html(resp)
    rows = list_rows(resp)
    assert len(rows) == len(cases) + 1
    for number, (state, days, due) in rows.items():
        if state == State.CLOSED:
            assert (days, due) == ("—", "—"), number
        else:
            assert days == "0", number  # all made today
            assert re.match(r"\d{1,2} \w{3} \d{4}", due), (number, state, due)
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(Case).where(
        Case.state != State.CLOSED, Case.due_on.is_(None))).scalar_one() == 0


def test_days_in_the_step_follow_the_clock(app, world):
    now = utcnow()
    registered_at = now - dt.timedelta(days=4)
    with clock_at(registered_at):
        case = factories.register(world.officer)
    # Its due date was set then, from the day of registration (WIB) and the deadline of `registered`.
    assert fresh(case.id).due_on == add_working_days(wib_date(registered_at), DEADLINES[State.REGISTERED]).day
    client = signed_in(app, "officer_a")

    def days_shown() -> tuple[str, str]:
        listed = list_rows(client.get("/cases/"))[case.number][1]
        page = re.search(r'<span class="days-in-step">(\d+) hari di tahap ini</span>',
                         html(client.get(f"/cases/{case.number}"))).group(1)
        return listed, page

    assert days_shown() == ("4", "4")
    with clock_at(now + dt.timedelta(days=2)):
        assert days_shown() == ("6", "6")
    with clock_at(now - dt.timedelta(days=1)):  # submitted yesterday: a new step, its own clock
        factories.fire(fresh(case.id), "submit", world.officer)
    assert days_shown() == ("1", "1")
