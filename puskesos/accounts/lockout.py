"""Failed logins: a per-account lockout with growing delays, and a failure budget per client address.

Guessing one account's password from forty addresses meets the account's lockout; guessing many accounts from
one address meets the address's budget. Successful logins cost nothing, so a whole office behind one address
signs in at nine o'clock without locking anyone out. The counters live in Redis when `REDIS_URL` is set, so
every worker sees the same ones; otherwise in this process's memory (development and tests), through the same
code. The numbers are the `LOGIN_*` settings in `puskesos/config.py`.

Time is `timeutil.utcnow()`, so a test can let a lock run out with `clock_at`; the stored deadline decides,
the keys' expiry in Redis only tidies up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Iterator

from flask import current_app
from flask_babel import format_time
from flask_babel import lazy_gettext as _l

from puskesos.core.errors import ServiceError
from puskesos.core.timeutil import utcnow

log = logging.getLogger(__name__)

PREFIX = "puskesos:login:"  # every key of ours in a Redis that others (Flask-Limiter's "LIMITS:") share


class LoginRefused(ServiceError):
    """Too many failed logins, for the account or from the address: even the right password waits."""

    status = 429

    def __init__(self, message, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


# -- storage --------------------------------------------------------------------------------------------------


class MemoryStore:
    """One process's counters: development, tests, a single worker."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None or item[1] <= time.monotonic():
            self._items.pop(key, None)
            return None
        return item[0]

    def incr(self, key: str, ttl: int) -> int:
        with self._lock:
            value = int(self._live(key) or 0) + 1
            self._items[key] = (str(value), time.monotonic() + ttl)
            if len(self._items) > 100_000:  # a spray of made-up usernames must not grow without end
                self._items = {k: v for k, v in self._items.items() if v[1] > time.monotonic()}
            return value

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def add(self, key: str, ttl: int) -> bool:
        """Set the key unless it is there: True when this call set it."""
        with self._lock:
            if self._live(key) is not None:
                return False
            self._items[key] = ("1", time.monotonic() + ttl)
            return True

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._items[key] = (value, time.monotonic() + ttl)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)


class RedisStore:
    """Counters every worker shares."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)

    def incr(self, key: str, ttl: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])

    def get(self, key: str) -> str | None:
        return self._redis.get(key)

    def add(self, key: str, ttl: int) -> bool:
        return bool(self._redis.set(key, "1", nx=True, ex=ttl))

    def set(self, key: str, value: str, ttl: int) -> None:
        self._redis.set(key, value, ex=ttl)

    def delete(self, *keys: str) -> None:
        self._redis.delete(*keys)


class FallbackStore:
    """Redis, and this process's memory whenever Redis is out of reach: the counters then hold per worker rather
    than not at all (an attacker who can take Redis down gets a few workers' worth of guesses, not unlimited)."""

    def __init__(self, primary: RedisStore, fallback: MemoryStore) -> None:
        self.primary, self.fallback = primary, fallback

    def _either(self, name: str, *args):
        try:
            return getattr(self.primary, name)(*args)
        except Exception:  # redis.RedisError and socket errors
            log.exception("login lockout storage unavailable: counting in this worker's memory")
            return getattr(self.fallback, name)(*args)

    def incr(self, key: str, ttl: int) -> int:
        return self._either("incr", key, ttl)

    def get(self, key: str) -> str | None:
        return self._either("get", key)

    def add(self, key: str, ttl: int) -> bool:
        return self._either("add", key, ttl)

    def set(self, key: str, value: str, ttl: int) -> None:
        self._either("set", key, value, ttl)

    def delete(self, *keys: str) -> None:
        self._either("delete", *keys)


def _store() -> MemoryStore | FallbackStore:
    store = current_app.extensions.get("puskesos.lockout")
    if store is None:
        url = current_app.config.get("REDIS_URL")
        store = FallbackStore(RedisStore(url), MemoryStore()) if url else MemoryStore()
        current_app.extensions["puskesos.lockout"] = store
    return store


# -- keys and numbers -----------------------------------------------------------------------------------------


def _account_keys(username: str) -> tuple[str, str]:
    """Known and unknown usernames alike: a lock must not tell which accounts exist."""
    digest = hashlib.sha256(username.strip().lower().encode("utf-8")).hexdigest()[:32]
    return PREFIX + "failures:" + digest, PREFIX + "locked:" + digest


def _address_key(address: str, now: float) -> str:
    """IPv6 by its /64 (one household or office network hands out a whole /64), IPv4 as it is."""
    window = current_app.config["LOGIN_ADDRESS_WINDOW_SECONDS"]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        network = address[:64]
    else:
        network = str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else str(parsed)
    return f"{PREFIX}address:{network}:{int(now // window)}"


def _now() -> float:
    return utcnow().replace(tzinfo=dt.UTC).timestamp()


def lock_seconds(failures: int) -> int | None:
    """The lock a run of `failures` consecutive failures earns: none below the threshold, then the base delay,
    doubled at each further failure up to the cap."""
    config = current_app.config
    over = failures - config["LOGIN_LOCKOUT_AFTER"]
    if over < 0:
        return None
    cap = config["LOGIN_LOCKOUT_MAX_SECONDS"]
    return min(config["LOGIN_LOCKOUT_SECONDS"] * 2 ** min(over, 32), cap)


def _refusal(account: bool, until: float, now: float) -> LoginRefused:
    """When to try again, as a time of day (the office's zone) and in minutes; `Retry-After` in seconds."""
    seconds = max(1, math.ceil(until - now))
    moment = format_time(utcnow() + dt.timedelta(seconds=seconds), "HH:mm")
    minutes = max(1, math.ceil(seconds / 60))
    if account:
        message = _l("Terlalu banyak percobaan masuk yang gagal: akun ini dikunci sementara. Coba lagi pukul "
                     "%(time)s (sekitar %(minutes)s menit lagi).", time=moment, minutes=minutes)
    else:
        message = _l("Terlalu banyak percobaan masuk yang gagal dari alamat jaringan ini. Coba lagi pukul "
                     "%(time)s (sekitar %(minutes)s menit lagi).", time=moment, minutes=minutes)
    return LoginRefused(message, retry_after=seconds)


# -- the rules ------------------------------------------------------------------------------------------------


def check_address(address: str | None) -> None:
    """Refuse an address that used up its failure budget, before any account is looked at."""
    if not address:
        return
    store, now = _store(), _now()
    used = int(store.get(_address_key(address, now)) or 0)
    if used >= current_app.config["LOGIN_ADDRESS_FAILURES"]:
        window = current_app.config["LOGIN_ADDRESS_WINDOW_SECONDS"]
        raise _refusal(False, (now // window + 1) * window, now)


def locked(username: str) -> LoginRefused | None:
    """The refusal for an account locked now, or None."""
    store, now = _store(), _now()
    until = store.get(_account_keys(username)[1])
    if until is None or float(until) <= now:
        return None
    return _refusal(True, float(until), now)


def failed(username: str, address: str | None, *, count_account: bool = True) -> int | None:
    """Record a failure against the address and (unless the account was already locked: waiting out a lock must
    not lengthen it) the account; returns the seconds of the lock this failure earned, if any."""
    store, now = _store(), _now()
    config = current_app.config
    if address:
        window = config["LOGIN_ADDRESS_WINDOW_SECONDS"]
        store.incr(_address_key(address, now), window)
    if not count_account:
        return None
    failures_key, locked_key = _account_keys(username)
    failures = store.incr(failures_key, config["LOGIN_LOCKOUT_FORGET_SECONDS"])
    seconds = lock_seconds(failures)
    if seconds:
        store.set(locked_key, repr(now + seconds), seconds + 60)
    return seconds


GATE_SECONDS = 5  # the longest one attempt may hold its account's gate (a password check takes ~0.1 s)
GATE_WAIT_SECONDS = 3


@contextlib.contextmanager
def attempt_gate(username: str) -> Iterator[None]:
    """One attempt per account at a time, on every worker: the lock is checked, the password tried and the
    failure counted before the next attempt looks, so parallel guesses get no more tries than serial ones. An
    attempt that cannot get in within a few seconds (a flood on the account) is refused like a locked one."""
    store, key = _store(), PREFIX + "gate:" + _account_keys(username)[0].rsplit(":", 1)[1]
    deadline = time.monotonic() + GATE_WAIT_SECONDS
    while not store.add(key, GATE_SECONDS):
        if time.monotonic() >= deadline:
            now = _now()
            raise _refusal(True, now + GATE_SECONDS, now)
        time.sleep(0.05)
    try:
        yield
    finally:
        store.delete(key)


def succeeded(username: str) -> None:
    """A right password ends the run of failures: the next mistake starts from the beginning."""
    store = _store()
    store.delete(*_account_keys(username))
