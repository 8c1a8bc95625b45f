"""escalations: one row per case or referral and step that went past its deadline (flask sla sweep);
referral sign-off: who approved or returned a referral, its note, its letter number and verification token

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_escalation_case_id_case_file')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_escalation_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation')),
    sa.UniqueConstraint('key', name=op.f('uq_escalation_key'))
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_case_id'), ['case_id'], unique=False)
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index('ix_case_due_on', ['due_on'], unique=False)
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_due_on', ['due_on'], unique=False)
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('return_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('letter_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('verify_token', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referral_reviewed_by_id_user_account'), 'user_account',
                                    ['reviewed_by_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_referral_letter_number'), ['letter_number'])
        batch_op.create_unique_constraint(batch_op.f('uq_referral_verify_token'), ['verify_token'])


def downgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_referral_verify_token'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_referral_letter_number'), type_='unique')
        batch_op.drop_column('verify_token')
        batch_op.drop_constraint(batch_op.f('fk_referral_reviewed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('letter_number')
        batch_op.drop_column('return_note')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_index('ix_referral_due_on')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index('ix_case_due_on')
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_case_id'))
    op.drop_table('escalation')
