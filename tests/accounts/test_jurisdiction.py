"""Jurisdiction at the service level: a case outside the caller's area does not exist for them.

DESIGN.md: a user must never read or change a case outside their area, through a page, the API, an
export, a search or a guessed id; a denied read is "not found". Signing in is audited.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from puskesos.accounts.jurisdiction import AGENCY_ACCESS
from puskesos.accounts.services import authenticate, update_user
from puskesos.audit.models import AuditEvent
from puskesos.audit.services import AuditFilters, log_query
from puskesos.cases import services
from puskesos.cases.services import CaseFilters
from puskesos.cases.workflow import State
from puskesos.core.errors import NotFound
from puskesos.extensions import db
from puskesos.referrals import services as referral_services
from tests import factories


@pytest.fixture
def cases(world):
    """One case in each of village A, village B (both Muara Enim) and Lahat; A's is referred to BPJS."""
    a = factories.case_in(State.REFERRED, world)
    b = factories.register(world.officer_b, village_code=factories.VILLAGE_B)
    lahat = factories.register(world.officer_lahat, village_code=factories.VILLAGE_LAHAT)
    return {"a": a, "b": b, "lahat": lahat}


# Who may read which of the three cases (DESIGN.md, "Who uses it").
READS = {
    "officer": {"a"},
    "officer_b": {"b"},
    "officer_lahat": {"lahat"},
    "caseworker": {"a", "b"},
    "caseworker2": {"a", "b"},
    "caseworker_lahat": {"lahat"},
    "supervisor": {"a", "b"},
    "supervisor_province": {"a", "b", "lahat"},
    "supervisor_lahat": {"lahat"},
    "agency_user": {"a"},  # referred to its agency
    "agency_other_user": set(),
    "admin": set(),
}


def test_get_case_answers_not_found_outside_the_area(world, cases):
    with pytest.raises(NotFound) as unknown:
        services.get_case(world.supervisor_province, "SLRT-1603-2000-000999")
    for user_key, readable in READS.items():
        user = getattr(world, user_key)
        for key, case in cases.items():
            if key in readable:
                assert services.get_case(user, case.number).id == case.id, (user_key, key)
            else:
                with pytest.raises(NotFound) as denied:
                    services.get_case(user, case.number)
                # indistinguishable from a number that does not exist
                assert str(denied.value.message) == str(unknown.value.message), (user_key, key)


def test_scoped_cases_and_counts_hold_only_the_area(world, cases):
    ids = {key: case.id for key, case in cases.items()}
    for user_key, readable in READS.items():
        user = getattr(world, user_key)
        found = set(db.session.execute(services.scoped_cases(user, CaseFilters())).scalars())
        assert {c.id for c in found} == {ids[k] for k in readable}, user_key
        counts = services.state_counts(user)
        assert sum(counts.values()) == len(readable), user_key
        expected = {}
        for key in readable:
            expected[cases[key].state] = expected.get(cases[key].state, 0) + 1
        assert counts == expected, user_key


def test_filters_and_search_never_widen_the_area(world, cases):
    lahat = cases["lahat"]
    for query in (lahat.nik, lahat.number, lahat.name, "Siti"):
        found = db.session.execute(services.scoped_cases(world.caseworker, CaseFilters(q=query))).scalars().all()
        assert lahat.id not in {c.id for c in found}, query
    outside = CaseFilters(village_code=factories.VILLAGE_LAHAT)
    assert db.session.execute(services.scoped_cases(world.caseworker, outside)).scalars().all() == []
    assert services.state_counts(world.caseworker, outside) == {}
    found = db.session.execute(services.scoped_cases(world.officer, CaseFilters(village_code=factories.VILLAGE_B))
                               ).scalars().all()
    assert found == []


def test_acting_outside_the_area_is_not_found_and_changes_nothing(world, cases):
    a, lahat = cases["a"], cases["lahat"]
    attempts = [
        (lahat, "start_assessment", world.caseworker, {}),
        (lahat, "resolve_at_intake", world.officer, {"action_taken": "Informasi"}),
        (lahat, "close", world.caseworker, {"outcome": "duplicate"}),
        (cases["b"], "submit", world.officer, {}),
        (a, "revoke_referral", world.caseworker_lahat, {"referral_id": a.referrals[0].id, "reason": "x"}),
        (a, "accept", world.agency_other_user, {"referral_id": a.referrals[0].id}),
        (a, "close", world.supervisor_lahat, {"outcome": "not_eligible"}),
        (a, "close", world.admin, {"outcome": "not_eligible"}),
    ]
    events = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    for case, event, actor, inputs in attempts:
        state, version = case.state, case.version
        assert services.allowed_events(case, actor) == []
        with pytest.raises(NotFound):
            services.fire(case, event, actor, expected_version=version, **inputs)
        with pytest.raises(NotFound):
            services.reveal_nik(case, actor)
        db.session.rollback()
        assert (case.state, case.version) == (state, version), (event, actor.username)
    assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == events


def test_the_area_holds_for_intake_corrections(world, cases):
    with pytest.raises(NotFound):
        services.update_intake(cases["lahat"], world.officer, factories.intake(), expected_version=None)
    db.session.rollback()


def test_supervisors_read_the_audit_log_of_their_area_only(world, cases):
    numbers = {key: case.number for key, case in cases.items()}

    def case_numbers(user):
        rows = db.session.execute(log_query(user, AuditFilters())).scalars()
        return {e.case_number for e in rows if e.case_number}

    assert case_numbers(world.supervisor) == {numbers["a"], numbers["b"]}
    assert case_numbers(world.supervisor_lahat) == {numbers["lahat"]}
    assert case_numbers(world.supervisor_province) == set(numbers.values())
    for user_key in ("officer", "caseworker", "agency_user", "admin"):
        assert case_numbers(getattr(world, user_key)) == set(), user_key


# -- an agency's access follows its referral ----------------------------------------------------------------

# DESIGN (issue 6): an agency keeps reading a referral it is working on or has answered (served, or could not
# serve); a declined or revoked one ends its access, the complainant's consent covered that referral only.
AGENCY_READS = {"pending": True, "accepted": True, "completed": True, "failed": True, "declined": False,
                "revoked": False}
ROAD = {  # how the referral gets to each status: (event, actor key, inputs)
    "pending": [],
    "accepted": [("accept", "agency_user", {})],
    "completed": [("accept", "agency_user", {}),
                  ("report_service", "agency_user", {"service_given": "PBI-JK aktif", "delivered_on": "<today>"})],
    "failed": [("accept", "agency_user", {}), ("report_failure", "agency_user", {"reason": "Peserta pindah"})],
    "declined": [("decline", "agency_user", {"reason": "Bukan wewenang kami"})],
    "revoked": [("revoke_referral", "caseworker", {"reason": "Salah instansi"})],
}


def test_agency_access_is_the_designed_set_of_statuses():
    assert set(AGENCY_ACCESS) == {status for status, reads in AGENCY_READS.items() if reads}


@pytest.mark.parametrize("status", list(AGENCY_READS))
def test_an_agency_reads_a_case_while_its_referral_is_open_or_answered(world, status):
    case = factories.case_in(State.REFERRED, world)
    referral_id = case.referrals[0].id
    for event, actor, inputs in ROAD[status]:
        inputs = {k: (services.today() if v == "<today>" else v) for k, v in inputs.items()}
        factories.fire(case, event, getattr(world, actor), referral_id=referral_id, **inputs)
    assert case.referrals[0].status == status
    agency = world.agency_user
    reads = AGENCY_READS[status]
    if reads:
        assert services.get_case(agency, case.number).id == case.id
        assert referral_services.get_referral(agency, referral_id).id == referral_id
    else:
        with pytest.raises(NotFound):
            services.get_case(agency, case.number)
        with pytest.raises(NotFound):
            referral_services.get_referral(agency, referral_id)
    # Its case list, its counts and its inbox agree with what it may open.
    listed = db.session.execute(services.scoped_cases(agency, CaseFilters())).scalars().all()
    assert [c.id for c in listed] == ([case.id] if reads else [])
    assert services.state_counts(agency) == ({case.state: 1} if reads else {})
    inbox = db.session.execute(referral_services.referral_query(agency)).scalars().all()
    assert [r.id for r in inbox] == ([referral_id] if reads else [])
    # Another agency never did.
    with pytest.raises(NotFound):
        services.get_case(world.agency_other_user, case.number)


# -- signing in ---------------------------------------------------------------------------------------------


def last_event() -> AuditEvent:
    return db.session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()


def test_a_login_is_audited(world):
    user = authenticate("OFFICER_A", factories.PASSWORD, channel="api")
    db.session.commit()
    assert user is not None and user.id == world.officer.id
    assert user.last_login_at is not None
    event = last_event()
    assert (event.action, event.actor_id, event.actor_role, event.region_code) == (
        "auth.login", world.officer.id, "officer", factories.VILLAGE_A)
    assert json.loads(event.details) == {"channel": "api"}


@pytest.mark.parametrize(("username", "password", "reason"), [
    ("officer_a", "salah-sandi", "bad_password"),
    ("officer_a", "", "bad_password"),
    ("nobody", factories.PASSWORD, "unknown_user"),
])
def test_a_failed_login_is_audited(world, username, password, reason):
    before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert authenticate(username, password) is None
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before + 1
    event = last_event()
    assert (event.action, event.actor_id, event.actor_name) == ("auth.login_failed", None, username)
    assert json.loads(event.details) == {"reason": reason, "channel": "web"}
    if password:
        assert password not in event.details


def test_an_inactive_user_cannot_log_in(world):
    officer = world.officer
    update_user(world.admin, officer.id, full_name=officer.full_name, role=officer.role,
                region_code=officer.region_code, agency_id=None, active=False)
    db.session.commit()
    assert authenticate("officer_a", factories.PASSWORD) is None
    db.session.commit()
    event = last_event()
    assert (event.action, json.loads(event.details)["reason"]) == ("auth.login_failed", "inactive")
    assert officer.last_login_at is None
    update_user(world.admin, officer.id, full_name=officer.full_name, role=officer.role,
                region_code=officer.region_code, agency_id=None, active=True)
    db.session.commit()
    assert authenticate("officer_a", factories.PASSWORD) is not None
