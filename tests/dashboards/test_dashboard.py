"""The dashboard's numbers equal counts taken straight from the database for a seeded data set, each number links
to a case list of that many rows, the area narrows and refuses what lies outside it, and only Dinsos roles see it."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from html import unescape

import pytest
from sqlalchemy import text

from puskesos.cases import services as cases
from puskesos.core.timeutil import clock_at, today, utcnow
from puskesos.dashboards import services
from puskesos.extensions import db
from tests import factories
from tests.factories import ASSESSMENT, VILLAGE_A, VILLAGE_B, VILLAGE_LAHAT, case_in, fire, intake, refer_inputs
from tests.helpers import login

KK = "1603012501150007"


def seed(w) -> None:
    """Cases in several states, villages, regencies and deciles; half of them made 40 days ago, so overdue."""
    with clock_at(utcnow() - dt.timedelta(days=40)):
        case_in("registered", w, dtsen_decile=1)
        case_in("submitted", w, dtsen_decile=3)
        case_in("in_assessment", w)  # taken by `caseworker`
        case_in("referred", w, dtsen_decile=2)  # an open BPJS referral, past its due date
        other = factories.register(w.officer_b, village_code=VILLAGE_B, dtsen_decile=4)
        fire(other, "submit", w.officer_b)
        fire(other, "start_assessment", w.caseworker2)
        lahat = factories.register(w.officer_lahat, village_code=VILLAGE_LAHAT, dtsen_decile=1)
        fire(lahat, "submit", w.officer_lahat)
        late_dukcapil = case_in("assessed", w, dtsen_decile=9)
        fire(late_dukcapil, "refer", w.caseworker, **refer_inputs(w.dukcapil))
        fire(late_dukcapil, "accept", w.agency_other_user, referral_id=late_dukcapil.referrals[-1].id)
    case_in("answered", w, dtsen_decile=2)  # a service delivered: not "unserved"
    case_in("in_service", w, dtsen_decile=1)
    case_in("closed", w, dtsen_decile=1)
    declined = case_in("assessed", w, dtsen_decile=4)
    fire(declined, "refer", w.caseworker, **refer_inputs(w.dukcapil))
    fire(declined, "decline", w.agency_other_user, referral_id=declined.referrals[-1].id, reason="Bukan wewenang")
    for _ in range(2):  # one household, two open complaints
        cases.register(w.officer, intake(kk_number=KK, dtsen_decile=2), confirm_duplicate=True)
    db.session.commit()


def rows(sql: str, **params) -> dict:
    return dict(db.session.execute(text(sql), params).all())


def where(area: str) -> str:
    column = {1: "province_code", 2: "regency_code", 3: "district_code", 4: "village_code"}[area.count(".") + 1]
    return f"c.{column} = '{area}'"


def direct(area: str) -> dict:
    """The dashboard's figures counted in plain SQL, independently of the code under test."""
    w, t = where(area), today()
    counts = {
        "open_by_state": rows(f"SELECT state, count(*) FROM case_file c WHERE {w} AND state <> 'closed' "
                              "GROUP BY state"),
        "overdue_by_state": rows(f"SELECT state, count(*) FROM case_file c WHERE {w} AND state <> 'closed' "
                                 "AND due_on < :t GROUP BY state", t=t),
        "overdue_by_village": rows(f"SELECT village_code, count(*) FROM case_file c WHERE {w} "
                                   "AND state <> 'closed' AND due_on < :t GROUP BY village_code", t=t),
        "overdue_by_assignee": rows(f"SELECT coalesce(u.full_name, '-'), count(*) FROM case_file c "
                                    "LEFT JOIN user_account u ON u.id = c.assignee_id "
                                    f"WHERE {w} AND c.state <> 'closed' AND c.due_on < :t GROUP BY u.full_name", t=t),
        "overdue_by_agency": rows("SELECT a.name, count(DISTINCT r.case_id) FROM referral r "
                                  "JOIN case_file c ON c.id = r.case_id JOIN agency a ON a.id = r.agency_id "
                                  f"WHERE {w} AND r.status IN ('pending', 'accepted') AND r.due_on < :t "
                                  "GROUP BY a.name", t=t),
        "referrals": rows("SELECT a.name || '/' || r.status, count(DISTINCT r.case_id) FROM referral r "
                          "JOIN case_file c ON c.id = r.case_id JOIN agency a ON a.id = r.agency_id "
                          f"WHERE {w} GROUP BY a.name, r.status"),
        "poor_households": rows(
            "SELECT village_code, count(DISTINCT coalesce(kk_hash, nik_hash)) FROM case_file c "
            f"WHERE {w} AND state <> 'closed' AND dtsen_decile BETWEEN 1 AND 4 AND NOT EXISTS "
            "(SELECT 1 FROM referral r WHERE r.case_id = c.id AND r.status = 'completed') GROUP BY village_code"),
        "poor_cases": rows(
            "SELECT village_code, count(*) FROM case_file c "
            f"WHERE {w} AND state <> 'closed' AND dtsen_decile BETWEEN 1 AND 4 AND NOT EXISTS "
            "(SELECT 1 FROM referral r WHERE r.case_id = c.id AND r.status = 'completed') GROUP BY village_code"),
    }
    monday = t - dt.timedelta(days=t.weekday())
    for name, column in (("opened", "created_at"), ("closed", "closed_at")):
        counts[name] = {}
        for weeks_back in range(12):
            start = monday - dt.timedelta(weeks=weeks_back)
            low = dt.datetime.combine(start, dt.time()) - dt.timedelta(hours=7)  # 00:00 WIB in UTC
            counts[name][start] = db.session.execute(text(
                f"SELECT count(*) FROM case_file c WHERE {w} AND {column} >= :a AND {column} < :b"),
                {"a": low, "b": low + dt.timedelta(days=7)}).scalar_one()
    return counts


def shown(board: services.Dashboard) -> dict:
    nonzero = lambda numbers: {n.key: n.value for n in numbers if n.value}  # noqa: E731
    return {
        "open_by_state": nonzero(board.open_by_state),
        "overdue_by_state": nonzero(board.overdue_by_state),
        "overdue_by_village": nonzero(board.overdue_by_village),
        "overdue_by_assignee": {(n.label or "-") if n.args else "-": n.value for n in board.overdue_by_assignee},
        "overdue_by_agency": {n.label: n.value for n in board.overdue_by_agency},
        "referrals": {f"{agency.name}/{n.key}": n.value for agency, numbers, _m in board.referrals
                      for n in numbers if n.value},
        "poor_households": {h.key: h.value for h, _c in board.poor_unserved},
        "poor_cases": {c.key: c.value for _h, c in board.poor_unserved},
        "opened": {start: o.value for start, o, _c in board.weeks},
        "closed": {start: c.value for start, _o, c in board.weeks},
    }


@pytest.fixture
def seeded(world):
    seed(world)
    return world


def test_numbers_equal_direct_counts(seeded):
    w = seeded
    checks = [(w.supervisor, {}, "16.03"), (w.supervisor_province, {}, "16"), (w.caseworker_lahat, {}, "16.04"),
              (w.supervisor, {"district": "16.03.01"}, "16.03.01"), (w.supervisor, {"village": VILLAGE_B}, VILLAGE_B),
              (w.supervisor_province, {"district": "16.04.01", "village": VILLAGE_LAHAT}, VILLAGE_LAHAT),
              (w.officer, {}, VILLAGE_A)]
    for user, narrowing, area in checks:
        board = services.build(user, services.area_for(user, **narrowing))
        expected = direct(area)
        expected["overdue_by_assignee"] = {("-" if k == "-" else k): v for k, v in
                                           expected["overdue_by_assignee"].items()}
        assert shown(board) == expected, (user.username, narrowing)
    # The data set is not trivially empty where it matters.
    board = services.build(w.supervisor, services.area_for(w.supervisor))
    figures = shown(board)
    assert len(figures["overdue_by_village"]) == 2 and len(figures["overdue_by_assignee"]) >= 3
    assert figures["overdue_by_agency"] == {"BPJS Kesehatan Muara Enim": 1, "Disdukcapil Muara Enim": 1}
    assert figures["poor_households"][VILLAGE_A] == figures["poor_cases"][VILLAGE_A] - 1  # the shared family card
    assert sum(figures["opened"].values()) == 12 and sum(figures["closed"].values()) == 1


ROW = re.compile(r'<a href="/cases/SLRT-')
NUMBER = re.compile(r'<a href="(/cases/\?[^"]*)" class="dash-number( households)?">(\d+)</a>')


def test_every_number_links_to_a_list_of_that_many_rows(seeded, client):
    """Case counts are exactly the rows of their list; a households count is at most that (one per family card)."""
    login(client, "supervisor")
    seen = set()
    for query in ("", "?district=16.03.01"):  # the village narrowing is counted in the test above
        page = client.get("/dashboard/" + query)
        assert page.status_code == 200
        links = NUMBER.findall(page.get_data(as_text=True))
        assert len(links) > 25
        listed = {}
        for href, households, number in links:
            href = unescape(href)
            if href not in listed:
                listing = client.get(href)
                assert listing.status_code == 200
                listed[href] = len(ROW.findall(listing.get_data(as_text=True)))
            if households:
                assert 0 < int(number) <= listed[href], href
            else:
                assert listed[href] == int(number), href
            seen.add(re.sub(r"=[^&]*", "", href))
    # Every kind of link was followed.
    for kind in ("state", "overdue", "village_code", "assignee", "agency_id", "referral", "decile_max",
                 "opened_week", "closed_week", "district_code"):
        assert any(kind in link for link in seen), kind


def test_area_narrowing_and_refusals(world, client):
    login(client, "supervisor")
    assert client.get("/dashboard/?district=16.03.01").status_code == 200
    assert client.get(f"/dashboard/?district=16.03.01&village={VILLAGE_A}").status_code == 200
    for outside in ("?district=16.04.01", f"?village={VILLAGE_LAHAT}", "?district=99.99.99", "?village=16.03.01",
                    "?district=16.03", "?district=16.03.02&village=" + VILLAGE_A, "?village=%27%3B--"):
        assert client.get("/dashboard/" + outside).status_code == 404, outside
    login(client, "officer_a")
    assert client.get(f"/dashboard/?village={VILLAGE_A}").status_code == 200
    assert client.get(f"/dashboard/?village={VILLAGE_B}").status_code == 404
    assert client.get("/dashboard/?district=16.03.01").status_code == 404


def test_roles(world, client):
    assert client.get("/dashboard/").status_code == 302  # to the sign-in page
    for username in ("officer_a", "caseworker", "supervisor", "supervisor_prov"):
        page = login(client, username).get("/dashboard/")
        assert page.status_code == 200 and 'href="/dashboard/"' in page.get_data(as_text=True), username
    for username in ("bpjs_user", "admin"):
        assert login(client, username).get("/dashboard/").status_code == 404, username


def working_days(start: dt.datetime, end: dt.datetime) -> int:
    """Counted here again, independently: weekdays after the start's WIB day up to the end's, minus holidays."""
    first, last = (dt.datetime.combine(d.date(), dt.time()) for d in (start + dt.timedelta(hours=7),
                                                                        end + dt.timedelta(hours=7)))
    holidays = {d for (d,) in db.session.execute(text("SELECT day FROM holiday")).all()}
    holidays = {dt.date.fromisoformat(d) if isinstance(d, str) else d for d in holidays}
    days = [first.date() + dt.timedelta(days=n) for n in range(1, (last - first).days + 1)]
    return sum(1 for d in days if d.weekday() < 5 and d not in holidays)


def test_step_medians_and_answer_times_from_the_audit_log(world, client):
    w = world
    monday = today() - dt.timedelta(days=today().weekday() + 35)
    at = lambda days: dt.datetime.combine(monday, dt.time(2)) + dt.timedelta(days=days)  # noqa: E731 09:00 WIB
    timelines = [  # (event, actor, inputs, day after `monday`)
        [("submit", w.officer, {}, 2), ("start_assessment", w.caseworker, {}, 7),
         ("complete_assessment", w.caseworker, ASSESSMENT, 8),
         ("close", w.caseworker, {"outcome": "not_eligible", "note": "Tidak memenuhi syarat"}, 10)],
        [("submit", w.officer, {}, 1), ("start_assessment", w.caseworker, {}, 1),
         ("complete_assessment", w.caseworker, ASSESSMENT, 2), ("refer", w.caseworker, refer_inputs(w.bpjs), 2),
         ("accept", w.agency_user, "last", 4)],
    ]
    spent: dict[str, list[int]] = {}
    for timeline in timelines:
        with clock_at(at(0)):
            case = factories.register(w.officer)
        entered, state = at(0), "registered"
        for event, actor, inputs, day in timeline:
            if inputs == "last":
                inputs = {"referral_id": case.referrals[-1].id}
            with clock_at(at(day)):
                fire(case, event, actor, **inputs)
            if case.state != state:
                spent.setdefault(state, []).append(working_days(entered, at(day)))
                entered, state = at(day), case.state
    board = services.build(w.supervisor, services.area_for(w.supervisor))
    medians = {m.key: (m.days, m.count) for m in board.step_medians if m.count}
    assert medians == {state: (statistics.median(days), len(days)) for state, days in spent.items()}
    assert medians["registered"][1] == 2 and medians["submitted"][1] == 2
    [(agency, _numbers, answer)] = board.referrals
    assert agency.id == w.bpjs.id and (answer.days, answer.count) == (working_days(at(2), at(4)), 1)
    page = login(client, "supervisor").get("/dashboard/").get_data(as_text=True)
    assert "90" in page and 'data-step="registered"' in page


def test_monthly_recap_equals_direct_counts(seeded, client):
    w = seeded
    for month in (today().replace(day=1), (utcnow() - dt.timedelta(days=40)).date().replace(day=1)):
        recap = services.monthly_recap(w.supervisor, services.area_for(w.supervisor), month)
        low = dt.datetime.combine(month, dt.time()) - dt.timedelta(hours=7)
        high = dt.datetime.combine((month + dt.timedelta(days=32)).replace(day=1), dt.time()) - dt.timedelta(hours=7)

        def count(group: str, moment: str, low=low, high=high) -> dict:
            return rows(f"SELECT {group}, count(*) FROM case_file c WHERE {where('16.03')} AND {moment} >= :a "
                        f"AND {moment} < :b GROUP BY {group}", a=low, b=high)

        for shown_rows, group in ((recap.by_village, "village_code"), (recap.by_category, "category")):
            opened, closed = count(group, "created_at"), count(group, "closed_at")
            assert {k: o for k, o, _c in shown_rows if o} == opened
            assert {k: c for k, _o, c in shown_rows if c} == closed
        assert dict(recap.by_outcome) == {k or "": n for k, n in count("outcome", "closed_at").items()}
        assert recap.totals[0] == 6  # each month holds six of the seeded cases of Muara Enim
    login(client, "supervisor")
    page = client.get("/dashboard/recap?month=" + today().strftime("%Y-%m"))
    assert page.status_code == 200 and 'id="recap-village"' in page.get_data(as_text=True)
    assert client.get(f"/dashboard/recap?village={VILLAGE_A}").status_code == 200
    future = (today().replace(day=1) + dt.timedelta(days=40)).strftime("%Y-%m")
    for bad in ("?month=2026-13", "?month=abc", f"?month={future}", "?month=1999-12", f"?village={VILLAGE_LAHAT}"):
        assert client.get("/dashboard/recap" + bad).status_code == 404, bad
    assert login(client, "bpjs_user").get("/dashboard/recap").status_code == 404


def test_the_monthly_recap_exports_to_xlsx_and_is_audited(world, client):
    import io

    import openpyxl
    from sqlalchemy import select

    from puskesos.audit.models import AuditEvent
    from puskesos.core.timeutil import today

    for _ in range(3):
        factories.register(world.officer)
    factories.register(world.officer_b, village_code=factories.VILLAGE_B)
    login(client, "supervisor")
    month = today().strftime("%Y-%m")
    resp = client.get(f"/dashboard/recap?month={month}&format=xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    villages = [tuple(row) for row in book.worksheets[0].iter_rows(min_row=4, values_only=True)]
    assert sorted(opened for _name, opened, _closed in villages) == [1, 3]
    assert [row[0] for row in book.worksheets[1].iter_rows(min_row=4, values_only=True)] == ["Kesehatan"]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "export.recap")).scalar_one()
    assert f'"month":"{month}"' in event.details and '"count":3' in event.details
    login(client, "supervisor_lahat")
    assert client.get(f"/dashboard/recap?month={month}&format=xlsx&village=16.03.01.2011").status_code == 404
