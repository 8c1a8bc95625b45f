"""Row ids from the outside world: a URL, a form, a cursor. Anything no row can have is None.

PostgreSQL integers stop at 2^31 - 1; a bigger number in a query is a database
error, not "not found", so it is turned away before it gets there.
"""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: int() would also take "١٢", "1_000" or five thousand digits


def parse_id(value, minimum: int = 1) -> int | None:
    """An id (or, with `minimum=0`, a version) as a database integer can hold it; anything else is None."""
    text = str(value).strip() if value is not None else ""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= MAX_ID else None


class IdConverter(BaseConverter):
    """`<id:name>` in a route: only ids a row can have match; anything else is a plain 404."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            from werkzeug.routing import ValidationError

            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))
