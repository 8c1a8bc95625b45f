"""One notion of time: UTC in the database, Western Indonesia Time on the calendar.

The clock can be moved for a stretch of code (`clock_at`): the demo data and the tests let weeks pass through
the real services, so due dates, overdue cases and audit times are what the application itself would write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextvars import ContextVar
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")

_moved_to: ContextVar[dt.datetime | None] = ContextVar("moved_clock", default=None)


def utcnow() -> dt.datetime:
    """Naive UTC, the form stored in every DateTime column (SQLite keeps no zone)."""
    moved = _moved_to.get()
    return moved if moved is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    """The office's calendar day: a deadline ends with the working day in Indonesia, not in UTC."""
    return wib_date(utcnow())


def wib_date(value: dt.datetime) -> dt.date:
    """The Indonesian calendar day of a stored (naive UTC) moment."""
    return value.replace(tzinfo=dt.UTC).astimezone(WIB).date()


def utc_start_of(day: dt.date) -> dt.datetime:
    """The naive UTC moment a WIB calendar day starts: users ask for days in Indonesia, the database keeps UTC.
    Days at the ends of the calendar are clamped (the zone shift would overflow there)."""
    day = min(max(day, dt.date(1900, 1, 1)), dt.date(9999, 12, 30))
    return dt.datetime.combine(day, dt.time(), tzinfo=WIB).astimezone(dt.UTC).replace(tzinfo=None)


@contextlib.contextmanager
def clock_at(moment: dt.datetime) -> Iterator[None]:
    """Run the block as if it were `moment` (naive UTC). Only for the demo script and tests."""
    token = _moved_to.set(moment)
    try:
        yield
    finally:
        _moved_to.reset(token)
