"""One notion of time: UTC in the database, Western Indonesia Time on the calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


def utcnow() -> dt.datetime:
    """Naive UTC, the form stored in every DateTime column (SQLite keeps no zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    """The office's calendar day: a deadline ends with the working day in Indonesia, not in UTC."""
    return dt.datetime.now(WIB).date()
