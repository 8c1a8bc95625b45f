"""Access matrix over HTTP: every case and referral route × every World user, the list pages per role,
what each list shows, the audit log's area, guessed ids and anonymous visitors.

DESIGN.md: "a user must never read or change a case outside [their jurisdiction], whether through a
page, … a search or a guessed id. A denied read answers 404, not 403, so ids cannot be probed."

One world per backend is built for the whole module (building it per test would cost a second or two
for each of several hundred tests). Each request runs in its own application context, as in
production, so a request that fails leaves nothing half-written behind for the next one to see. The
tests that only expect refusals run first; the in-area tests, which may really move cases along the
workflow, run last and only check that the answer is not a refusal by area nor a crash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from html import escape
from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from puskesos import create_app
from puskesos.accounts import models as account_models
from puskesos.accounts.jurisdiction import AGENCY_ACCESS
from puskesos.audit.models import AuditEvent
from puskesos.cases.models import Case, mask_number
from puskesos.cases.workflow import EVENTS, State
from puskesos.extensions import db
from puskesos.referrals.models import Referral
from puskesos.referrals.workflow import TABLE as REFERRAL_TABLE
from tests import factories
from tests.conftest import BACKENDS, database_url

# Case numbers as listed: each row links to its case (the search box may echo a number typed into it).
NUMBER_RE = re.compile(r'href="/cases/(SLRT-\d{4}-\d{4}-\d{6})"')
AUDIT_ROW_RE = re.compile(r"<tr>\s*<td>(\d+)</td>")

# Every user of the World, by the World's attribute name.
USERS = ("officer", "officer_b", "officer_lahat", "caseworker", "caseworker2", "caseworker_lahat", "supervisor",
         "supervisor_province", "supervisor_lahat", "agency_user", "agency_other_user", "admin")
# For a case of officer A's village (16.03.01.2011, Kabupaten Muara Enim).
CASE_IN_AREA = ("officer", "caseworker", "caseworker2", "supervisor", "supervisor_province")
CASE_OUT_OF_AREA = tuple(u for u in USERS if u not in CASE_IN_AREA)  # incl. agency users and admin on /cases/
# Referral pages belong to the agency the referral is addressed to (BPJS Kesehatan Muara Enim).
REFERRAL_IN_SCOPE = ("agency_user",)
REFERRAL_OUT_OF_SCOPE = tuple(u for u in USERS if u not in REFERRAL_IN_SCOPE)
ROLE_OF = {"officer": "officer", "officer_b": "officer", "officer_lahat": "officer", "caseworker": "caseworker",
           "caseworker2": "caseworker", "caseworker_lahat": "caseworker", "supervisor": "supervisor",
           "supervisor_province": "supervisor", "supervisor_lahat": "supervisor", "agency_user": "agency",
           "agency_other_user": "agency", "admin": "admin"}

# The case (by state) each event is tried on: one of its source states, so that a jurisdiction hole would
# let the request through rather than be hidden behind a workflow refusal.
EVENT_CASE = {
    "resolve_at_intake": "registered",
    "submit": "needs_info",
    "start_assessment": "submitted",
    "request_info": "in_assessment",
    "complete_assessment": "in_assessment",
    "refer": "assessed",
    "revoke_referral": "referred",
    "accept": "referred",
    "decline": "referred",
    "report_service": "in_service",
    "report_failure": "in_service",
    "approve_referral": "referred",  # a pending referral: in the area the table refuses (422), outside it is 404
    "return_referral": "referred",
    "close": "assessed",
    "reopen": "closed",
}

# (method, path after /cases/<number>, which case)
CASE_ROUTES = (
    ("GET", "", "referred"),
    ("GET", "/edit", "registered"),
    ("POST", "/edit", "registered"),
    ("POST", "/nik", "referred"),
    ("GET", "/nik", "referred"),
    *(("GET", f"/events/{event}", EVENT_CASE[event]) for event in EVENTS),
    *(("POST", f"/events/{event}", EVENT_CASE[event]) for event in EVENTS),
)
# (method, path after /referrals/<id>, which referral: the pending one or the accepted one)
# In this order the in-scope test walks the referral table: the pending one is accepted (then no longer
# declinable), the accepted one is served (then no longer failable), and both stay readable.
REFERRAL_ROUTES = (
    ("GET", "", "pending"),
    ("POST", "/nik", "pending"),
    ("GET", "/nik", "pending"),
    ("POST", "/accept", "pending"),
    ("POST", "/decline", "pending"),
    ("GET", "", "pending"),
    ("POST", "/report_service", "accepted"),
    ("POST", "/report_failure", "accepted"),
    ("GET", "", "accepted"),
    ("POST", "/nik", "accepted"),
)


REFERRAL_STEPS = {step.event: step for step in REFERRAL_TABLE}


def _route_id(route) -> str:
    return f"{route[0]} {route[1] or '/'} [{route[2]}]"


# -- the module's world -----------------------------------------------------------------------------------


@dataclasses.dataclass
class CaseInfo:
    id: int
    number: str
    nik: str
    name: str
    village_code: str


@dataclasses.dataclass
class Matrix:
    app: object
    usernames: dict[str, str]
    user_ids: dict[str, int]
    agency_ids: dict[str, int]
    cases: dict[str, CaseInfo]  # by state, all in officer A's village; plus "lahat"
    referrals: dict[str, int]  # "pending" (on the referred case), "accepted" (on the in-service case)
    clients: dict = dataclasses.field(default_factory=dict)

    def client(self, user: str):
        """A test client signed in as this World user (one per user for the module)."""
        if user not in self.clients:
            client = self.app.test_client()
            resp = client.post("/login", data={"username": self.usernames[user], "password": factories.PASSWORD})
            assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
            self.clients[user] = client
        return self.clients[user]


def _info(case) -> CaseInfo:
    return CaseInfo(case.id, case.number, case.nik, case.name, case.village_code)


@pytest.fixture(scope="module", params=BACKENDS)
def matrix(request, tmp_path_factory):
    url = database_url(request.param, tmp_path_factory.mktemp("access"))
    with pytest.MonkeyPatch.context() as mp:
        # The dozen users' scrypt hashes would cost seconds; the work factor is all that changes.
        mp.setattr(account_models, "generate_password_hash",
                   functools.partial(generate_password_hash, method="pbkdf2:sha256:1"))
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.create_all()
            w = factories.build_world()
            cases = {}
            for state in State:
                case = factories.case_in(state.value, w, name=f"Pengadu Rahasia {state.value.title()}")
                cases[state.value] = _info(case)
            lahat = factories.register(w.officer_lahat, village_code=factories.VILLAGE_LAHAT,
                                       nik=factories.nik("160401"), name="Pengadu Lahat Tersembunyi")
            factories.fire(lahat, "submit", w.officer_lahat)
            cases["lahat"] = _info(lahat)
            referred = db.session.get(Case, cases["referred"].id)
            in_service = db.session.get(Case, cases["in_service"].id)
            m = Matrix(
                app=app,
                usernames={u: getattr(w, u).username for u in USERS},
                user_ids={u: getattr(w, u).id for u in USERS},
                agency_ids={"bpjs": w.bpjs.id, "dukcapil": w.dukcapil.id, "lahat": w.lahat_agency.id},
                cases=cases,
                referrals={"pending": referred.referrals[-1].id, "accepted": in_service.referrals[-1].id},
            )
            db.session.remove()
        yield m
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- helpers ----------------------------------------------------------------------------------------------


def snapshot(m: Matrix, case_id: int) -> tuple:
    """What must not move when a request is refused: state, version, audit events, referrals."""
    with m.app.app_context():
        state, version = db.session.execute(select(Case.state, Case.version).where(Case.id == case_id)).one()
        events = db.session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case_id)).scalar_one()
        referrals = tuple(db.session.execute(
            select(Referral.id, Referral.status).where(Referral.case_id == case_id).order_by(Referral.id)).all())
        total_events = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        db.session.remove()
    return state, version, events, referrals, total_events


def current_version(m: Matrix, case_id: int) -> int:
    with m.app.app_context():
        version = db.session.execute(select(Case.version).where(Case.id == case_id)).scalar_one()
        db.session.remove()
    return version


def event_inputs(m: Matrix, event: str, case_key: str) -> dict:
    """A well-formed request for the event: the right version and inputs the workflow would accept."""
    case = m.cases[case_key]
    data = {"version": str(current_version(m, case.id))}
    today = dt.date.today().isoformat()
    data.update({
        "resolve_at_intake": {"action_taken": "Informasi diberikan."},
        "request_info": {"note": "Lampirkan foto KK."},
        "complete_assessment": {"findings": "Temuan", "eligible": "yes", "recommended_services": "PBI-JK"},
        "refer": {"agency_id": str(m.agency_ids["bpjs"]), "service": "PBI-JK", "reason": "Nonaktif",
                  "consent": "written"},
        "revoke_referral": {"referral_id": str(m.referrals["pending"]), "reason": "Salah instansi"},
        "accept": {"referral_id": str(m.referrals["pending"])},
        "decline": {"referral_id": str(m.referrals["pending"]), "reason": "Bukan wewenang kami"},
        "report_service": {"referral_id": str(m.referrals["accepted"]), "service_given": "Kartu aktif",
                           "delivered_on": today},
        "report_failure": {"referral_id": str(m.referrals["accepted"]), "reason": "Peserta pindah domisili"},
        "close": {"outcome": "not_eligible", "note": "Tidak memenuhi syarat"},
        "reopen": {"reason": "Ada data baru"},
    }.get(event, {}))
    return data


def edit_inputs(m: Matrix, case_key: str) -> dict:
    case = m.cases[case_key]
    data = factories.intake(nik=case.nik, name=case.name, village_code=case.village_code)
    data["version"] = str(current_version(m, case.id))
    return data


def case_request(m: Matrix, user: str, route) -> tuple:
    method, suffix, case_key = route
    case = m.cases[case_key]
    url = f"/cases/{case.number}{suffix}"
    client = m.client(user)
    if method == "GET":
        return case, client.get(url)
    if suffix.startswith("/events/"):
        data = event_inputs(m, suffix.rsplit("/", 1)[-1], case_key)
    elif suffix == "/edit":
        data = edit_inputs(m, case_key)
    else:
        data = {}
    return case, client.post(url, data=data)


def referral_request(m: Matrix, user: str, route) -> tuple:
    method, suffix, which = route
    referral_id = m.referrals[which]
    case = m.cases["referred" if which == "pending" else "in_service"]
    url = f"/referrals/{referral_id}{suffix}"
    client = m.client(user)
    if method == "GET":
        return case, client.get(url)
    data = {"version": str(current_version(m, case.id)), "referral_id": str(referral_id)}
    data.update({"decline": {"reason": "Bukan wewenang kami"},
                 "report_service": {"service_given": "Kartu aktif", "delivered_on": dt.date.today().isoformat()},
                 "report_failure": {"reason": "Peserta pindah domisili"},
                 }.get(suffix.lstrip("/"), {}))
    return case, client.post(url, data=data)


def assert_no_leak(body: str, *cases: CaseInfo) -> None:
    for case in cases:
        assert case.name not in body, f"complainant name of {case.number} leaked"
        assert case.nik not in body, f"NIK of {case.number} leaked"
        assert mask_number(case.nik) not in body, f"masked NIK of {case.number} leaked"


def without_echo(body: str, query: dict) -> str:
    """The page minus the search terms it echoes back (in the search box and in its paging links)."""
    for value in query.values():
        for form in (value, quote_plus(value), quote(value), escape(value)):
            body = body.replace(str(form), "")
    return body


def numbers_in(body: str) -> set[str]:
    return set(NUMBER_RE.findall(body))


def visible_numbers(m: Matrix, user: str) -> set[str]:
    """What DESIGN.md says a case role sees: the cases whose village lies inside its area."""
    with m.app.app_context():
        region = db.session.execute(select(account_models.User.region_code)
                                    .where(account_models.User.id == m.user_ids[user])).scalar_one()
        rows = db.session.execute(select(Case.number, Case.village_code)).all()
        db.session.remove()
    return {n for n, v in rows if v == region or v.startswith(region + ".")}


# -- the matrix: refusals ---------------------------------------------------------------------------------


def test_matrix_covers_every_user_and_event():
    world_users = {f.name for f in dataclasses.fields(factories.World)} - {"bpjs", "dukcapil", "lahat_agency"}
    assert set(USERS) == world_users
    assert set(EVENT_CASE) == set(EVENTS)
    agency_events = {step.event for step in REFERRAL_TABLE if step.role == "agency"}
    assert agency_events <= {suffix.lstrip("/") for _method, suffix, _which in REFERRAL_ROUTES}


@pytest.mark.parametrize("user", CASE_OUT_OF_AREA)
@pytest.mark.parametrize("route", CASE_ROUTES, ids=_route_id)
def test_case_route_outside_area_is_404_and_changes_nothing(matrix, route, user):
    case = matrix.cases[route[2]]
    matrix.client(user)  # signing in is itself an audit event: do it before counting
    before = snapshot(matrix, case.id)
    _case, resp = case_request(matrix, user, route)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404, (route, user, resp.status_code, body[-1500:])
    assert_no_leak(body, case)
    assert snapshot(matrix, case.id) == before, f"{route} by {user} changed the case or the audit log"


@pytest.mark.parametrize("user", REFERRAL_OUT_OF_SCOPE)
@pytest.mark.parametrize("route", REFERRAL_ROUTES, ids=_route_id)
def test_referral_route_outside_scope_is_404_and_changes_nothing(matrix, route, user):
    case = matrix.cases["referred" if route[2] == "pending" else "in_service"]
    matrix.client(user)
    before = snapshot(matrix, case.id)
    _case, resp = referral_request(matrix, user, route)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404, (route, user, resp.status_code, body[-1500:])
    assert_no_leak(body, case)
    assert snapshot(matrix, case.id) == before, f"{route} by {user} changed the case or the audit log"


@pytest.mark.parametrize("user", USERS)
def test_unknown_event_is_404(matrix, user):
    case = matrix.cases["registered"]
    client = matrix.client(user)
    before = snapshot(matrix, case.id)
    for resp in (client.get(f"/cases/{case.number}/events/delete"),
                 client.post(f"/cases/{case.number}/events/delete", data={"version": "1"}),
                 client.post(f"/referrals/{matrix.referrals['pending']}/revoke_referral", data={"version": "1"})):
        assert resp.status_code == 404, (user, resp.status_code)
    assert snapshot(matrix, case.id) == before


# -- list pages per role ----------------------------------------------------------------------------------

LIST_PAGES = {
    "/cases/": {"officer", "caseworker", "supervisor"},
    "/cases/queue": {"caseworker"},
    "/cases/mine": {"caseworker"},
    "/cases/new": {"officer"},
    "/referrals": {"agency"},
    "/audit": {"supervisor"},
    "/admin/users": {"admin"},
    "/admin/users/new": {"admin"},
    "/admin/agencies": {"admin"},
    "/admin/agencies/new": {"admin"},
}


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("page", [*LIST_PAGES, "/admin/users/<officer>", "/admin/agencies/<bpjs>"])
def test_list_pages_per_role(matrix, page, user):
    roles = LIST_PAGES.get(page, {"admin"})
    url = page.replace("<officer>", str(matrix.user_ids["officer"])).replace("<bpjs>",
                                                                              str(matrix.agency_ids["bpjs"]))
    resp = matrix.client(user).get(url)
    expected = 200 if ROLE_OF[user] in roles else 404
    assert resp.status_code == expected, (page, user, resp.status_code, resp.get_data(as_text=True)[-1500:])


@pytest.mark.parametrize("user", [u for u in USERS if ROLE_OF[u] in ("officer", "caseworker", "supervisor")])
def test_case_list_shows_exactly_the_users_area(matrix, user):
    client = matrix.client(user)
    expected = visible_numbers(matrix, user)
    resp = client.get("/cases/")
    assert resp.status_code == 200
    assert numbers_in(resp.get_data(as_text=True)) == expected, user
    hidden = [c for c in matrix.cases.values() if c.number not in expected]
    for other in hidden:
        for query in ({"q": other.number}, {"q": other.nik}, {"q": other.name}, {"q": other.number.lower()},
                      {"village_code": other.village_code}, {"village_code": other.village_code, "state": "open"},
                      {"q": mask_number(other.nik)}):
            resp = client.get("/cases/", query_string=query)
            body = resp.get_data(as_text=True)
            assert resp.status_code == 200, (user, query, resp.status_code)
            assert numbers_in(body) <= expected, (user, query)
            assert_no_leak(without_echo(body, query), other)
            assert_no_leak("".join(re.findall(r"<tbody>.*?</tbody>", body, re.S)), other)
    if ROLE_OF[user] == "caseworker":
        for url in ("/cases/queue", "/cases/mine"):
            resp = client.get(url)
            assert resp.status_code == 200
            assert numbers_in(resp.get_data(as_text=True)) <= expected, (user, url)


def test_each_area_sees_only_its_own_case(matrix):
    """The two cases of the brief: one in officer_lahat's village, one in officer_a's."""
    a, lahat = matrix.cases["registered"], matrix.cases["lahat"]
    sees = {u: numbers_in(matrix.client(u).get("/cases/").get_data(as_text=True))
            for u in USERS if ROLE_OF[u] in ("officer", "caseworker", "supervisor")}
    for user in ("officer", "caseworker", "caseworker2", "supervisor"):
        assert a.number in sees[user] and lahat.number not in sees[user], user
    for user in ("officer_lahat", "caseworker_lahat", "supervisor_lahat"):
        assert lahat.number in sees[user] and a.number not in sees[user], user
    assert a.number not in sees["officer_b"] and lahat.number not in sees["officer_b"]
    assert {a.number, lahat.number} <= sees["supervisor_province"]


def test_caseworker_queue_is_per_regency(matrix):
    lahat, submitted = matrix.cases["lahat"], matrix.cases["submitted"]
    queue = numbers_in(matrix.client("caseworker").get("/cases/queue").get_data(as_text=True))
    assert submitted.number in queue and lahat.number not in queue
    queue = numbers_in(matrix.client("caseworker_lahat").get("/cases/queue").get_data(as_text=True))
    assert lahat.number in queue and submitted.number not in queue


@pytest.mark.parametrize("user", ["officer", "caseworker", "supervisor", "officer_b"])
def test_muara_enim_users_get_404_for_the_lahat_case(matrix, user):
    lahat = matrix.cases["lahat"]
    client = matrix.client(user)
    before = snapshot(matrix, lahat.id)
    for resp in (client.get(f"/cases/{lahat.number}"), client.post(f"/cases/{lahat.number}/nik"),
                 client.get(f"/cases/{lahat.number}/edit"),
                 client.post(f"/cases/{lahat.number}/events/start_assessment",
                             data={"version": str(before[1])})):
        assert resp.status_code == 404, (user, resp.status_code)
        assert_no_leak(resp.get_data(as_text=True), lahat)
    assert snapshot(matrix, lahat.id) == before


def test_agency_inbox_shows_only_its_own_referrals(matrix):
    body = matrix.client("agency_user").get("/referrals").get_data(as_text=True)
    assert matrix.cases["referred"].number in body and matrix.cases["in_service"].number in body
    assert matrix.cases["lahat"].number not in body
    resp = matrix.client("agency_other_user").get("/referrals")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert not numbers_in(body)
    assert_no_leak(body, matrix.cases["referred"], matrix.cases["in_service"])


def _audit_rows(m: Matrix, user: str, **query) -> tuple[str, list[int]]:
    resp = m.client(user).get("/audit", query_string=query)
    assert resp.status_code == 200, resp.get_data(as_text=True)[-1500:]
    body = resp.get_data(as_text=True)
    return body, [int(s) for s in AUDIT_ROW_RE.findall(body)]


def _regions_of(m: Matrix, seqs: list[int]) -> dict[int, str | None]:
    with m.app.app_context():
        rows = dict(db.session.execute(select(AuditEvent.seq, AuditEvent.region_code)
                                       .where(AuditEvent.seq.in_(seqs))).all())
        db.session.remove()
    return rows


def test_audit_log_of_lahat_supervisor_has_no_muara_enim_events(matrix):
    body, seqs = _audit_rows(matrix, "supervisor_lahat")
    assert seqs, "the Lahat case's own events should be listed"
    assert all((r or "").startswith("16.04") for r in _regions_of(matrix, seqs).values())
    assert not any(n.startswith("SLRT-1603-") for n in numbers_in(body))
    assert matrix.cases["lahat"].number in numbers_in(body)
    for case_key in ("registered", "referred"):
        assert_no_leak(body, matrix.cases[case_key])
    # Filters cannot reach across the boundary either.
    for query in ({"case_number": matrix.cases["referred"].number}, {"actor": matrix.usernames["officer"]},
                  {"actor": matrix.usernames["caseworker"]}, {"action": "case.*"}, {"action": "pii.viewed"},
                  {"before": "999999999"}):
        body, seqs = _audit_rows(matrix, "supervisor_lahat", **query)
        assert not any(n.startswith("SLRT-1603-") for n in numbers_in(body)), query
        assert all((r or "").startswith("16.04") for r in _regions_of(matrix, seqs).values()), query


def test_audit_log_of_muara_enim_supervisor_has_no_lahat_events(matrix):
    body, seqs = _audit_rows(matrix, "supervisor")
    assert seqs
    assert all((r or "").startswith("16.03") for r in _regions_of(matrix, seqs).values())
    assert not any(n.startswith("SLRT-1604-") for n in numbers_in(body))
    body, seqs = _audit_rows(matrix, "supervisor", case_number=matrix.cases["lahat"].number)
    assert seqs == [] and not numbers_in(body)
    assert_no_leak(body, matrix.cases["lahat"])


# -- guessed ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", USERS)
def test_guessed_ids_are_404(matrix, user):
    client = matrix.client(user)
    for resp in (client.get("/referrals/999999"), client.post("/referrals/999999/nik"),
                 client.post("/referrals/999999/accept", data={"version": "1", "referral_id": "999999"}),
                 client.get("/cases/SLRT-9999-2026-000001"), client.post("/cases/SLRT-9999-2026-000001/nik"),
                 client.get("/cases/SLRT-9999-2026-000001/events/submit"),
                 client.get("/admin/users/999999"), client.get("/admin/agencies/999999")):
        assert resp.status_code == 404, (user, resp.request.path, resp.status_code)


def test_next_case_number_in_another_regency_is_404(matrix):
    """Numbers are sequential per regency: the one after a known number must not be probeable."""
    lahat = matrix.cases["lahat"]
    prefix, serial = lahat.number.rsplit("-", 1)
    for n in range(int(serial) - 1, int(serial) + 3):
        resp = matrix.client("caseworker").get(f"/cases/{prefix}-{n:06d}")
        assert resp.status_code == 404


# -- anonymous visitors -----------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login_on_every_route(matrix):
    app = matrix.app
    values = {"number": matrix.cases["referred"].number, "event": "submit",
              "referral_id": matrix.referrals["pending"], "user_id": matrix.user_ids["officer"],
              "agency_id": matrix.agency_ids["bpjs"], "code": "16.03", "notification_id": 1, "token": "x" * 43}
    client = app.test_client()
    before = {key: snapshot(matrix, case.id) for key, case in matrix.cases.items()}
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static", "accounts.login"):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{arg}>", str(values[arg]), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(path, method=method, data={"version": "1"} if method == "POST" else None)
            body = resp.get_data(as_text=True)
            checked.append((method, path))
            if rule.endpoint in ("api-docs.openapi_json", "api_docs.reference"):  # public: the API's contract
                assert resp.status_code == 200, (method, path, resp.status_code)
                continue
            if rule.endpoint == "referrals.verify":  # public: a letter's check; an unknown token is "not valid"
                assert resp.status_code == 404 and "Surat tidak valid." in body, (method, path, resp.status_code)
                assert_no_leak(body, *matrix.cases.values())
                continue
            if rule.endpoint == "api.create_token":  # public: where a token is asked for
                assert resp.status_code in (400, 422), (method, path, resp.status_code)
                continue
            if path.startswith("/api/"):  # everything else of the API wants a bearer token, not a login page
                assert resp.status_code == 401, (method, path, resp.status_code)
                assert_no_leak(body, *matrix.cases.values())
                continue
            assert resp.status_code in (302, 404, 405), (method, path, resp.status_code)
            assert_no_leak(body, *matrix.cases.values())
            if resp.status_code == 302:
                location = resp.headers["Location"]
                if rule.endpoint == "web.set_language":  # the language switch goes back where it was
                    assert location.startswith("/"), location
                else:
                    assert location.startswith("/login"), (method, path, location)
    assert ("GET", f"/cases/{values['number']}") in checked and len(checked) > 20
    assert {key: snapshot(matrix, case.id) for key, case in matrix.cases.items()} == before


# -- the agency on its own referrals: each answer as the referral table says (these move the two referrals along,
# so they run after the refusals; the cases' in-area tests, which run last, only look for area refusals) --------


@pytest.mark.parametrize("route", REFERRAL_ROUTES, ids=_route_id)
def test_referral_route_in_scope_follows_the_referral_table(matrix, route):
    method, suffix, which = route
    referral_id = matrix.referrals[which]
    status = referral_status(matrix, referral_id)
    case = matrix.cases["referred" if which == "pending" else "in_service"]
    before = snapshot(matrix, case.id)
    _case, resp = referral_request(matrix, "agency_user", route)
    body = resp.get_data(as_text=True)
    assert status in AGENCY_ACCESS, (route, status)  # this walk never declines or revokes
    if suffix == "/nik":  # POST → 303 → the referral page (GET: the same, nothing revealed)
        assert resp.status_code == 303, (route, resp.status_code)
        assert resp.headers["Location"] == f"/referrals/{referral_id}"
        return
    if method == "GET":
        assert resp.status_code == 200, (route, resp.status_code, body[-1500:])
        return
    step = REFERRAL_STEPS[suffix.lstrip("/")]
    if status in step.sources:
        assert resp.status_code == 302, (route, status, resp.status_code, body[-1500:])
        assert referral_status(matrix, referral_id) == step.dest
    else:
        assert resp.status_code == 422, (route, status, resp.status_code, body[-1500:])
        assert snapshot(matrix, case.id) == before


# -- the matrix: in-area users are let in (these may move cases along, so they run last) -----------------


@pytest.mark.parametrize("user", CASE_IN_AREA)
@pytest.mark.parametrize("route", CASE_ROUTES, ids=_route_id)
def test_case_route_in_area_is_not_refused(matrix, route, user):
    case, resp = case_request(matrix, user, route)
    if route[1] == "/nik":  # POST → 303 → the case page shows it once; GET (a refresh): the same, nothing shown
        assert resp.status_code == 303, (route, user, resp.status_code)
        assert resp.headers["Location"] == f"/cases/{case.number}"
        return
    assert resp.status_code in (200, 302, 422), (route, user, resp.status_code,
                                                 resp.get_data(as_text=True)[-1500:])
    if resp.status_code == 302:
        assert "/login" not in resp.headers["Location"]


def referral_status(m: Matrix, referral_id: int) -> str:
    with m.app.app_context():
        status = db.session.execute(select(Referral.status).where(Referral.id == referral_id)).scalar_one()
        db.session.remove()
    return status
