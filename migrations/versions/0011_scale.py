"""indexes for browse filters, sorts and distance boxes at province scale

Revision ID: 0011_scale
Revises: 0009
Create Date: 2026-12-01 07:40:00

"""
from alembic import op


revision = '0011_scale'
down_revision = '0009'
branch_labels = None
depends_on = None

LISTINGS = {"supply_listing": "price_yuan_per_t", "demand_listing": "max_delivered_price_yuan_per_t"}


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index('ix_site_lat_lon', ['lat', 'lon'], unique=False)
        batch_op.create_index('ix_site_city', ['city'], unique=False)
        batch_op.create_index('ix_site_county', ['county'], unique=False)
    for table, price in LISTINGS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_site_id', ['site_id'], unique=False)
            batch_op.create_index(f'ix_{table}_material_status', ['material_id', 'status'], unique=False)
            batch_op.create_index(f'ix_{table}_price_id', [price, 'id'], unique=False)
            batch_op.create_index(f'ix_{table}_tonnes_id', ['tonnes', 'id'], unique=False)


def downgrade():
    for table in reversed(list(LISTINGS)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ('tonnes_id', 'price_id', 'material_status', 'site_id'):
                batch_op.drop_index(f'ix_{table}_{name}')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index('ix_site_county')
        batch_op.drop_index('ix_site_city')
        batch_op.drop_index('ix_site_lat_lon')
