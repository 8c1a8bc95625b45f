"""Browser fixtures: the real app served from a background thread on 127.0.0.1, with CSRF on and a file
SQLite database holding the `world`, and Debian's chromium driven by Playwright (never Playwright's own
browser download). Without /usr/bin/chromium the browser tests are skipped, saying so."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from puskesos import create_app
from puskesos.extensions import db
from tests import factories

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def app(tmp_path):
    """Overrides the suite's `app` (and so feeds `world`): SQLite only, CSRF enabled so the real forms and their
    tokens are exercised. The browser needs one backend; the service tests cover PostgreSQL."""
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'browser.sqlite'}"})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@dataclass
class LiveServer:
    url: str
    app: object
    world: factories.World


@pytest.fixture
def live_server(app, world):
    """The app behind werkzeug's threaded server on a free port of 127.0.0.1; stopped at the end."""
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, world)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Traffic:
    """Every request the pages made; anything not aimed at the live server is aborted and remembered."""

    origin: str
    requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [url for url in self.requests if not _is_local(url, self.origin)]


def _is_local(url: str, origin: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return f"{parts.scheme}://{parts.netloc}" == origin and parts.hostname == "127.0.0.1"


@dataclass
class Browsing:
    context: object
    traffic: Traffic

    def assert_stayed_local(self) -> None:
        assert self.traffic.requests, "the browser made no request at all"
        assert self.traffic.foreign() == [], f"requests left 127.0.0.1: {self.traffic.foreign()}"
        assert self.traffic.page_errors == [], f"JavaScript errors on the pages: {self.traffic.page_errors}"


@pytest.fixture
def browsing(chromium, live_server):
    """A fresh 1366×768 context (its own cookies); every request is recorded, and any not aimed at the live
    server is aborted, so nothing is fetched from the internet even when a page asks for it."""
    context = chromium.new_context(viewport=VIEWPORT, base_url=live_server.url, locale="id-ID",
                                   timezone_id="Asia/Jakarta")
    context.set_default_timeout(10_000)
    traffic = Traffic(live_server.url)
    context.on("request", lambda request: traffic.requests.append(request.url))
    context.on("page", lambda page: page.on("pageerror", lambda err: traffic.page_errors.append(str(err))))
    context.route(lambda url: not _is_local(url, live_server.url), lambda route: route.abort())
    try:
        yield Browsing(context, traffic)
    finally:
        context.close()
