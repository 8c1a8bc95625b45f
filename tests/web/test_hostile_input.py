"""Hostile input meets a clear refusal, never a 500 (issue 8, item 6).

What an outsider found: deeply nested JSON answered 500 on any route, even without signing in; so did a lone
surrogate (`"\\ud800"`) in an API string and an If-Match of thousands of digits. Each is tried here without
and with a signed-in user, on the API (a problem document in the caller's language) and on the pages (an
error page), and each refusal leaves the cases and the audit log as they were.
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from puskesos.web import input_guard
from tests import factories
from tests.api.conftest import assert_problem
from tests.helpers import signed_in, written

DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 2000 + "1" + "}" * 2000
JUST_TOO_DEEP = "[" * (input_guard.MAX_JSON_DEPTH + 1) + "]" * (input_guard.MAX_JSON_DEPTH + 1)
THOUSANDS_OF_DIGITS = "9" * 5000

# A body per kind of trouble, and the message that names it.
HOSTILE_BODIES = [
    (DEEP_ARRAY, input_guard.TOO_DEEP),
    (DEEP_OBJECT, input_guard.TOO_DEEP),
    (JUST_TOO_DEEP, input_guard.TOO_DEEP),
    ('{"username": "\\ud800", "password": "x"}', input_guard.BAD_CHARACTER),
    ('{"\\udfff": "a", "password": "x"}', input_guard.BAD_CHARACTER),
    ('{"username": ["ok", {"x": "a\\u0000b"}]}', input_guard.BAD_CHARACTER),
    ('{"username": "a", "password": ' + THOUSANDS_OF_DIGITS + "}", input_guard.NUMBER_TOO_LONG),
    ('{"username": "a", "password": 1.' + THOUSANDS_OF_DIGITS + "}", input_guard.NUMBER_TOO_LONG),
    ('{"username": "a", "password": NaN}', input_guard.NOT_FINITE),
    ('{"username": "a", "password": -Infinity}', input_guard.NOT_FINITE),
    ('{"username": "a", "password": 1e999999}', input_guard.NOT_FINITE),
    (b'{"username": "\xff\xfe", "password": "x"}', input_guard.NOT_UTF8),
    (b'{"username": "\xed\xa0\x80", "password": "x"}', input_guard.NOT_UTF8),  # a surrogate, UTF-8 encoded
    ('{"username": "a", ', input_guard.NOT_JSON),
]
IDS = ["deep-array", "deep-object", "33-levels", "surrogate-value", "surrogate-key", "nul", "long-int",
       "long-float", "nan", "infinity", "1e999999", "invalid-utf8", "encoded-surrogate", "truncated"]


def bearer(client, username: str) -> dict:
    resp = client.post("/api/v1/tokens", json={"username": username, "password": factories.PASSWORD})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def post_json(client, url: str, body, headers: dict | None = None, method: str = "POST"):
    return client.open(url, method=method, data=body, content_type="application/json", headers=headers or {})


def assert_page(resp, status: int, message) -> None:
    """An error page (HTML) of this status, with the message in Indonesian."""
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "text/html"
    assert str(message) in resp.get_data(as_text=True)


# -- JSON bodies -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, message", HOSTILE_BODIES, ids=IDS)
def test_hostile_json_without_signing_in(client, world, body, message):
    before = written()
    # The API's token route and an API route that needs a token: the body is refused before the token is asked.
    for url in ("/api/v1/tokens", "/api/v1/cases"):
        problem = assert_problem(post_json(client, url, body), 400)
        assert problem["detail"] == str(message)
    # Pages and routes that never read JSON: refused all the same, with an error page.
    for url in ("/login", "/"):
        assert_page(post_json(client, url, body, method="POST" if url == "/login" else "GET"), 400, message)
    assert written() == before


@pytest.mark.parametrize("body, message", HOSTILE_BODIES, ids=IDS)
def test_hostile_json_from_a_signed_in_user(app, client, world, body, message):
    case = factories.register(world.officer)
    before = written()
    headers = bearer(client, "officer_a")
    for method, url in (("POST", "/api/v1/cases"), ("POST", f"/api/v1/cases/{case.number}/events"),
                        ("PATCH", f"/api/v1/cases/{case.number}")):
        problem = assert_problem(post_json(client, url, body, {**headers, "If-Match": "1"}, method), 400)
        assert problem["detail"] == str(message)
    page = signed_in(app, "officer_a")
    assert_page(post_json(page, "/cases/new", body), 400, message)
    assert_page(post_json(page, f"/cases/{case.number}/edit", body), 400, message)
    assert written() == before


def test_the_refusal_speaks_the_callers_language(client, world):
    resp = post_json(client, "/api/v1/tokens", DEEP_ARRAY, {"Accept-Language": "en"})
    problem = assert_problem(resp, 400)
    with force_locale("en"):
        assert problem["title"] == "Bad request"
        assert problem["detail"] == str(input_guard.TOO_DEEP)
    problem = assert_problem(post_json(client, "/api/v1/tokens", DEEP_ARRAY), 400)
    assert problem["title"] == "Permintaan tidak valid"
    assert problem["detail"] == "JSON terlalu dalam bersarang (paling banyak 32 tingkat)."


def test_json_within_the_limits_still_works(client, world):
    """32 levels, escaped pairs that make one character, long text and ordinary numbers are fine."""
    nested = "[" * input_guard.MAX_JSON_DEPTH + "]" * input_guard.MAX_JSON_DEPTH
    assert input_guard.loads(nested) is not None
    assert input_guard.loads('{"name": "\\ud83d\\ude00 [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\" {{{{"}') == {
        "name": "\U0001F600 " + "[" * 36 + ' " {{{{'}
    assert input_guard.loads('{"decile": 3, "score": -1.5e3}') == {"decile": 3, "score": -1500.0}
    resp = client.post("/api/v1/tokens", json={"username": "officer_a", "password": factories.PASSWORD})
    assert resp.status_code == 201
    case = factories.register(world.officer)
    resp = client.patch(f"/api/v1/cases/{case.number}", json={"name": "Siti Aminah binti Ahmad"},
                        headers={**bearer(client, "officer_a"), "If-Match": '"1"'})
    assert resp.status_code == 200 and resp.get_json()["name"] == "Siti Aminah binti Ahmad"


def test_a_body_over_the_limit_is_413(app, client, world):
    big = '{"name": "' + "x" * app.config["MAX_CONTENT_LENGTH"] + '"}'
    before = written()
    problem = assert_problem(post_json(client, "/api/v1/cases", big, bearer(client, "officer_a")), 413)
    assert problem["detail"] == "Data yang dikirim terlalu besar."
    assert_page(client.post("/login", data={"username": "x" * app.config["MAX_CONTENT_LENGTH"]}), 413,
                "Data yang dikirim terlalu besar.")
    assert written() == before


# -- URLs and forms ----------------------------------------------------------------------------------------------


def test_percent_encoded_bytes_that_are_not_utf8(app, client, world):
    case = factories.register(world.officer)
    before = written()
    headers = bearer(client, "officer_a")
    for query in ("q=%ED%A0%80", "q=%FF", "state=open&q=Siti%C3", "%FF=1"):
        problem = assert_problem(client.get(f"/api/v1/cases?{query}", headers=headers), 400)
        assert problem["detail"] == str(input_guard.URL_NOT_UTF8)
    page = signed_in(app, "officer_a")
    assert_page(page.get("/cases/?q=%ED%A0%80"), 400, input_guard.URL_NOT_UTF8)
    # A form body: nothing is saved with characters nobody typed.
    resp = page.post(f"/cases/{case.number}/edit", data=f"name=Siti%FF&version={case.version}",
                     content_type="application/x-www-form-urlencoded")
    assert_page(resp, 400, input_guard.URL_NOT_UTF8)
    assert_page(client.post("/login", data="username=%ED%A0%80&password=x",
                            content_type="application/x-www-form-urlencoded"), 400, input_guard.URL_NOT_UTF8)
    # A path whose bytes are not UTF-8 names nothing (a real server hands them over as latin-1).
    for raw in (f"/cases/{case.number}\xed\xa0\x80", "/cases/\xff"):
        assert page.get("/", environ_overrides={"PATH_INFO": raw}).status_code == 404
        assert_problem(client.get("/", headers=headers, environ_overrides={"PATH_INFO": "/api/v1" + raw}), 404)
    # Valid UTF-8, percent-encoded, is of course fine.
    assert client.get("/api/v1/cases?q=Siti%20%C3%84", headers=headers).status_code == 200
    assert written() == before


def test_huge_ids_and_page_sizes(app, client, world):
    factories.case_in("referred", world)
    headers = bearer(client, "officer_a")
    for query in ("limit=" + THOUSANDS_OF_DIGITS, "limit=99999999999999999999", "limit=-1", "limit=1e3"):
        assert_problem(client.get(f"/api/v1/cases?{query}", headers=headers), 422)
    long_cursor = "OTk5" * 2000  # base64 of many nines
    assert_problem(client.get(f"/api/v1/referrals?cursor={long_cursor[:100]}", headers=headers), 400)
    assert_problem(client.get(f"/api/v1/referrals?cursor={long_cursor}", headers=headers), 422)
    for url in (f"/api/v1/cases/{THOUSANDS_OF_DIGITS}", f"/api/v1/cases/{THOUSANDS_OF_DIGITS}/timeline",
                f"/api/v1/notifications/{THOUSANDS_OF_DIGITS}/read"):
        method = "POST" if url.endswith("/read") else "GET"
        assert client.open(url, method=method, headers=headers).status_code in (400, 404, 422)
    agency = signed_in(app, "bpjs_user")
    for url in (f"/referrals?before={THOUSANDS_OF_DIGITS}", "/referrals?before=99999999999",
                "/referrals?before=-5&status=%E2%80%AE"):
        assert agency.get(url).status_code == 200
    for url in (f"/referrals/{THOUSANDS_OF_DIGITS}", "/referrals/99999999999", "/referrals/2147483648"):
        assert agency.get(url).status_code == 404
    supervisor = signed_in(app, "supervisor")
    assert supervisor.get(f"/audit?before={THOUSANDS_OF_DIGITS}").status_code == 200
    assert supervisor.get(f"/referrals/signoff?after={THOUSANDS_OF_DIGITS}").status_code in (200, 403)


# -- headers -----------------------------------------------------------------------------------------------------


def test_if_match_of_any_shape(client, world):
    case = factories.register(world.officer)
    before = written()
    headers = bearer(client, "officer_a")
    url = f"/api/v1/cases/{case.number}"
    malformed = (THOUSANDS_OF_DIGITS, f'"{THOUSANDS_OF_DIGITS}"', f'W/"{THOUSANDS_OF_DIGITS}"', "2147483648",
                 "abc", '"1", "2"', "1, 2", "*", 'W/"x"', "١", "1_0", "+1", "-1", "1.0", "")
    for value in malformed:
        problem = assert_problem(client.patch(url, json={"name": "X"}, headers={**headers, "If-Match": value}), 400)
        assert "If-Match" in problem["errors"], value
        problem = assert_problem(client.post(f"{url}/events", json={"event": "submit"},
                                             headers={**headers, "If-Match": value}), 400)
        assert "If-Match" in problem["errors"], value
    for stale in ("0", '"7"', 'W/"2147483647"'):
        assert_problem(client.patch(url, json={"name": "X"}, headers={**headers, "If-Match": stale}), 409)
    # If-None-Match is not ours to read, but no shape of it breaks a read.
    for value in (THOUSANDS_OF_DIGITS, 'W/"x", "y", *', '"' * 3000, "\x7f"):
        assert client.get(url, headers={**headers, "If-None-Match": value}).status_code == 200
        assert client.get("/static/app.css", headers={"If-None-Match": value}).status_code in (200, 304, 404)
    assert written() == before
    resp = client.patch(url, json={"name": "Siti Aminah binti Ahmad"}, headers={**headers, "If-Match": 'W/"1"'})
    assert resp.status_code == 200 and resp.headers["ETag"] == '"2"'


def test_garbage_accept_language_falls_back_to_indonesian(app, client, world):
    headers = bearer(client, "officer_a")
    for value in ("q=;;;,,;=x" * 500, "*;q=1e999", "en;q=NaN", "en-US;q=abc, zz", "\x7f" * 100, "ÿÿ;q=0.5"):
        resp = client.get("/api/v1/cases/SLRT-0000-0000-000000", headers={**headers, "Accept-Language": value})
        problem = assert_problem(resp, 404)
        assert problem["title"] in ("Tidak ditemukan", "Not found"), value
        assert client.get("/login", headers={"Accept-Language": value}).status_code == 200


def test_garbage_bearer_tokens_are_401(client, world):
    for value in ("Bearer " + "x" * 5000, "Bearer ÿþ", "Bearer", "Bearer  ", "Basic b2ZmaWNlcjpy", "bearer",
                  "Bearer " + THOUSANDS_OF_DIGITS, "Bearer a b c", "\x7f" * 30):
        assert_problem(client.get("/api/v1/cases", headers={"Authorization": value}), 401)


def test_header_values_no_server_can_send(client, world):
    """A WSGI server hands headers over as latin-1; beyond that only a test client or a broken proxy reaches."""
    for name, value in (("Authorization", "Bearer \udcff\udcfe"), ("If-Match", "\ud800"),
                        ("Accept-Language", "id-\u4e2d")):
        problem = assert_problem(client.get("/api/v1/cases", headers={name: value}), 400)
        assert list(problem["errors"]) == [name]


def test_pages_take_forms_not_json(app, client, world):
    """Flask-WTF would read a JSON body as the form: a list or a string there was a 500."""
    before = written()
    for body in ("[1]", '"x"', "null", '{"username": {"a": 1}}', '{"username": "officer_a", "password": "x"}'):
        assert_page(post_json(client, "/login", body), 415, input_guard.PAGES_TAKE_FORMS)
    page = signed_in(app, "officer_a")
    assert_page(post_json(page, "/cases/new", '["Siti"]'), 415, input_guard.PAGES_TAKE_FORMS)
    assert written() == before


def test_an_api_body_is_parsed_once_through_the_guard(app, world, monkeypatch):
    """The request guard parses a JSON body (and Flask caches it); the API's argument parser reads that, not the
    body again with a parser of its own."""
    from webargs import core

    second_parses = []
    monkeypatch.setattr(core, "parse_json", lambda *a, **kw: second_parses.append(a) or {})
    client = app.test_client()
    resp = client.post("/api/v1/tokens", json={"username": "officer_a", "password": factories.PASSWORD})
    assert resp.status_code == 201 and "token" in resp.get_json()
    assert second_parses == []
