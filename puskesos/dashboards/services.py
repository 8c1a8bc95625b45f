"""The dashboard's numbers, for a user's area narrowed by district or village.

Every count is one GROUP BY over the case (or referral) rows of the area, on the columns the area indexes lead
with (region code, state, due date); nothing walks the area's rows in Python. Two figures cannot be counted that
way and are bounded instead: the median working days per step reads the audit events of the cases that changed
step in the last `WINDOW_DAYS` days (at most `STEP_SAMPLE` cases), and each agency's median answer time the
referrals answered in the same window. Each number comes with the case-list filters that show its rows.

At a province of 1,000,000 cases some of these read the whole index range of the area (no sequential scan of the
table, but every entry of the area): the weeks and the monthly recap (no index on created_at/closed_at), the
referral figures (joined through all the area's cases), the DTSEN question (every open case, then an anti-join)
and the step medians' choice of cases (step_started_at). Their way to the 200 ms bar is a summary written by the
services in the same transaction as each change (counts per village, state, due date, assignee; per village and
day opened/closed; per village, agency and referral status; one row per finished step with its working days),
which the dashboard then sums over the villages of the area.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, distinct, func, not_, select

from puskesos.accounts.jurisdiction import case_filter, in_area
from puskesos.accounts.models import User
from puskesos.accounts.roles import Role
from puskesos.audit.models import AuditEvent
from puskesos.cases.models import Case
from puskesos.cases.workflow import State
from puskesos.core.errors import NotFound
from puskesos.core.timeutil import today, utc_start_of, utcnow, wib_date
from puskesos.extensions import db
from puskesos.referrals.models import OPEN_REFERRAL_STATUSES, Agency, Referral, ReferralStatus
from puskesos.regions.models import Region
from puskesos.workdays.services import WorkingDays

DASHBOARD_ROLES = (Role.OFFICER, Role.CASEWORKER, Role.SUPERVISOR)
WINDOW_DAYS = 90  # medians are taken over what moved in this many days
STEP_SAMPLE = 5000  # at most this many cases (the most recently moved) feed the step medians
WEEKS = 12
POOR_DECILES = 4  # DTSEN deciles 1..4: the households the province asks about first
OPEN_STATES = [s for s in State if s != State.CLOSED]


@dataclass
class Area:
    """The part of the user's area the dashboard shows, and the case-list arguments that narrow to it."""

    code: str
    district: str | None = None
    village: str | None = None

    @property
    def list_args(self) -> dict:
        return {key: value for key, value in
                (("district_code", self.district), ("village_code", self.village)) if value}


@dataclass
class Number:
    """One figure and the case-list arguments whose list holds exactly its rows."""

    label: object
    value: int
    args: dict | None = None
    key: str | None = None


@dataclass
class Median:
    label: object
    days: float | None
    count: int
    key: str | None = None


@dataclass
class Dashboard:
    area: Area
    open_by_state: list[Number] = field(default_factory=list)
    overdue_by_state: list[Number] = field(default_factory=list)
    overdue_by_village: list[Number] = field(default_factory=list)
    overdue_by_assignee: list[Number] = field(default_factory=list)
    overdue_by_agency: list[Number] = field(default_factory=list)
    step_medians: list[Median] = field(default_factory=list)
    weeks: list[tuple[dt.date, Number, Number]] = field(default_factory=list)
    referrals: list[tuple[Agency, list[Number], Median]] = field(default_factory=list)
    poor_unserved: list[tuple[Number, Number]] = field(default_factory=list)  # (households, cases) per village


def area_for(user: User, district: str | None = None, village: str | None = None) -> Area:
    """The user's area, narrowed to a district or village inside it; NotFound for anything else."""
    if user.role not in DASHBOARD_ROLES or not user.region_code:
        raise NotFound(_l("Wilayah tidak ditemukan."))
    area = Area(user.region_code)
    for level, code in ((3, district), (4, village)):
        if not code:
            continue
        region = db.session.get(Region, code.strip()[:13])
        if region is None or region.level != level or not in_area(user, region.code) or (
                level == 4 and area.district and not region.code.startswith(area.district + ".")):
            raise NotFound(_l("Wilayah tidak ditemukan."))
        if level == 3:
            area.district = region.code
        else:
            area.village = region.code
        area.code = region.code
    return area


def _where(user: User, area: Area):
    """The area's cases: the user's jurisdiction and the narrowing, on the leading columns of the area indexes."""
    conditions = [case_filter(user)]
    if area.district:
        conditions.append(Case.district_code == area.district)
    if area.village:
        conditions.append(Case.village_code == area.village)
    return and_(*conditions)


def _overdue():
    return and_(Case.state != State.CLOSED, Case.due_on < today())


def build(user: User, area: Area) -> Dashboard:
    board = Dashboard(area)
    where = _where(user, area)
    base = area.list_args

    def grouped(column, *conditions) -> dict:
        query = select(column, func.count()).where(where, *conditions).group_by(column)
        return dict(db.session.execute(query).all())

    opened = grouped(Case.state, Case.state != State.CLOSED)
    overdue = grouped(Case.state, _overdue())
    board.open_by_state = [Number(s, opened.get(s.value, 0), {**base, "state": s.value}, s.value) for s in OPEN_STATES]
    board.overdue_by_state = [Number(s, overdue.get(s.value, 0), {**base, "state": s.value, "overdue": "y"}, s.value)
                              for s in OPEN_STATES if overdue.get(s.value)]

    by_village = grouped(Case.village_code, _overdue())
    board.overdue_by_village = [Number(code, n, {**base, "village_code": code, "overdue": "y"}, code)
                                for code, n in sorted(by_village.items(), key=lambda item: (-item[1], item[0]))]

    by_assignee = grouped(Case.assignee_id, _overdue())
    names = dict(db.session.execute(select(User.id, User.full_name).where(
        User.id.in_([i for i in by_assignee if i is not None]))).all())
    board.overdue_by_assignee = [
        Number(names.get(uid) if uid is not None else _l("Belum ditangani"), n,
               {**base, "assignee": uid, "overdue": "y"} if uid is not None else None, str(uid or ""))
        for uid, n in sorted(by_assignee.items(), key=lambda item: (-item[1], item[0] or 0))]

    agencies = {a.id: a for a in db.session.execute(select(Agency)).scalars()}
    late_referrals = db.session.execute(
        select(Referral.agency_id, func.count(distinct(Referral.case_id))).join(Case, Referral.case_id == Case.id)
        .where(where, Referral.status.in_(OPEN_REFERRAL_STATUSES), Referral.due_on < today())
        .group_by(Referral.agency_id)).all()
    board.overdue_by_agency = [
        Number(agencies[aid].name, n, {**base, "agency_id": aid, "referral": "overdue"}, str(aid))
        for aid, n in sorted(late_referrals, key=lambda item: (-item[1], agencies[item[0]].name))]

    board.step_medians = step_medians(where)
    board.weeks = weekly(where, base)
    board.referrals = referral_answers(where, base, agencies)
    board.poor_unserved = poor_unserved(where, base)
    return board


# -- weeks ----------------------------------------------------------------------------------------------------


def week_starts() -> list[dt.date]:
    """The Mondays of the last `WEEKS` weeks, this one last."""
    monday = today() - dt.timedelta(days=today().weekday())
    return [monday - dt.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def weekly(where, base: dict) -> list[tuple[dt.date, Number, Number]]:
    """Cases opened and closed per week: one row of sums, each column one week. No index leads with the area and
    `created_at`/`closed_at`, so this reads the area's index range once (see the module's note)."""
    starts = week_starts()
    first = utc_start_of(starts[0])

    def sums(column):
        columns = [func.sum(case((and_(column >= utc_start_of(s), column < utc_start_of(s + dt.timedelta(days=7))),
                                  1), else_=0)) for s in starts]
        row = db.session.execute(select(*columns).where(where, column >= first)).one()
        return [int(value or 0) for value in row]

    opened, closed = sums(Case.created_at), sums(Case.closed_at)
    return [(s, Number(_l("Dibuka"), o, {**base, "opened_week": s.isoformat()}),
             Number(_l("Ditutup"), c, {**base, "closed_week": s.isoformat()}))
            for s, o, c in zip(starts, opened, closed, strict=True)]


# -- working days ---------------------------------------------------------------------------------------------


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def step_durations(where) -> dict[str, list[int]]:
    """Working days each finished step took, per state, in the cases of the area that changed step in the window:
    read from the audit log, where every state change records its `from` and `to`."""
    since = utcnow() - dt.timedelta(days=WINDOW_DAYS)
    moved = (select(Case.id).where(where, Case.step_started_at >= since)
             .order_by(Case.step_started_at.desc()).limit(STEP_SAMPLE).subquery())
    rows = db.session.execute(
        select(AuditEvent.case_id, AuditEvent.created_at, AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.case_id.in_(select(moved.c.id)))
        .order_by(AuditEvent.case_id, AuditEvent.seq)).all()
    if not rows:
        return {}
    calendar = WorkingDays(wib_date(min(r.created_at for r in rows)), today())
    durations: dict[str, list[int]] = defaultdict(list)
    current: tuple[int, str, dt.datetime] | None = None  # (case, state entered, when)
    for case_id, at, action, text in rows:
        try:
            details = json.loads(text)
        except ValueError:
            continue
        if action == "case.created":
            current = (case_id, details.get("state"), at)
            continue
        new = details.get("to")
        if new is None or new == details.get("from"):
            continue
        if current is not None and current[0] == case_id and current[1] == details.get("from"):
            durations[current[1]].append(calendar.between(current[2], at))
        current = (case_id, new, at)
    return durations


def step_medians(where) -> list[Median]:
    durations = step_durations(where)
    return [Median(s, _median(durations.get(s.value, [])), len(durations.get(s.value, [])), s.value)
            for s in OPEN_STATES]


# -- referrals ------------------------------------------------------------------------------------------------


def referral_answers(where, base: dict, agencies: dict[int, Agency]) -> list[tuple[Agency, list[Number], Median]]:
    """Per agency, the cases with a referral of each status (one GROUP BY), and the median working days from a
    referral to its answer over the referrals answered in the window."""
    counts = db.session.execute(
        select(Referral.agency_id, Referral.status, func.count(distinct(Referral.case_id)))
        .join(Case, Referral.case_id == Case.id).where(where)
        .group_by(Referral.agency_id, Referral.status)).all()
    per_agency: dict[int, dict[str, int]] = defaultdict(dict)
    for aid, status, n in counts:
        per_agency[aid][status] = n
    since = utcnow() - dt.timedelta(days=WINDOW_DAYS)
    answered = db.session.execute(
        select(Referral.agency_id, Referral.created_at, Referral.answered_at)
        .join(Case, Referral.case_id == Case.id)
        .where(where, Referral.answered_at.is_not(None), Referral.answered_at >= since)).all()
    times: dict[int, list[int]] = defaultdict(list)
    if answered:
        calendar = WorkingDays(wib_date(min(r.created_at for r in answered)), today())
        for aid, created, replied in answered:
            times[aid].append(calendar.between(created, replied))
    result = []
    for aid in sorted(per_agency, key=lambda a: agencies[a].name):
        numbers = [Number(status, per_agency[aid].get(status.value, 0),
                          {**base, "agency_id": aid, "referral": status.value}, status.value)
                   for status in ReferralStatus]
        result.append((agencies[aid], numbers, Median(agencies[aid].name, _median(times[aid]), len(times[aid]))))
    return result


# -- the province's first question ----------------------------------------------------------------------------


def _served():
    """A referral of the case was completed: a service was delivered."""
    return select(Referral.id).where(Referral.case_id == Case.id,
                                     Referral.status == ReferralStatus.COMPLETED).exists()


def poor_unserved(where, base: dict) -> list[tuple[Number, Number]]:
    """Per village: households (family card, or NIK without one) in DTSEN deciles 1-4 with an open case and no
    service delivered yet, and those cases."""
    household = func.coalesce(Case.kk_hash, Case.nik_hash)  # the keyed hashes: equal numbers, equal hashes
    rows = db.session.execute(
        select(Case.village_code, func.count(distinct(household)), func.count())
        .where(where, Case.state != State.CLOSED, Case.dtsen_decile.between(1, POOR_DECILES), not_(_served()))
        .group_by(Case.village_code)).all()
    result = []
    for code, households, cases in sorted(rows, key=lambda r: (-r[1], r[0])):
        args = {**base, "village_code": code, "state": "open", "decile_max": POOR_DECILES, "unserved": "y"}
        result.append((Number(code, households, args, code), Number(code, cases, args, code)))
    return result


# -- the monthly recap ----------------------------------------------------------------------------------------


@dataclass
class Recap:
    """A month of an area on one A4 page: cases opened and closed per village and per category, closed per
    outcome."""

    area: Area
    month: dt.date  # its first day
    by_village: list[tuple[str, int, int]] = field(default_factory=list)  # (village, opened, closed)
    by_category: list[tuple[str, int, int]] = field(default_factory=list)
    by_outcome: list[tuple[str, int]] = field(default_factory=list)

    @property
    def totals(self) -> tuple[int, int]:
        return sum(r[1] for r in self.by_village), sum(r[2] for r in self.by_village)


def month_start(text: str | None) -> dt.date:
    """`2026-11` → 1 November 2026; this month for anything else. NotFound for a month not yet begun."""
    if not text:
        return today().replace(day=1)
    try:
        first = dt.date.fromisoformat(f"{text.strip()[:7]}-01")
    except ValueError:
        raise NotFound(_l("Bulan tidak dikenal.")) from None
    if first.year < 2000 or first > today():
        raise NotFound(_l("Bulan tidak dikenal."))
    return first


def monthly_recap(user: User, area: Area, month: dt.date) -> Recap:
    """Five GROUP BYs over the area's cases opened or closed in the month (WIB calendar)."""
    where = _where(user, area)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    low, high = utc_start_of(month), utc_start_of(following)

    def grouped(column, moment) -> dict:
        return dict(db.session.execute(select(column, func.count()).where(where, moment >= low, moment < high)
                                       .group_by(column)).all())

    recap = Recap(area, month)
    for target, column in ((recap.by_village, Case.village_code), (recap.by_category, Case.category)):
        opened, closed = grouped(column, Case.created_at), grouped(column, Case.closed_at)
        target.extend((key, opened.get(key, 0), closed.get(key, 0)) for key in sorted(set(opened) | set(closed)))
    recap.by_outcome = sorted(grouped(func.coalesce(Case.outcome, ""), Case.closed_at).items())
    return recap
