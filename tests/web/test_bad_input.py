"""Fuzzed forms and query strings over HTTP (DESIGN.md: "Bad input gets a clear message in the user's
language and changes nothing; no request ever answers 500 for bad input").

Every example checks, against the database as it was just before that example (the `app` fixture gives
one database per test, not per Hypothesis example):

- no answer is 5xx;
- a 4xx answer changed nothing: cases, referrals, assessments, users, agencies and the audit log apart
  from sign-in events are exactly as before;
- whatever was accepted left nothing half-written: every case has exactly one audit event per version
  (`case.created` for version 1, one per edit or workflow event after that).

Inputs that are invalid by construction (a NIK that cannot be 16 digits, a user without a name, …) must
also answer 4xx. Examples are bounded (25 per endpoint) and derandomized, so CI runs are reproducible.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
from flask import current_app
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from puskesos.accounts.models import User
from puskesos.audit.models import AuditEvent
from puskesos.cases.intake import INTAKE
from puskesos.cases.models import Assessment, Case
from puskesos.cases.workflow import EVENTS, REFERRAL_EVENTS, TABLE, State, inputs_of
from puskesos.core.inputs import KINDS, Input
from puskesos.extensions import db
from puskesos.referrals.models import Agency, Referral
from puskesos.referrals.workflow import TABLE as REFERRAL_TABLE
from tests import factories
from tests.helpers import send, signed_in

FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Hand-picked trouble: blanks, sizes, encodings, control bytes, injections, numbers that do not fit.
NASTY = (
    "", " ", "\t\r\n", "x" * 10_000, "9" * 10_000, "\x00", "a\x00b", "1603011204850001\x00",
    "\u202egnp.exe", "😀" * 50, "Ṡïţï Ämïnäh", "１６０３０１１２０４８５０００１", "٣", "\ufeff", "\ud7ff",
    "' OR '1'='1", "'; DROP TABLE case_file; --", "\" OR 1=1 --", "%", "_", "\\", "%_\\%",
    "<script>alert(1)</script>", "{{ 7*7 }}", "${7*7}", "../../etc/passwd",
    "-1", "0", "1.5", "1e9", "NaN", "Infinity", "null", "true", "[]", "{}", "99999999999999999999999999",
    "-99999999999999999999999999", "9223372036854775808", "2147483648",
    "0000-00-00", "0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01",
    "SLRT-1604-2026-000001", "16.04", "16.04.01.2001", "16", "16.03.01", "16.03.01.2011.", "16..03",
)
nasty = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
BIG = "9" * 25  # no database integer holds it
EXTRA_FIELDS = st.dictionaries(
    st.sampled_from(["id", "state", "version", "role", "is_admin", "assignee_id", "created_by_id", "agency_id",
                     "region_code", "nik[]", "csrf_token", "__class__", "x" * 300]),
    nasty, max_size=2)


def optional_fields(fields: dict) -> st.SearchStrategy[dict]:
    """A form where each field is missing, well-formed, nasty, or sent several times; plus extra fields."""
    def one(valid):
        return st.one_of(valid, nasty, st.lists(nasty, min_size=2, max_size=3))
    return st.builds(lambda a, b: {**b, **a}, st.fixed_dictionaries({}, optional={k: one(v)
                                                                                  for k, v in fields.items()}),
                     EXTRA_FIELDS)


# -- the invariants ---------------------------------------------------------------------------------------


def state_of_db() -> dict:
    """Everything a request may change, as committed (the test shares the requests' session)."""
    db.session.rollback()  # what each request's teardown does: uncommitted work is not the database
    rows = {
        "cases": db.session.execute(select(Case.__table__).order_by(Case.id)).all(),
        "referrals": db.session.execute(select(Referral.__table__).order_by(Referral.id)).all(),
        "assessments": db.session.execute(select(Assessment.__table__).order_by(Assessment.id)).all(),
        "users": db.session.execute(select(*[c for c in User.__table__.c if c.name != "last_login_at"])
                                    .order_by(User.id)).all(),
        "agencies": db.session.execute(select(Agency.__table__).order_by(Agency.id)).all(),
        "audit": db.session.execute(select(AuditEvent.seq, AuditEvent.action).where(
            AuditEvent.action.notlike("auth.%")).order_by(AuditEvent.seq)).all(),
    }
    db.session.rollback()
    return rows


def assert_one_event_per_version() -> None:
    """Nothing half-written: a case's version and its audit trail moved together (NIK views aside)."""
    events = dict(db.session.execute(
        select(AuditEvent.case_id, func.count()).where(AuditEvent.case_id.is_not(None),
                                                       AuditEvent.action != "pii.viewed")
        .group_by(AuditEvent.case_id)).all())
    for case_id, number, version in db.session.execute(select(Case.id, Case.number, Case.version)).all():
        assert events.get(case_id, 0) == version, f"{number}: version {version}, {events.get(case_id, 0)} events"
    db.session.rollback()


def check(resp, before: dict, *, invalid: bool = False, what="") -> None:
    status = resp.status_code
    assert status < 500, f"{what}: answered {status}"
    if invalid:
        assert 400 <= status < 500, f"{what}: invalid input answered {status}"
    after = state_of_db()
    if 400 <= status < 500 or invalid:
        changed = [k for k in before if before[k] != after[k]]
        assert not changed, f"{what}: answered {status} but changed {changed}"
    assert_one_event_per_version()


def post(client, url: str, data: dict):
    return send(client, "POST", url, data=data)


# -- declared inputs ----------------------------------------------------------------------------------

# Ids the case gives only at run time: an id input is sent as its placeholder, filled in by `_resolve`.
ID_PLACEHOLDERS = {"agency_id": "<agency>", "referral_id": "<referral>"}
# A sensible value of a free-text input (the rest of its strategy is made from its kind and limit).
TEXT_EXAMPLES = {"action_taken": "Informasi diberikan.", "note": "Lampirkan KK.", "findings": "Temuan",
                 "recommended_services": "PBI-JK", "service": "PBI-JK", "reason": "Alasan",
                 "service_given": "Kartu aktif"}


def well_formed(spec: Input, example: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """Values of one declared input that a form would send: made from its kind, choices and length limit, so
    a new input or a changed limit is fuzzed without touching this file. Its limit and one past it are always
    among them (the form refuses the second, the service never sees it). `example` adds values of a shape the
    kind does not say (a NIK, a phone number)."""
    made = _from_declaration(spec)
    return made if example is None else st.one_of(example, made)


def _bound(value, default):
    value = value() if callable(value) else value
    return default if value is None else value


def _from_declaration(spec: Input) -> st.SearchStrategy:
    if spec.kind in ("id", "hidden_id"):
        return st.just(ID_PLACEHOLDERS.get(spec.name, "<referral>"))
    if spec.kind == "bool":
        return st.sampled_from(spec.choice_values() or ["yes", "no"])
    if spec.kind in ("choice", "radio") and spec.choice_values():
        # Every declared choice, also those a row of the table does not allow (the row must refuse them).
        return st.sampled_from([*spec.choice_values(), "resolved_at_intake"] if spec.name == "outcome"
                               else spec.choice_values())
    if spec.kind == "date":
        today = dt.date.today()
        return st.one_of(st.just(today.isoformat()), st.dates(dt.date(1990, 1, 1), today + dt.timedelta(days=400))
                         .map(dt.date.isoformat))
    if spec.kind == "int":
        low, high = (_bound(spec.minimum, 0), _bound(spec.maximum, 100))
        return st.one_of(st.just(""), st.integers(low - 1, high + 1).map(str))
    example = TEXT_EXAMPLES.get(spec.name, "Teks")
    if spec.max_length is None:
        return st.one_of(st.just(example), st.text(min_size=1, max_size=80))
    return st.one_of(st.just(example), st.text(min_size=1, max_size=min(spec.max_length, 80)),
                     st.just("x" * spec.max_length), st.just("x" * (spec.max_length + 1)))


# -- sign-in ----------------------------------------------------------------------------------------------


@FUZZ
@given(data=optional_fields({"username": st.sampled_from(["officer_a", "admin", "OFFICER_A", " admin "]),
                             "password": st.sampled_from(["salah", factories.PASSWORD + " "])}))
@example(data={"username": "officer_a\x00", "password": "salah"})
@example(data={"username": "x" * 10_000, "password": "y" * 10_000})
@example(data={"username": ["officer_a", "admin"], "password": ["salah", factories.PASSWORD]})
def test_login_fuzz(world, app, data):
    client = app.test_client()
    before = state_of_db()
    resp = post(client, "/login", data)
    check(resp, before, invalid=True, what=f"POST /login {data!r:.200}")
    assert resp.status_code in (400, 401)
    resp = send(client, "GET", "/cases/")  # and nobody got in
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


# -- intake ----------------------------------------------------------------------------------------------

# Values of the intake fields whose shape a kind alone does not say (a NIK, a phone number, the own village).
INTAKE_EXAMPLES = {
    "nik": st.builds(lambda: factories.nik()), "kk_number": st.just("1603012345678901"),
    "name": st.just("Siti Aminah"), "birth_date": st.just("1985-04-12"), "phone": st.just("0812 7788 9900"),
    "village_code": st.just(factories.VILLAGE_A), "address": st.just("Jl. Lintas Sumatera No. 4"),
    "rt": st.just("2"), "rw": st.just("1"), "description": st.just("Kartu KIS tidak aktif."),
    "reporter_name": st.just("Budi"), "reporter_relation": st.just("anak"),
    "reporter_phone": st.just("081234567890"),
}
# Every declared intake input (INTAKE), from its example and from its kind, choices and limit.
INTAKE_FIELDS = {
    **{spec.name: well_formed(spec, INTAKE_EXAMPLES.get(spec.name)) for spec in INTAKE},
    "confirm_duplicate": st.sampled_from(["y", "on", ""]),
}


@FUZZ
@given(data=optional_fields(INTAKE_FIELDS))
@example(data=factories.intake(name="Siti\x00Aminah"))
@example(data=factories.intake(village_code="16.03.01.2011\x00"))
@example(data=factories.intake(description="x" * 10_000, dtsen_decile=BIG, rt="\x00", birth_date="0000-00-00"))
@example(data=factories.intake(address="<script>alert(1)</script>", reporter_name="' OR 1=1 --",
                               category="'; DROP TABLE case_file; --"))
def test_new_case_fuzz(world, app, data):
    client = signed_in(app, "officer_a")
    before = state_of_db()
    resp = post(client, "/cases/new", data)
    check(resp, before, what=f"POST /cases/new {data!r:.300}")
    created = len(state_of_db()["cases"]) - len(before["cases"])
    assert created == (1 if resp.status_code == 302 else 0)


def _not_a_nik(value) -> bool:
    text = value if isinstance(value, str) else ""
    return sum(c in "0123456789" for c in text) != 16


@FUZZ
@given(nik=nasty.filter(_not_a_nik), other=optional_fields({k: v for k, v in INTAKE_FIELDS.items() if k != "nik"}))
def test_new_case_with_impossible_nik_is_refused(world, app, nik, other):
    client = signed_in(app, "officer_a")
    before = state_of_db()
    resp = post(client, "/cases/new", {**factories.intake(), **other, "nik": nik})
    check(resp, before, invalid=True, what=f"POST /cases/new nik={nik!r:.100}")
    # 422 with the NIK message; 400 when the request carries a NUL, which no field may hold.
    assert resp.status_code == (400 if has_nul({"nik": nik, **other}) else 422)


@pytest.fixture
def registered_case(world):
    case = factories.case_in("registered", world)
    return case.id, case.number


@FUZZ
@given(data=optional_fields({**INTAKE_FIELDS, "version": st.just("<version>")}))
@example(data={**factories.intake(name="Siti\x00"), "version": "<version>"})
@example(data={**factories.intake(), "version": BIG})
def test_edit_case_fuzz(world, app, registered_case, data):
    case_id, number = registered_case
    client = signed_in(app, "officer_a")
    before = state_of_db()
    version = db.session.execute(select(Case.version).where(Case.id == case_id)).scalar_one()
    data = {k: (str(version) if v == "<version>" else v) for k, v in data.items()}
    resp = post(client, f"/cases/{number}/edit", data)
    check(resp, before, what=f"POST /cases/{number}/edit {data!r:.300}")


# -- workflow events --------------------------------------------------------------------------------------

# One source state per event (the case table's or, for referral events, the referral's status on that case).
SOURCE_STATE = {"resolve_at_intake": "registered", "submit": "needs_info", "start_assessment": "submitted",
                "request_info": "in_assessment", "complete_assessment": "in_assessment", "refer": "assessed",
                "revoke_referral": "referred", "accept": "referred", "decline": "referred",
                "report_service": "in_service", "report_failure": "in_service", "close": "assessed",
                "reopen": "closed", "approve_referral": "proposed", "return_referral": "proposed"}
ACTOR = {"resolve_at_intake": "officer_a", "submit": "officer_a", "accept": "caseworker", "decline": "caseworker",
         "report_service": "caseworker", "report_failure": "caseworker", "approve_referral": "supervisor",
         "return_referral": "supervisor"}
@st.composite
def event_posts(draw):
    event = draw(st.sampled_from(EVENTS))
    fields = {"version": st.just("<version>"), **{spec.name: well_formed(spec) for spec in inputs_of(event)}}
    return event, draw(optional_fields(fields))


def _resolve(data: dict, version: int, referral_id: int | None, agency_id: int) -> dict:
    table = {"<version>": str(version), "<referral>": str(referral_id or 0), "<agency>": str(agency_id)}
    return {k: (table.get(v, v) if isinstance(v, str) else v) for k, v in data.items()}


def test_every_event_and_input_is_fuzzed():
    """The fuzz below covers each event of both tables, each from a state it may start in."""
    assert set(SOURCE_STATE) == set(EVENTS)
    # of the latest referral (factories.case_in; "proposed": a referral made with sign-off on)
    referral_status = {"referred": "pending", "in_service": "accepted", "proposed": "proposed"}
    for event, state in SOURCE_STATE.items():
        if event in REFERRAL_EVENTS:
            step = next(step for step in REFERRAL_TABLE if step.event == event)
            assert referral_status[state] in step.sources, (event, state)
        else:
            assert any(step.event == event and state in step.sources for step in TABLE), (event, state)
    for spec in (spec for event in EVENTS for spec in inputs_of(event)):
        assert isinstance(spec, Input) and spec.kind in KINDS, spec


@pytest.fixture
def cases_by_state(world):
    cases = {s.value: factories.case_in(s.value, world) for s in State}
    cases["proposed"] = factories.case_in(State.ASSESSED, world)
    current_app.config["REFERRAL_SIGNOFF"] = True  # this one waits for a supervisor's sign-off
    try:
        factories.fire(cases["proposed"], "refer", world.caseworker, **factories.refer_inputs(world.bpjs))
    finally:
        current_app.config["REFERRAL_SIGNOFF"] = False
    return {state: (case.id, case.number) for state, case in cases.items()}


@FUZZ
@given(post_=event_posts())
@example(post_=("request_info", {"version": "<version>", "note": "Lampirkan\x00KK"}))
@example(post_=("refer", {"version": "<version>", "agency_id": BIG, "service": "PBI", "reason": "r",
                          "consent": "written"}))
@example(post_=("revoke_referral", {"version": "<version>", "referral_id": BIG, "reason": "r"}))
@example(post_=("close", {"version": "<version>", "outcome": "\x00", "note": "x" * 10_000}))
@example(post_=("complete_assessment", {"version": "<version>", "findings": "\x00", "eligible": "yes",
                                        "recommended_services": "PBI"}))
def test_case_event_fuzz(app, world, cases_by_state, post_):
    event, data = post_
    case_id, number = cases_by_state[SOURCE_STATE[event]]
    client = signed_in(app, ACTOR.get(event, "caseworker"))
    before = state_of_db()
    version = db.session.execute(select(Case.version).where(Case.id == case_id)).scalar_one()
    referral_id = db.session.execute(select(func.max(Referral.id)).where(Referral.case_id == case_id)).scalar()
    data = _resolve(data, version, referral_id, world.dukcapil.id)
    resp = post(client, f"/cases/{number}/events/{event}", data)
    check(resp, before, what=f"POST /cases/{number}/events/{event} {data!r:.300}")


AGENCY_STEPS = [step for step in REFERRAL_TABLE if step.role == "agency"]


@st.composite
def answer_posts(draw):
    """An agency's answer on its referral page: the event's declared inputs (the URL names the referral, but a
    `referral_id` field is sent too, to show it cannot redirect the answer)."""
    step = draw(st.sampled_from(AGENCY_STEPS))
    fields = {"version": st.just("<version>"), **{spec.name: well_formed(spec) for spec in step.inputs}}
    return step.event, draw(optional_fields(fields))


@FUZZ
@given(post_=answer_posts())
@example(post_=("decline", {"version": "<version>", "referral_id": "<referral>", "reason": "Bukan\x00"}))
@example(post_=("report_service", {"version": "<version>", "referral_id": "<referral>",
                                   "service_given": "Kartu aktif", "delivered_on": "9999-12-31"}))
@example(post_=("report_failure", {"version": "<version>", "reason": "x" * 10_000}))
@example(post_=("accept", {"version": BIG, "referral_id": BIG}))
def test_referral_answer_fuzz(app, world, cases_by_state, post_):
    event, data = post_
    case_id, _number = cases_by_state[SOURCE_STATE[event]]
    client = signed_in(app, "bpjs_user")
    before = state_of_db()
    version = db.session.execute(select(Case.version).where(Case.id == case_id)).scalar_one()
    referral_id = db.session.execute(select(func.max(Referral.id)).where(Referral.case_id == case_id)).scalar()
    data = _resolve(data, version, referral_id, world.bpjs.id)
    resp = post(client, f"/referrals/{referral_id}/{event}", data)
    check(resp, before, what=f"POST /referrals/{referral_id}/{event} {data!r:.300}")


# -- admin forms ------------------------------------------------------------------------------------------

USER_FIELDS = {
    "username": st.from_regex(r"[a-z]{3,12}", fullmatch=True), "full_name": st.just("Petugas Baru"),
    "password": st.just("rahasia12345"), "role": st.sampled_from(["officer", "caseworker", "agency", "supervisor",
                                                                  "admin"]),
    "region_code": st.sampled_from(["16", "16.03", "16.03.01.2011", "16.04"]), "agency_id": st.just("<agency>"),
    "active": st.sampled_from(["y", ""]),
}


@FUZZ
@given(data=optional_fields(USER_FIELDS))
@example(data={"username": "baru", "full_name": "Baru", "password": "rahasia12345", "role": "agency",
               "agency_id": BIG})
@example(data={"username": "baru", "full_name": "Baru", "password": "rahasia12345", "role": "officer",
               "region_code": "16.03.01.2011\x00"})
@example(data={"username": "baru", "full_name": "Baru\x00", "password": "rahasia12345", "role": "supervisor",
               "region_code": "16"})
def test_new_user_fuzz(app, world, data):
    client = signed_in(app, "admin")
    before = state_of_db()
    data = _resolve(data, 0, None, world.bpjs.id)
    resp = post(client, "/admin/users/new", data)
    check(resp, before, what=f"POST /admin/users/new {data!r:.300}")
    added = len(state_of_db()["users"]) - len(before["users"])
    assert added == (1 if resp.status_code == 302 else 0)


@FUZZ
@given(full_name=st.sampled_from(["", " ", "\t"]), data=optional_fields(USER_FIELDS))
def test_new_user_without_a_name_is_refused(app, world, full_name, data):
    client = signed_in(app, "admin")
    before = state_of_db()
    data = {**_resolve(data, 0, None, world.bpjs.id), "full_name": full_name}
    resp = post(client, "/admin/users/new", data)
    check(resp, before, invalid=True, what=f"POST /admin/users/new {data!r:.300}")


@FUZZ
@given(data=optional_fields({k: v for k, v in USER_FIELDS.items() if k != "username"}))
@example(data={"full_name": "Baru", "role": "agency", "agency_id": BIG})
@example(data={"full_name": "Baru", "role": "officer", "region_code": "\x00", "active": "y"})
def test_edit_user_fuzz(app, world, data):
    client = signed_in(app, "admin")
    before = state_of_db()
    data = _resolve(data, 0, None, world.bpjs.id)
    resp = post(client, f"/admin/users/{world.officer_b.id}", data)
    check(resp, before, what=f"POST /admin/users/<officer_b> {data!r:.300}")
    # Whatever was sent, the admin is still an active admin and can still work.
    assert send(signed_in(app, "admin"), "GET", "/admin/users").status_code == 200


AGENCY_FIELDS = {"name": st.from_regex(r"Instansi [A-Z][a-z]{2,10}", fullmatch=True),
                 "kind": st.sampled_from(["other", "baznas", "hospital"]),
                 "region_code": st.sampled_from(["16", "16.03", "16.03.01"]), "contact": st.just("0711-123456"),
                 "active": st.sampled_from(["y", ""])}


@FUZZ
@given(data=optional_fields(AGENCY_FIELDS))
@example(data={"name": "Instansi\x00", "kind": "other", "region_code": "16.03"})
@example(data={"name": "Instansi Baru", "kind": "other", "region_code": "16.03\x00"})
def test_new_agency_fuzz(app, world, data):
    client = signed_in(app, "admin")
    before = state_of_db()
    resp = post(client, "/admin/agencies/new", data)
    check(resp, before, what=f"POST /admin/agencies/new {data!r:.300}")
    added = len(state_of_db()["agencies"]) - len(before["agencies"])
    assert added == (1 if resp.status_code == 302 else 0)


# -- query strings ----------------------------------------------------------------------------------------

CASE_LINK = re.compile(r'href="/cases/(SLRT-\d{4}-\d{4}-\d{6})"')


@pytest.fixture
def two_regencies(world):
    """A case in Muara Enim and one in Lahat; returns the Lahat case's number."""
    factories.case_in("referred", world)
    lahat = factories.register(world.officer_lahat, village_code=factories.VILLAGE_LAHAT, nik=factories.nik("160401"))
    return lahat.number


def has_nul(fields: dict) -> bool:
    """A NUL anywhere in a request is refused whole (400) before any view: no field may hold one."""
    def items(value):
        if isinstance(value, dict):
            for pair in value.items():
                yield from items(pair)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from items(item)
        else:
            yield value

    return any(isinstance(item, str) and "\x00" in item for item in items(fields))


@FUZZ
@given(query=optional_fields({"q": st.sampled_from(["Siti", "SLRT-1604-2026-000001", "1604011204850001"]),
                              "state": st.sampled_from(["open", "referred", ""]),
                              "category": st.sampled_from(["health", ""]),
                              "village_code": st.sampled_from([factories.VILLAGE_A, factories.VILLAGE_LAHAT]),
                              "overdue": st.sampled_from(["y", ""]),
                              "cursor": st.sampled_from(["-.1", "2026-01-01.1", "2026-01-01.99999999999999999999",
                                                         "x.y", "-.-1"])}),
       user=st.sampled_from(["supervisor", "officer_a", "caseworker"]))
@example(query={"cursor": "2026-01-01." + BIG}, user="supervisor")
@example(query={"cursor": "-." + BIG}, user="caseworker")
@example(query={"q": "Siti\x00"}, user="officer_a")
@example(query={"village_code": "\x00", "state": "\x00", "category": "\x00"}, user="supervisor")
@example(query={"q": "x" * 10_000}, user="supervisor")
def test_case_list_query_fuzz(app, world, two_regencies, query, user):
    client = signed_in(app, user)
    before = state_of_db()
    resp = send(client, "GET", "/cases/", query_string=query)
    check(resp, before, what=f"GET /cases/ as {user} {query!r:.300}")
    assert resp.status_code == (400 if has_nul(query) else 200)
    shown = set(CASE_LINK.findall(resp.get_data(as_text=True)))
    assert not any(n.startswith("SLRT-1604-") for n in shown), (query, shown)
    assert two_regencies not in shown


@FUZZ
@given(query=optional_fields({"since": st.sampled_from(["2026-01-01", "0001-01-01", "9999-12-31", ""]),
                              "until": st.sampled_from(["2026-12-31", "0001-01-01", "9999-12-31", ""]),
                              "before": st.sampled_from(["1", "5", "-1", "0", "99999999999999999999"]),
                              "case_number": st.just("SLRT-1603-2026-000001"), "actor": st.just("officer_a"),
                              "action": st.sampled_from(["case.*", "*", "%", "auth.login"])}))
@example(query={"before": BIG})
@example(query={"since": "0001-01-01"})
@example(query={"until": "9999-12-31"})
@example(query={"actor": "officer_a\x00", "case_number": "\x00", "action": "case.\x00*"})
def test_audit_log_query_fuzz(app, world, two_regencies, query):
    client = signed_in(app, "supervisor")
    before = state_of_db()
    resp = send(client, "GET", "/audit", query_string=query)
    check(resp, before, what=f"GET /audit {query!r:.300}")
    assert resp.status_code == (400 if has_nul(query) else 200)
    assert not any(n.startswith("SLRT-1604-") for n in CASE_LINK.findall(resp.get_data(as_text=True)))


@FUZZ
@given(code=nasty)
@example(code="16.03\x00")
@example(code="x" * 10_000)
def test_region_children_fuzz(app, world, code):
    client = signed_in(app, "officer_a")
    before = state_of_db()
    resp = send(client, "GET", f"/regions/{quote(code, safe='')}/children")
    check(resp, before, what=f"GET /regions/{code!r:.100}/children")
    allowed = (404,) if "\x00" in code else (200, 308, 404)  # 308: an empty code makes "//", which the router folds
    assert resp.status_code in allowed
    if resp.status_code != 308:
        assert isinstance(resp.get_json(), list if resp.status_code == 200 else dict)


# -- ids in the path --------------------------------------------------------------------------------------

BAD_IDS = ("abc", "-1", "0", "1.5", "1e3", "%00", "99999999999999999999", "9223372036854775808", "2147483648")


def test_bad_ids_in_paths_are_404(app, world):
    users = {"bpjs_user": ["GET /referrals/{}", "POST /referrals/{}/nik", "POST /referrals/{}/accept"],
             "admin": ["GET /admin/users/{}", "POST /admin/users/{}", "GET /admin/agencies/{}",
                       "POST /admin/agencies/{}"],
             "officer_a": ["GET /cases/{}", "GET /cases/{}/edit", "POST /cases/{}/nik", "POST /cases/{}/events/submit",
                           "GET /regions/{}/children"]}
    clients = {username: signed_in(app, username) for username in users}
    offenders = []
    for bad in BAD_IDS:
        for username, routes in users.items():
            for route in routes:
                method, path = route.split(" ")
                url = path.format(bad)
                regions = path.startswith("/regions/")  # reference data: an unknown code has no children
                before = state_of_db()
                resp = send(clients[username], method, url, data={"version": "1", "referral_id": bad})
                try:
                    check(resp, before, invalid=not regions, what=f"{method} {url} as {username}")
                    assert resp.status_code in ((200, 404) if regions else (404, 405)), resp.status_code
                except AssertionError as failure:
                    first = str(failure).splitlines()[0]
                    offenders.append(first if first.startswith(method) else f"{method} {url} as {username}: {first}")
    assert not offenders, "\n".join(offenders)


# -- the known trouble, one request each, so a fix can be checked off one by one ------------------------------

KNOWN = (
    # (user, method, path, form) — {v}: the case's version, {r}: its latest referral, {n}: its number
    (None, "POST", "/login", {"username": "officer_a\x00", "password": "salah"}),
    ("officer_a", "POST", "/cases/new", {**factories.intake(nik="1603011204859901"), "name": "Siti\x00Aminah"}),
    ("officer_a", "POST", "/cases/new", {**factories.intake(nik="1603011204859902"), "village_code": "\x00"}),
    ("officer_a", "POST", "/cases/new", {**factories.intake(nik="1603011204859903"), "address": "Jl.\x00"}),
    ("officer_a", "GET", "/cases/?q=Siti%00", None),
    ("officer_a", "GET", "/cases/?village_code=%00", None),
    ("officer_a", "GET", "/cases/?state=%00&category=%00", None),
    ("officer_a", "GET", f"/cases/?cursor=2026-01-01.{BIG}", None),
    ("officer_a", "GET", f"/cases/?cursor=-.{BIG}", None),
    ("officer_a", "GET", "/cases/%00", None),
    ("officer_a", "GET", "/regions/16.03%00/children", None),
    ("supervisor", "GET", f"/audit?before={BIG}", None),
    ("supervisor", "GET", "/audit?since=0001-01-01", None),
    ("supervisor", "GET", "/audit?until=9999-12-31", None),
    ("supervisor", "GET", "/audit?actor=%00&case_number=%00&action=%00", None),
    ("caseworker", "POST", "/cases/{n}/events/refer", {"version": "{v}", "agency_id": BIG, "service": "PBI",
                                                        "reason": "r", "consent": "written"}),
    ("caseworker", "POST", "/cases/{n}/events/refer", {"version": "{v}", "agency_id": "<dukcapil>",
                                                        "service": "PBI\x00", "reason": "r", "consent": "written"}),
    ("bpjs_user", "GET", f"/referrals/{BIG}", None),
    ("bpjs_user", "POST", f"/referrals/{BIG}/accept", {"version": "1"}),
    ("bpjs_user", "POST", "/referrals/{r}/decline", {"version": "{v}", "referral_id": "{r}", "reason": "x\x00"}),
    ("admin", "GET", f"/admin/users/{BIG}", None),
    ("admin", "GET", f"/admin/agencies/{BIG}", None),
    ("admin", "POST", "/admin/users/new", {"username": "baru", "full_name": "Baru", "password": "rahasia12345",
                                           "role": "agency", "agency_id": BIG}),
    ("admin", "POST", "/admin/users/new", {"username": "baru", "full_name": "Baru", "password": "rahasia12345",
                                           "role": "officer", "region_code": "16.03.01.2011\x00"}),
    ("admin", "POST", "/admin/users/new", {"username": "baru", "full_name": "Baru\x00", "password": "rahasia12345",
                                           "role": "supervisor", "region_code": "16"}),
    ("admin", "POST", "/admin/agencies/new", {"name": "Instansi\x00", "kind": "other", "region_code": "16.03"}),
    ("admin", "POST", "/admin/agencies/new", {"name": "Instansi Baru", "kind": "other", "region_code": "\x00"}),
)


def test_known_nasty_requests(app, world):
    """Every request of KNOWN answers below 500 and, when refused, changes nothing; all offenders are listed."""
    case = factories.case_in("assessed", world)
    referred = factories.case_in("referred", world)
    clients = {None: app.test_client()}
    offenders = []
    for user, method, path, form in KNOWN:
        if user not in clients:
            clients[user] = signed_in(app, user)
        target = referred if "/referrals/" in path else case
        version = db.session.execute(select(Case.version).where(Case.id == target.id)).scalar_one()
        referral_id = db.session.execute(select(func.max(Referral.id)).where(Referral.case_id == target.id)).scalar()
        fill = {"{v}": str(version), "{r}": str(referral_id), "{n}": target.number,
                "<dukcapil>": str(world.dukcapil.id)}

        def subst(text, fill=fill):
            for key, value in fill.items():
                text = text.replace(key, value)
            return text

        url = subst(path)
        data = {k: subst(v) for k, v in form.items()} if form else None
        before = state_of_db()
        resp = send(clients[user], method, url, data=data)
        after = state_of_db()
        sent = f"{method} {url!r} as {user}" + (f" {data!r:.150}" if data else "")
        if resp.status_code >= 500:
            offenders.append(f"{sent}: {resp.status_code}")
        elif resp.status_code >= 400 and after != before:
            offenders.append(f"{sent}: {resp.status_code} but the database changed")
    assert not offenders, "\n".join(offenders)
