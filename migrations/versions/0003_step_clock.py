"""a clock on every step: when a case entered its state; why a referral could not be served; whether a
referral's due date was counted without the holiday calendar

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 07:00:00

Cases already open in a state that had no deadline before (registered, assessed) get one here, counted
from their last change with weekends skipped only (the migration does not read the holiday table) and
marked as estimated, so the lists flag them as such until their next step sets a real one.
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# The defaults of cases/workflow.py DEADLINES for the states that had none before this revision.
NEW_DEADLINES = {"registered": 2, "assessed": 3}


def _weekdays_after(start: dt.date, days: int) -> dt.date:
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def upgrade():
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_started_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE case_file SET step_started_at = updated_at")
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.alter_column('step_started_at', existing_type=sa.DateTime(), nullable=False)
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('due_estimated', sa.Boolean(), server_default='0', nullable=False))

    conn = op.get_bind()
    case = sa.table('case_file', sa.column('id', sa.Integer), sa.column('state', sa.String),
                    sa.column('updated_at', sa.DateTime), sa.column('due_on', sa.Date),
                    sa.column('due_estimated', sa.Boolean))
    rows = conn.execute(sa.select(case.c.id, case.c.state, case.c.updated_at)
                        .where(case.c.due_on.is_(None), case.c.state.in_(list(NEW_DEADLINES)))).all()
    for row in rows:
        due = _weekdays_after(row.updated_at.date(), NEW_DEADLINES[row.state])
        conn.execute(case.update().where(case.c.id == row.id).values(due_on=due, due_estimated=True))


def downgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_column('due_estimated')
        batch_op.drop_column('failure_reason')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_column('step_started_at')
