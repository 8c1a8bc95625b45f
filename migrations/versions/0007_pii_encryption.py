"""personal data encrypted at rest: NIK, KK and phone numbers as authenticated ciphertext with a key id,
keyed hashes for exact search and the duplicate check

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:10:00

"""


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
