"""Failed logins (issue 8, item 4): an account locks after five failures in a row, for a delay that grows; the
lock holds on every worker (Redis); failures, not logins, count against an address; and an unknown username
costs one password-hash check, like a known one."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pytest
from sqlalchemy import select

from puskesos.accounts import models as account_models
from puskesos.accounts.services import update_user
from puskesos.audit.models import AuditEvent
from puskesos.core.timeutil import clock_at, utcnow
from puskesos.extensions import db
from tests import factories
from tests.conftest import make_app
from tests.helpers import redis_answers

LOCKED = "akun ini dikunci sementara"
WRONG = "Nama pengguna atau kata sandi salah"


def attempt(client, username: str = "officer_a", password: str = "salah-sandi", address: str = "10.1.1.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def text(resp) -> str:
    return resp.get_data(as_text=True)


def failures(client, n: int, username: str = "officer_a", address: str = "10.1.1.1") -> list[int]:
    return [attempt(client, username, address=address).status_code for _ in range(n)]


def last_failure() -> dict:
    db.session.rollback()
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
                               .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    return json.loads(event.details)


def test_five_failures_lock_the_account_even_against_the_right_password(world, client):
    assert failures(client, 5) == [401] * 5
    resp = attempt(client, password=factories.PASSWORD)
    assert resp.status_code == 429
    assert LOCKED in text(resp) and "Coba lagi pukul" in text(resp) and "menit lagi" in text(resp)
    assert 55 <= int(resp.headers["Retry-After"]) <= 60
    assert last_failure() == {"reason": "locked", "channel": "web"}
    assert not attempt(client, password=factories.PASSWORD).headers.get("Location")
    # Another account, from the same address, is not locked.
    assert attempt(client, "officer_b", factories.PASSWORD).status_code == 302


def test_the_delay_grows_and_a_success_starts_over(world, client):
    start = utcnow()
    with clock_at(start):
        assert failures(client, 5) == [401] * 5
        assert attempt(client, password=factories.PASSWORD).headers["Retry-After"] == "60"
    with clock_at(start + dt.timedelta(seconds=61)):  # the first lock ran out; the next failure locks for longer
        assert failures(client, 1) == [401]
        assert attempt(client, password=factories.PASSWORD).headers["Retry-After"] == "120"
    later = start + dt.timedelta(seconds=61 + 121)
    with clock_at(later):
        assert failures(client, 1) == [401]
        assert attempt(client, password=factories.PASSWORD).headers["Retry-After"] == "240"
    later += dt.timedelta(seconds=241)
    with clock_at(later):
        assert attempt(client, password=factories.PASSWORD).status_code == 302
        client.post("/logout")
        # The run of failures is forgotten: four more mistakes lock nothing.
        assert failures(client, 4) == [401] * 4
        assert attempt(client, password=factories.PASSWORD).status_code == 302


def test_the_delay_stops_at_its_cap(app, world, client):
    app.config.update(LOGIN_LOCKOUT_MAX_SECONDS=300)
    now = utcnow()
    waits = []
    for _ in range(6):
        with clock_at(now):
            failures(client, 1 if waits else 5)
            waits.append(int(attempt(client, password=factories.PASSWORD).headers["Retry-After"]))
        now += dt.timedelta(seconds=waits[-1] + 1)
    assert waits == [60, 120, 240, 300, 300, 300]


def test_an_unknown_username_locks_like_a_known_one(world, client):
    """Otherwise the lock itself would tell which usernames exist."""
    assert failures(client, 5, username="tidak_ada") == [401] * 5
    resp = attempt(client, "tidak_ada")
    assert resp.status_code == 429 and LOCKED in text(resp)
    assert last_failure() == {"reason": "locked", "channel": "web"}


def test_the_api_token_endpoint_shares_the_lock(world, client):
    assert failures(client, 5) == [401] * 5
    resp = client.post("/api/v1/tokens", json={"username": "officer_a", "password": factories.PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert resp.status_code == 429
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == 429 and LOCKED in body["detail"] and "token" not in body
    assert 55 <= int(resp.headers["Retry-After"]) <= 60
    assert last_failure() == {"reason": "locked", "channel": "api"}


def test_fifty_correct_logins_from_one_office_address_all_pass(app, world):
    """Ten colleagues behind one address sign in at nine o'clock, and again after lunch, and again."""
    for i in range(50):
        username = ("officer_a", "officer_b", "caseworker", "caseworker2", "supervisor")[i % 5]
        resp = attempt(app.test_client(), username, factories.PASSWORD, address="10.2.2.2")
        assert resp.status_code == 302, (i, resp.status_code)
    for _ in range(10):
        resp = app.test_client().post("/api/v1/tokens", json={"username": "officer_a", "password": factories.PASSWORD},
                                      environ_base={"REMOTE_ADDR": "10.2.2.2"})
        assert resp.status_code == 201


def test_an_address_past_its_failure_budget_is_refused_for_every_account(app, world, client):
    budget = app.config["LOGIN_ADDRESS_FAILURES"]
    # One failure each against many accounts: no account's lock is reached, only the address's budget.
    codes = [attempt(client, f"tebakan{i}", address="10.3.3.3").status_code for i in range(budget)]
    assert codes == [401] * budget
    resp = attempt(client, "officer_b", factories.PASSWORD, address="10.3.3.3")
    assert resp.status_code == 429
    assert "dari alamat jaringan ini" in text(resp) and int(resp.headers["Retry-After"]) > 0
    api = client.post("/api/v1/tokens", json={"username": "officer_b", "password": factories.PASSWORD},
                      environ_base={"REMOTE_ADDR": "10.3.3.3"})
    assert api.status_code == 429 and "Retry-After" in api.headers
    # Another address, and the same accounts, are not affected.
    assert attempt(client, "officer_b", factories.PASSWORD, address="10.3.3.4").status_code == 302


class HashChecks:
    """Wraps the password-hash check and counts its calls: how much work each attempt did, not how long."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = account_models.check_password_hash

        def counting(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(account_models, "check_password_hash", counting)

    def during(self, action) -> int:
        before = self.calls
        action()
        return self.calls - before


def test_unknown_inactive_locked_and_known_usernames_cost_one_hash_check_each(world, client, monkeypatch):
    update_user(world.admin, world.officer_b.id, full_name="Officer B", role="officer",
                region_code=factories.VILLAGE_B, agency_id=None, active=False)
    db.session.commit()
    checks = HashChecks(monkeypatch)
    assert checks.during(lambda: attempt(client, "officer_a", factories.PASSWORD)) == 1
    client.post("/logout")
    assert checks.during(lambda: attempt(client, "officer_a", "salah-sandi")) == 1
    assert checks.during(lambda: attempt(client, "tidak_ada", factories.PASSWORD)) == 1
    assert checks.during(lambda: attempt(client, "officer_b", factories.PASSWORD)) == 1  # inactive
    failures(client, 5, username="caseworker")
    assert checks.during(lambda: attempt(client, "caseworker", factories.PASSWORD)) == 1  # locked
    token = lambda username: client.post("/api/v1/tokens", json={"username": username, "password": "x" * 8})  # noqa: E731
    assert checks.during(lambda: token("tidak_ada_juga")) == 1
    assert checks.during(lambda: token("supervisor")) == 1


def test_the_dummy_hash_is_made_like_a_users(world):
    account_models._dummy.clear()
    assert account_models.verify_password(None, factories.PASSWORD) is False
    method = lambda h: h.split("$", 1)[0]  # noqa: E731
    assert method(account_models._dummy["hash"]) == method(world.officer.password_hash)


# -- several workers ------------------------------------------------------------------------------------------


def two_workers(app, redis_url: str | None):
    """Two more app objects on the test's database, as two gunicorn workers would be."""
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    if redis_url:
        config["REDIS_URL"] = redis_url
    return make_app(config), make_app(config)


def in_worker(worker, action):
    with worker.app_context():
        try:
            return action(worker.test_client())
        finally:
            db.session.remove()


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set: no Redis to share between workers")
def test_a_lock_reached_through_one_worker_holds_on_the_other(app, world):
    if not redis_answers():
        pytest.skip(f"Redis: nothing answers at {TEST_REDIS_URL}")
    import redis

    redis.Redis.from_url(TEST_REDIS_URL).flushdb()  # this helper's own Redis database: no earlier run counts
    db.session.commit()
    first, second = two_workers(app, TEST_REDIS_URL)
    assert in_worker(first, lambda c: failures(c, 5)) == [401] * 5
    resp = in_worker(second, lambda c: attempt(c, password=factories.PASSWORD))
    assert resp.status_code == 429 and LOCKED in text(resp)
    assert in_worker(second, lambda c: attempt(c, "officer_b", factories.PASSWORD).status_code) == 302
    # A success on one worker starts the count over on the other too.
    with clock_at(utcnow() + dt.timedelta(seconds=61)):
        assert in_worker(second, lambda c: attempt(c, password=factories.PASSWORD).status_code) == 302
        assert in_worker(first, lambda c: failures(c, 4)) == [401] * 4
        assert in_worker(second, lambda c: attempt(c, password=factories.PASSWORD).status_code) == 302
    keys = redis.Redis.from_url(TEST_REDIS_URL).keys("*")
    assert keys and all(k.startswith(b"puskesos:login:") for k in keys)
    for worker in (first, second):
        with worker.app_context():
            db.engine.dispose()


def test_without_redis_each_worker_counts_in_its_own_memory(app, world):
    """The fallback for development and tests: the same rules, kept in the process; workers do not share."""
    db.session.commit()
    first, second = two_workers(app, None)
    assert in_worker(first, lambda c: failures(c, 5)) == [401] * 5
    assert in_worker(first, lambda c: attempt(c, password=factories.PASSWORD).status_code) == 429
    assert in_worker(second, lambda c: attempt(c, password=factories.PASSWORD).status_code) == 302
    for worker in (first, second):
        with worker.app_context():
            db.engine.dispose()


def test_with_redis_out_of_reach_the_lock_holds_in_the_workers_memory(app, world, caplog):
    """Redis down: the password check, the audit log and the sessions go on, and so does the lock, per worker;
    the public letter check (rate limited through the same Redis) does not fail either."""
    db.session.commit()
    worker, _ = two_workers(app, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert in_worker(worker, lambda c: attempt(c, "officer_b", factories.PASSWORD).status_code) == 302
    assert in_worker(worker, lambda c: failures(c, 5)) == [401] * 5
    resp = in_worker(worker, lambda c: attempt(c, password=factories.PASSWORD))
    assert resp.status_code == 429 and LOCKED in text(resp)
    assert "login lockout storage unavailable" in caplog.text
    limited = make_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_ENABLED": True})
    resp = in_worker(limited, lambda c: c.get("/v/not-a-token"))
    assert resp.status_code == 404 and "tidak" in resp.get_data(as_text=True).lower()  # "not valid", not a 500
    for each in (worker, limited):
        with each.app_context():
            db.engine.dispose()


def test_parallel_guesses_get_no_more_tries_than_serial_ones(app, world):
    """Sixteen guesses at once (several workers, threads here): the gate lets the lock be checked, the password
    tried and the failure counted one attempt at a time, so exactly five reach the password check."""
    import threading

    from puskesos.accounts import lockout

    checked, refused, gate = [], [], threading.Barrier(16)

    def guess() -> None:
        with app.app_context():
            gate.wait()
            try:
                with lockout.attempt_gate("officer_a"):
                    if lockout.locked("officer_a") is None:
                        checked.append(1)
                        time.sleep(0.01)  # the password check
                        lockout.failed("officer_a", None)
                    else:
                        refused.append(1)
            except lockout.LoginRefused:
                refused.append(1)

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == 5 and len(refused) == 11
