from puskesos.audit.chain import verify
from puskesos.cases.workflow import State
from puskesos.core import timeutil
from tests import factories


def test_case_goes_from_registration_to_closure(world):
    case = factories.case_in(State.IN_SERVICE, world)
    referral = case.referrals[0]
    factories.fire(case, "report_service", world.agency_user, referral_id=referral.id,
                   service_given="PBI aktif kembali", delivered_on=timeutil.today())
    factories.fire(case, "close", world.caseworker, outcome="resolved")
    assert case.state == State.CLOSED
    assert case.number.startswith("SLRT-1603-")
    assert verify().ok
