"""Showing a full NIK once after the user asked for it (POST → redirect → GET).

The POST writes the `pii.viewed` audit event and remembers which case was asked for in the session (an id,
never the NIK: the session cookie is signed, not encrypted); the next page of that case shows the number once.
A refresh after that shows the masked number again, and nothing ever answers 405.
"""

from __future__ import annotations

from flask import session

KEY = "reveal_case"


def remember_reveal(case) -> None:
    session[KEY] = case.id


def take_reveal(case) -> str | None:
    """The full NIK if the user has just asked to see it for this case (once)."""
    if session.get(KEY) != case.id:
        return None
    session.pop(KEY)
    return case.nik
