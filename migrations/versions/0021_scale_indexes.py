"""scale: indexes on the tonnes still free of a listing, on proposals by round and by organisation and status;
each round's count of proposals

The tonnes still free (tonnes - tonnes_promised): the dashboard's largest unmatched supplies walk the index to
the first 15 instead of sorting every live listing, and the browse filter "at least N t" uses it. A round's
proposals (round_id, id) and (round_id, tonnes): its page and the API give them a page at a time, its map the
largest; a market round makes tens of thousands. They replace the index on round_id alone. Proposals by
(organisation, status) on both sides: every page's menu counts those awaiting the organisation's decision
(10 ms among 74,000 pending with the single-column indexes, which these replace). A round's count of the
proposals it wrote (never deleted): the rounds list showed it by counting every proposal of every round.

Revision ID: 0021_scale_indexes
Revises: 0016_notifications
Create Date: 2026-12-01 13:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0021_scale_indexes'
down_revision = '0016_notifications'
branch_labels = None
depends_on = None

LISTINGS = ('supply_listing', 'demand_listing')


def _sqlite_foreign_keys(on):
    """SQLite's batch mode copies match_round into a new table to drop a column and drops the old one, which
    proposals reference: SQLite's own recipe is to switch foreign keys off meanwhile (as in 0008, 0013, 0014)."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def upgrade():
    for table in LISTINGS:
        op.create_index(f'ix_{table}_remaining', table, [sa.text('(tonnes - tonnes_promised)')], unique=False)
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_round_id_id', ['round_id', 'id'], unique=False)
        batch_op.create_index('ix_proposal_round_id_tonnes', ['round_id', 'tonnes'], unique=False)
        batch_op.drop_index('ix_proposal_round_id')
        for side in ('producer', 'consumer'):
            batch_op.create_index(f'ix_proposal_{side}_org_id_status', [f'{side}_org_id', 'status'], unique=False)
            batch_op.drop_index(f'ix_proposal_{side}_org_id')
    with op.batch_alter_table('match_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposal_count', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE match_round SET proposal_count = "
               "(SELECT count(*) FROM proposal WHERE proposal.round_id = match_round.id)")


def downgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('match_round', schema=None) as batch_op:
        batch_op.drop_column('proposal_count')
    _sqlite_foreign_keys(True)
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        for side in ('producer', 'consumer'):
            batch_op.create_index(f'ix_proposal_{side}_org_id', [f'{side}_org_id'], unique=False)
            batch_op.drop_index(f'ix_proposal_{side}_org_id_status')
        batch_op.create_index('ix_proposal_round_id', ['round_id'], unique=False)
        batch_op.drop_index('ix_proposal_round_id_tonnes')
        batch_op.drop_index('ix_proposal_round_id_id')
    for table in LISTINGS:
        op.drop_index(f'ix_{table}_remaining', table_name=table)
