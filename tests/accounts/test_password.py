"""Every signed-in user changes their own password at /account/password, proving the current one first."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from puskesos.accounts.models import User
from puskesos.api import tokens
from puskesos.api.models import ApiToken
from puskesos.audit.chain import verify
from puskesos.audit.models import AuditEvent
from puskesos.extensions import db
from tests import factories
from tests.conftest import database_url, make_app
from tests.helpers import login
from tests.web.test_i18n import english_mo  # noqa: F401  (the compiled English catalogue, fresh)

URL = "/account/password"
NEW = "sandi-baru-456"
ROLES = ["officer_a", "caseworker", "bpjs_user", "supervisor", "admin"]


def html(resp) -> str:
    return resp.get_data(as_text=True)


def change(client, old: str = factories.PASSWORD, new: str = NEW, confirm: str | None = None):
    return client.post(URL, data={"old_password": old, "new_password": new,
                                  "confirm": new if confirm is None else confirm})


def password_hash(username: str) -> str:
    db.session.rollback()
    return db.session.execute(select(User.password_hash).where(User.username == username)).scalar_one()


def events(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.seq)).scalars())


def can_sign_in(client, username: str, password: str) -> bool:
    client.post("/logout")
    resp = client.post("/login", data={"username": username, "password": password})
    assert resp.status_code in (302, 401), html(resp)[-2000:]
    return resp.status_code == 302


@pytest.mark.parametrize("username", ROLES)
def test_every_role_changes_its_own_password(world, client, username):
    login(client, username)
    page = client.get(URL)
    assert page.status_code == 200
    body = html(page)
    assert re.search(r'<input[^>]*autocomplete="current-password"[^>]*name="old_password"'
                     r'|<input[^>]*name="old_password"[^>]*autocomplete="current-password"', body)
    assert len(re.findall(r'autocomplete="new-password"', body)) == 2
    assert f'href="{URL}"' in body  # the navbar link

    resp = change(client)
    assert resp.status_code in (302, 303)
    assert resp.headers["Location"] == "/"
    assert "Kata sandi Anda sudah diubah." in html(client.get("/", follow_redirects=True))

    assert not can_sign_in(client, username, factories.PASSWORD)
    assert can_sign_in(client, username, NEW)


def test_navbar_links_to_the_page_for_any_signed_in_user(world, client):
    assert "Ubah kata sandi" not in html(client.get("/login"))
    login(client, "bpjs_user")
    assert f'href="{URL}">Ubah kata sandi</a>' in html(client.get("/", follow_redirects=True))


def test_wrong_old_password_is_refused_and_changes_nothing(world, client):
    login(client, "officer_a")
    before = password_hash("officer_a")
    resp = change(client, old="bukan-sandi-lama")
    assert resp.status_code == 422
    assert "Kata sandi lama salah." in html(resp)
    assert password_hash("officer_a") == before
    assert events("user.password_changed") == []
    assert can_sign_in(client, "officer_a", factories.PASSWORD)
    assert not can_sign_in(client, "officer_a", NEW)


@pytest.mark.parametrize(("new", "confirm", "field", "message"), [
    ("pendek", "pendek", "new_password", "Kata sandi minimal 8 karakter."),
    (NEW, "sandi-lain-789", "confirm", "Ulangan tidak sama dengan kata sandi baru."),
    (factories.PASSWORD, factories.PASSWORD, "new_password", "Kata sandi baru harus berbeda dari kata sandi lama."),
    ("", "", "new_password", "Wajib diisi."),
])
def test_bad_new_password_is_refused(world, client, new, confirm, field, message):
    login(client, "caseworker")
    before = password_hash("caseworker")
    resp = change(client, new=new, confirm=confirm)
    assert resp.status_code == 422
    body = html(resp)
    # The message sits under its own field (Bootstrap's invalid-feedback right after the input).
    assert re.search(rf'name="{field}"[^>]*>\s*<div class="invalid-feedback[^"]*"[^>]*>\s*{re.escape(message)}',
                     body), body[-3000:]
    assert 'value="' + factories.PASSWORD + '"' not in body  # password fields are never echoed back
    assert password_hash("caseworker") == before
    assert events("user.password_changed") == []


def test_the_change_is_audited_without_the_password(world, client):
    login(client, "supervisor")
    assert change(client).status_code in (302, 303)
    [event] = events("user.password_changed")
    assert event.actor_id == world.supervisor.id and event.actor_role == "supervisor"
    assert event.region_code == "16.03"
    assert json.loads(event.details) == {"user_id": world.supervisor.id, "username": "supervisor"}
    for secret in (NEW, factories.PASSWORD, password_hash("supervisor")):
        assert secret not in event.details
    assert verify().ok


def test_the_users_api_tokens_are_revoked_and_no_one_elses(world, client):
    own, _row = tokens.issue(world.officer)
    other, _row = tokens.issue(world.caseworker)
    db.session.commit()
    bearer = {"Authorization": f"Bearer {own}"}
    assert client.get("/api/v1/cases", headers=bearer).status_code == 200

    login(client, "officer_a")
    assert change(client).status_code in (302, 303)

    assert client.get("/api/v1/cases", headers=bearer).status_code == 401
    db.session.rollback()
    assert tokens.resolve(own) is None
    assert tokens.resolve(other) is not None
    assert db.session.execute(select(ApiToken.revoked_at).where(ApiToken.user_id == world.officer.id)) \
        .scalar_one() is not None
    [revoked] = events("auth.tokens_revoked")
    assert revoked.actor_id == world.officer.id
    assert json.loads(revoked.details)["count"] == 1


def test_a_refused_change_leaves_the_tokens_alive(world, client):
    own, _row = tokens.issue(world.officer)
    db.session.commit()
    login(client, "officer_a")
    assert change(client, old="bukan-sandi-lama").status_code == 422
    db.session.rollback()
    assert tokens.resolve(own) is not None
    assert events("auth.tokens_revoked") == []


def test_anonymous_is_sent_to_sign_in(world, client):
    resp = client.get(URL)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")
    resp = change(client)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert events("user.password_changed") == []


@pytest.mark.usefixtures("english_mo")
def test_english_page(world, client):
    login(client, "admin")
    client.post("/lang/en", data={"next": URL})
    body = html(client.get(URL))
    assert "Current password" in body and "Change password" in body
    body = html(change(client, old="bukan-sandi-lama"))
    assert "The current password is wrong." in body


@pytest.fixture
def limited_app(backend, tmp_path):
    app = make_app({"LOGIN_LOCKOUT_AFTER": 3, "SQLALCHEMY_DATABASE_URI": database_url(backend, tmp_path)})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_guessing_the_old_password_is_rate_limited(limited_app):
    factories.build_world()
    client = limited_app.test_client()
    login(client, "officer_a")
    before = password_hash("officer_a")
    codes = [change(client, old=f"tebakan-{i}").status_code for i in range(3)]
    assert codes == [422, 422, 422]
    # A wrong current password is a failed login: three lock the account, and the form too, right password or not.
    resp = change(client)
    assert resp.status_code == 429 and "dikunci sementara" in html(resp) and "Retry-After" in resp.headers
    assert password_hash("officer_a") == before and events("user.password_changed") == []
    assert client.get(URL).status_code == 200  # only the attempts are counted
    other = limited_app.test_client()
    assert other.post("/login", data={"username": "officer_a", "password": factories.PASSWORD}).status_code == 429
