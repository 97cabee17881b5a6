"""province scale: indexes for browse filters, sorts and distance boxes; the ledger's monthly summary

Revision ID: 0011_scale
Revises: 0012_types
Create Date: 2026-12-01 07:40:00

"""
from collections import defaultdict
from datetime import UTC, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0011_scale'
down_revision = '0012_types'
branch_labels = None
depends_on = None

LISTINGS = {"supply_listing": "price_yuan_per_t", "demand_listing": "max_delivered_price_yuan_per_t"}


def _backfill_ledger_month_totals():
    """The summary from the whole ledger, streamed (the month of dispatch in China Standard Time, UTC+8)."""
    conn = op.get_bind()
    entry = sa.table('ledger_entry', sa.column('dispatched_at', sa.DateTime(timezone=True)),
                     sa.column('producer_org_id', sa.Integer), sa.column('material', sa.String),
                     sa.column('net_kg', sa.Integer), sa.column('agreement_id', sa.Integer))
    agreement = sa.table('agreement', sa.column('id', sa.Integer), sa.column('supply_listing_id', sa.Integer),
                         sa.column('demand_listing_id', sa.Integer))
    supply = sa.table('supply_listing', sa.column('id', sa.Integer), sa.column('site_id', sa.Integer))
    demand = sa.table('demand_listing', sa.column('id', sa.Integer), sa.column('site_id', sa.Integer))
    query = (sa.select(entry.c.dispatched_at, supply.c.site_id, demand.c.site_id, entry.c.producer_org_id,
                       entry.c.material, entry.c.net_kg)
             .select_from(entry.join(agreement, agreement.c.id == entry.c.agreement_id)
                          .join(supply, supply.c.id == agreement.c.supply_listing_id)
                          .join(demand, demand.c.id == agreement.c.demand_listing_id)))
    totals = defaultdict(int)
    for at, site_id, consumer_site_id, org_id, material, kg in conn.execute(
            query.execution_options(yield_per=10_000)):
        utc = at.replace(tzinfo=None) if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)
        month = (utc + timedelta(hours=8)).date().replace(day=1)
        totals[(month, site_id, consumer_site_id, org_id, material)] += kg
    table = sa.table('ledger_month_total', sa.column('month', sa.Date), sa.column('site_id', sa.Integer),
                     sa.column('consumer_site_id', sa.Integer), sa.column('producer_org_id', sa.Integer),
                     sa.column('material', sa.String), sa.column('net_kg', sa.BigInteger))
    rows = [{'month': m, 'site_id': s, 'consumer_site_id': c, 'producer_org_id': o, 'material': mat, 'net_kg': kg}
            for (m, s, c, o, mat), kg in totals.items()]
    if rows:
        op.bulk_insert(table, rows)


def upgrade():
    op.create_table('ledger_month_total',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('consumer_site_id', sa.Integer(), nullable=False),
    sa.Column('producer_org_id', sa.Integer(), nullable=False),
    sa.Column('material', sa.String(length=40), nullable=False),
    sa.Column('net_kg', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['producer_org_id'], ['organisation.id'],
                            name=op.f('fk_ledger_month_total_producer_org_id_organisation')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_ledger_month_total_site_id_site')),
    sa.ForeignKeyConstraint(['consumer_site_id'], ['site.id'],
                            name=op.f('fk_ledger_month_total_consumer_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_month_total')),
    sa.UniqueConstraint('month', 'site_id', 'consumer_site_id', 'producer_org_id', 'material',
                        name='uq_ledger_month_total_key')
    )
    with op.batch_alter_table('ledger_month_total', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_month_total_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_month_total_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_month_total_consumer_site_id'), ['consumer_site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_month_total_producer_org_id'), ['producer_org_id'], unique=False)
    _backfill_ledger_month_totals()
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
    with op.batch_alter_table('ledger_month_total', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_month_total_producer_org_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_month_total_consumer_site_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_month_total_site_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_month_total_month'))
    op.drop_table('ledger_month_total')
