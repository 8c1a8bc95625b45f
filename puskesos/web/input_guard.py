"""Turns away requests carrying NUL characters before any view or database sees them.

No field of ours can hold one, PostgreSQL text cannot store one, and a NUL in
a name is never what a user meant.
"""

from __future__ import annotations

from flask import Flask, abort, request


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values)


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        # request.form is empty unless the body is a form, so JSON bodies pass untouched here.
        fields = (request.args, request.form)
        if "\x00" in request.path:
            abort(404)  # no page or record is named that
        if any(_has_nul(f.keys()) or any(_has_nul(values) for values in f.listvalues()) for f in fields):
            abort(400)
