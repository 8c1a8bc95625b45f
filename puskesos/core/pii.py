"""Personal data at rest: NIK, KK and phone numbers encrypted, with a keyed hash for exact lookups.

A stored value is `<kid>:<base64url(nonce | ciphertext | tag)>` (no padding): AES-256-GCM under the key
named `kid`, a fresh 96-bit nonce per value, and the column's name (`case_file.nik`) as associated data, so a
value copied into another column does not decrypt. The key id travels with each value, so keys can change
while old values stay readable (`flask keys rotate` re-encrypts them under the current key).

Keys come from the environment:

- `PII_KEYS`: comma-separated `kid=base64key` (32-byte keys); every id still found in the database.
- `PII_KEY_ID`: the id new values are encrypted under.
- `PII_HASH_KEY`: a separate base64 key for HMAC-SHA256, the keyed hash exact search and the duplicate check
  compare (`nik_hash`, `kk_hash`); `PII_HASH_KEY_PREVIOUS` (optional) keeps lookups finding rows not yet
  re-hashed while `flask keys rotate` recomputes the hashes after the hash key changed.

Development and tests use fixed throw-away keys when these are unset (see `DEVELOPMENT_KEYS`); anywhere else the
app refuses to start without them (`config.finalize`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String
from sqlalchemy.sql import ClauseElement, operators
from sqlalchemy.types import TypeDecorator

KEY_BYTES = 32
NONCE_BYTES = 12
KID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
STORED_WIDTH = 128  # a 30-character phone number under a 16-character key id still fits

# Throw-away keys for development and tests only: published here, so they protect nothing.
DEVELOPMENT_KEYS = {
    "PII_KEYS": "dev=" + base64.b64encode(b"DEVELOPMENT-ONLY-PII-KEY-0000001").decode(),
    "PII_KEY_ID": "dev",
    "PII_HASH_KEY": base64.b64encode(b"DEVELOPMENT-ONLY-PII-HASH-KEY-01").decode(),
}
CONFIG_NAMES = ("PII_KEYS", "PII_KEY_ID", "PII_HASH_KEY", "PII_HASH_KEY_PREVIOUS")

# A full NIK or family card number in free text: 16 digits, however spaced, dotted or dashed.
_NUMBER_RUN = re.compile(r"\d(?:[\s.\-]*\d){15}")


class KeysInvalid(RuntimeError):
    """The keys in the configuration are missing or malformed."""


class DecryptionFailed(RuntimeError):
    """A stored value does not decrypt: an unknown key id, a wrong key, or a value moved from elsewhere. The
    message names the column and the key id, never the value."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, AESGCM]
    current: str
    hash_key: bytes
    previous_hash_key: bytes | None = None
    _signature: tuple = field(default=(), compare=False)

    def encrypt(self, value: str, column: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.keys[self.current].encrypt(nonce, value.encode("utf-8"), column.encode())
        return f"{self.current}:{base64.urlsafe_b64encode(nonce + sealed).rstrip(b'=').decode()}"

    def decrypt(self, stored: str, column: str) -> str:
        kid, _, body = stored.partition(":")
        cipher = self.keys.get(kid)
        if cipher is None:
            raise DecryptionFailed(f"{column}: key id {kid[:16]!r} is not in PII_KEYS")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode()).decode("utf-8")
        except (InvalidTag, ValueError, binascii.Error):
            raise DecryptionFailed(f"{column}: a value under key id {kid!r} does not decrypt (wrong key, or a "
                                   f"value moved from another column)") from None

    def blind_index(self, value: str | None, *, previous: bool = False) -> str | None:
        """HMAC-SHA256 of the value, hex: equal values give equal hashes, and nobody without the key can test a
        guess. None for no value."""
        if not value:
            return None
        key = self.previous_hash_key if previous else self.hash_key
        if key is None:
            return None
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def lookups(self, value: str | None) -> list[str]:
        """The hashes a stored row of this value may carry: the current key's, and while hashes are being
        recomputed, the previous key's."""
        found = [self.blind_index(value), self.blind_index(value, previous=True)]
        return [h for h in dict.fromkeys(found) if h]


def key_id(stored: str | None) -> str | None:
    return stored.partition(":")[0] if stored else None


def _decode_key(text: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise KeysInvalid(f"{name}: each key must be {KEY_BYTES} bytes in base64 (flask keys generate makes them)")
    return raw


def parse(config) -> Keyring:
    """The keyring the configuration describes; KeysInvalid with a one-line reason when it is wrong."""
    keys = {}
    for item in (config.get("PII_KEYS") or "").split(","):
        if not item.strip():
            continue
        kid, sep, text = item.strip().partition("=")
        if not sep or not KID.match(kid):
            raise KeysInvalid("PII_KEYS must read kid=base64key[,kid=base64key…], ids of letters, digits, - and _")
        if kid in keys:
            raise KeysInvalid(f"PII_KEYS names key id {kid!r} twice")
        keys[kid] = AESGCM(_decode_key(text, f"PII_KEYS[{kid}]"))
    if not keys:
        raise KeysInvalid("PII_KEYS is empty")
    current = (config.get("PII_KEY_ID") or "").strip()
    if current not in keys:
        raise KeysInvalid(f"PII_KEY_ID {current!r} is not one of the ids in PII_KEYS ({', '.join(keys)})")
    if not config.get("PII_HASH_KEY"):
        raise KeysInvalid("PII_HASH_KEY is not set")
    hash_key = _decode_key(config["PII_HASH_KEY"], "PII_HASH_KEY")
    previous = config.get("PII_HASH_KEY_PREVIOUS")
    return Keyring(keys, current, hash_key, _decode_key(previous, "PII_HASH_KEY_PREVIOUS") if previous else None,
                   _signature(config))


def _signature(config) -> tuple:
    return tuple(config.get(name) for name in CONFIG_NAMES)


def keyring() -> Keyring:
    """The running app's keys, parsed once (and again if a test or a command changes the configuration)."""
    from flask import current_app

    ring = current_app.extensions.get("pii")
    if ring is None or ring._signature != _signature(current_app.config):
        ring = current_app.extensions["pii"] = parse(current_app.config)
    return ring


def encrypt(value: str, column: str) -> str:
    return keyring().encrypt(value, column)


def decrypt(stored: str, column: str) -> str:
    return keyring().decrypt(stored, column)


def blind_index(value: str | None) -> str | None:
    return keyring().blind_index(value)


def lookups(value: str | None) -> list[str]:
    return keyring().lookups(value)


def generate_key() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def looks_like_nik(text: str | None) -> bool:
    """Whether free text (a search, a query argument) holds a full NIK or family card number."""
    return bool(text) and _NUMBER_RUN.search(str(text)) is not None


def mask_numbers(text: str) -> str:
    """Free text with every full NIK/KK in it masked as the lists mask them (`1603********0002`)."""
    def mask(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return digits[:4] + "*" * 8 + digits[-4:]
    return _NUMBER_RUN.sub(mask, text)


# Comparing ciphertexts means nothing (each encryption differs): such a query would silently find nothing.
_REFUSED = {operators.eq, operators.ne, operators.lt, operators.le, operators.gt, operators.ge, operators.in_op,
            operators.not_in_op, operators.like_op, operators.ilike_op, operators.not_like_op,
            operators.not_ilike_op, operators.contains_op, operators.startswith_op, operators.endswith_op,
            operators.between_op}


def _refuse(op, other: tuple) -> None:
    """`Case.nik == "1603…"` would encrypt the value afresh and silently match nothing. (SQLAlchemy itself
    compares columns with columns; that stays allowed.)"""
    if op in _REFUSED and not all(isinstance(item, ClauseElement) for item in other):
        raise TypeError("an encrypted column cannot be compared with a value in SQL: compare its keyed hash "
                        "(nik_hash, kk_hash) instead")


class Encrypted(TypeDecorator):
    """A text column stored encrypted: Python reads and writes plain strings. Compare the keyed hash column,
    never this one (a comparison raises)."""

    impl = String(STORED_WIDTH)
    cache_ok = True

    def __init__(self, column: str):
        super().__init__()
        self.column = column

    class comparator_factory(TypeDecorator.Comparator):  # the name SQLAlchemy looks up
        def operate(self, op, *other, **kwargs):
            _refuse(op, other)
            return super().operate(op, *other, **kwargs)

        def reverse_operate(self, op, other, **kwargs):
            _refuse(op, (other,))
            return super().reverse_operate(op, other, **kwargs)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(str(value), self.column)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return decrypt(value, self.column)

    def copy(self, **kw):
        return Encrypted(self.column)
