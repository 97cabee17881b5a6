"""matching rounds run as background jobs: status, error, phase times, cancel request

Revision ID: 0010_jobs
Revises: 0009
Create Date: 2026-12-01 07:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010_jobs'
down_revision = '0009'
branch_labels = None
depends_on = None

STATUSES = ('queued', 'building', 'solving', 'writing', 'done', 'failed', 'cancelled')


def upgrade():
    with op.batch_alter_table('match_round', schema=None) as batch_op:
        # rounds made before this revision were solved in their request: they are done
        batch_op.add_column(sa.Column('status', sa.Enum(*STATUSES, name='round_status', native_enum=False, length=20),
                                      server_default='done', nullable=False))
        batch_op.add_column(sa.Column('error', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('error_detail', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('job_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('cancel_requested', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('building_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('solving_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('writing_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_match_round_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('match_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_round_status'))
        for column in ('finished_at', 'writing_at', 'solving_at', 'building_at', 'cancel_requested', 'job_id',
                       'error_detail', 'error', 'status'):
            batch_op.drop_column(column)
