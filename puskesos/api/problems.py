"""Errors as RFC 9457 problem details (application/problem+json), in the caller's language."""

from __future__ import annotations

import re
from http import HTTPStatus

from flask import jsonify
from flask_babel import lazy_gettext as _l

PROBLEM_TYPE = "application/problem+json"

# marshmallow and webargs speak English only; their fixed messages, in our catalogue.
_VALIDATION_MESSAGES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^Missing data for required field\.$"), lambda m: _l("Wajib diisi.")),
    (re.compile(r"^Unknown field\.$"), lambda m: _l("Isian tidak dikenal.")),
    (re.compile(r"^Field may not be null\.$"), lambda m: _l("Tidak boleh kosong (null).")),
    (re.compile(r"^Not a valid integer\.$"), lambda m: _l("Harus bilangan bulat.")),
    (re.compile(r"^Not a valid string\.$"), lambda m: _l("Harus berupa teks.")),
    (re.compile(r"^Not a valid boolean\.$"), lambda m: _l("Harus true atau false.")),
    (re.compile(r"^Not a valid date\.$"), lambda m: _l("Tanggal tidak valid (YYYY-MM-DD).")),
    (re.compile(r"^Not a valid datetime\.$"), lambda m: _l("Waktu tidak valid (ISO 8601).")),
    (re.compile(r"^Invalid input type\.$"), lambda m: _l("Jenis data tidak valid.")),
    (re.compile(r"^Invalid value\.$"), lambda m: _l("Nilai tidak valid.")),
    (re.compile(r"^Must be one of: (.*)\.$"), lambda m: _l("Harus salah satu dari: %(v)s.", v=m.group(1))),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m: _l("Paling banyak %(n)s karakter.",
                                                                       n=m.group(1))),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     lambda m: _l("Harus antara %(a)s dan %(b)s.", a=m.group(1), b=m.group(2))),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), lambda m: _l("Paling kecil %(a)s.", a=m.group(1))),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), lambda m: _l("Paling besar %(b)s.", b=m.group(1))),
    (re.compile(r"^Invalid JSON body\.$"), lambda m: _l("Isi permintaan bukan JSON yang valid.")),
]

TITLES = {
    400: _l("Permintaan tidak valid"),
    401: _l("Perlu autentikasi"),
    403: _l("Tidak diizinkan"),
    404: _l("Tidak ditemukan"),
    405: _l("Metode tidak diizinkan"),
    409: _l("Konflik"),
    413: _l("Permintaan terlalu besar"),
    415: _l("Jenis konten tidak didukung"),
    422: _l("Isian tidak dapat diproses"),
    428: _l("Perlu prasyarat If-Match"),
    429: _l("Terlalu banyak permintaan"),
    500: _l("Kesalahan sistem"),
}


def translate(message) -> str:
    text = str(message)
    for pattern, render in _VALIDATION_MESSAGES:
        match = pattern.match(text)
        if match:
            return str(render(match))
    return text


LOCATIONS = {"json", "query", "headers", "path", "form", "view_args"}


def flatten_errors(messages) -> dict[str, list[str]]:
    """webargs nests errors by location and by field; a client wants `{"field": ["message"]}`."""
    if isinstance(messages, dict) and messages and set(messages) <= LOCATIONS:
        flat: dict[str, list[str]] = {}
        for value in messages.values():
            for field, texts in _flatten(value, "").items():
                flat.setdefault(field, []).extend(texts)
        return flat
    return _flatten(messages, "")


def _flatten(value, prefix: str) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(value, dict):
        items = [(f"{prefix}.{key}" if prefix else str(key), item) for key, item in value.items()]
    elif isinstance(value, list | tuple) and not all(isinstance(item, str) for item in value):
        items = [(f"{prefix}.{index}" if prefix else str(index), item) for index, item in enumerate(value)]
    else:
        texts = value if isinstance(value, list | tuple) else [value]
        return {prefix or "_schema": [translate(text) for text in texts]}
    for name, item in items:
        for field, texts in _flatten(item, name).items():
            flat.setdefault(field, []).extend(texts)
    return flat


def problem(status: int, detail=None, errors: dict | None = None, headers: dict | None = None, **extra):
    body = {
        "type": "about:blank",
        "title": str(TITLES.get(status) or HTTPStatus(status).phrase),
        "status": status,
        "detail": str(detail) if detail is not None else str(TITLES.get(status) or HTTPStatus(status).phrase),
    }
    if errors:
        body["errors"] = {field: [str(m) for m in messages] for field, messages in errors.items()}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="puskesos"'
    return response
