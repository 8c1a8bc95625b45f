"""the audit log accepts a new event only at the head of its chain: a sequence number above zero (every
database), and on PostgreSQL the next number, linked to the head's hash (a BEFORE INSERT trigger), so the app's
own role, which may INSERT, cannot hide an event before the chain or jam it with a far-away number

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 10:30:00

"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_audit_event_seq_positive'), 'seq > 0')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_event_at_head() RETURNS trigger AS $$
            DECLARE
                head_seq bigint;
                head_hash text;
            BEGIN
                SELECT seq, hash INTO head_seq, head_hash FROM audit_event ORDER BY seq DESC LIMIT 1;
                IF head_seq IS NULL THEN
                    head_seq := 0;
                    head_hash := repeat('0', 64);
                END IF;
                IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
                    RAISE EXCEPTION 'audit_event accepts only the next event of the chain (%, linked to the head): % refused',
                        head_seq + 1, NEW.seq;
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("CREATE TRIGGER audit_event_at_head BEFORE INSERT ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_at_head()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_at_head ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_at_head()")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_event_seq_positive'), type_='check')
