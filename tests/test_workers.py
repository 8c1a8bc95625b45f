"""Several app workers at once, as in production (gunicorn), and a server killed while it works.

Separate processes appending to the audit log must keep one unbroken chain and gapless case numbers,
and every intake the server acknowledged (answered with a redirect to the new case) must still be there
after the server is killed with SIGKILL.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from puskesos.audit.chain import verify
from puskesos.cases.models import Case
from puskesos.core import pii
from puskesos.extensions import db
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
CLIENTS, PER_CLIENT = 4, 8
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A signed-in user over real HTTP: cookies kept, redirects not followed, CSRF tokens read from forms."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as resp:
                return resp.status, resp.headers.get("Location", ""), resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Location", ""), err.read().decode()

    def post_form(self, path: str, data: dict) -> tuple[int, str]:
        _, _, page = self.request(path)
        status, location, _ = self.request(path, {**data, "csrf_token": TOKEN.search(page).group(1)})
        return status, location


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app, world):
    """gunicorn with three workers on the test database, CSRF and everything as in production."""
    db.session.commit()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "workers-test",
           "PUSKESOS_ENV": "production", "SESSION_COOKIE_SECURE": "0", **pii.DEVELOPMENT_KEYS}
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}", "--log-level",
         "warning", "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/login", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                os.killpg(process.pid, signal.SIGKILL)
                pytest.fail("gunicorn did not start")
            time.sleep(0.2)
    try:
        yield base, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def register_many(base: str, client_no: int, acknowledged: list[str], stop: threading.Event) -> None:
    """Register cases until done or stopped. A dead server ends the loop; a test that expects every intake
    through sees the shortfall in `acknowledged`."""
    browser = Browser(base)
    try:
        status, _ = browser.post_form("/login", {"username": "officer_a", "password": factories.PASSWORD})
        if status != 302:
            return
        for i in range(PER_CLIENT):
            if stop.is_set():
                return
            data = factories.intake(nik=factories.nik(serial=client_no * 100 + i + 1), name=f"Warga {client_no}-{i}")
            status, location = browser.post_form("/cases/new", data)
            if status == 302 and "/cases/SLRT-" in location:
                acknowledged.append(location.rsplit("/", 1)[-1])
    except (OSError, http.client.HTTPException, AttributeError):
        return  # the server is gone (or answered half a page); what it acknowledged is all that counts


def numbers_in_database() -> list[str]:
    db.session.rollback()
    return sorted(db.session.execute(select(Case.number)).scalars())


def test_workers_writing_at_once_keep_one_chain_and_gapless_numbers(server):
    base, _ = server
    acknowledged: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=register_many, args=(base, n, acknowledged, stop)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(acknowledged) == CLIENTS * PER_CLIENT
    numbers = numbers_in_database()
    assert sorted(acknowledged) == numbers
    assert [int(n.rsplit("-", 1)[-1]) for n in numbers] == list(range(1, len(numbers) + 1))
    result = verify()
    assert result.ok, result.first_break


def test_a_killed_server_loses_no_acknowledged_case(server):
    base, process = server
    acknowledged: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=register_many, args=(base, n, acknowledged, stop)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < CLIENTS * PER_CLIENT // 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # no shutdown, no flush: the power cord
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert acknowledged, "the server acknowledged nothing before it was killed"
    numbers = numbers_in_database()
    assert set(acknowledged) <= set(numbers)
    assert verify().ok
