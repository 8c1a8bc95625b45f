"""Turns hostile input away before any view or database sees it: a 400 (or 413) with a message, never a 500.

- JSON is parsed in one place, `loads` below, which the app's JSON provider uses (so `request.get_json`
  does) and the guard runs on every JSON body before a view does: nesting deeper than MAX_JSON_DEPTH, numbers
  too long to parse or not finite (NaN, Infinity, 1e999999), invalid UTF-8, and strings (keys or values)
  holding NUL or a lone surrogate are refused. PostgreSQL cannot store NUL or a lone surrogate, and Python's
  own parser answers deep nesting with a RecursionError and a 5000-digit number with a ValueError: those
  were 500s. The API's argument parser (webargs) reads the same body again only after it passed here.
- NUL characters in the query string or a form: no field of ours can hold one, and a NUL in a name is never
  what a user meant.
- Percent-encoded bytes that are not UTF-8 in the query string or a form body: werkzeug would quietly turn
  them into U+FFFD, and a name would be saved with characters nobody typed.
- Header values no HTTP header can carry (only a broken proxy or a test client sends them).
- A JSON body sent to a page: pages take forms, and Flask-WTF would read a JSON list or string as one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, Request, abort, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from webargs.flaskparser import FlaskParser, is_json_request

from puskesos.core.errors import BadRequest, ServiceError

MAX_JSON_DEPTH = 32  # our deepest body is an object of lists of strings; 32 leaves any client room
MAX_NUMBER_LENGTH = 40  # characters; no id, version or count comes near, and int() stays cheap

NOT_UTF8 = _l("Isi permintaan bukan UTF-8 yang valid.")
NOT_JSON = _l("Isi permintaan bukan JSON yang valid.")
TOO_DEEP = _l("JSON terlalu dalam bersarang (paling banyak %(n)s tingkat).", n=MAX_JSON_DEPTH)
NUMBER_TOO_LONG = _l("Angka dalam JSON terlalu panjang.")
NOT_FINITE = _l("Angka dalam JSON harus terhingga (NaN dan Infinity tidak diterima).")
BAD_CHARACTER = _l("Teks dalam JSON memuat karakter yang tidak sah (NUL atau surrogate tunggal).")
PAGES_TAKE_FORMS = _l("Halaman ini hanya menerima isian formulir, bukan JSON.")
URL_NOT_UTF8 = _l("Alamat atau formulir memuat karakter yang bukan UTF-8 yang valid.")


class HostileInput(BadRequest):
    """A request no view should see; answered 400 with the reason, in the caller's language."""


class NotAForm(ServiceError):
    status = 415


# A JSON string literal, escapes included: what lies inside one is text, not structure.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def _too_deep(text: str) -> bool:
    """Nesting counted on the raw text, before the parser recurses into it. For a body that is not JSON the
    count may be off, but then the parser stops at the first error, before any nesting the count missed."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if brackets.count("[") + brackets.count("{") <= MAX_JSON_DEPTH:  # the common case: too few to nest deep
        return False
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise HostileInput(NUMBER_TOO_LONG)
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_LENGTH:
        raise HostileInput(NUMBER_TOO_LONG)
    value = float(text)
    if not math.isfinite(value):  # 1e999999
        raise HostileInput(NOT_FINITE)
    return value


def _constant(_name: str):
    raise HostileInput(NOT_FINITE)  # NaN, Infinity, -Infinity: not JSON (RFC 8259), though Python accepts them


def _has_bad_character(value: Any) -> bool:
    if isinstance(value, str):
        return _BAD_CHARACTER.search(value) is not None
    if isinstance(value, dict):
        return any(_has_bad_character(k) or _has_bad_character(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_bad_character(item) for item in value)
    return False


def loads(data: str | bytes | bytearray) -> Any:
    """Parse a JSON document within our limits, or raise HostileInput saying which one it broke."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")  # RFC 8259: UTF-8 only; json.loads would guess UTF-16 or 32
        except UnicodeDecodeError:
            raise HostileInput(NOT_UTF8) from None
    if _too_deep(data):
        raise HostileInput(TOO_DEEP)
    try:
        value = json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:  # not expected after the count above; a 500 it must never be
        raise HostileInput(TOO_DEEP) from None
    except ValueError:
        raise HostileInput(NOT_JSON) from None
    if _has_bad_character(value):
        raise HostileInput(BAD_CHARACTER)
    return value


class GuardedJSONProvider(DefaultJSONProvider):
    """The app's JSON: `request.get_json()` parses with `loads` above; writing JSON is unchanged."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


class GuardedArgumentsParser(FlaskParser):
    """The API's argument parser (flask-smorest, webargs) reads a JSON body through the app's guarded parse,
    which the request guard has already run and Flask has cached, instead of a second `json.loads` of its own."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req) or not req.get_data(cache=True):
            return super()._raw_load_json(req)  # missing, or webargs' own answer to an empty body
        return req.get_json()


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values)


def _is_utf8(raw: bytes) -> bool:
    """Percent-decoded, is this query string or form body UTF-8? (`+` is a space, never a byte of a character.)"""
    if b"%" not in raw and raw.isascii():
        return True
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _header_encodable(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("latin-1")  # what a WSGI server hands over: bytes as latin-1, never beyond
    except UnicodeEncodeError:
        return False
    return True


def _path_is_utf8() -> bool:
    raw = request.environ.get("PATH_INFO", "")
    if raw.isascii():
        return True
    try:
        raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return True


def register(app: Flask) -> None:
    app.json = GuardedJSONProvider(app)

    @app.before_request
    def refuse_hostile_input():
        if "\x00" in request.path or not _path_is_utf8():
            abort(404)  # no page or record is named that
        for name, value in request.headers.items():
            if not _header_encodable(value):
                message = _l("Header %(name)s tidak valid.", name=name)
                raise HostileInput(message, {name: [message]})
        if not _is_utf8(request.query_string):
            raise HostileInput(URL_NOT_UTF8)
        if request.mimetype == "application/x-www-form-urlencoded" and not _is_utf8(request.get_data(cache=True)):
            raise HostileInput(URL_NOT_UTF8)
        # request.form is empty unless the body is a form; a JSON body is parsed (and cached) on its own.
        fields = (request.args, request.form)
        if any(_has_nul(f.keys()) or any(_has_nul(values) for values in f.listvalues()) for f in fields):
            abort(400)
        if request.is_json and request.get_data(cache=True):
            request.get_json()  # GuardedJSONProvider refuses what breaks a limit
            if not request.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH", "DELETE"):
                raise NotAForm(PAGES_TAKE_FORMS)
