"""Regressions from the code review: each test names the hole it keeps closed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from puskesos.accounts.services import update_user
from puskesos.api import tokens
from puskesos.cases import services
from puskesos.cases.models import Case
from puskesos.cases.workflow import State
from puskesos.core.errors import NotFound, ValidationFailed, WorkflowRefused
from puskesos.extensions import db
from tests import factories
from tests.helpers import login


@pytest.mark.parametrize("target", ["/%09/evil.example/x", "/\\evil.example", "/%0Ax", "https://evil.example/",
                                    "//evil.example"])
def test_after_login_only_this_site(world, client, target):
    resp = client.post(f"/login?next={target}", data={"username": "officer_a", "password": factories.PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    resp = client.post("/lang/en", data={"next": target.replace("%09", "\t").replace("%0A", "\n")})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_agency_access_ends_with_its_referral(world, client):
    case = factories.case_in(State.REFERRED, world)
    referral_id = case.referrals[0].id
    login(client, "bpjs_user")
    assert client.get(f"/referrals/{referral_id}").status_code == 200
    factories.fire(case, "revoke_referral", world.caseworker, referral_id=referral_id, reason="Persetujuan ditarik")
    assert client.get(f"/referrals/{referral_id}").status_code == 404
    assert client.post(f"/referrals/{referral_id}/nik").status_code == 404
    with pytest.raises(NotFound):
        services.get_case(world.agency_user, case.number)


def test_a_changed_account_loses_its_api_tokens(world, client):
    token, _row = tokens.issue(world.caseworker)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    update_user(world.admin, world.caseworker.id, full_name="Caseworker", role="caseworker", region_code="16.03",
                agency_id=None, active=True, password="sandi-baru-yang-kuat")
    db.session.commit()
    assert client.get("/api/v1/cases", headers=headers).status_code == 401


def test_a_nik_born_in_the_future_is_refused(world):
    """A two-digit year up to this year's is read as this century: 31 December of this year, still ahead."""
    today = services.today()
    if today.month == 12 and today.day == 31:
        pytest.skip("no day of this year is still ahead")
    future = factories.nik(district="160301", birth=dt.date(today.year, 12, 31))
    with pytest.raises(ValidationFailed) as refused:
        services.register(world.officer, factories.intake(nik=future))
    assert "masa depan" in str(refused.value.errors["nik"][0])


@pytest.mark.parametrize("rt", ["00²", "٠١٢", "1a"])
def test_rt_takes_plain_digits_only(world, rt):
    with pytest.raises(ValidationFailed) as refused:
        services.register(world.officer, factories.intake(rt=rt))
    assert "rt" in refused.value.errors


def test_resolved_needs_a_referral_that_was_answered(world):
    case = factories.case_in(State.REFERRED, world)
    factories.fire(case, "revoke_referral", world.caseworker, referral_id=case.referrals[0].id, reason="Salah")
    with pytest.raises(WorkflowRefused, match="dibatalkan"):
        services.fire(case, "close", world.caseworker, outcome="resolved")
    db.session.rollback()
    factories.fire(case, "close", world.caseworker, outcome="not_eligible")
    assert case.state == State.CLOSED


def test_editing_to_a_duplicate_nik_asks_for_confirmation(world, client):
    other = factories.register(world.officer)
    case = factories.register(world.officer)
    login(client, "officer_a")
    data = {**factories.intake(nik=other.nik), "version": str(case.version)}
    resp = client.post(f"/cases/{case.number}/edit", data=data)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert other.number in html and "confirm_duplicate" in html
    resp = client.post(f"/cases/{case.number}/edit", data={**data, "confirm_duplicate": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    same_nik = select(func.count()).select_from(Case).where(Case.nik_hash == other.nik_hash)
    assert db.session.execute(same_nik).scalar_one() == 2
