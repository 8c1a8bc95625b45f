"""The API as a client meets it: bearer tokens, JSON in and out, problem+json for every error.

Every response any API test receives is checked on the way: never a 5xx, and every error under /api/ is an
RFC 9457 problem document with `title`, `detail` and `status` (issue 3: "Never 500").
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
from collections.abc import Iterable

import pytest
from sqlalchemy import func, select

from puskesos.audit.models import AuditEvent
from puskesos.audit.services import details_of
from puskesos.cases.models import Case
from puskesos.cases.workflow import DEADLINES as CASE_DEADLINES
from puskesos.cases.workflow import EVENTS, FOLLOWS_REFERRALS, State
from puskesos.extensions import db
from puskesos.referrals.models import ReferralStatus
from puskesos.referrals.workflow import DEADLINES as REFERRAL_DEADLINES
from puskesos.workdays.services import add_working_days
from tests import factories
from tests.conftest import IsolatingClient

PROBLEM = "application/problem+json"

# Every World user by username, and the World attribute it is stored under.
USERS = {
    "officer_a": "officer", "officer_b": "officer_b", "officer_lahat": "officer_lahat",
    "caseworker": "caseworker", "caseworker2": "caseworker2", "caseworker_lahat": "caseworker_lahat",
    "supervisor": "supervisor", "supervisor_prov": "supervisor_province", "supervisor_lahat": "supervisor_lahat",
    "bpjs_user": "agency_user", "dukcapil_user": "agency_other_user", "admin": "admin",
}


def check_response(resp) -> None:
    """What holds for every answer of the API, whatever was asked."""
    assert resp.status_code < 500, f"{resp.status_code}: {resp.get_data(as_text=True)[:2000]}"
    if resp.status_code >= 400 and resp.request.path.startswith("/api/"):
        assert_problem(resp, resp.status_code)


def assert_problem(resp, status: int) -> dict:
    """An RFC 9457 problem document of this status; returns its body."""
    assert resp.status_code == status, f"{resp.status_code} != {status}: {resp.get_data(as_text=True)[:2000]}"
    assert resp.mimetype == PROBLEM, resp.headers.get("Content-Type")
    body = jsonlib.loads(resp.get_data(as_text=True))
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if "errors" in body:
        assert all(isinstance(v, list) and all(isinstance(m, str) and m for m in v) for v in body["errors"].values())
    return body


class CheckingClient(IsolatingClient):
    """The suite's client (each request in its own app context), refusing any 5xx and any non-problem error."""

    def open(self, *args, **kwargs):
        resp = super().open(*args, **kwargs)
        check_response(resp)
        return resp


@pytest.fixture
def client(app):
    app.test_client_class = CheckingClient
    return app.test_client()


def token(client, username: str, password: str = factories.PASSWORD) -> str:
    """A bearer token for `username`, obtained the way a client does: POST /api/v1/tokens."""
    resp = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["token"]


class Api:
    """Sends JSON as one user, with `Authorization: Bearer`, and optional Accept-Language and If-Match."""

    def __init__(self, client, bearer: str | None, username: str | None = None):
        self.client = client
        self.bearer = bearer
        self.username = username

    def __call__(self, method: str, url: str, json=None, *, query: dict | None = None, lang: str | None = None,
                 if_match=None, headers: dict | None = None):
        sent = {}
        if self.bearer is not None:
            sent["Authorization"] = f"Bearer {self.bearer}"
        if lang is not None:
            sent["Accept-Language"] = lang
        if if_match is not None:
            sent["If-Match"] = str(if_match)
        sent.update(headers or {})
        if not url.startswith("/"):
            url = f"/api/v1/{url}"
        kwargs = {"headers": sent, "query_string": query}
        if json is not None:
            kwargs["json"] = json
        return self.client.open(url, method=method, **kwargs)

    def get(self, url, **kwargs):
        return self("GET", url, **kwargs)

    def post(self, url, json=None, **kwargs):
        return self("POST", url, json if json is not None else {}, **kwargs)

    def patch(self, url, json=None, **kwargs):
        return self("PATCH", url, json if json is not None else {}, **kwargs)

    def delete(self, url, **kwargs):
        return self("DELETE", url, **kwargs)

    def event(self, number: str, event: str, *, if_match=None, lang=None, **inputs):
        return self.post(f"cases/{number}/events", {"event": event, **inputs}, if_match=if_match, lang=lang)

    def case(self, number: str) -> dict:
        resp = self.get(f"cases/{number}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()


@pytest.fixture
def api(client, world):
    """`api("officer_a")`: an Api for that World user, one token per user per test."""
    cache: dict[str, Api] = {}

    def for_user(username: str) -> Api:
        if username not in cache:
            cache[username] = Api(client, token(client, username), username)
        return cache[username]

    return for_user


@pytest.fixture
def anonymous(client):
    return Api(client, None)


# -- reading the database as committed ----------------------------------------------------------------------


def audit_events(action: str | None = None, case_id: int | None = None) -> list[AuditEvent]:
    db.session.rollback()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if case_id is not None:
        query = query.where(AuditEvent.case_id == case_id)
    rows = list(db.session.execute(query).scalars())
    for row in rows:
        row.parsed = details_of(row)
    db.session.commit()
    return rows


def case_state(case_id: int) -> tuple:
    """State, version, outcome, assignee and the number of audit events of a case, as committed."""
    db.session.rollback()
    row = db.session.execute(select(Case.state, Case.version, Case.outcome, Case.assignee_id)
                             .where(Case.id == case_id)).one()
    count = db.session.execute(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.case_id == case_id)).scalar_one()
    db.session.commit()
    return (*row, count)


def numbers(page: dict) -> list[str]:
    return [item["number"] for item in page["items"]]


# -- expectations from the tables -------------------------------------------------------------------------------


def in_table_order(events: Iterable[str]) -> list[str]:
    """Events as the API lists them: in the order of the tables (the case's events, then the referral's)."""
    wanted = set(events)
    return [event for event in EVENTS if event in wanted]


def derived_state(statuses: Iterable[str]) -> str:
    """Where a case stands after a referral event, by the rule of issue 6 (written out, not the product's
    function): some accepted, in service; else some pending, referred; else some completed or failed, answered;
    else assessed."""
    statuses = {ReferralStatus(s) for s in statuses}
    if ReferralStatus.ACCEPTED in statuses:
        return State.IN_SERVICE.value
    if ReferralStatus.PENDING in statuses:
        return State.REFERRED.value
    if statuses & {ReferralStatus.COMPLETED, ReferralStatus.FAILED}:
        return State.ANSWERED.value
    return State.ASSESSED.value


def referral_due(day: dt.date, status: str) -> dt.date | None:
    """A referral's own due date when it entered `status` on `day`: the referral table's working days, none for
    a final status."""
    days = REFERRAL_DEADLINES.get(ReferralStatus(status))
    return add_working_days(day, days).day if days else None


def case_due(day: dt.date, state: str, referral_dues: Iterable[dt.date | None] = ()) -> dt.date | None:
    """The due date of a case that entered `state` on `day`: the case table's working days, or (while referrals
    are out) the earliest due date of its open referrals; none once closed."""
    days = CASE_DEADLINES.get(State(state))
    if days is None:
        return None
    if days == FOLLOWS_REFERRALS:
        dues = [due for due in referral_dues if due is not None]
        return min(dues) if dues else None
    return add_working_days(day, days).day


def iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None
