"""a firm's default site; indexes for the ledger's and the declarations' filters

Revision ID: 0017_default_site
Revises: 0018_deals
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017_default_site'
down_revision = '0018_deals'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index('uq_site_default_per_organisation', ['organisation_id'], unique=True,
                              sqlite_where=sa.text('is_default'), postgresql_where=sa.text('is_default'))
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_material_seq', ['material', 'seq'], unique=False)
        batch_op.create_index('ix_ledger_entry_ticket_no', ['ticket_no'], unique=False,
                              postgresql_ops={'ticket_no': 'varchar_pattern_ops'})
        batch_op.create_index('ix_ledger_entry_dispatched_at', ['dispatched_at'], unique=False)
    with op.batch_alter_table('generation_record', schema=None) as batch_op:
        batch_op.create_index('ix_generation_record_material_id_month', ['material_id', 'month'], unique=False)
        batch_op.create_index('ix_generation_record_month', ['month'], unique=False)


def downgrade():
    with op.batch_alter_table('generation_record', schema=None) as batch_op:
        batch_op.drop_index('ix_generation_record_month')
        batch_op.drop_index('ix_generation_record_material_id_month')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_dispatched_at')
        batch_op.drop_index('ix_ledger_entry_ticket_no')
        batch_op.drop_index('ix_ledger_entry_material_seq')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index('uq_site_default_per_organisation')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('is_default')
