"""Signed checkpoints of the audit chain: what makes a rewrite by the database's owner visible.

The hash chain proves that each event follows the one before it, but whoever may rewrite every row can also
recompute every hash. So the chain's head is signed now and then (Ed25519, with a key kept outside the database)
into an append-only file kept outside the database, which inspectors copy. A checkpoint also signs a bounded set of
anchors (sequence number and hash prefix) spread evenly over the events since the checkpoint before it, so that a
rewrite is reported at its first affected event (exactly while checkpoints come at most 128 events apart), not just
as "something before the head changed".

A checkpoint is one line of canonical JSON: `seq` and `hash` of the head, `created_at` (UTC), `events` (the number of
events up to the head), `key_id` (fingerprint of the public key), `after` (the previous checkpoint's seq, 0 for the
first), `previous` (SHA-256 of the previous line, so a removed or reordered line shows), `anchors` and `signature`
(base64 Ed25519 over the canonical JSON of all the other fields).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select

from puskesos.audit.chain import GENESIS_HASH, canonical, verify_from
from puskesos.audit.models import AuditEvent
from puskesos.core.timeutil import utcnow
from puskesos.extensions import db

KEY_FILE = "audit-signing.key"
PUBLIC_KEY_FILE = "audit-signing.pub"
MAX_ANCHORS = 128
ANCHOR_HEX = 16  # 64 bits of each anchored hash: plenty to tell a rewrite, short enough to keep lines small
FORMAT = 1


class CheckpointError(Exception):
    """A one-line reason; `seq` is the first affected event when there is one."""

    def __init__(self, message: str, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


@dataclass(frozen=True)
class Checkpoint:
    line: int  # 1-based line number in the file (0 when read from the file's end without counting)
    text: str
    fields: dict  # everything the signature covers
    signature: str
    created_at: dt.datetime  # naive UTC, like every stored time, so the templates' date filters show it in WIB

    @property
    def seq(self) -> int:
        return self.fields["seq"]

    @property
    def hash(self) -> str:
        return self.fields["hash"]

    @property
    def events(self) -> int:
        return self.fields["events"]

    @property
    def key_id(self) -> str:
        return self.fields["key_id"]

    @property
    def after(self) -> int:
        return self.fields["after"]

    def anchors(self) -> list[tuple[int, str]]:
        """(seq, expected hash or hash prefix) in order; the head is checked against its full hash."""
        return [(seq, self.hash if seq == self.seq else prefix) for seq, prefix in self.fields["anchors"]]

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), canonical(self.fields).encode())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    @property
    def name(self) -> str:
        return f"checkpoint line {self.line}" if self.line else "the last checkpoint"


# -- keys -------------------------------------------------------------------------------------------------------


def keygen(out_dir: Path) -> tuple[Path, Path]:
    """Write a new key pair; never overwrite one (a lost private key only means new checkpoints, an overwritten one
    that inspectors still trust means none verify)."""
    key_path, pub_path = out_dir / KEY_FILE, out_dir / PUBLIC_KEY_FILE
    for path in (key_path, pub_path):
        if path.exists():
            raise CheckpointError(f"{path} already exists; refusing to overwrite it")
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create {out_dir}: {exc.strerror}") from None
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write_new(key_path, private, 0o600)
    try:
        _write_new(pub_path, public_pem(key.public_key()), 0o644)
    except CheckpointError:
        key_path.unlink()
        raise
    return key_path, pub_path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CheckpointError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)  # the umask may only narrow the mode; make it exactly this
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The fingerprint each checkpoint names, so a checkpoint is never checked against the wrong key unnoticed."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def load_private_key(path: str | os.PathLike) -> Ed25519PrivateKey:
    data = _read_key(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key in PEM")
    return key


def load_public_key(path: str | os.PathLike) -> Ed25519PublicKey:
    data = _read_key(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path} is not an Ed25519 public key in PEM")
    return key


def _read_key(path: str | os.PathLike) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise CheckpointError(f"{path} is not a PEM key")
    return data


def configured_private_key(config: dict) -> Ed25519PrivateKey:
    """The checkpoint job's key; refused when it is not the one AUDIT_PUBLIC_KEY publishes (if that is set), since
    nobody could check what it signs."""
    if not config.get("AUDIT_SIGNING_KEY"):
        raise CheckpointError("AUDIT_SIGNING_KEY is not set (see README, Audit checkpoints)")
    key = load_private_key(config["AUDIT_SIGNING_KEY"])
    if config.get("AUDIT_PUBLIC_KEY"):
        published = key_id(load_public_key(config["AUDIT_PUBLIC_KEY"]))
        if published != key_id(key.public_key()):
            raise CheckpointError(f"AUDIT_SIGNING_KEY ({key_id(key.public_key())}) is not the private half of "
                                  f"AUDIT_PUBLIC_KEY ({published})")
    return key


def configured_public_key(config: dict) -> Ed25519PublicKey:
    """AUDIT_PUBLIC_KEY: what the web servers and `verify` need. Derived from AUDIT_SIGNING_KEY only when that is
    unset (development): in production only the checkpoint job holds the private key."""
    if config.get("AUDIT_PUBLIC_KEY"):
        return load_public_key(config["AUDIT_PUBLIC_KEY"])
    if config.get("AUDIT_SIGNING_KEY"):
        return configured_private_key(config).public_key()
    raise CheckpointError("AUDIT_PUBLIC_KEY is not set (see README, Audit checkpoints)")


def configured_log(config: dict) -> Path:
    if not config.get("AUDIT_CHECKPOINTS"):
        raise CheckpointError("AUDIT_CHECKPOINTS is not set (see README, Audit checkpoints)")
    return Path(config["AUDIT_CHECKPOINTS"])


# -- the checkpoint file --------------------------------------------------------------------------------------


def parse(text: str, line: int = 0) -> Checkpoint:
    """A line as a checkpoint, its signature not yet checked; CheckpointError for anything else, whatever the line
    holds (the file is outside the database, and the supervisors' page shows it)."""
    where = f"checkpoint line {line}" if line else "the last checkpoint"
    try:
        obj = json.loads(text)
        canonical(obj).encode("utf-8")  # a lone surrogate ("\ud800") can be neither signed nor shown
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        raise CheckpointError(f"{where} is not JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("signature"), str):
        raise CheckpointError(f"{where} is not a signed checkpoint")
    signature = obj.pop("signature")
    types = {"seq": int, "hash": str, "created_at": str, "events": int, "key_id": str, "after": int,
             "anchors": list}
    if any(not isinstance(obj.get(name), kind) or isinstance(obj.get(name), bool) for name, kind in types.items()):
        raise CheckpointError(f"{where} lacks a field of a checkpoint or has one of the wrong type")
    anchors = obj["anchors"]
    if any(not (isinstance(a, list) and len(a) == 2 and isinstance(a[0], int) and not isinstance(a[0], bool)
                and isinstance(a[1], str)) for a in anchors):
        raise CheckpointError(f"{where} has malformed anchors")
    created_at = _utc(obj["created_at"])
    if created_at is None:
        raise CheckpointError(f"{where} has an unreadable time")
    return Checkpoint(line, text, obj, signature, created_at)


def _utc(text: str) -> dt.datetime | None:
    """An ISO time with its offset as naive UTC; None unless every time zone can show it (a page adds WIB's 7 hours,
    `9999-12-31T23:59:59-23:59` would overflow)."""
    try:
        when = dt.datetime.fromisoformat(text)
        if when.tzinfo is None:
            return None
        utc = when.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    margin = dt.timedelta(days=1)
    return utc if dt.datetime.min + margin <= utc <= dt.datetime.max - margin else None


def read_all(path: Path) -> Iterator[Checkpoint]:
    """Every checkpoint in file order, one line in memory at a time."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, text in enumerate(f, start=1):
                if text.strip():
                    yield parse(text.rstrip("\n"), number)
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror}") from None


def read_last(path: Path, count: int) -> list[str]:
    """The file's last `count` lines, newest first, read from its end: the file grows by a line an hour for years."""
    try:
        with path.open("rb") as f:
            return _tail(f.fileno(), count)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror}") from None


def _tail(fd: int, count: int, block: int = 65536) -> list[str]:
    end = os.fstat(fd).st_size
    data = b""
    while end > 0 and data.count(b"\n") <= count:
        start = max(0, end - block)
        data = os.pread(fd, end - start, start) + data
        end = start
    pieces = data.split(b"\n")[1 if end > 0 else 0:]  # unless at the file's start, the first piece is a line's end
    lines = [line for line in pieces if line.strip()]
    return [line.decode("utf-8", errors="replace") for line in reversed(lines[-count:])]


def _line_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- anchors -----------------------------------------------------------------------------------------------------


def anchor_seqs(after: int, head: int) -> list[int]:
    """At most MAX_ANCHORS sequence numbers in (after, head] at an even stride, ending at the head; every one
    when the interval is short."""
    if head <= after:
        return []
    stride = -(-(head - after) // MAX_ANCHORS)
    return list(range(head, after, -stride))[::-1]


def _mismatch(good: int, seq: int, name: str, reason: str) -> CheckpointError:
    """The first affected event as precisely as the anchors allow: between the last event found as signed and the
    first found otherwise."""
    first = good + 1
    where = f"at event {seq}" if first >= seq else f"between event {first} and event {seq}"
    return CheckpointError(f"audit chain differs from {name} {where}: {reason}", seq=min(first, seq))


def _cut_tail(last: int, cp: Checkpoint, good: int | None = None) -> CheckpointError:
    """The chain ends at `last`, before `cp`'s head: named from the first missing event, which is known exactly.
    Events after `good` (the last one found as signed) up to `last` may have changed too: no anchor vouches for
    them."""
    ends = f"the chain ends at event {last}" if last else "the audit log is empty"
    unvouched = (f" (and no anchor vouches for events {good + 1} to {last})"
                 if good is not None and good < last else "")
    return CheckpointError(f"audit chain differs from {cp.name} at event {last + 1}: {ends}, before the head of "
                           f"{cp.name} (event {cp.seq}): events were cut off{unvouched}", seq=last + 1)


def _check_anchors(cp: Checkpoint) -> int:
    """The checkpoint's anchors against the rows now at those numbers, its head always among them (a checkpoint
    after a quiet hour has no other): at most MAX_ANCHORS rows by key; returns how many it compared.

    Only this line is at hand, not the ones before it: when its first anchor differs, the change may lie anywhere
    before that anchor (before `after` too, unless `after` is the chain's start), and the message says so."""
    anchors = cp.anchors()
    if not anchors or anchors[-1][0] != cp.seq:
        anchors.append((cp.seq, cp.hash))
    stored = dict(db.session.execute(select(AuditEvent.seq, AuditEvent.hash)
                                     .where(AuditEvent.seq.in_([seq for seq, _ in anchors]))).all())
    good: int | None = 0 if cp.after == 0 else None  # the last event found as signed; None: not known yet
    for seq, expected in anchors:
        if seq not in stored:
            raise _missing(cp, good, seq)
        if not stored[seq].startswith(expected):
            reason = "its hash is not the one signed (rewritten or renumbered)"
            if good is None:
                raise CheckpointError(f"audit chain differs from {cp.name} at or before event {seq}: {reason}; "
                                      "`audit verify --checkpoints` names the first affected event")
            raise _mismatch(good, seq, cp.name, reason)
        good = seq
    return len(anchors)


def _missing(cp: Checkpoint, good: int | None, seq: int) -> CheckpointError:
    """Anchor `seq` has no event: a cut tail when the chain ends before it, else the first gap before it."""
    last = db.session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    if last < seq:
        return _cut_tail(last, cp, good)
    first = _first_missing(cp.after if good is None else good, seq)
    return CheckpointError(f"audit chain differs from {cp.name} at event {first}: event {first} is missing", seq=first)


def _first_missing(low: int, seq: int) -> int:
    """The first number in (low, seq] without an event, `seq` having none: the events between two anchors, by key."""
    expected = low + 1
    for present in db.session.execute(select(AuditEvent.seq).where(AuditEvent.seq > low, AuditEvent.seq < seq)
                                      .order_by(AuditEvent.seq)).scalars():
        if present != expected:
            break
        expected += 1
    return min(expected, seq)


# -- signing -----------------------------------------------------------------------------------------------------


def create_checkpoint(private_key: Ed25519PrivateKey, log_path: Path,
                      progress_length: Callable[[int], Callable[[int], None]] | None = None) -> str:
    """Check the chain since the last checkpoint, sign its head and append the line; returns the line.

    The file is locked from reading its last line to writing the new one, so two runs at once append two lines
    that follow each other rather than two that claim the same predecessor."""
    public = private_key.public_key()
    try:
        fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise CheckpointError(f"cannot open {log_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = _tail(fd, 1)
        previous = parse(last[0]) if last else None
        if previous is not None:
            if previous.key_id != key_id(public):
                raise CheckpointError(f"the last checkpoint in {log_path} was signed with key {previous.key_id}, "
                                      f"not {key_id(public)}: start a new checkpoint file for a new key")
            if not previous.signed_by(public):
                raise CheckpointError(f"the last checkpoint in {log_path} does not verify: the file was changed")
        line = _sign(private_key, previous, progress_length)
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
        return line
    finally:
        os.close(fd)  # closing releases the lock


def _sign(private_key: Ed25519PrivateKey, previous: Checkpoint | None,
          progress_length: Callable[[int], Callable[[int], None]] | None) -> str:
    head = db.session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    if head is None:
        raise CheckpointError("the audit log is empty: nothing to sign")
    after, after_hash = (previous.seq, previous.hash) if previous else (0, GENESIS_HASH)
    if previous is not None:
        _check_anchors(previous)  # its events are still there, as signed (its head among them)
        if head.seq < after or (head.seq == after and head.hash != after_hash):  # (moved under us meanwhile)
            raise CheckpointError(f"refusing to sign: the head (event {head.seq}) is not the last checkpoint's "
                                  f"(event {after}) or one after it")
    wanted = set(anchor_seqs(after, head.seq))
    anchors: list[list] = []

    def collect(ev) -> None:
        if ev.seq in wanted:
            anchors.append([ev.seq, ev.hash[:ANCHOR_HEX]])

    progress = progress_length(head.seq - after) if progress_length else None
    result = verify_from(after, after_hash, progress=progress, observe=collect)
    if not result.ok:
        brk = result.first_break
        raise CheckpointError(f"refusing to sign: audit chain broken at event {brk.seq}: {brk.reason}", seq=brk.seq)
    if len(anchors) != len(wanted):  # events vanished under the walk: do not sign what was not seen
        raise CheckpointError("refusing to sign: the chain changed while it was being checked")
    events = db.session.execute(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.seq <= head.seq)).scalar_one()
    fields = {
        "v": FORMAT,
        "seq": head.seq,
        "hash": head.hash,
        "created_at": utcnow().replace(tzinfo=dt.UTC).isoformat(timespec="seconds"),
        "events": events,
        "key_id": key_id(private_key.public_key()),
        "after": after,
        "previous": _line_digest(previous.text) if previous else None,
        "anchors": anchors,
    }
    signature = base64.b64encode(private_key.sign(canonical(fields).encode())).decode()
    return canonical({**fields, "signature": signature})


# -- verifying ---------------------------------------------------------------------------------------------------


@dataclass
class Verified:
    events: int  # events read and found right: all of them, or (since the last checkpoint) the ones after it
    checkpoints: int
    last: Checkpoint | None
    anchors: int = 0  # since the last checkpoint: its anchored events compared (its head among them)


def check_file(log_path: Path, public_key: Ed25519PublicKey) -> tuple[int, Checkpoint]:
    """Every line signed by this key, each following the one before it; returns the count and the last one."""
    expected_id, before, count = key_id(public_key), None, 0
    for cp in read_all(log_path):
        if cp.key_id != expected_id:
            raise CheckpointError(f"{cp.name} was signed with key {cp.key_id}, not with the given public key "
                                  f"({expected_id})")
        if not cp.signed_by(public_key):
            raise CheckpointError(f"{cp.name}: the signature does not verify (the line was changed or forged)")
        _check_order(cp, before)
        before, count = cp, count + 1
    if before is None:
        raise CheckpointError(f"{log_path} holds no checkpoints")
    return count, before


def _check_order(cp: Checkpoint, before: Checkpoint | None) -> None:
    after, digest = (before.seq, _line_digest(before.text)) if before else (0, None)
    if cp.after != after or cp.fields.get("previous") != digest:
        raise CheckpointError(f"{cp.name} is out of order: it does not follow "
                              + (f"checkpoint line {before.line}" if before else "the start of the file")
                              + " (a line was removed, moved or inserted)")
    if before is not None and cp.seq < after:  # (`checkpoint` refuses to sign one since; an older file may hold one)
        raise CheckpointError(f"{cp.name} signs event {cp.seq}, an older head than checkpoint line {before.line} "
                              f"(event {after}): the chain was cut back after event {cp.seq} before it was signed")
    if before is not None and cp.seq == before.seq and cp.hash != before.hash:
        raise CheckpointError(f"{cp.name} signs another hash for event {cp.seq} than checkpoint line {before.line}")
    seqs = [seq for seq, _ in cp.anchors()]
    if seqs != sorted(set(seqs)) or (seqs and (seqs[0] <= after or seqs[-1] != cp.seq)) \
            or (not seqs and cp.seq != after):
        raise CheckpointError(f"{cp.name} has anchors outside the events it covers")


class _Anchors:
    """The signed anchors of the whole file in sequence order, compared with the chain as it is walked."""

    def __init__(self, log_path: Path, count: int):
        # Only the lines whose signatures were checked: the hourly job may append one meanwhile.
        self._it = ((seq, expected, cp) for cp in itertools.islice(read_all(log_path), count)
                    for seq, expected in cp.anchors())
        self.next = next(self._it, None)
        self.good = 0  # the last event found as signed

    def __call__(self, ev) -> None:
        if self.next is None or ev.seq != self.next[0]:
            return
        seq, expected, cp = self.next
        if not ev.hash.startswith(expected):
            raise _mismatch(self.good, seq, cp.name, "its hash is not the one signed (rewritten or renumbered)")
        self.good, self.next = seq, next(self._it, None)


def verify_checkpoints(log_path: Path, public_key: Ed25519PublicKey,
                       progress: Callable[[int], None] | None = None) -> Verified:
    """The whole chain, and every checkpointed prefix of it as signed; raises CheckpointError naming the first
    affected event (or the file's offending line)."""
    count, last = check_file(log_path, public_key)
    anchors = _Anchors(log_path, count)
    result = verify_from(0, GENESIS_HASH, progress=progress, observe=anchors)
    _judge(result, anchors.good, anchors.next[2] if anchors.next else None)
    return Verified(result.checked, count, last)


def verify_since_checkpoint(log_path: Path, public_key: Ed25519PublicKey,
                            progress_length: Callable[[int], Callable[[int], None]] | None = None) -> Verified:
    """The last checkpoint's signature and anchors, then only the events after it, linking from its hash."""
    lines = read_last(log_path, 1)
    if not lines:
        raise CheckpointError(f"{log_path} holds no checkpoints")
    cp = parse(lines[0])
    if cp.key_id != key_id(public_key):
        raise CheckpointError(f"{cp.name} was signed with key {cp.key_id}, not with the given public key "
                              f"({key_id(public_key)})")
    if not cp.signed_by(public_key):
        raise CheckpointError(f"{cp.name}: the signature does not verify (the line was changed or forged)")
    anchored = _check_anchors(cp)
    head = db.session.execute(select(func.max(AuditEvent.seq))).scalar_one() or 0
    progress = progress_length(max(head - cp.seq, 0)) if progress_length else None
    result = verify_from(cp.seq, cp.hash, progress=progress)
    if not result.ok:
        brk = result.first_break
        raise CheckpointError(f"audit chain broken at event {brk.seq}: {brk.reason}", seq=brk.seq)
    return Verified(result.checked, 1, cp, anchored)


def _judge(result, good: int, pending: Checkpoint | None) -> None:
    """After a walk from the start: `pending` is the checkpoint whose anchors the walk had not reached. A break or
    an end under a checkpoint is a change to something signed, named from the last event found as signed."""
    brk = result.first_break
    if pending is not None:
        last = db.session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
        if brk is None or (last == result.checked and brk.seq == last + 1):  # the walk reached the chain's end
            raise _cut_tail(result.checked, pending, good)
        raise _mismatch(good, brk.seq, pending.name, brk.reason)
    if brk is not None:
        raise CheckpointError(f"audit chain broken at event {brk.seq}: {brk.reason}", seq=brk.seq)


# -- the supervisors' page ---------------------------------------------------------------------------------------


@dataclass
class Listed:
    checkpoint: Checkpoint | None  # None: a line that is not a checkpoint at all
    verified: bool


@dataclass
class Listing:
    """What the page shows: `state` is `unconfigured`, `bad_key` (set but unreadable) or `ok`."""

    state: str
    key_id: str | None = None
    rows: list[Listed] | None = None
    limit: int = 0


def listing(config: dict, limit: int) -> Listing:
    """The newest `limit` checkpoints, each checked against the public key (AUDIT_PUBLIC_KEY) and against the line
    before it; never an error for a bad file."""
    if not (config.get("AUDIT_PUBLIC_KEY") or config.get("AUDIT_SIGNING_KEY")) or not config.get("AUDIT_CHECKPOINTS"):
        return Listing("unconfigured")
    try:
        public = configured_public_key(config)
        lines = read_last(Path(config["AUDIT_CHECKPOINTS"]), limit + 1)  # one more: the oldest shown one's predecessor
    except CheckpointError:
        return Listing("bad_key")
    expected_id, parsed = key_id(public), [_parsed(text) for text in lines]
    rows = []
    for index, cp in enumerate(parsed[:limit]):
        at_start = index + 1 == len(parsed)  # read back to the file's first line
        before = None if at_start else parsed[index + 1]
        valid = (cp is not None and cp.key_id == expected_id and cp.signed_by(public)
                 and (at_start or before is not None) and _follows(cp, before))
        rows.append(Listed(cp, valid))
    return Listing("ok", expected_id, rows, limit)


def _parsed(text: str) -> Checkpoint | None:
    try:
        return parse(text)
    except CheckpointError:
        return None


def _follows(cp: Checkpoint, before: Checkpoint | None) -> bool:
    try:
        _check_order(cp, before)
    except CheckpointError:
        return False
    return True
