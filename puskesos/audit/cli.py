from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from puskesos.audit import checkpoints
from puskesos.audit.chain import verify
from puskesos.audit.checkpoints import CheckpointError
from puskesos.audit.models import AuditEvent
from puskesos.extensions import db


@click.group(help="The audit log.")
def audit() -> None:
    pass


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _read_only() -> None:
    """These commands only read: on SQLite, a plain BEGIN (puskesos/database.py) reads one snapshot without holding
    the write lock, so the app keeps writing during a long walk."""
    if not db.session().in_transaction():  # a caller's open transaction (a test's) keeps its own
        db.session.connection(execution_options={"snapshot_read": True})


@contextlib.contextmanager
def _bars(label: str) -> Iterator:
    """Hands the services a way to open a progress bar once they know how long the walk is."""
    with contextlib.ExitStack() as stack:
        def open_bar(length: int):
            bar = stack.enter_context(click.progressbar(length=length, label=label, show_pos=True, file=sys.stderr))
            return bar.update

        yield open_bar


@audit.command("verify")
@click.option("--checkpoints", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also prove every checkpointed prefix unchanged, against this checkpoint file.")
@click.option("--public-key", "public_key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The public key the checkpoints were signed with (default: AUDIT_PUBLIC_KEY, else derived "
                   "from AUDIT_SIGNING_KEY).")
@click.option("--since-checkpoint", is_flag=True,
              help="Check the last checkpoint, then only the events after it (AUDIT_CHECKPOINTS by default).")
@with_appcontext
def verify_cmd(log_path: Path | None, public_key_path: Path | None, since_checkpoint: bool) -> None:
    """Check the whole hash chain; exit 1 naming the first broken event."""
    _read_only()
    if log_path is None and not since_checkpoint:
        if public_key_path is not None:
            _fail("--public-key goes with --checkpoints or --since-checkpoint")
        _verify_chain()
        return
    try:
        log_path = log_path or checkpoints.configured_log(current_app.config)
        public_key = (checkpoints.load_public_key(public_key_path) if public_key_path
                      else checkpoints.configured_public_key(current_app.config))
        if since_checkpoint:
            with _bars("Audit") as bars:
                result = checkpoints.verify_since_checkpoint(log_path, public_key, bars)
            click.echo(f"audit chain intact since the last checkpoint: it verifies, the {result.anchors} events it "
                       f"anchors (its head, event {result.last.seq}, among them) are as signed, and the "
                       f"{result.events} events after it link to it")
            return
        total = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        with click.progressbar(length=total, label="Audit", show_pos=True, file=sys.stderr) as bar:
            result = checkpoints.verify_checkpoints(log_path, public_key, bar.update)
    except CheckpointError as exc:
        _fail(str(exc))
    click.echo(f"audit chain intact: {result.events} events, agreeing with {result.checkpoints} signed checkpoints "
               f"(the last at event {result.last.seq})")


def _verify_chain() -> None:
    total = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    with click.progressbar(length=total, label="Audit", show_pos=True, file=sys.stderr) as bar:
        result = verify(progress=bar.update)
    if result.ok:
        click.echo(f"audit chain intact: {result.checked} events")
        return
    _fail(f"audit chain broken at event {result.first_break.seq}: {result.first_break.reason}")


@audit.command("keygen")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write audit-signing.key (mode 0600) and audit-signing.pub into.")
def keygen_cmd(out_dir: Path) -> None:
    """Make the Ed25519 key pair that signs checkpoints; never overwrites one."""
    try:
        key_path, pub_path = checkpoints.keygen(out_dir)
    except CheckpointError as exc:
        _fail(str(exc))
    click.echo(f"private key: {key_path} (for the checkpoint job's user only; set AUDIT_SIGNING_KEY to it there)")
    click.echo(f"public key: {pub_path} (set AUDIT_PUBLIC_KEY to it on the web servers; give it to inspectors)")


@audit.command("checkpoint")
@with_appcontext
def checkpoint_cmd() -> None:
    """Check the chain since the last checkpoint, sign its head and append the line to AUDIT_CHECKPOINTS."""
    _read_only()
    try:
        key = checkpoints.configured_private_key(current_app.config)
        log_path = checkpoints.configured_log(current_app.config)
        with _bars("Audit") as bars:
            line = checkpoints.create_checkpoint(key, log_path, bars)
    except CheckpointError as exc:
        _fail(str(exc))
    click.echo(line)


if __name__ == "__main__":
    # `python -m puskesos.audit.cli keygen --out DIR`: the key pair before the app's environment exists, from any
    # directory (`flask --app wsgi audit keygen` needs both, as it builds the app first).
    click.Group("audit", commands=[keygen_cmd], help="The audit log's signing key.")(
        prog_name="python -m puskesos.audit.cli")
