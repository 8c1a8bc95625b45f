
import pytest
from sqlalchemy import select

from puskesos.audit.models import AuditEvent
from puskesos.extensions import db
from tests import factories
from tests.conftest import database_url, make_app
from tests.helpers import REDIS_URL, redis_answers


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def test_login_and_logout_are_recorded(world, client):
    resp = client.post("/login", data={"username": "officer_a", "password": "salah-sandi"})
    assert resp.status_code == 401
    assert "salah" in resp.get_data(as_text=True)
    resp = client.post("/login", data={"username": "officer_a", "password": factories.PASSWORD})
    assert resp.status_code == 302
    assert actions()[-2:] == ["auth.login_failed", "auth.login"]
    assert client.post("/logout").status_code == 302
    assert client.get("/cases/").status_code == 302  # signed out: back to the login page


def test_login_redirect_stays_on_this_site(world, client):
    resp = client.post("/login?next=//evil.example/x", data={"username": "officer_a",
                                                               "password": factories.PASSWORD})
    assert resp.headers["Location"] == "/"


@pytest.fixture(params=["memory", "redis"])
def limited_app(request, backend, tmp_path):
    config = {"LOGIN_ADDRESS_FAILURES": 3, "SQLALCHEMY_DATABASE_URI": database_url(backend, tmp_path)}
    if request.param == "redis":
        if not redis_answers():
            pytest.skip(f"Redis: nothing answers at {REDIS_URL}")
        # The test database of Redis starts empty, so earlier tests' counters do not count here.
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        config.update(REDIS_URL=REDIS_URL)
    app = make_app(config)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_password_guessing_is_rate_limited(limited_app):
    """Failed logins count against the address (here a budget of 3), whichever accounts they name."""
    client = limited_app.test_client()
    codes = [client.post("/login", data={"username": f"x{i}", "password": "y"}).status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    resp = client.post("/login", data={"username": "x", "password": "y"})
    assert "Terlalu banyak percobaan" in resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0


def test_successful_logins_do_not_count_against_the_address(limited_app):
    factories.build_world()
    for _ in range(10):
        client = limited_app.test_client()
        assert client.post("/login", data={"username": "officer_a", "password": factories.PASSWORD}) \
            .status_code == 302


def test_pages_carry_security_headers(client):
    resp = client.get("/login")
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
