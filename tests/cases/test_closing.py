"""Closing a case withdraws what it still asks of agencies and leaves what they answered; reopening starts a
fresh assessment with its own clock."""

import datetime as dt

from puskesos.accounts.jurisdiction import can_read_case
from puskesos.audit.services import details_of, timeline
from puskesos.cases import services
from puskesos.cases.workflow import DEADLINES, State
from puskesos.core import timeutil
from puskesos.referrals.models import ReferralStatus
from puskesos.workdays.services import add_working_days
from tests import factories


def test_closing_withdraws_open_referrals_only_and_says_so(world):
    """What is still open is revoked (and said in the audit event); what agencies answered stays."""
    case = factories.case_in(State.ANSWERED, world)  # BPJS served it
    served = case.referrals[0]
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.bpjs))
    factories.fire(case, "refer", world.caseworker, **factories.refer_inputs(world.dukcapil))
    factories.fire(case, "accept", world.agency_other_user, referral_id=case.referrals[-1].id)
    assert case.state == State.IN_SERVICE
    still_open = [r for r in case.referrals if r.is_open]
    assert len(still_open) == 2
    factories.fire(case, "close", world.caseworker, outcome="unreachable", note="Pindah alamat, tidak diketahui")
    assert [r.status for r in case.referrals] == [ReferralStatus.COMPLETED, ReferralStatus.REVOKED,
                                                  ReferralStatus.REVOKED]
    assert all("Kasus ditutup" in r.revoke_reason and r.due_on is None for r in still_open)
    assert served.revoke_reason is None
    assert (case.due_on, case.due_estimated) == (None, False)
    closing = timeline(case)[-1]
    assert closing.action == "case.close"
    assert details_of(closing)["revoked_referrals"] == [r.id for r in still_open]
    # the agencies: BPJS keeps its served referral's case, Disdukcapil (withdrawn) no longer sees it
    assert can_read_case(world.agency_user, case)
    assert not can_read_case(world.agency_other_user, case)

    # an answered case has nothing left to withdraw
    case = factories.case_in(State.ANSWERED, world)
    assert case.due_on == add_working_days(timeutil.today(), DEADLINES[State.ANSWERED]).day
    factories.fire(case, "close", world.caseworker, outcome="resolved", note="PBI-JK aktif kembali")
    assert (case.state, case.outcome, case.due_on) == (State.CLOSED, "resolved", None)
    assert [r.status for r in case.referrals] == [ReferralStatus.COMPLETED]
    assert "revoked_referrals" not in details_of(timeline(case)[-1])


def test_a_case_waiting_for_missing_data_can_be_closed(world):
    """DESIGN: a complainant who never brings what was asked for must not hold a case open for ever."""
    moment = dt.datetime.combine(timeutil.today() - dt.timedelta(days=40), dt.time(3, 0))
    with timeutil.clock_at(moment):
        case = factories.case_in(State.NEEDS_INFO, world)
    assert case.is_overdue  # ten working days have long passed
    assert "close" in services.allowed_events(case, world.caseworker)
    factories.fire(case, "close", world.caseworker, outcome="unreachable", note="Tidak dapat dihubungi")
    assert (case.state, case.outcome, case.due_on, case.is_overdue) == (State.CLOSED, "unreachable", None, False)


def test_reopened_case_holds_no_referral_an_agency_could_still_answer(world):
    case = factories.case_in(State.REFERRED, world)
    factories.fire(case, "close", world.caseworker, outcome="not_eligible")
    factories.fire(case, "reopen", world.supervisor, reason="Keberatan pengadu diterima")
    assert case.state == State.IN_ASSESSMENT and case.outcome is None
    assert not any(r.is_open for r in case.referrals)
    assert not services.allowed_events(case, world.agency_user)  # its referral was withdrawn with the closing
    # a fresh step, with its own clock
    assert case.due_on == add_working_days(timeutil.today(), DEADLINES[State.IN_ASSESSMENT]).day
    assert case.days_in_step == 0
