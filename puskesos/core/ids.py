"""Row ids from the outside world: a URL, a form, a cursor. Anything no row can have is None.

PostgreSQL integers stop at 2^31 - 1; a bigger number in a query is a database
error, not "not found", so it is turned away before it gets there.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter

MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


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
