"""Sign-off of referrals (penetapan layanan), REFERRAL_SIGNOFF on as in production: a caseworker's referral starts
`proposed`; a supervisor of the regency approves it (letter number, the agency's inbox and clock) or returns it
with a note; nobody else may; the agency never sees a proposal."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.cases import services
from puskesos.cases.workflow import State
from puskesos.core.errors import NotFound, WorkflowRefused
from puskesos.core.timeutil import clock_at
from puskesos.extensions import db
from puskesos.referrals.workflow import DEADLINES
from puskesos.workdays.services import add_working_days
from tests import factories
from tests.helpers import login


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))


@pytest.fixture
def signoff(app):
    app.config["REFERRAL_SIGNOFF"] = True
    return app


def proposed_case(world):
    case = factories.case_in(State.ASSESSED, world)
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.bpjs))
    return case


def events(action: str) -> int:
    return db.session.execute(select(func.count()).where(AuditEvent.action == action)).scalar_one()


def test_a_referral_waits_for_sign_off_and_the_agency_does_not_see_it(signoff, world, client):
    with clock_at(at(dt.date(2026, 11, 2))):
        case = proposed_case(world)
    referral = case.referrals[0]
    assert (referral.status, case.state, referral.letter_number) == ("proposed", "referred", None)
    assert referral.due_on == add_working_days(dt.date(2026, 11, 2), DEADLINES["proposed"]).day == case.due_on
    with pytest.raises(NotFound):
        services.get_case(world.agency_user, case.number)
    login(client, "bpjs_user")
    assert case.number not in client.get("/referrals").get_data(as_text=True)
    assert client.get(f"/referrals/{referral.id}").status_code == 404
    assert services.allowed_events(case, world.agency_user) == []


def test_the_supervisor_approves_and_the_agency_gets_it_with_a_letter_number(signoff, world, client):
    case = proposed_case(world)
    referral = case.referrals[0]
    login(client, "supervisor")
    queue = client.get("/referrals/signoff").get_data(as_text=True)
    assert case.number in queue
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert 'data-event="approve_referral"' in page and 'data-event="return_referral"' in page
    resp = client.post(f"/cases/{case.number}/events/approve_referral",
                       data={"referral_id": referral.id, "version": case.version})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    referral = db.session.get(type(referral), referral.id)
    assert referral.status == "pending" and referral.reviewed_by_id == world.supervisor.id
    assert referral.letter_number == f"RJK/1603/{referral.reviewed_at.year}/{referral.id:06d}"
    assert referral.due_on == add_working_days(referral.reviewed_at.date(), DEADLINES["pending"]).day
    assert events("referral.approve_referral") == 1
    assert case.number not in client.get("/referrals/signoff").get_data(as_text=True)
    login(client, "bpjs_user")
    assert case.number in client.get("/referrals").get_data(as_text=True)
    factories.fire(referral.case, "accept", world.agency_user, referral_id=referral.id)
    assert referral.case.state == "in_service"
    assert verify().ok


def test_the_supervisor_returns_it_with_a_note(signoff, world):
    case = proposed_case(world)
    referral = case.referrals[0]
    with pytest.raises(WorkflowRefused) as refused:
        services.fire(case, "return_referral", world.supervisor, referral_id=referral.id)
    db.session.rollback()
    assert "note" in refused.value.errors and events("referral.return_referral") == 0
    factories.fire(case, "return_referral", world.supervisor, referral_id=referral.id,
                   note="Instansi salah: pengadu sudah peserta mandiri.")
    assert (referral.status, referral.return_note, referral.due_on, case.state) == (
        "returned", "Instansi salah: pengadu sudah peserta mandiri.", None, "assessed")
    assert case.due_on is not None  # assessed has its own clock again
    # The caseworker refers again (to the same agency: the returned one is no longer open).
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.bpjs))
    assert [r.status for r in case.referrals] == ["returned", "proposed"]


@pytest.mark.parametrize("who", ["supervisor_prov", "caseworker", "officer_a", "bpjs_user"])
def test_only_a_supervisor_of_the_regency_signs_off(signoff, world, who):
    case = proposed_case(world)
    referral = case.referrals[0]
    actor = {"supervisor_prov": world.supervisor_province, "caseworker": world.caseworker,
             "officer_a": world.officer, "bpjs_user": world.agency_user}[who]
    version = case.version
    with pytest.raises((WorkflowRefused, NotFound)) as refused:
        services.fire(case, "approve_referral", actor, referral_id=referral.id)
    db.session.rollback()
    if who == "supervisor_prov":  # reads the case (the province), but sign-off is the regency's
        assert isinstance(refused.value, WorkflowRefused)
    assert (db.session.get(type(case), case.id).version, referral.status) == (version, "proposed")
    assert events("referral.approve_referral") == 0


def test_a_supervisor_of_another_regency_cannot_even_see_it(signoff, world):
    case = proposed_case(world)
    with pytest.raises(NotFound):
        services.fire(case, "approve_referral", world.supervisor_lahat, referral_id=case.referrals[0].id)


def test_the_queue_is_oldest_first_and_only_the_regencys(signoff, world, client):
    with clock_at(at(dt.date(2026, 11, 2))):
        older = proposed_case(world)
    newer = proposed_case(world)
    login(client, "supervisor")
    page = client.get("/referrals/signoff").get_data(as_text=True)
    assert page.index(older.number) < page.index(newer.number)
    assert "table-danger" in page  # the older one is past its two working days
    login(client, "supervisor_lahat")
    assert older.number not in client.get("/referrals/signoff").get_data(as_text=True)


def test_a_proposal_can_be_withdrawn_by_the_caseworker(signoff, world):
    case = proposed_case(world)
    factories.fire(case, "revoke_referral", world.caseworker, referral_id=case.referrals[0].id,
                   reason="Salah instansi")
    assert (case.referrals[0].status, case.state) == ("revoked", "assessed")
