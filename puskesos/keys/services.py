"""Re-encrypting personal data under the current key and recomputing its keyed hashes (`flask keys rotate`).

The case table is walked by id in batches, each committed on its own: an interruption (Ctrl-C, a kill between
batches) loses nothing, and the next run continues, since a row already under the current key id with hashes
of the current hash key needs no write and is passed over. Each row is written only if it still holds what was
read (a compare-and-swap on the stored values), so an officer's edit or a retention erasure made meanwhile is
never overwritten; such a row is already under the current key.

While the hash key changes, lookups (search, the duplicate check) find a row by the new key's hash once its
batch is done; with the old key in `PII_HASH_KEY_PREVIOUS` they find the rest too until the run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from puskesos.audit.chain import append as audit
from puskesos.cases.models import HASH_OF, Case
from puskesos.core import pii
from puskesos.extensions import db

DEFAULT_BATCH = 500


class RotationFailed(RuntimeError):
    """A value the keys cannot read (an id no longer in PII_KEYS, a wrong key): one line for the operator."""


def encrypted_columns() -> dict[str, str]:
    """Column name → the name its values are bound to (the associated data), read from the model."""
    return {column.name: column.type.column for column in Case.__table__.columns
            if isinstance(column.type, pii.Encrypted)}


def raw_table() -> sa.TableClause:
    """The case table as stored: ciphertexts and hashes as plain text, no decryption on the way."""
    return sa.table(Case.__tablename__, sa.column("id", sa.Integer),
                    *[sa.column(name, sa.String) for name in [*encrypted_columns(), *HASH_OF.values()]])


@dataclass
class Rotation:
    key_id: str
    rows: int = 0  # rows examined
    reencrypted: int = 0  # values moved to the current key
    rehashed: int = 0  # keyed hashes recomputed
    changed_meanwhile: int = 0  # rows someone wrote while this run held them (already current)
    completed: bool = False


def rewrite(row, ring: pii.Keyring, columns: dict[str, str]) -> tuple[dict, int, int]:
    """What a stored row needs to be current: new ciphertexts and hashes by column, and how many of each."""
    changes, plain, reencrypted = {}, {}, 0
    for name, bound in columns.items():
        stored = getattr(row, name)
        if stored is None:
            continue
        current = pii.key_id(stored) == ring.current
        if current and name not in HASH_OF:
            continue  # a phone under the current key: nothing to check
        try:
            plain[name] = ring.decrypt(stored, bound)
        except pii.DecryptionFailed as exc:
            raise RotationFailed(f"case id {row.id}: {exc}") from None
        if not current:
            changes[name] = ring.encrypt(plain[name], bound)
            reencrypted += 1
    rehashed = 0
    for name, hash_column in HASH_OF.items():
        expected = ring.blind_index(plain.get(name))
        if getattr(row, hash_column) != expected:
            changes[hash_column] = expected
            rehashed += 1
    return changes, reencrypted, rehashed


def rotate(batch_size: int = DEFAULT_BATCH, progress: Callable[[int], None] | None = None) -> Rotation:
    """Bring every row to the current key and hash key; audited once (`keys.rotated`), also when interrupted
    or stopped by a value it cannot read."""
    ring, columns, table = pii.keyring(), encrypted_columns(), raw_table()
    result = Rotation(ring.current)
    stored = [table.c[name] for name in [*columns, *HASH_OF.values()]]
    last = 0
    try:
        while True:
            rows = db.session.execute(sa.select(table.c.id, *stored).where(table.c.id > last)
                                      .order_by(table.c.id).limit(batch_size)).all()
            if not rows:
                break
            for row in rows:
                changes, reencrypted, rehashed = rewrite(row, ring, columns)
                if not changes:
                    continue
                unchanged = [column.is_not_distinct_from(getattr(row, column.name)) for column in stored]
                written = db.session.execute(sa.update(table).where(table.c.id == row.id, *unchanged)
                                             .values(**changes)).rowcount
                if written:
                    result.reencrypted += reencrypted
                    result.rehashed += rehashed
                else:
                    result.changed_meanwhile += 1
            db.session.commit()
            result.rows += len(rows)
            last = rows[-1].id
            if progress is not None:
                progress(len(rows))
        result.completed = True
    except BaseException:
        db.session.rollback()  # the batch in hand; those before it are committed
        _record(result)
        raise
    _record(result)
    return result


def _record(result: Rotation) -> None:
    audit("keys.rotated", actor_name="flask keys rotate", details=asdict(result))
    db.session.commit()
