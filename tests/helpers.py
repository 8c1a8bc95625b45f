"""Signing in through the test client, shared by the page tests."""

from __future__ import annotations

import os

from tests import factories

# Redis for rate-limit tests: database 15 of the local server, or TEST_REDIS_URL.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and _worker[2:].isdigit():  # each xdist worker flushes a Redis database of its own
    REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + f"/{15 - int(_worker[2:]) % 15}"


def redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def login(client, username: str):
    """Sign `client` in as `username` (signing out whoever was signed in); returns the client."""
    client.post("/logout")
    resp = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    return client


def signed_in(app, username: str):
    """A new client of `app`, signed in as `username`."""
    return login(app.test_client(), username)


def send(client, method: str, url: str, **kwargs):
    return client.open(url, method=method, **kwargs)
