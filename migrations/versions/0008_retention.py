"""retention: when a closed case's personal data was erased (flask retention apply), and each case's data key,
under which the personal details of its audit events are sealed and which retention destroys (audit/sealing.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))
    # Keys are made on first need (a case's next event), so existing cases need no row here.
    op.create_table('case_key',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('wrapped_key', sa.String(length=128), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_key_case_id_case_file')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_key'))
    )


def downgrade():
    # Dropping the keys would make every sealed detail of the audit log unreadable for good: refuse while any is
    # still held (an empty or fully retained database downgrades).
    held = op.get_bind().execute(sa.text('SELECT count(*) FROM case_key WHERE wrapped_key IS NOT NULL')).scalar()
    if held:
        raise RuntimeError(f'case_key holds {held} live data key(s): downgrading past 0008 would make the sealed '
                           'details of their audit events unreadable; refused')
    op.drop_table('case_key')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
