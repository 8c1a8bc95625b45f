"""Template filters and globals: labels, Indonesian dates, regions, paging links."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Flask, g, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from puskesos.accounts.roles import ROLE_LABELS, Role
from puskesos.audit.present import action_label, describe
from puskesos.cases.vocabulary import CATEGORY_LABELS, DTKS_LABELS, OUTCOME_LABELS, URGENCY_LABELS
from puskesos.cases.workflow import EVENT_LABELS, STATE_LABELS
from puskesos.core.pii import looks_like_nik
from puskesos.core.timeutil import today
from puskesos.referrals.models import AGENCY_KIND_LABELS, REFERRAL_STATUS_LABELS
from puskesos.regions.services import describe_many


def _label(table):
    """A filter naming a code by its label, translated once per request rather than once per row."""
    def lookup(value):
        if value is None:
            return ""
        cache = g.setdefault("_labels", {})
        if id(table) not in cache:
            cache[id(table)] = {str(key): str(label) for key, label in table.items()}
        return cache[id(table)].get(str(value), value)
    return lookup


def today_once() -> dt.date:
    """Today, read once per request: a list asks it of every row."""
    if "_today" not in g:
        g._today = today()
    return g._today


def fmt_date(value: dt.date | None, style: str = "d MMMM yyyy") -> str:
    """Dates in the page's language; a list shows the same few dates on many rows, so each is formatted once."""
    if not value:
        return ""
    cache = g.setdefault("_dates", {})
    if (value, style) not in cache:
        cache[value, style] = format_date(value, style)
    return cache[value, style]


def fmt_datetime(value: dt.datetime | None) -> str:
    return format_datetime(value, "d MMM yyyy, HH:mm") if value else ""


def region_name(code: str | None) -> str:
    """`Embawang, Tanjung Agung, Kabupaten Muara Enim, …` cached for the request."""
    if not code:
        return ""
    cache = g.setdefault("_region_names", {})
    if code not in cache:
        cache.update(describe_many([code]))
    return cache[code]


def prime_region_names(codes) -> None:
    """Look up the regions a list will show in one query, not one per row."""
    cache = g.setdefault("_region_names", {})
    cache.update(describe_many(set(codes) - set(cache)))


def village_short(code: str | None) -> str:
    return ", ".join(region_name(code).split(", ")[:2])


def _args_without_pii() -> dict:
    """The query arguments, less any holding a full NIK or KK: a link the page makes never repeats one."""
    return {key: value for key, value in request.args.items() if not looks_like_nik(value)}


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (None removes one)."""
    args = _args_without_pii()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def here() -> str:
    """The current page's path and query for a `next` field (the language switch): a GET page's, less any
    argument holding a full NIK or KK; after a POST (a search, a form), the home page."""
    if request.method != "GET":
        return "/"
    args = _args_without_pii()
    return request.path + ("?" + urlencode(args) if args else "")


def holiday_warning() -> str | None:
    from puskesos.workdays.services import known_years

    years = {today().year, today().year + 1} - known_years()
    return ", ".join(str(y) for y in sorted(years)) or None


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        state_label=_label(STATE_LABELS),
        category_label=_label(CATEGORY_LABELS),
        outcome_label=_label(OUTCOME_LABELS),
        urgency_label=_label(URGENCY_LABELS),
        dtks_label=_label(DTKS_LABELS),
        role_label=_label(ROLE_LABELS),
        event_label=_label(EVENT_LABELS),
        referral_status_label=_label(REFERRAL_STATUS_LABELS),
        agency_kind_label=_label(AGENCY_KIND_LABELS),
        date=fmt_date,
        datetime=fmt_datetime,
        action_label=action_label,
        region=region_name,
        village=village_short,
    )
    app.jinja_env.globals.update(url_with=url_with, here=here, Role=Role, today=today_once, describe=describe)

    @app.context_processor
    def page_context() -> dict:
        return {
            "current_locale": str(get_locale() or "id"),
            "holiday_warning": holiday_warning() if current_user.is_authenticated else None,
        }
