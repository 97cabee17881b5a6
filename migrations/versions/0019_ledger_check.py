"""verifications of the ledger's chain asked for on the ledger page, run by the job worker

Revision ID: 0019_ledger_check
Revises: 0011_scale
Create Date: 2026-12-01 10:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_ledger_check'
down_revision = '0011_scale'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ledger_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ok', sa.Boolean(), nullable=True),
        sa.Column('entries', sa.BigInteger(), nullable=True),
        sa.Column('first_bad_seq', sa.BigInteger(), nullable=True),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_ledger_check_requested_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_check')),
    )
    with op.batch_alter_table('ledger_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_check_requested_at'), ['requested_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ledger_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_check_requested_at'))
    op.drop_table('ledger_check')
