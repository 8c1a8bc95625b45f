"""Fuzzing the request guard and the JSON decoding (issue 8, item 6: hostile input never answers 500).

Generated JSON documents (nested to any depth, strings mixing lone surrogates, NUL and ordinary text, odd
keys, numbers of thousands of digits, NaN, Infinity, 1e999999) and raw bytes are posted to the routes an
outsider reaches (the token route, the sign-in page) and to those a signed-in officer writes through (case
create, a case event, a case update with a random If-Match). For every answer: below 500, every API error a
problem document (the suite's CheckingClient), and a 4xx leaves the cases and the audit log as they were.
The decoder itself is fuzzed directly too: it returns a value within the limits or refuses, nothing else.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from puskesos.web import input_guard
from tests import factories
from tests.api.conftest import token
from tests.helpers import written

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])


class Raw(str):
    """A token written into the document as it is: a number no parser should have to take, NaN, …"""


# -- documents ---------------------------------------------------------------------------------------------

mixed_text = st.text(alphabet=st.one_of(st.characters(categories=["Cs"]), st.characters(), st.just("\x00")),
                     max_size=12)
texts = st.one_of(st.text(max_size=12), mixed_text, st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb",
                                                                    "\U0001F600", "x" * 3000, "'; --"]))
raw_numbers = st.one_of(
    st.integers(min_value=20, max_value=6000).map(lambda n: Raw("9" * n)),
    st.integers(min_value=20, max_value=6000).map(lambda n: Raw("-0." + "1" * n)),
    st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999999"), Raw("-1e999999"),
                     Raw("1E400"), Raw("2147483648"), Raw("-0"), Raw("1e-999999")]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=False, allow_infinity=False), texts, raw_numbers)
keys = st.one_of(mixed_text, st.sampled_from(["event", "name", "nik", "description", "referral_id", "username",
                                              "password", "version", "", "\x00", "\ud800", "__proto__"]))
documents = st.recursive(scalars, lambda children: st.one_of(st.lists(children, max_size=3),
                                                             st.dictionaries(keys, children, max_size=3)),
                         max_leaves=12)


def encode(value) -> str:
    """JSON text as a client would write it, lone surrogates included (as escapes or raw), Raw as it is."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=True)


@st.composite
def bodies(draw, base: dict | None = None) -> bytes:
    """A body: a generated document, or `base` with some fields made hostile; nested, escaped or encoded
    in raw UTF-8 (where a lone surrogate becomes bytes no decoder takes); or plain random bytes."""
    kind = draw(st.sampled_from(["document", "base", "deep", "bytes"] if base else ["document", "deep", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "base":
        changes = st.dictionaries(st.sampled_from([*base, "x"]), st.one_of(texts, scalars), min_size=1, max_size=2)
        value = {**base, **draw(changes)}
    else:
        value = draw(documents)
    text = encode(value)
    if kind == "deep":
        depth = draw(st.integers(min_value=input_guard.MAX_JSON_DEPTH - 2, max_value=6000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('[{"b":', "}]")]))
        text = opener * depth + text + closer * depth
    if draw(st.booleans()):  # the same text with its non-ASCII written raw: a surrogate is then invalid UTF-8
        return json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8", "surrogatepass") \
            if _plain(text) else text.encode("utf-8", "surrogatepass")
    return text.encode("utf-8", "surrogatepass")


def _plain(text: str) -> bool:
    """Can Python's own parser round-trip it safely (shallow, short numbers)?"""
    if text.count("[") + text.count("{") > 100 or any(len(part) > 1000 for part in text.split(",")):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


if_match_values = st.one_of(
    st.none(), st.just('"1"'), st.integers(min_value=-5, max_value=10).map(str),
    st.text(alphabet=st.characters(exclude_characters="\r\n"), max_size=8),  # no test client sends a newline
    st.integers(min_value=11, max_value=6000).map(lambda n: "9" * n),
    st.sampled_from(['"1"', 'W/"1"', '"1", "2"', "*", 'W/"x"', "1.0", "٣", "1_0", "+1", " 1 "]),
)


# -- what must hold ------------------------------------------------------------------------------------------


def send(client, method: str, url: str, body: bytes, headers: dict | None = None):
    before = written()
    resp = client.open(url, method=method, data=body, content_type="application/json", headers=headers or {})
    assert resp.status_code < 500  # the CheckingClient said so already; here for the reader
    event(f"answered {resp.status_code}")  # pytest --hypothesis-show-statistics: which answers the bodies reach
    if resp.status_code >= 400:
        assert written() == before, f"{url} answered {resp.status_code} but wrote"
    return resp


# -- the decoder alone ---------------------------------------------------------------------------------------


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _numbers(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)


@settings(FUZZ, max_examples=300)
@given(body=bodies())
@example(body=b"[" * 100_000)
@example(body=b'"\\ud800"')
@example(body=b"1" * 5000)
def test_the_decoder_returns_a_safe_value_or_refuses(body):
    try:
        value = input_guard.loads(body)
    except input_guard.HostileInput:
        return
    assert _depth(value) <= input_guard.MAX_JSON_DEPTH
    assert not any(input_guard._BAD_CHARACTER.search(s) for s in _strings(value))
    assert all(math.isfinite(n) for n in _numbers(value))
    assert value == json.loads(body)  # within the limits, exactly what the standard parser reads


# -- over HTTP -----------------------------------------------------------------------------------------------


@FUZZ
@given(body=bodies(base={"username": "nobody", "password": "x"}))
@example(body=b'{"username": "\\ud800", "password": "x"}')
@example(body=b"[" * 5000 + b"]" * 5000)
def test_token_route(client, world, body):
    send(client, "POST", "/api/v1/tokens", body)


@FUZZ
@given(body=bodies(base={"username": "nobody", "password": "x"}))
@example(body=b'{"a": ' * 3000 + b"1" + b"}" * 3000)
def test_sign_in_page(client, world, body):
    send(client, "POST", "/login", body)


@pytest.fixture
def officer(client, world) -> dict:
    return {"Authorization": f"Bearer {token(client, 'officer_a')}"}


@pytest.fixture
def case(world):
    return factories.register(world.officer, name="Siti Aminah")


@FUZZ
@given(body=bodies(base=factories.intake()))
@example(body=json.dumps(factories.intake(name="Siti Aminah")).encode())  # the road to the insert is open
@example(body=json.dumps({**factories.intake(), "name": "Siti \ud800"}).encode())
@example(body=json.dumps({**factories.intake(), "description": "a\x00b"}).encode())
@example(body=json.dumps(factories.intake()).replace('"normal"', "9" * 5000).encode())
def test_case_create(client, officer, body):
    send(client, "POST", "/api/v1/cases", body, officer)


@FUZZ
@given(body=bodies(base={"event": "submit"}), if_match=if_match_values)
@example(body=b'{"event": "resolve_at_intake", "action_taken": "\\udc00"}', if_match=None)
@example(body=b'{"event": "submit"}', if_match="9" * 5000)
def test_case_event(client, officer, case, body, if_match):
    headers = {**officer, **({"If-Match": if_match} if if_match is not None else {})}
    send(client, "POST", f"/api/v1/cases/{case.number}/events", body, headers)


@FUZZ
@given(body=bodies(base={"name": "Siti Aminah binti Ahmad", "description": "Kartu KIS tidak aktif."}),
       if_match=if_match_values)
@example(body=b'{"name": "Siti Aminah binti Ahmad"}', if_match='"1"')
@example(body=b'{"name": "Siti \\ud800"}', if_match='"1"')
@example(body=b'{"address": "Jl. \\u0000"}', if_match='"1"')
@example(body=b'{"name": "X"}', if_match="9" * 5000)
def test_case_update(client, officer, case, body, if_match):
    headers = {**officer, **({"If-Match": if_match} if if_match is not None else {})}
    send(client, "PATCH", f"/api/v1/cases/{case.number}", body, headers)
