"""personal data encrypted at rest: NIK, KK and phone numbers as authenticated ciphertext with a key id,
keyed hashes for exact search and the duplicate check

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:10:00

The values are encrypted with the app's keys (PII_KEYS, PII_KEY_ID, PII_HASH_KEY: Flask-Migrate runs this in
the app's context), in batches by id. The format is puskesos/core/pii.py's. The downgrade decrypts.
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from flask import current_app

from puskesos.core import pii

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 1000
ENCRYPTED = {'nik': 'case_file.nik', 'kk_number': 'case_file.kk_number', 'phone': 'case_file.phone',
             'reporter_phone': 'case_file.reporter_phone'}
PLAIN_WIDTH = {'nik': 16, 'kk_number': 16, 'phone': 20, 'reporter_phone': 20}
HASHED = {'nik': 'nik_hash', 'kk_number': 'kk_hash'}
WIDE = 128  # a ciphertext of the widest value with its key id


def _table(with_hashes):
    names = [*ENCRYPTED, *(HASHED.values() if with_hashes else ())]
    return sa.table('case_file', sa.column('id', sa.Integer), *[sa.column(name, sa.String) for name in names])


def _rewrite(table, change):
    """Each row's values through `change(row) -> {column: value}`, by id in batches."""
    conn, last = op.get_bind(), 0
    while True:
        rows = conn.execute(sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            values = change(row)
            if values:
                conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))
        last = rows[-1].id


@contextmanager
def _foreign_keys_off():
    """SQLite rebuilds case_file (copy, drop, rename) while rows of other tables point at it. Its documented way
    is to switch foreign keys off, which only works between transactions: so the work before this migration is
    committed, this migration runs in a transaction of its own with the keys off, and the keys are checked
    before they go back on. PostgreSQL alters in place: nothing to do."""
    conn = op.get_bind()
    if conn.dialect.name != 'sqlite':
        yield
        return
    conn.exec_driver_sql('COMMIT')
    conn.exec_driver_sql('PRAGMA foreign_keys = OFF')
    conn.exec_driver_sql('BEGIN IMMEDIATE')
    try:
        yield
        broken = conn.exec_driver_sql('PRAGMA foreign_key_check').all()
        if broken:
            raise RuntimeError(f'foreign keys broken by the rebuild of case_file: {broken[:5]}')
        conn.exec_driver_sql('COMMIT')
    except BaseException:
        conn.exec_driver_sql('ROLLBACK')
        raise
    finally:
        conn.exec_driver_sql('PRAGMA foreign_keys = ON')
        conn.exec_driver_sql('BEGIN IMMEDIATE')


def upgrade():
    ring = pii.parse(current_app.config)
    with _foreign_keys_off():
        _upgrade(ring)


def _upgrade(ring):
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_file_nik'))
        batch_op.drop_index(batch_op.f('ix_case_file_kk_number'))
        for name in ENCRYPTED:
            batch_op.alter_column(name, existing_type=sa.String(length=PLAIN_WIDTH[name]),
                                  type_=sa.String(length=WIDE), existing_nullable=name != 'nik',
                                  nullable=True)
        batch_op.add_column(sa.Column('nik_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('kk_hash', sa.String(length=64), nullable=True))

    def encrypt(row):
        values = {name: ring.encrypt(getattr(row, name), bound) for name, bound in ENCRYPTED.items()
                  if getattr(row, name) is not None and ':' not in getattr(row, name)}  # digits, or +62…
        values.update({hashed: ring.blind_index(getattr(row, name)) for name, hashed in HASHED.items()})
        return values

    _rewrite(_table(with_hashes=True), encrypt)
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_file_nik_hash'), ['nik_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_kk_hash'), ['kk_hash'], unique=False)


def downgrade():
    ring = pii.parse(current_app.config)

    def decrypt(row):
        values = {name: ring.decrypt(getattr(row, name), bound) for name, bound in ENCRYPTED.items()
                  if getattr(row, name) is not None}
        if row.nik is None:
            values['nik'] = ''  # erased by retention: the old schema wants a value
        return values

    with _foreign_keys_off():
        _rewrite(_table(with_hashes=False), decrypt)
        _narrow()


def _narrow():
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_file_kk_hash'))
        batch_op.drop_index(batch_op.f('ix_case_file_nik_hash'))
        batch_op.drop_column('kk_hash')
        batch_op.drop_column('nik_hash')
        for name in ENCRYPTED:
            batch_op.alter_column(name, existing_type=sa.String(length=WIDE),
                                  type_=sa.String(length=PLAIN_WIDTH[name]), existing_nullable=True,
                                  nullable=name != 'nik')
        batch_op.create_index(batch_op.f('ix_case_file_kk_number'), ['kk_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_nik'), ['nik'], unique=False)
