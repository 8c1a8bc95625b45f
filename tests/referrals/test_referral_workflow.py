"""The referral's own clock, the clock on every open step, and what an agency's lists hold (issue 6).

Issue 6: "Changing the agency's case-list filter so that it keeps cases whose referral was declined or revoked,
or giving an accepted referral the answer deadline instead of the service deadline, passes the whole suite
today. Pin both." Due dates are checked event by event against the tables' DEADLINES (and, across holidays,
against dates counted by hand from the 2026 calendar); the agency's access is pinned to the design's words: a
referral pending, accepted, completed or failed keeps its case in the agency's lists, a declined or revoked
one (closing revokes what is open) takes it out.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from puskesos.accounts.jurisdiction import case_filter, referral_filter
from puskesos.cases import services
from puskesos.cases.models import Case
from puskesos.cases.workflow import DEADLINES, FOLLOWS_REFERRALS, State
from puskesos.core import timeutil
from puskesos.core.timeutil import clock_at
from puskesos.extensions import db
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, Referral, ReferralStatus
from puskesos.referrals.services import create_agency
from puskesos.referrals.workflow import DEADLINES as REFERRAL_DEADLINES
from tests import factories
from tests.helpers import login

OPEN_STATES = [s for s in State if s != State.CLOSED]
# DESIGN (pinned here, not read from the code): an agency reaches a case through a referral in these statuses.
AGENCY_KEEPS = ("pending", "accepted", "completed", "failed")
AGENCY_LOSES = ("declined", "revoked")


def at(day: dt.date) -> dt.datetime:
    """Ten in the morning in Western Indonesia, as the naive UTC moment `clock_at` takes."""
    return dt.datetime.combine(day, dt.time(3, 0))


class Drive:
    """Moves cases through the real services, each step at the clock's current time."""

    def __init__(self, w, third, third_user):
        self.w = w
        self.agencies = {"bpjs": w.bpjs, "dukcapil": w.dukcapil, "third": third}
        self.users = {"bpjs": w.agency_user, "dukcapil": w.agency_other_user, "third": third_user}

    def referral(self, case, agency: str):
        return [r for r in case.referrals if r.agency_id == self.agencies[agency].id][-1]

    def inputs(self, step: str, case) -> tuple[str, object, dict]:
        """(event, actor, inputs) of a recipe step such as "accept:bpjs"."""
        w = self.w
        name, _, arg = step.partition(":")
        if name == "register":
            raise AssertionError("register is not an event")
        simple = {"submit": ("submit", w.officer, {}), "start": ("start_assessment", w.caseworker, {}),
                  "info": ("request_info", w.caseworker, {"note": "Lampirkan foto KK."}),
                  "assess": ("complete_assessment", w.caseworker, dict(factories.ASSESSMENT)),
                  "reopen": ("reopen", w.caseworker, {"reason": "Ada data baru"})}
        if name in simple:
            return simple[name]
        if name == "close":
            return "close", w.caseworker, {"outcome": arg or "not_eligible", "note": "Ditutup"}
        if name == "refer":
            return "refer", w.caseworker, factories.refer_inputs(self.agencies[arg])
        referral_id = self.referral(case, arg).id
        return {
            "accept": ("accept", self.users[arg], {"referral_id": referral_id}),
            "decline": ("decline", self.users[arg], {"referral_id": referral_id, "reason": "Bukan kewenangan kami"}),
            "report": ("report_service", self.users[arg], {"referral_id": referral_id, "service_given": "PBI aktif",
                                                           "delivered_on": timeutil.today()}),
            "fail": ("report_failure", self.users[arg], {"referral_id": referral_id,
                                                         "reason": "Peserta pindah ke luar daerah"}),
            "revoke": ("revoke_referral", w.caseworker, {"referral_id": referral_id, "reason": "Salah instansi"}),
        }[name]

    def __call__(self, case, *steps) -> Case:
        for step in steps:
            event, actor, inputs = self.inputs(step, case)
            factories.fire(case, event, actor, **inputs)
        return case

    def new(self, *steps) -> Case:
        return self(factories.register(self.w.officer), *steps)


@pytest.fixture
def drive(world) -> Drive:
    third = create_agency(None, name="Dinas Sosial Muara Enim", kind="social", region_code="16.03")
    third_user = factories.user("agency", "dinsos_user", agency=third)
    db.session.commit()
    return Drive(world, third, third_user)


ASSESSED = ("submit", "start", "assess")
# A road to each open state (and a second road to `answered`, through a failed referral).
ROADS = {
    "registered": (),
    "submitted": ("submit",),
    "in_assessment": ("submit", "start"),
    "needs_info": ("submit", "start", "info"),
    "assessed": ASSESSED,
    "referred": (*ASSESSED, "refer:bpjs"),
    "in_service": (*ASSESSED, "refer:bpjs", "accept:bpjs"),
    "answered": (*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs"),
    "answered-failed": (*ASSESSED, "refer:bpjs", "accept:bpjs", "fail:bpjs"),
}


# -- the tables' deadlines, event by event ------------------------------------------------------------------


def referral_due(status: str, day: dt.date):
    """The referral table's deadline for `status` counted from `day`; none for a final status."""
    from puskesos.workdays.services import add_working_days

    days = REFERRAL_DEADLINES.get(ReferralStatus(status))
    return add_working_days(day, days).day if days else None


def case_due(case, day: dt.date):
    """The case table's deadline for the state the case is in, entered on `day`; while it follows its referrals,
    the earliest due date of those still open."""
    from puskesos.workdays.services import add_working_days

    days = DEADLINES.get(State(case.state))
    if days == FOLLOWS_REFERRALS:
        return min(r.due_on for r in case.referrals if r.status in ("pending", "accepted"))
    return add_working_days(day, days).day if days else None


def test_the_designed_referral_deadlines():
    """The values the checks below count with: an accepted referral has the service deadline (14 working days),
    not the answer deadline (5); final statuses have none."""
    assert {str(k): v for k, v in REFERRAL_DEADLINES.items()} == {"proposed": 2, "pending": 5, "accepted": 14}


def test_every_referral_event_sets_the_referrals_own_due_date(drive):
    """Every event of the referral table (and `refer`) on its own day: the referral acted on gets its new
    status's deadline from that day (final statuses none), the other referrals keep theirs, and the case's due
    date follows (referred / in service: the earliest open referral; answered or assessed: 3 working days)."""
    start = dt.date(2026, 8, 10)  # a Monday; 17 and 25 August are holidays
    journey = [
        (0, ("submit", "start", "assess")),
        (0, ("refer:bpjs",)),
        (1, ("refer:dukcapil",)),
        (2, ("accept:bpjs",)),
        (3, ("decline:dukcapil",)),
        (3, ("refer:third",)),
        (4, ("revoke:third",)),  # pending → revoked
        (5, ("refer:dukcapil",)),
        (6, ("accept:dukcapil",)),
        (7, ("revoke:dukcapil",)),  # accepted → revoked
        (9, ("fail:bpjs",)),  # the last open one: the case is answered
        (10, ("refer:bpjs",)),  # refer again from answered
        (11, ("accept:bpjs",)),
        (14, ("report:bpjs",)),
    ]
    with clock_at(at(start)):
        case = factories.register(drive.w.officer)
    fired = set()
    states = []
    for offset, steps in journey:
        day = start + dt.timedelta(days=offset)
        with clock_at(at(day)):
            for step in steps:
                before = {r.id: r.due_on for r in case.referrals}
                event, actor, inputs = drive.inputs(step, case)
                factories.fire(case, event, actor, **inputs)
                fired.add(event)
                where = (day, step, case.state)
                assert case.due_on == case_due(case, day), where
                if event != "refer" and "referral_id" not in inputs:
                    continue  # a case event before any referral
                acted = (next(r for r in case.referrals if r.id not in before) if event == "refer"
                         else next(r for r in case.referrals if r.id == inputs["referral_id"]))
                assert acted.due_on == referral_due(acted.status, day), (*where, acted.status)
                assert {r.id: r.due_on for r in case.referrals if r.id in before and r.id != acted.id} == {
                    rid: due for rid, due in before.items() if rid != acted.id}, where
                assert case.due_on is not None, where
                states.append(case.state)
    assert fired >= {"refer", "accept", "decline", "report_service", "report_failure", "revoke_referral"}
    assert {"referred", "in_service", "answered"} <= set(states)
    # Counted by hand from the 2026 calendar: the service deadline, not the answer deadline.
    first_bpjs = case.referrals[0]
    assert first_bpjs.status == "failed" and first_bpjs.due_on is None
    db.session.expire_all()
    assert [r.due_on for r in case.referrals] == [None] * len(case.referrals)  # all final, as committed
    assert (case.state, case.due_on) == ("answered", dt.date(2026, 8, 28))  # from Mon 24: 25 is a holiday

    # Referred on 10 August: answer by Tue 18 August (17 is a holiday); accepted on 12 August: serve by 3 September.
    with clock_at(at(dt.date(2026, 8, 10))):
        other = drive.new(*ASSESSED, "refer:bpjs")
    assert (other.referrals[0].due_on, other.due_on) == (dt.date(2026, 8, 18), dt.date(2026, 8, 18))
    with clock_at(at(dt.date(2026, 8, 12))):
        drive(other, "accept:bpjs")
    assert (other.referrals[0].due_on, other.due_on) == (dt.date(2026, 9, 3), dt.date(2026, 9, 3))
    # Declined, with nothing else answered: back to assessed, 3 working days from the answer.
    with clock_at(at(dt.date(2026, 8, 14))):
        declined = drive.new(*ASSESSED, "refer:dukcapil", "decline:dukcapil")
    assert (declined.state, declined.due_on, declined.referrals[0].due_on) == ("assessed", dt.date(2026, 8, 20),
                                                                             None)


def test_a_case_across_the_holidays_counts_working_days(drive):
    """Registered the day before Nyepi and moved through every open state on days around 2026's holidays: each
    due date is the one counted by hand from the calendar (and agrees with the table's deadline)."""
    road = [
        # (day, step, state, due date counted by hand)
        (dt.date(2026, 3, 17), None, "registered", dt.date(2026, 3, 26)),  # 18-24: Nyepi, Idulfitri, a weekend
        (dt.date(2026, 5, 13), "submit", "submitted", dt.date(2026, 5, 20)),  # 14 holiday, 15 leave
        (dt.date(2026, 5, 26), "start", "in_assessment", dt.date(2026, 6, 9)),  # 27, 28, 1 June
        (dt.date(2026, 6, 15), "info", "needs_info", dt.date(2026, 6, 30)),  # 16 June
        (dt.date(2026, 8, 14), "submit", "submitted", dt.date(2026, 8, 20)),  # 17 August
        (dt.date(2026, 8, 20), "start", "in_assessment", dt.date(2026, 9, 1)),  # 25 August
        (dt.date(2026, 8, 24), "assess", "assessed", dt.date(2026, 8, 28)),
        (dt.date(2026, 8, 24), "refer:bpjs", "referred", dt.date(2026, 9, 1)),  # 5 working days to answer
        (dt.date(2026, 12, 22), "accept:bpjs", "in_service", dt.date(2027, 1, 15)),  # 24, 25 Dec, 1, 5 Jan 2027
        (dt.date(2026, 12, 23), "report:bpjs", "answered", dt.date(2026, 12, 30)),
    ]
    case = None
    for day, step, state, due in road:
        with clock_at(at(day)):
            if step is None:
                case = factories.register(drive.w.officer)
            else:
                drive(case, step)
            assert (case.state, case.due_on, case.due_estimated) == (state, due, False), (day, step)
            assert case.due_on == case_due(case, day), (day, step)
            assert case.days_in_step == 0 and not case.is_overdue
    assert case.referrals[0].delivered_on == dt.date(2026, 12, 23)


# -- an agency's lists --------------------------------------------------------------------------------------


INBOX_ROW = re.compile(r'href="/referrals/(\d+)"')


def token(client, username: str) -> str:
    resp = client.post("/api/v1/tokens", json={"username": username, "password": factories.PASSWORD})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["token"]


def api_get(client, bearer: str, url: str, **query):
    resp = client.get(f"/api/v1/{url}", headers={"Authorization": f"Bearer {bearer}"}, query_string=query)
    return resp


class AgencyView:
    """Everything that lists BPJS Kesehatan's work: the SQL filters, the services' lists and counts, the inbox
    page with its counts, and the API's lists."""

    def __init__(self, client, user):
        self.client = login(client, user.username)
        self.bearer = token(client, user.username)
        self.user = user

    def sql_cases(self) -> set[str]:
        return set(db.session.execute(select(Case.number).where(case_filter(self.user))).scalars())

    def sql_referrals(self) -> set[int]:
        return set(db.session.execute(select(Referral.id).where(referral_filter(self.user))).scalars())

    def listed_cases(self) -> set[str]:
        page = services.page_cases(self.user, services.CaseFilters(), limit=500)
        return {c.number for c in page.rows}

    def counted_cases(self) -> dict[str, int]:
        return services.state_counts(self.user, services.CaseFilters())

    def inbox(self, status: str | None = None) -> tuple[set[int], dict[str, int]]:
        resp = self.client.get("/referrals", query_string={"status": status} if status else None)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        counts = {}
        for s, label in REFERRAL_STATUS_LABELS.items():
            found = re.search(re.escape(str(label)) + r" \((\d+)\)", html)
            if found:
                counts[str(s)] = int(found.group(1))
        return {int(i) for i in INBOX_ROW.findall(html)}, counts

    def api_referrals(self, status: str | None = None) -> set[int]:
        resp = api_get(self.client, self.bearer, "referrals", limit=100, **({"status": status} if status else {}))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["next_cursor"] is None
        return {item["id"] for item in body["items"]}

    def api_cases(self) -> set[str]:
        resp = api_get(self.client, self.bearer, "cases", limit=100)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return {item["number"] for item in resp.get_json()["items"]}

    def check(self, cases: dict[str, Case], kept: set[str]) -> None:
        """The agency's lists hold exactly the `kept` cases (by name) and BPJS's referrals of them."""
        numbers = {cases[name].number for name in kept}
        referrals = {r.id for name in kept for r in cases[name].referrals
                     if r.agency_id == self.user.agency_id and r.status in AGENCY_KEEPS}
        by_status = {s: sum(1 for name in kept for r in cases[name].referrals
                            if r.agency_id == self.user.agency_id and r.status == s) for s in AGENCY_KEEPS}
        assert self.sql_cases() == numbers
        assert self.sql_referrals() == referrals
        assert self.listed_cases() == numbers
        assert sum(self.counted_cases().values()) == len(numbers)
        rows, counts = self.inbox()
        assert rows == referrals
        assert counts == by_status  # one count per status an agency sees, as many as it has
        for status in AGENCY_LOSES:
            assert self.inbox(status)[0] == set()
            assert self.api_referrals(status) == set()
        assert self.api_referrals() == referrals
        assert self.api_cases() == numbers
        for name, case in cases.items():
            resp = api_get(self.client, self.bearer, f"cases/{case.number}")
            assert resp.status_code == (200 if name in kept else 404), name
            own = [r for r in case.referrals if r.agency_id == self.user.agency_id]
            resp = self.client.get(f"/referrals/{own[0].id}")
            assert resp.status_code == (200 if own[0].status in AGENCY_KEEPS else 404), name


def test_an_agency_keeps_a_case_it_served_or_failed_and_drops_one_declined_or_revoked(drive, client):
    """Once BPJS's referral is declined or revoked (by Dinsos, or by closing the case) the case leaves every
    list of BPJS: the SQL filters, the lists and counts, the inbox page and its counts, the API. Completed and
    failed referrals keep their case there."""
    w = drive.w
    roads = {
        "declined": ("decline:bpjs",),
        "revoked-pending": ("revoke:bpjs",),
        "revoked-accepted": ("accept:bpjs", "revoke:bpjs"),
        "closed": ("close:withdrawn",),
        "completed": ("accept:bpjs", "report:bpjs"),
        "failed": ("accept:bpjs", "fail:bpjs"),
        "accepted": ("accept:bpjs",),
        "pending": (),
    }
    cases = {name: drive.new(*ASSESSED, "refer:bpjs") for name in roads}
    drive.new(*ASSESSED, "refer:dukcapil")  # another agency's: never BPJS's
    view = AgencyView(client, w.agency_user)
    view.check(cases, kept=set(roads))  # all pending: all listed

    for name, steps in roads.items():
        drive(cases[name], *steps)
    kept = {"completed", "failed", "accepted", "pending"}
    assert {str(cases[name].referrals[0].status) for name in kept} == set(AGENCY_KEEPS)
    assert {str(cases[name].referrals[0].status) for name in set(roads) - kept} == set(AGENCY_LOSES)
    view.check(cases, kept=kept)
    # the failure's reason reaches the agency's API view of its referral
    failed = api_get(client, view.bearer, f"cases/{cases['failed'].number}").get_json()
    assert failed["state"] == "answered"
    assert [r["failure_reason"] for r in failed["referrals"]] == ["Peserta pindah ke luar daerah"]

    # BPJS referred again after a decline: its new referral brings the case back, and only while it lives.
    drive(cases["declined"], "refer:bpjs")
    view.check(cases, kept=kept | {"declined"})
    drive(cases["declined"], "decline:bpjs")
    view.check(cases, kept=kept)
    # Dinsos still sees every case and referral of its area.
    assert {c.number for c in cases.values()} <= set(
        db.session.execute(select(Case.number).where(case_filter(w.caseworker))).scalars())


# -- a clock on every open step ------------------------------------------------------------------------------


def test_every_open_state_has_a_due_date_and_becomes_overdue(drive, client):
    """Cases driven to each open state sixty days ago have a due date from the tables, were not overdue then,
    and are found by the overdue filter (services and API) now; the same states reached today are not."""
    then = timeutil.today() - dt.timedelta(days=60)
    with clock_at(at(then)):
        old = {name: drive.new(*road) for name, road in ROADS.items()}
        for name, case in old.items():
            assert case.state == name.split("-")[0]
            assert case.due_on is not None and case.due_on == case_due(case, then), name
            assert not case.is_overdue and case.days_in_step == 0, name
        assert not services.page_cases(drive.w.supervisor, services.CaseFilters(overdue=True)).rows
    fresh = {name: drive.new(*road) for name, road in ROADS.items()}
    assert {c.state for c in old.values()} == {str(s) for s in OPEN_STATES}

    for name, case in old.items():
        assert case.is_overdue and case.due_on < timeutil.today(), name
        assert case.days_in_step == (timeutil.today() - then).days, name
    supervisor = drive.w.supervisor
    overdue = services.page_cases(supervisor, services.CaseFilters(overdue=True), limit=100).rows
    assert {c.number for c in overdue} == {c.number for c in old.values()}
    for state in OPEN_STATES:  # and within each state's own list
        listed = services.page_cases(supervisor, services.CaseFilters(state=state, overdue=True)).rows
        assert {c.number for c in listed} == {c.number for c in old.values() if c.state == state}, state
        counts = services.state_counts(supervisor, services.CaseFilters(overdue=True))
        assert counts.get(str(state), 0) == sum(1 for c in old.values() if c.state == state), state
    for name, case in fresh.items():
        assert case.due_on is not None and case.due_on >= timeutil.today() and not case.is_overdue, name

    bearer = token(client, supervisor.username)
    resp = api_get(client, bearer, "cases", overdue="true", limit=100)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    items = resp.get_json()["items"]
    assert {i["number"] for i in items} == {c.number for c in old.values()}
    assert all(i["overdue"] and i["due_at"] and i["days_in_step"] == 60 for i in items)


def test_an_answered_case_can_be_closed_or_referred_again(drive):
    """A case whose only referral is completed, or failed, is `answered` with a due date; the caseworker closes
    it (resolved once served) or refers it again."""
    w = drive.w
    served = drive.new(*ASSESSED, "refer:bpjs", "accept:bpjs", "report:bpjs")
    failed = drive.new(*ASSESSED, "refer:bpjs", "accept:bpjs", "fail:bpjs")
    for case in (served, failed):
        assert case.state == State.ANSWERED
        assert case.due_on == case_due(case, timeutil.today()) and case.due_on > timeutil.today()
        assert {"close", "refer"} <= set(services.allowed_events(case, w.caseworker))
        assert services.allowed_events(case, w.agency_user) == []  # nothing left for the agency to answer
    assert failed.referrals[0].failure_reason == "Peserta pindah ke luar daerah"

    drive(served, "close:resolved")
    assert (served.state, served.outcome, served.due_on) == (State.CLOSED, "resolved", None)

    drive(failed, "refer:dukcapil")
    assert (failed.state, failed.due_on) == (State.REFERRED, failed.referrals[-1].due_on)
    assert failed.referrals[-1].due_on == referral_due("pending", timeutil.today())
    drive(failed, "decline:dukcapil")
    assert failed.state == State.ANSWERED  # the failed referral is still an answer
    drive(failed, "refer:bpjs", "accept:bpjs")
    assert failed.state == State.IN_SERVICE
    drive(failed, "close:not_eligible")
    assert (failed.state, failed.outcome) == (State.CLOSED, "not_eligible")
    assert [r.status for r in failed.referrals] == ["failed", "declined", "revoked"]


# -- dates a referral cannot have ------------------------------------------------------------------------------


def test_a_due_date_counted_without_the_calendar_says_so_on_the_referral_and_the_case(drive):
    """2028 is not in the holiday table: a referral made in the last days of 2027 is due in 2028, estimated, and
    the case that follows it says so too."""
    with clock_at(at(dt.date(2027, 12, 27))):
        case = drive.new(*ASSESSED, "refer:bpjs")
        referral = drive.referral(case, "bpjs")
        assert referral.due_on.year == 2028 and referral.due_estimated
        assert (case.state, case.due_on, case.due_estimated) == ("referred", referral.due_on, True)
    with clock_at(at(dt.date(2027, 11, 1))):
        other = drive.new(*ASSESSED, "refer:bpjs")
        assert not drive.referral(other, "bpjs").due_estimated and not other.due_estimated


def test_a_service_cannot_be_delivered_before_the_referral_was_made(drive):
    with clock_at(at(dt.date(2026, 11, 2))):
        case = drive.new(*ASSESSED, "refer:bpjs", "accept:bpjs")
    referral = drive.referral(case, "bpjs")
    version = case.version
    with pytest.raises(services.WorkflowRefused) as refused:
        services.fire(case, "report_service", drive.w.agency_user, referral_id=referral.id, service_given="PBI aktif",
                      delivered_on="2026-10-30")
    db.session.rollback()
    assert "delivered_on" in refused.value.errors
    assert "sebelum tanggal rujukan (2 November 2026)" in str(refused.value.errors["delivered_on"][0])
    case = db.session.get(Case, case.id)
    assert (case.version, drive.referral(case, "bpjs").status) == (version, "accepted")
    factories.fire(case, "report_service", drive.w.agency_user, referral_id=referral.id, service_given="PBI aktif",
                   delivered_on="2026-11-02")  # the day it was made is fine
    assert drive.referral(case, "bpjs").status == "completed"


def test_the_inbox_shows_days_in_the_referrals_status(drive, client):
    with clock_at(at(dt.date(2026, 11, 2))):
        case = drive.new(*ASSESSED, "refer:bpjs")
    with clock_at(at(dt.date(2026, 11, 20))):
        drive(case, "accept:bpjs")
    referral = drive.referral(case, "bpjs")
    login(client, "bpjs_user")
    with clock_at(at(dt.date(2026, 11, 25))):
        assert referral.days_in_status == 5  # accepted on the 20th
        page = client.get("/referrals").get_data(as_text=True)
    assert re.search(r'<td class="small text-end days-in-step">5</td>', page)
