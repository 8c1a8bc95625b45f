"""Personal data in the audit log, sealed under a key of its case that retention destroys (crypto-shredding).

Audit events are append-only and hashed: what enters one can never be taken out. So a complainant's personal
data never enters in clear. `chain.append` hands a case's event details to `seal` before they are hashed: every
value of an input declared `personal=True` (the intake's name, birth date, address, phones…; the workflow's
notes, findings and reasons) becomes a token, AES-GCM under the case's own data key with the case id as associated
data. The data key is stored in `case_key`, wrapped under the current PII master key (`core/pii.py`'s keyring and
cipher, reused); `rewrap_case_keys` moves it to a new master key.

Readers open the tokens in one place, `audit.services.details_of`, which every page, export and API answer goes
through; `prime` loads a page's keys in one query. `audit verify` hashes the stored text and never needs a key.
`destroy` (retention) erases the wrapped key: the case's events then read "(dihapus)" and still verify.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
from collections.abc import Callable, Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from puskesos.audit.models import CaseKey
from puskesos.core import pii
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db

TOKEN_KID = "sealed"  # a token reads `sealed:<base64url(nonce | ciphertext | tag)>`
TOKEN_PREFIX = TOKEN_KID + ":"
ERASED_TOKEN = TOKEN_PREFIX  # what a value becomes on a case whose key is already destroyed: nothing to read
log = logging.getLogger(__name__)
ERASED_WORD = _l("(dihapus)")
# A key that does not open (changed or swapped behind the app's back): its details are shown as unreadable, the
# page still answers, and the error log says which case.
UNREADABLE_WORD = _l("(tidak terbaca)")
CACHE = "puskesos.case_keys"  # in the session's `info`: case id → its key (or DESTROYED / ABSENT)
CACHE_LIMIT = 5000  # a long export primes batch after batch: memory stays flat
DESTROYED, ABSENT, UNREADABLE = "destroyed", "absent", "unreadable"


class Erased(str):
    """A sealed value whose case key retention destroyed: shown as it reads, never masked or formatted."""


def personal_names() -> frozenset[str]:
    """The detail names that are sealed: every intake field and workflow input declared `personal=True`."""
    return _personal_names()


@functools.cache
def _personal_names() -> frozenset[str]:
    from puskesos.cases.intake import INTAKE
    from puskesos.cases.workflow import EVENTS, inputs_of

    specs = [*INTAKE, *(spec for name in EVENTS for spec in inputs_of(name))]
    return frozenset(spec.name for spec in specs if spec.personal)


def _walk(details: dict, change: Callable[[object], object]) -> dict:
    """The details with `change` applied to each personal value, wherever the services put one: at the top
    (a workflow event's inputs), under `fields` (`case.created`) and in each `[old, new]` of `changes`
    (`case.updated`). Always a new dict: the caller's (the notification's) stays as it was."""
    names = personal_names()
    out = {}
    for key, value in details.items():
        if key == "fields" and isinstance(value, dict):
            value = {k: change(v) if k in names else v for k, v in value.items()}
        elif key == "changes" and isinstance(value, dict):
            value = {k: [change(v) for v in pair] if k in names and isinstance(pair, list) else pair
                     for k, pair in value.items()}
        elif key in names:
            value = change(value)
        out[key] = value
    return out


# -- keys ------------------------------------------------------------------------------------------------------


def _bound(case_id: int) -> str:
    """The associated data of a case's tokens: a token copied into another case's event does not open."""
    return f"audit_event.details:{case_id}"


def _wrap_bound(case_id: int) -> str:
    return f"case_key.wrapped_key:{case_id}"


def _sealer(raw: bytes) -> pii.Keyring:
    """The PII keyring's cipher and token format, with the case's data key as its only key."""
    return pii.Keyring({TOKEN_KID: AESGCM(raw)}, TOKEN_KID, b"")


def _unwrap(case_id: int, wrapped: str) -> pii.Keyring:
    return _sealer(base64.b64decode(pii.decrypt(wrapped, _wrap_bound(case_id))))


def _cache() -> dict:
    return db.session.info.setdefault(CACHE, {})


@event.listens_for(Session, "after_soft_rollback")
def _forget_keys(session, _previous) -> None:
    """A key made or destroyed in a transaction that rolled back never was: forget what was cached."""
    session.info.pop(CACHE, None)


def prime(case_ids: Iterable[int | None]) -> None:
    """Load the keys of these cases in one query (a page's, an export batch's), so that opening their events'
    details costs no query per row."""
    cache, ids = _cache(), {case_id for case_id in case_ids if case_id is not None}
    wanted = ids - cache.keys()
    if not wanted:
        return
    if len(cache) + len(wanted) > CACHE_LIMIT:
        cache.clear()
        wanted = ids
    found = dict(db.session.execute(select(CaseKey.case_id, CaseKey.wrapped_key)
                                    .where(CaseKey.case_id.in_(sorted(wanted)))).tuples().all())
    for case_id in wanted:
        if case_id not in found:
            cache[case_id] = ABSENT
        elif found[case_id] is None:
            cache[case_id] = DESTROYED
        else:
            try:
                cache[case_id] = _unwrap(case_id, found[case_id])
            except pii.DecryptionFailed:
                log.error("the audit data key of case id %s does not open: its sealed details are unreadable",
                          case_id)
                cache[case_id] = UNREADABLE


def _key_to_read(case_id: int):
    if case_id not in _cache():
        prime([case_id])
    return _cache()[case_id]


def _key_to_write(case_id: int):
    """The case's key, made on first need in the caller's transaction (under the chain's lock, so two writers
    never make two). A key cached as absent is looked for again: another writer may have made it since."""
    if _cache().get(case_id) is ABSENT:
        del _cache()[case_id]
    key = _key_to_read(case_id)
    if key is UNREADABLE:
        raise pii.DecryptionFailed(f"case id {case_id}: its audit data key does not open; nothing is sealed under "
                                   "a key that was tampered with")
    if key is ABSENT:
        raw = os.urandom(pii.KEY_BYTES)
        wrapped = pii.encrypt(base64.b64encode(raw).decode(), _wrap_bound(case_id))
        db.session.add(CaseKey(case_id=case_id, wrapped_key=wrapped, key_id=pii.key_id(wrapped),
                               created_at=utcnow()))
        key = _cache()[case_id] = _sealer(raw)
    return key


# -- writing and reading -------------------------------------------------------------------------------------------


def seal(case_id: int | None, details: dict) -> dict:
    """The details as the log stores them: a case's personal values sealed under its key. Events of no case
    (sign-ins, accounts, agencies) hold no complainant's data and stay as they are."""
    if case_id is None:
        return details
    key = None

    def close(value):
        nonlocal key
        if value is None:
            return None  # only that nothing was given: nothing to hide
        if key is None:
            key = _key_to_write(case_id)
        if key is DESTROYED:
            return ERASED_TOKEN
        return key.encrypt(json.dumps(value, ensure_ascii=False, default=str), _bound(case_id))

    return _walk(details, close)


def open_details(case_id: int | None, details: dict) -> dict:
    """The details as they were written, for a reader; a value of a case whose key is destroyed is `Erased`.
    Values written before sealing existed pass through as they are."""
    if case_id is None:
        return details

    def open_(value):
        if not (isinstance(value, str) and value.startswith(TOKEN_PREFIX)):
            return value
        key = _key_to_read(case_id)
        if key is DESTROYED or key is ABSENT or value == ERASED_TOKEN:
            return Erased(str(ERASED_WORD))
        if key is UNREADABLE:
            return Erased(str(UNREADABLE_WORD))
        try:
            return json.loads(key.decrypt(value, _bound(case_id)))
        except pii.DecryptionFailed:
            log.error("a sealed detail of case id %s does not open under its key", case_id)
            return Erased(str(UNREADABLE_WORD))

    return _walk(details, open_)


# -- retention and key rotation ------------------------------------------------------------------------------------


def destroy(case_id: int) -> None:
    """Erase the case's data key in the caller's transaction: its sealed details become unreadable for good,
    while the events, hashed as stored, still verify. A case that never had a key gets a destroyed one, so that
    nothing is sealed under a fresh key afterwards."""
    now = utcnow()
    key = db.session.get(CaseKey, case_id)
    if key is None:
        db.session.add(CaseKey(case_id=case_id, created_at=now, destroyed_at=now))
    elif key.destroyed_at is None:
        key.wrapped_key, key.key_id, key.destroyed_at = None, None, now
    _cache()[case_id] = DESTROYED


def case_keys_to_rewrap() -> int:
    """How many live case keys are wrapped under another master key than PII_KEY_ID (a progress bar's length)."""
    from sqlalchemy import func

    current = pii.keyring().current
    return db.session.execute(select(func.count()).select_from(CaseKey)
                              .where(CaseKey.wrapped_key.is_not(None), CaseKey.key_id != current)).scalar_one()


def rewrap_case_keys(batch_size: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Wrap every live case key under the current master key (PII_KEY_ID), committing each batch: interruptible
    and resumable, as keys already current drop out of the walk. A key is rewritten only if it still holds what
    was read, so a key retention destroyed meanwhile stays destroyed. Returns how many were rewrapped; raises
    `pii.DecryptionFailed` naming the case when a wrapped key does not open (its master key left PII_KEYS)."""
    ring = pii.keyring()
    last, done = 0, 0
    while True:
        rows = db.session.execute(
            select(CaseKey.case_id, CaseKey.wrapped_key)
            .where(CaseKey.case_id > last, CaseKey.wrapped_key.is_not(None), CaseKey.key_id != ring.current)
            .order_by(CaseKey.case_id).limit(batch_size)).all()
        if not rows:
            return done
        for case_id, wrapped in rows:
            try:
                plain = ring.decrypt(wrapped, _wrap_bound(case_id))
            except pii.DecryptionFailed as exc:
                db.session.rollback()
                raise pii.DecryptionFailed(f"case key of case id {case_id}: {exc}") from None
            rewrapped = ring.encrypt(plain, _wrap_bound(case_id))
            done += db.session.execute(
                update(CaseKey).where(CaseKey.case_id == case_id, CaseKey.wrapped_key == wrapped)
                .values(wrapped_key=rewrapped, key_id=ring.current)).rowcount
        db.session.commit()
        last = rows[-1].case_id
        if progress is not None:
            progress(len(rows))
