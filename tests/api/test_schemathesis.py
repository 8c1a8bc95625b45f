"""Schemathesis against the live OpenAPI document: generated requests, as each role, never get a 5xx,
and every answer matches what the document promises (status, content type, headers, body schema)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from puskesos import create_app
from puskesos.api import tokens
from puskesos.extensions import db
from tests import factories

ROLES = ("officer_a", "caseworker", "bpjs_user", "supervisor", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def isolated(app):
    """The app as a WSGI callable giving each request its own application context (and so its own database
    session), as a real server does; the test's own context stays out of the way."""

    def wsgi(environ, start_response):
        with app.app_context():
            return list(app.wsgi_app(environ, start_response))

    return wsgi


@pytest.fixture
def api_schema(app, world):
    """The document as the running app serves it, with a few real cases for the paths to find."""
    for state in ("registered", "referred", "in_service", "answered"):
        factories.case_in(state, world)
    db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated(app))


@pytest.fixture
def bearers(api_schema, world) -> dict[str, dict]:
    """An Authorization header for one user of each role."""
    headers = {}
    for username in ROLES:
        user = next(u for u in vars(world).values() if getattr(u, "username", None) == username)
        token, _row = tokens.issue(user)
        headers[username] = {"Authorization": f"Bearer {token}"}
    db.session.commit()
    return headers


def documented_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from the document the code generates."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "patch", "put", "delete")]


@pytest.mark.parametrize("method, path", documented_operations())
def test_generated_requests_get_documented_answers(api_schema, bearers, method, path):
    """Requests generated from the document, each sent as each role and once without a token."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def run(case):
        for headers in [*bearers.values(), {}]:
            case.call_and_validate(headers=headers, checks=CHECKS)

    run()
