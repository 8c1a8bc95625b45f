"""Who is told: each kind reaches exactly the users the issue names, derived here from the world's accounts,
and a notification exists only when its event committed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from puskesos.accounts.models import User
from puskesos.cases import services as cases
from puskesos.core.errors import ServiceError
from puskesos.core.timeutil import today
from puskesos.extensions import db
from puskesos.notifications.services import notify
from tests import factories
from tests.notifications.conftest import outbox


def usernames(**where) -> set[str]:
    """Active accounts matching every column given: the world, read straight from the database."""
    query = select(User.username).where(User.active.is_(True))
    for column, value in where.items():
        query = query.where(getattr(User, column) == value)
    return set(db.session.execute(query).scalars())


def fired(case, event: str, actor, **inputs) -> list[tuple[str, str, dict]]:
    """Fire and commit one event; the notifications it wrote."""
    before = len(outbox())
    factories.fire(case, event, actor, **inputs)
    return outbox()[before:]


def recipients(rows, kind: str) -> set[str]:
    assert {row[1] for row in rows} == {kind}, rows
    names = [row[0] for row in rows]
    assert len(names) == len(set(names)), f"someone told twice: {names}"
    return set(names)


def test_each_kind_reaches_exactly_the_right_users(world):
    w = world
    case = factories.register(w.officer)
    assert outbox() == []  # registering tells nobody: the case is the officer's own until submitted

    regency_caseworkers = usernames(role="caseworker", region_code=case.regency_code)
    assert regency_caseworkers == {"caseworker", "caseworker2"}  # not Lahat's
    rows = fired(case, "submit", w.officer)
    assert recipients(rows, "case.submitted") == regency_caseworkers
    assert all(row[2] == {"case": case.number} for row in rows)

    assert fired(case, "start_assessment", w.caseworker) == []
    rows = fired(case, "request_info", w.caseworker, note="Lampirkan foto KK.")
    village_officers = usernames(role="officer", region_code=case.village_code)
    assert village_officers == {"officer_a"}  # not the officer of the next village
    assert recipients(rows, "case.info_requested") == village_officers

    assert recipients(fired(case, "submit", w.officer), "case.submitted") == regency_caseworkers
    fired(case, "start_assessment", w.caseworker)
    assert fired(case, "complete_assessment", w.caseworker, **factories.ASSESSMENT) == []

    rows = fired(case, "refer", w.caseworker, **factories.refer_inputs(w.bpjs))
    assert recipients(rows, "referral.new") == usernames(role="agency", agency_id=w.bpjs.id) == {"bpjs_user"}
    assert rows[0][2] == {"case": case.number, "agency": w.bpjs.name}
    bpjs_referral = case.referrals[-1].id
    rows = fired(case, "refer", w.caseworker, **factories.refer_inputs(w.dukcapil))
    assert recipients(rows, "referral.new") == {"dukcapil_user"}
    dukcapil_referral = case.referrals[-1].id

    # Answers go to the caseworker the case is assigned to (who started the assessment), and only to them.
    assert case.assignee_id == w.caseworker.id
    answers = [
        (w.agency_user, "accept", {"referral_id": bpjs_referral}, "accepted", w.bpjs),
        (w.agency_other_user, "decline", {"referral_id": dukcapil_referral, "reason": "Bukan kewenangan kami."},
         "declined", w.dukcapil),
        (w.agency_user, "report_failure", {"referral_id": bpjs_referral, "reason": "Peserta pindah domisili."},
         "failed", w.bpjs),
    ]
    for actor, event, inputs, status, agency in answers:
        rows = fired(case, event, actor, **inputs)
        assert recipients(rows, "referral.answered") == {"caseworker"}, event
        assert rows[0][2] == {"case": case.number, "agency": agency.name, "status": status}

    # With the assignee gone, the regency's caseworkers hear the answer instead.
    rows = fired(case, "refer", w.caseworker2, **factories.refer_inputs(w.bpjs))
    assert recipients(rows, "referral.new") == {"bpjs_user"}
    w.caseworker.active = False
    db.session.commit()
    fired(case, "accept", w.agency_user, referral_id=case.referrals[-1].id)
    rows = fired(case, "report_service", w.agency_user, referral_id=case.referrals[-1].id,
                 service_given="PBI-JK aktif kembali", delivered_on=today())
    assert recipients(rows, "referral.answered") == usernames(role="caseworker", region_code="16.03") \
        == {"caseworker2"}
    assert rows[0][2]["status"] == "completed"

    # Events that the table does not name tell nobody.
    assert fired(case, "close", w.caseworker2, outcome="resolved", note="Selesai") == []


def test_overdue_kinds_are_rows_of_the_same_table(world):
    """For the SLA sweep: a case's caseworker and the area's supervisors; for a referral, its agency too."""
    case = factories.case_in("referred", world)
    supervisors = usernames(role="supervisor", region_code=case.regency_code) | usernames(
        role="supervisor", region_code=case.province_code)
    assert supervisors == {"supervisor", "supervisor_prov"}
    before = len(outbox())
    notify("case.overdue", case)
    notify("referral.overdue", case, referral=case.referrals[-1])
    db.session.commit()
    rows = outbox()[before:]
    assert {r[0] for r in rows if r[1] == "case.overdue"} == {"caseworker"} | supervisors
    assert {r[0] for r in rows if r[1] == "referral.overdue"} == {"caseworker", "bpjs_user"} | supervisors
    assert len(rows) == 7


def test_needs_info_tells_nobody_when_the_village_has_no_active_officer(world):
    case = factories.case_in("in_assessment", world)
    world.officer.active = False
    db.session.commit()
    # No active officer left in the village: the creator is inactive too, so nobody can act, and nobody is told.
    assert fired(case, "request_info", world.caseworker, note="Foto KK.") == []


def test_a_refused_or_rolled_back_event_writes_no_notification(world):
    w = world
    case = factories.register(w.officer)
    with pytest.raises(ServiceError):  # a caseworker cannot submit for the village
        cases.fire(case, "submit", w.caseworker)
    db.session.rollback()
    case = factories.register(w.officer, nik=factories.nik(), address="")  # incomplete: submit refused by a guard
    with pytest.raises(ServiceError):
        cases.fire(case, "submit", w.officer)
    db.session.rollback()
    stale = factories.register(w.officer)
    with pytest.raises(ServiceError):  # a stale version: 409
        cases.fire(stale, "submit", w.officer, expected_version=stale.version - 1)
    db.session.rollback()
    assert outbox() == []

    case = factories.register(w.officer)
    cases.fire(case, "submit", w.officer)
    db.session.rollback()  # the caller's transaction failed after the event: neither it nor its notes stay
    assert outbox() == []
    factories.fire(db.session.get(type(case), case.id), "submit", w.officer)
    assert len(outbox()) == 2


def test_with_sign_off_the_agency_hears_of_a_referral_once_it_is_approved(app, world):
    app.config["REFERRAL_SIGNOFF"] = True
    case = factories.case_in("assessed", world)
    assert fired(case, "refer", world.caseworker, **factories.refer_inputs(world.bpjs)) == []  # proposed only
    rows = fired(case, "approve_referral", world.supervisor, referral_id=case.referrals[-1].id)
    assert recipients(rows, "referral.new") == usernames(role="agency", agency_id=world.bpjs.id) == {"bpjs_user"}
