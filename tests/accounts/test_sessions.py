"""Sessions that end (issue 8, item 4): a session cookie copied from one browser into another, and an API token,
die at once when the user signs out, their password is changed or reset, or the account is deactivated or
changes role or area; another user's sessions go on."""

from __future__ import annotations

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import select

from puskesos.accounts.models import User
from puskesos.accounts.services import update_user
from puskesos.audit.models import AuditEvent
from puskesos.extensions import db
from tests import factories
from tests.api.conftest import token
from tests.helpers import login, signed_in

PAGE = "/cases/"


def copy_of(client, app):
    """A second browser holding the first one's session cookie, as a thief who copied it would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in_now(client) -> bool:
    resp = client.get(PAGE)
    assert resp.status_code in (200, 302), resp.status_code
    return resp.status_code == 200 and not resp.headers.get("Location")


def token_works(client, bearer: str) -> bool:
    return client.get("/api/v1/cases", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200


def actions() -> list[str]:
    db.session.rollback()
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def edit_as_admin(app, user, **changes):
    """The admin's account page, as the admin sends it: every field, some of them changed."""
    fields = {"full_name": user.full_name, "role": user.role, "region_code": user.region_code or "",
              "agency_id": str(user.agency_id or 0), "active": "y" if user.active else "", "password": ""}
    fields.update(changes)
    data = {key: value for key, value in fields.items() if not (key == "active" and not value)}
    resp = signed_in(app, "admin").post(f"/admin/users/{user.id}", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]


def test_a_copied_cookie_dies_when_the_user_signs_out(app, world):
    browser = signed_in(app, "officer_a")
    thief = copy_of(browser, app)
    assert signed_in_now(thief)  # the copy works, as long as the session does
    assert browser.post("/logout").status_code == 302
    assert not signed_in_now(thief)
    assert not signed_in_now(browser)
    assert actions()[-1] == "auth.logout"
    # Signing in again gives a new session; the copied one stays dead.
    login(browser, "officer_a")
    assert signed_in_now(browser)
    assert not signed_in_now(thief)


def deactivate_and_reactivate(app, w):
    edit_as_admin(app, w.officer, active="")
    db.session.expire_all()
    edit_as_admin(app, db.session.get(User, w.officer.id), active="y")


def own_password_change(app, w, browser):
    resp = browser.post("/account/password", data={"old_password": factories.PASSWORD,
                                                   "new_password": "sandi-baru-456", "confirm": "sandi-baru-456"})
    assert resp.status_code == 303


ENDS = {
    "admin resets the password": lambda app, w, browser: edit_as_admin(app, w.officer, password="sandi-reset-789"),
    "deactivated then reactivated": lambda app, w, browser: deactivate_and_reactivate(app, w),
    "role changed": lambda app, w, browser: edit_as_admin(app, w.officer, role="caseworker", region_code="16.03"),
    "area changed": lambda app, w, browser: edit_as_admin(app, w.officer, region_code=factories.VILLAGE_B),
    "own password changed": own_password_change,
    "signed out": lambda app, w, browser: browser.post("/logout"),
}


@pytest.mark.parametrize("end", list(ENDS))
def test_every_session_and_token_of_the_user_ends_and_no_one_elses(app, world, end):
    browser = signed_in(app, "officer_a")
    thief = copy_of(browser, app)
    bearer = token(app.test_client(), "officer_a")
    colleague = signed_in(app, "officer_b")
    colleague_copy = copy_of(colleague, app)
    colleague_bearer = token(app.test_client(), "officer_b")
    assert signed_in_now(thief) and token_works(app.test_client(), bearer)

    ENDS[end](app, world, browser)

    assert not signed_in_now(thief)
    assert not token_works(app.test_client(), bearer)
    # Only the one who changed their own password stays signed in, in the browser they did it in.
    assert signed_in_now(browser) is (end == "own password changed")
    # The colleague's sessions, copies and tokens are untouched.
    assert signed_in_now(colleague) and signed_in_now(colleague_copy)
    assert token_works(app.test_client(), colleague_bearer)


def test_ends_reach_every_worker_because_they_live_in_the_database(app, world):
    """A session made by one app object (one worker) is refused by another after an end written through the
    service, with no message between them."""
    from tests.conftest import make_app

    browser = signed_in(app, "officer_a")
    other_worker = make_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    copy = other_worker.test_client()
    copy.set_cookie("session", browser.get_cookie("session").value)
    with other_worker.app_context():
        assert signed_in_now(copy)
    update_user(world.admin, world.officer.id, full_name="Officer A", role="officer", region_code=factories.VILLAGE_A,
                agency_id=None, active=True, password="sandi-reset-789")
    db.session.commit()
    with other_worker.app_context():
        assert not signed_in_now(copy)
        db.engine.dispose()


def test_a_change_that_does_not_touch_who_the_user_is_ends_nothing(app, world):
    browser = signed_in(app, "officer_a")
    thief = copy_of(browser, app)
    bearer = token(app.test_client(), "officer_a")
    edit_as_admin(app, world.officer, full_name="Officer A Baru")
    assert signed_in_now(thief) and token_works(app.test_client(), bearer)


def test_a_remember_me_cookie_obeys_the_same_generation(app, world):
    """No page offers "remember me" today; should one, its cookie carries the same id and generation as the
    session (`User.get_id`) and dies with it."""
    officer = world.officer
    with app.test_request_context():
        cookie = encode_cookie(officer.get_id())
    remembered = app.test_client()
    remembered.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), cookie)
    assert signed_in_now(remembered)
    edit_as_admin(app, officer, password="sandi-reset-789")
    fresh = app.test_client()
    fresh.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), cookie)
    assert not signed_in_now(fresh)


def test_an_admin_who_resets_their_own_password_stays_signed_in(app, world):
    admin = signed_in(app, "admin")
    thief = copy_of(admin, app)
    resp = admin.post(f"/admin/users/{world.admin.id}", data={
        "full_name": world.admin.full_name, "role": "admin", "region_code": "", "agency_id": "0", "active": "y",
        "password": "sandi-admin-baru"})
    assert resp.status_code == 302
    assert admin.get("/admin/users").status_code == 200
    assert thief.get("/admin/users").status_code == 302


def test_forged_session_ids_load_no_one(app, world):
    from puskesos.accounts.services import load_user

    officer = world.officer
    assert load_user(officer.get_id()) is officer
    for forged in ("", str(officer.id), f"{officer.id}:", f"{officer.id}:1", f"{officer.id}:x", "9" * 5000 + ":0",
                   f"{officer.id}:{'9' * 5000}", f"-{officer.id}:0", ":0"):
        assert load_user(forged) is None, forged


def test_signing_out_and_in_leaves_nothing_of_the_last_user_in_the_browser(app, world):
    """A shared office computer: the next user finds neither the last one's NIK search nor a NIK reveal."""
    case = factories.register(world.officer)
    db.session.commit()
    browser = app.test_client()
    login(browser, "supervisor")
    browser.post("/lang/en")
    searched = browser.post("/cases/search", data={"q": case.nik})
    assert searched.status_code == 303
    browser.post(f"/cases/{case.number}/nik")  # revealed, not yet looked at
    with browser.session_transaction() as kept:
        assert {"case_searches", "reveal_case"} <= set(kept)
    browser.post("/logout")
    with browser.session_transaction() as kept:
        assert not {"case_searches", "reveal_case", "_user_id"} & set(kept) and kept["lang"] == "en"
    login(browser, "caseworker")
    assert case.nik not in browser.get(searched.headers["Location"]).get_data(as_text=True)
    assert case.nik not in browser.get(f"/cases/{case.number}").get_data(as_text=True)
