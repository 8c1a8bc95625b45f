"""Closing a case withdraws what it still asks of agencies; reopening starts a fresh assessment."""

from puskesos.audit.services import details_of, timeline
from puskesos.cases.workflow import State
from puskesos.referrals.models import ReferralStatus
from tests import factories


def test_closing_withdraws_open_referrals_and_says_so(world):
    case = factories.case_in(State.REFERRED, world)
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.dukcapil))
    factories.fire(case, "accept", world.agency_user, referral_id=case.referrals[0].id)
    assert case.state == State.IN_SERVICE
    factories.fire(case, "close", world.caseworker, outcome="unreachable", note="Pindah alamat, tidak diketahui")
    assert [r.status for r in case.referrals] == [ReferralStatus.REVOKED, ReferralStatus.REVOKED]
    assert all("Kasus ditutup" in r.revoke_reason for r in case.referrals)
    closing = timeline(case)[-1]
    assert closing.action == "case.close"
    assert details_of(closing)["revoked_referrals"] == [r.id for r in case.referrals]


def test_reopened_case_holds_no_referral_an_agency_could_still_answer(world):
    case = factories.case_in(State.REFERRED, world)
    factories.fire(case, "close", world.caseworker, outcome="not_eligible")
    factories.fire(case, "reopen", world.supervisor, reason="Keberatan pengadu diterima")
    assert case.state == State.IN_ASSESSMENT and case.outcome is None
    assert not any(r.is_open for r in case.referrals)
