"""`flask keys generate` and `flask keys rotate`: the keys of personal data at rest (puskesos/core/pii.py)."""

from __future__ import annotations

import signal
import sys

import click
from flask.cli import with_appcontext

from puskesos.audit import sealing
from puskesos.core import pii
from puskesos.keys import services


@click.group(help="Keys for personal data at rest (NIK, KK, phone numbers).")
def keys() -> None:
    pass


@keys.command("generate")
@click.option("--kid", default="k1", show_default=True, help="Id of the new encryption key.")
def generate_cmd(kid: str) -> None:
    """Print a new encryption key and a new hash key as environment lines.

    A first installation takes all three lines. To rotate, append the new `kid=key` to PII_KEYS (keep the old
    ones), set PII_KEY_ID to the new id, restart, then run `flask keys rotate`. Without the app's keys set yet:
    `python -m puskesos.keys generate`.
    """
    if not pii.KID.match(kid):
        click.echo("error: --kid takes 1-16 letters, digits, - or _", err=True)
        sys.exit(2)
    click.echo(f"PII_KEYS={kid}={pii.generate_key()}")
    click.echo(f"PII_KEY_ID={kid}")
    click.echo(f"PII_HASH_KEY={pii.generate_key()}")


@keys.command("rotate")
@click.option("--batch-size", default=services.DEFAULT_BATCH, show_default=True, type=click.IntRange(min=1),
              help="Rows per committed batch.")
@with_appcontext
def rotate_cmd(batch_size: int) -> None:
    """Re-encrypt every value not under PII_KEY_ID and recompute the keyed hashes under PII_HASH_KEY.

    Interruptible (Ctrl-C, or a kill between batches) and resumable: run it again and it continues. When it
    reports completion, older key ids may be removed from PII_KEYS.
    """
    from puskesos.extensions import db

    total = db.session.execute(db.select(db.func.count()).select_from(services.raw_table())).scalar_one()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with click.progressbar(length=total, label="Rotating", show_pos=True, file=sys.stderr) as bar:
            result = services.rotate(batch_size, progress=bar.update)
        # The audit log's per-case keys (audit/sealing.py) are wrapped under the master key too.
        with click.progressbar(length=sealing.case_keys_to_rewrap(), label="Case keys", show_pos=True,
                               file=sys.stderr) as bar:
            rewrapped = sealing.rewrap_case_keys(batch_size, progress=bar.update)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: every finished batch is saved; run `flask keys rotate` again to continue",
                   err=True)
        sys.exit(130)
    except (services.RotationFailed, pii.DecryptionFailed) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(f"{result.rows} case(s) checked under key {result.key_id}: {result.reencrypted} value(s) "
               f"re-encrypted, {result.rehashed} hash(es) recomputed"
               + (f", {result.changed_meanwhile} changed meanwhile (already current)"
                  if result.changed_meanwhile else "") + f"; {rewrapped} audit case key(s) rewrapped")


def _interrupt(_signum, _frame) -> None:
    """A kill (SIGTERM) ends the run as Ctrl-C does: the batch in hand is rolled back, the run audited."""
    raise KeyboardInterrupt
