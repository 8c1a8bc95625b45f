"""Security headers (issue 8, item 4): HTTPS-only cookies and HSTS outside development, and no answer that may
carry personal data kept in any cache: pages, JSON, problem documents, exports; only /static/ files may be."""

from __future__ import annotations

import pytest
from flask import url_for

from puskesos.config import _flag, finalize
from puskesos.extensions import db
from tests import factories
from tests.api.conftest import token
from tests.conftest import make_app
from tests.helpers import login

HSTS = "max-age=31536000; includeSubDomains"


def app_for(env_name: str, tmp_path, **extra):
    """The app as `PUSKESOS_ENV=<env_name>` builds it, on a database of its own with the small world."""
    from puskesos.core import pii  # outside development the app refuses to start without personal-data keys

    config = {"ENV_NAME": env_name, "SECRET_KEY": "a-production-secret-for-this-test",
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'headers.sqlite'}", **pii.DEVELOPMENT_KEYS}
    config.update(extra)
    app = make_app(config)
    with app.app_context():
        db.create_all()
        factories.build_world()
        db.session.remove()
    return app


@pytest.fixture
def production(tmp_path):
    app = app_for("production", tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_production_sends_hsts_and_https_only_cookies(production):
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    client = production.test_client()
    https = {"base_url": "https://puskesos.example"}
    for url in ("/login", "/api/v1/cases", "/static/css/app.css", "/tidak-ada"):
        resp = client.get(url, **https)
        assert resp.headers["Strict-Transport-Security"] == HSTS, url
        resp.close()
    resp = client.post("/login", data={"username": "officer_a", "password": factories.PASSWORD}, **https)
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "; Secure" in cookie and "; HttpOnly" in cookie
    assert client.get("/cases/", **https).status_code == 200  # over HTTPS the browser sends it back


def test_an_operator_may_still_turn_secure_cookies_off(tmp_path, monkeypatch):
    """Behind a proxy that speaks plain HTTP to the browser (never advisable), SESSION_COOKIE_SECURE=0."""
    app = app_for("production", tmp_path, SESSION_COOKIE_SECURE=False)
    assert app.config["SESSION_COOKIE_SECURE"] is False and app.config["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert _flag("SESSION_COOKIE_SECURE") is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert _flag("SESSION_COOKIE_SECURE") is True
    monkeypatch.delenv("SESSION_COOKIE_SECURE")
    assert _flag("SESSION_COOKIE_SECURE") is None  # unset: finalize decides by PUSKESOS_ENV
    config = {"ENV_NAME": "staging", "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": None,
              "REMEMBER_COOKIE_SECURE": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    from puskesos.core import pii

    config.update(pii.DEVELOPMENT_KEYS)
    finalize(config)
    assert config["SESSION_COOKIE_SECURE"] is True and config["REMEMBER_COOKIE_SECURE"] is True
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("env_name", ["development", "testing"])
def test_development_and_tests_run_over_plain_http(tmp_path, env_name):
    app = app_for(env_name, tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is False and app.config["REMEMBER_COOKIE_SECURE"] is False
    client = app.test_client()
    with app.app_context():
        resp = client.post("/login", data={"username": "officer_a", "password": factories.PASSWORD})
        assert resp.status_code == 302 and "Secure" not in resp.headers["Set-Cookie"]
        resp = client.get("/cases/")
        assert resp.status_code == 200
        assert "Strict-Transport-Security" not in resp.headers
        assert resp.headers["Cache-Control"] == "no-store"
        db.engine.dispose()


def test_nothing_that_may_carry_personal_data_is_cached(app, world, client):
    login(client, "supervisor")
    bearer = token(app.test_client(), "supervisor")
    api = {"Authorization": f"Bearer {bearer}"}
    anonymous = app.test_client()

    def answer(who, url: str, **kwargs):
        resp = who.get(url, **kwargs)
        resp.get_data()  # an export streams: read it while its request lasts
        return resp

    answers = {
        "page": answer(client, "/cases/"),
        "login page": answer(anonymous, "/login"),
        "error page": answer(client, "/cases/SLRT-1603-2026-999999"),
        "API JSON": answer(anonymous, "/api/v1/cases", headers=api),
        "API problem document": answer(anonymous, "/api/v1/cases"),
        "OpenAPI document": answer(anonymous, "/api/v1/openapi.json"),
        "CSV export": answer(client, "/exports/cases?format=csv"),
        "XLSX export": answer(client, "/exports/cases?format=xlsx"),
        "audit export": answer(client, "/exports/audit?format=csv"),
        "redirect": answer(anonymous, "/"),
    }
    for name, resp in answers.items():
        assert resp.status_code < 500, name
        assert resp.headers.get("Cache-Control") == "no-store", (name, resp.status_code, resp.headers)
    assert answers["API JSON"].mimetype == "application/json"
    assert answers["API problem document"].mimetype == "application/problem+json"
    assert answers["CSV export"].mimetype == "text/csv"


def test_static_files_may_be_cached(app, client):
    with app.test_request_context():
        bootstrap_css = url_for("bootstrap.static", filename="css/bootstrap.min.css")
    for url in ("/static/css/app.css", "/static/js/app.js", bootstrap_css):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert "no-store" not in resp.headers.get("Cache-Control", ""), url
        resp.close()
