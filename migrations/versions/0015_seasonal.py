"""seasonal planning (issue #14): monthly profiles and silos on listings, the production calendar (seeded with
the winter staggered-production window), proposals' delivery schedules by month

Revision ID: 0015_seasonal
Revises: 0017_default_site
Create Date: 2026-12-01 10:00:00

"""
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0015_seasonal'
down_revision = '0017_default_site'
branch_labels = None
depends_on = None

LISTINGS = ('supply_listing', 'demand_listing')
USES = ('cement', 'concrete', 'bricks_blocks', 'plasterboard', 'road_base', 'mine_backfill', 'gangue_power', 'other')
#: Ningxia's five prefecture-level cities (marketplace/gazetteer.py CITIES), each with the winter window of
#: staggered production for cement and clinker lines: 15 November to 31 March (136 days; services/calendar.py
#: SEEDED_WINDOWS says the same for the tests).
CITIES = ('Yinchuan', 'Shizuishan', 'Wuzhong', 'Guyuan', 'Zhongwei')
SEEDED_YEARS = (2025, 2026, 2027)
NOTE = '冬季错峰生产 (winter staggered production)'


def upgrade():
    for table in LISTINGS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('monthly_tonnes', sa.JSON(), nullable=True))
            batch_op.add_column(sa.Column('storage_capacity_t', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('storage_stock_t', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('holding_yuan_per_t_month', sa.Numeric(precision=8, scale=2), nullable=True))
            batch_op.create_check_constraint(
                op.f(f'ck_{table}_storage_capacity_positive'), 'storage_capacity_t IS NULL OR storage_capacity_t > 0')
            batch_op.create_check_constraint(
                op.f(f'ck_{table}_storage_stock_within'), 'storage_stock_t IS NULL OR (storage_stock_t >= 0 AND storage_capacity_t '
                'IS NOT NULL AND storage_stock_t <= storage_capacity_t)')
            batch_op.create_check_constraint(
                op.f(f'ck_{table}_holding_nonneg'), 'holding_yuan_per_t_month IS NULL OR holding_yuan_per_t_month >= 0')
    window = op.create_table('production_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('city', sa.String(length=40), nullable=False),
    sa.Column('use', sa.String(length=30), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("use IN (%s)" % ", ".join(f"'{u}'" for u in USES), name=op.f('ck_production_window_use')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_production_window_window_order')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_production_window_updated_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_window'))
    )
    with op.batch_alter_table('production_window', schema=None) as batch_op:
        batch_op.create_index('ix_production_window_year_city', ['year', 'city'], unique=False)
    op.bulk_insert(window, [
        {'year': year, 'city': city, 'use': 'cement', 'starts_on': date(year, 11, 15),
         'ends_on': date(year + 1, 3, 31), 'note': NOTE, 'updated_by_id': None,
         'updated_at': _now()}
        for year in SEEDED_YEARS for city in CITIES])
    op.create_table('proposal_month',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('tonnes', sa.Integer(), nullable=False),
    sa.CheckConstraint('tonnes > 0', name=op.f('ck_proposal_month_tonnes_positive')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_proposal_month_proposal_id_proposal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_month')),
    sa.UniqueConstraint('proposal_id', 'month', name='uq_proposal_month_proposal_month')
    )
    with op.batch_alter_table('proposal_month', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_month_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_month_month'), ['month'], unique=False)


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def downgrade():
    with op.batch_alter_table('proposal_month', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_month_month'))
        batch_op.drop_index(batch_op.f('ix_proposal_month_proposal_id'))
    op.drop_table('proposal_month')
    with op.batch_alter_table('production_window', schema=None) as batch_op:
        batch_op.drop_index('ix_production_window_year_city')
    op.drop_table('production_window')
    for table in reversed(LISTINGS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_holding_nonneg'), type_='check')
            batch_op.drop_constraint(op.f(f'ck_{table}_storage_stock_within'), type_='check')
            batch_op.drop_constraint(op.f(f'ck_{table}_storage_capacity_positive'), type_='check')
            batch_op.drop_column('holding_yuan_per_t_month')
            batch_op.drop_column('storage_stock_t')
            batch_op.drop_column('storage_capacity_t')
            batch_op.drop_column('monthly_tonnes')
