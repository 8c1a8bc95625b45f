"""Newest-first keyset pages: the audit log and referral lists, on the pages and in the API."""

from __future__ import annotations

from dataclasses import dataclass

from puskesos.core.ids import MAX_ID
from puskesos.extensions import db

MAX_PAGE = 500  # rows; a page size from a query string or a setting never asks the database for more


@dataclass
class NewestFirst:
    rows: list
    next_before: int | None  # pass back as `before` for the next (older) page


def newest_first(query, key, before: int | None, limit: int) -> NewestFirst:
    """Rows of `query` with `key` below `before`, highest key first; no OFFSET, so any page is cheap.

    `before` and `limit` may come from a URL: out of range they mean "from the newest" and "the most we show"."""
    limit = max(1, min(int(limit), MAX_PAGE))
    if before is not None and not 1 <= before <= MAX_ID:
        before = None
    if before is not None:
        query = query.where(key < before)
    rows = list(db.session.execute(query.order_by(None).order_by(key.desc()).limit(limit + 1)).scalars())
    next_before = getattr(rows[limit - 1], key.key) if len(rows) > limit else None
    return NewestFirst(rows[:limit], next_before)
