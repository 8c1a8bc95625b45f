"""Turns away requests carrying NUL characters before any view or database sees them.

No field of ours can hold one, PostgreSQL text cannot store one, and a NUL in
a name is never what a user meant.
"""

from __future__ import annotations

from flask import Flask, abort, request


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values)


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_has_nul(k) or _json_has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        # request.form is empty unless the body is a form; a JSON body is walked on its own.
        fields = (request.args, request.form)
        if "\x00" in request.path:
            abort(404)  # no page or record is named that
        if any(_has_nul(f.keys()) or any(_has_nul(values) for values in f.listvalues()) for f in fields):
            abort(400)
        if request.is_json and _json_has_nul(request.get_json(silent=True)):
            abort(400)
