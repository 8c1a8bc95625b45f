"""Signing in through the test client, shared by the page tests."""

from __future__ import annotations

import itertools
import os
import re

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


def route_urls(rule, values: dict[str, list]) -> list[tuple[str, dict]]:
    """Every URL of a url_map `rule` with its arguments filled from `values` (argument name → the values to try),
    as the access matrix does for one value each, with the arguments used. An argument without values is an error
    that names it, so a new route with a new kind of argument is noticed rather than skipped."""
    missing = sorted(rule.arguments - values.keys())
    if missing:
        raise LookupError(f"no test value for URL argument(s) {', '.join(missing)} of {rule.rule}")
    names = sorted(rule.arguments)
    urls = []
    for combo in itertools.product(*(values[name] for name in names)):
        path = rule.rule
        for name, value in zip(names, combo, strict=True):
            path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
        urls.append((path, dict(zip(names, combo, strict=True))))
    return urls


def written() -> tuple[int, int]:
    """Cases and audit events as committed, sign-in events aside (a failed sign-in is recorded, rightly; a refused
    request is not a sign-in): what a refused request must leave as it was."""
    from sqlalchemy import func, select

    from puskesos.audit.models import AuditEvent
    from puskesos.cases.models import Case
    from puskesos.extensions import db

    db.session.rollback()
    counts = (db.session.execute(select(func.count()).select_from(Case)).scalar_one(),
              db.session.execute(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action.notlike("auth.%"))).scalar_one())
    db.session.commit()
    return counts
