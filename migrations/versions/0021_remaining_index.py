"""listings: an index on the tonnes still free (tonnes - tonnes_promised)

For the dashboard's largest unmatched supplies (a walk of the index to the first 15 instead of sorting every
live listing) and the browse filter "at least N t".

Revision ID: 0021_remaining_index
Revises: 0016_notifications
Create Date: 2026-12-01 13:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0021_remaining_index'
down_revision = '0016_notifications'
branch_labels = None
depends_on = None

TABLES = ('supply_listing', 'demand_listing')


def upgrade():
    for table in TABLES:
        op.create_index(f'ix_{table}_remaining', table, [sa.text('(tonnes - tonnes_promised)')], unique=False)


def downgrade():
    for table in TABLES:
        op.drop_index(f'ix_{table}_remaining', table_name=table)
