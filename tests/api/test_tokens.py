"""Bearer tokens (issue 3, authentication): issued for a password, stored hashed, expiring, revocable, rate
limited, audited like web logins, and the only thing that authenticates an API call."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets

import pytest
from sqlalchemy import select, update

from puskesos.accounts.models import User
from puskesos.api.models import ApiToken
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db
from tests import factories
from tests.api.conftest import Api, CheckingClient, assert_problem, audit_events, token
from tests.conftest import database_url, make_app
from tests.helpers import REDIS_URL, redis_answers

TOKEN_REFUSED = "Token tidak ada, tidak valid, kedaluwarsa, atau sudah dicabut."


def assert_refused(resp) -> None:
    body = assert_problem(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["detail"] == TOKEN_REFUSED


def test_token_is_issued_with_its_expiry_and_audited(client, world):
    before = utcnow().replace(tzinfo=dt.UTC)
    resp = client.post("/api/v1/tokens", json={"username": "officer_a", "password": factories.PASSWORD})
    assert resp.status_code == 201
    body = resp.get_json()
    assert set(body) == {"token", "expires_at"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires.tzinfo is not None and expires.utcoffset() == dt.timedelta(0)
    hours = client.application.config["API_TOKEN_HOURS"]
    assert before + dt.timedelta(hours=hours) - dt.timedelta(minutes=1) <= expires \
        <= utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(hours=hours, minutes=1)

    logins = audit_events("auth.login")
    assert [(e.actor_name, e.parsed) for e in logins] == [("officer_a", {"channel": "api"})]
    # The token works, and a second login gives a second, different token.
    api = Api(client, body["token"])
    assert api.get("cases").status_code == 200
    assert token(client, "officer_a") != body["token"]


@pytest.mark.parametrize(("username", "password", "reason"), [
    ("officer_a", "salah-sandi", "bad_password"),
    ("nobody", factories.PASSWORD, "unknown_user"),
])
def test_wrong_credentials_are_refused_and_audited(client, world, username, password, reason):
    resp = client.post("/api/v1/tokens", json={"username": username, "password": password})
    body = assert_problem(resp, 401)
    assert "salah" in body["detail"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" not in body
    failed = audit_events("auth.login_failed")
    assert [(e.actor_name, e.parsed) for e in failed] == [(username, {"reason": reason, "channel": "api"})]
    assert audit_events("auth.login") == []
    db.session.rollback()
    assert db.session.execute(select(ApiToken)).scalars().all() == []


def test_english_detail_on_request(client, world):
    resp = client.post("/api/v1/tokens", json={"username": "officer_a", "password": "x"},
                       headers={"Accept-Language": "en-US,en;q=0.9"})
    body = assert_problem(resp, 401)
    assert "salah" not in body["detail"] and "password" in body["detail"].lower()


def test_malformed_token_request_is_422(client, world):
    for payload, fields in (({}, {"username", "password"}), ({"username": "officer_a"}, {"password"}),
                            ({"password": "x"}, {"username"}), ({"username": 5, "password": "x"}, {"username"}),
                            ({"username": "officer_a", "password": factories.PASSWORD, "role": "admin"}, {"role"})):
        body = assert_problem(client.post("/api/v1/tokens", json=payload), 422)
        assert set(body["errors"]) == fields, payload
    body = assert_problem(client.post("/api/v1/tokens", data="{not json", content_type="application/json"), 400)
    assert audit_events("auth.login") == []


def test_inactive_user_gets_no_token_and_loses_its_tokens(client, world):
    bearer = token(client, "officer_a")
    db.session.execute(update(User).where(User.username == "officer_a").values(active=False))
    db.session.commit()
    assert_problem(client.post("/api/v1/tokens", json={"username": "officer_a", "password": factories.PASSWORD}),
                   401)
    assert audit_events("auth.login_failed")[-1].parsed == {"reason": "inactive", "channel": "api"}
    assert_refused(Api(client, bearer).get("cases"))


def test_token_is_stored_hashed(client, world):
    bearer = token(client, "officer_a")
    db.session.rollback()
    rows = db.session.execute(select(ApiToken.__table__)).all()
    assert len(rows) == 1
    assert all(bearer not in str(value) for value in rows[0])
    assert rows[0].token_hash == hashlib.sha256(bearer.encode()).hexdigest()
    db.session.commit()


def test_expired_token_is_refused(client, world):
    bearer = token(client, "caseworker")
    api = Api(client, bearer)
    assert api.get("cases").status_code == 200
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    assert_refused(api.get("cases"))
    assert_refused(api.get("regions"))


def test_revoking_the_current_token(client, world):
    bearer = token(client, "officer_a")
    other = token(client, "officer_a")
    api = Api(client, bearer)
    resp = api.delete("tokens/current")
    assert resp.status_code == 204 and resp.get_data() == b""
    assert_refused(api.get("cases"))
    assert_refused(api.delete("tokens/current"))
    assert Api(client, other).get("cases").status_code == 200  # only the token the request carried
    revoked = audit_events("auth.token_revoked")
    assert len(revoked) == 1
    assert revoked[0].actor_name == "officer_a" and revoked[0].parsed["channel"] == "api"
    db.session.rollback()
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(bearer.encode())
                                                    .hexdigest())).scalar_one()
    assert row.revoked_at is not None
    db.session.commit()


def test_cli_revokes_every_token_of_a_user(app, client, world):
    mine = [token(client, "officer_a"), token(client, "officer_a")]
    theirs = token(client, "caseworker")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "revoke-tokens", "officer_a"])
    assert result.exit_code == 0, result.output
    assert "2" in result.output
    for bearer in mine:
        assert_refused(Api(client, bearer).get("cases"))
    assert Api(client, theirs).get("cases").status_code == 200
    assert audit_events("auth.tokens_revoked")[-1].parsed["count"] == 2
    # A fresh token after the revocation works again.
    assert Api(client, token(client, "officer_a")).get("cases").status_code == 200

    result = runner.invoke(args=["users", "revoke-tokens", "no_such_user"])
    assert result.exit_code != 0


def test_a_web_session_does_not_authenticate_the_api(client, world):
    resp = client.post("/login", data={"username": "officer_a", "password": factories.PASSWORD})
    assert resp.status_code == 302
    assert client.get("/cases/").status_code == 200  # the session works for pages
    for method, url in (("GET", "/api/v1/cases"), ("GET", "/api/v1/regions"),
                        ("POST", "/api/v1/cases"), ("DELETE", "/api/v1/tokens/current")):
        kwargs = {"json": factories.intake()} if method == "POST" else {}
        assert_refused(client.open(url, method=method, **kwargs))


MALFORMED_AUTHORIZATION = [
    None, "", "Bearer", "Bearer ", "Bearer  ", "Basic b2ZmaWNlcl9hOnJhaGFzaWExMjM=", "Token abc", "bearer",
    "Bearer not-a-token", "Bearer " + "x" * 1000, "Bearer \u00e9\u00e8", "Bearer%20abc", "Bearer a b",
]


def test_malformed_authorization_is_refused(client, world):
    for header in MALFORMED_AUTHORIZATION:
        headers = {} if header is None else {"Authorization": header}
        for method, url in (("GET", "/api/v1/cases"), ("GET", "/api/v1/audit"), ("POST", "/api/v1/cases"),
                            ("GET", "/api/v1/cases/SLRT-1603-2026-000001"), ("DELETE", "/api/v1/tokens/current")):
            assert_refused(client.open(url, method=method, headers=headers))


def test_the_scheme_is_case_insensitive_but_the_token_is_not(client, world):
    bearer = token(client, "officer_a")
    assert client.get("/api/v1/cases", headers={"Authorization": f"bearer {bearer}"}).status_code == 200
    assert_refused(client.get("/api/v1/cases", headers={"Authorization": f"Bearer {bearer.swapcase()}"}))
    assert_refused(client.get("/api/v1/cases", headers={"Authorization": f"Basic {bearer}"}))


# -- rate limit -----------------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limited_app(request, backend, tmp_path):
    config = {"LOGIN_ADDRESS_FAILURES": 2, "SQLALCHEMY_DATABASE_URI": database_url(backend, tmp_path)}
    if request.param == "redis":
        if not redis_answers():
            pytest.skip(f"Redis: nothing answers at {REDIS_URL}")
        config["REDIS_URL"] = REDIS_URL
    app = make_app(config)
    app.test_client_class = CheckingClient
    with app.app_context():
        db.create_all()
        factories.build_world()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_token_endpoint_is_rate_limited(limited_app):
    client = limited_app.test_client()
    # Limits count per client address; a fresh one per run, so no earlier run's counters (in Redis) count here.
    client.environ_base["REMOTE_ADDR"] = random_address()
    good = {"username": "officer_a", "password": factories.PASSWORD}
    # Failures, not successes, count against the address (a budget of 2 here).
    # (An unknown name of its own: unknown names lock like accounts do, and Redis outlives the run.)
    stranger = {"username": f"x{secrets.token_hex(4)}", "password": "y"}
    codes = [client.post("/api/v1/tokens", json=good if i == 0 else stranger).status_code for i in range(3)]
    assert codes == [201, 401, 401]
    resp = client.post("/api/v1/tokens", json=good)  # even the right password waits now
    body = assert_problem(resp, 429)
    assert "Terlalu banyak" in body["detail"]
    assert int(resp.headers["Retry-After"]) > 0
    assert "token" not in body
    assert len(audit_events("auth.login")) == 1  # the refused attempt never reached the password check
    assert len(audit_events("auth.login_failed")) == 2
    # Another client address has its own allowance.
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = random_address()
    assert other.post("/api/v1/tokens", json=good).status_code == 201


def random_address() -> str:
    return str(ipaddress.IPv4Address(0x0A000000 + secrets.randbelow(2**24)))  # somewhere in 10.0.0.0/8
