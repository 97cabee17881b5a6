"""the optimiser's options in the market (issue #16): the tariff's value of a tonne, truck payload and minimum
train load per material; a round's objective, truckloads, cap per supply, value and delivered cost, and its
marginal cost curve; the other materials a demand accepts

Revision ID: 0014_tariff_values
Revises: 0020_co2_entries
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014_tariff_values'
down_revision = '0020_co2_entries'
branch_labels = None
depends_on = None

OBJECTIVES = ('max_tonnes', 'net_value', 'delivered_cost')

#: Environmental protection tax a producer no longer pays on a tonne used instead of stored (the tax law's
#: schedule, as in 0013_papers: coal gangue 5 yuan/t, every other residue here 25 yuan/t).
ENV_TAX = {"fly_ash": 25, "fgd_gypsum": 25, "coal_gangue": 5, "furnace_slag": 25, "gbf_slag": 25, "steel_slag": 25,
           "carbide_slag": 25, "gasification_slag": 25, "ferroalloy_slag": 25}
#: Ningxia's increment subsidy pays 10-30 yuan/t by band (0005: 10 yuan/t on the first 50,000 t); its first
#: band is what every subsidised tonne earns at least.
SUBSIDY_FIRST_BAND = 10
#: Version 1's value of a moved tonne for `net_value` rounds: the tax avoided plus the first subsidy band (the
#: avoided cost of storage is left out: it differs by site and nobody has published it). The operator edits it.
VALUES = {code: f"{tax + SUBSIDY_FIRST_BAND}.00" for code, tax in ENV_TAX.items()}
#: A semi-trailer tipper on Chinese roads carries about 32 t net (GB 1589-2016: 49 t gross for six axles).
PAYLOADS = dict.fromkeys(ENV_TAX, 32)
#: The least rail load worth a train: about 20 open wagons of 60 t (C70 wagons carry 70 t).
MIN_TRAIN_T = 1200


def _sqlite_foreign_keys(on):
    """SQLite's batch mode copies tariff_version and match_round into new tables and drops the old ones, which
    other tables reference: SQLite's own recipe is to switch foreign keys off meanwhile (as in 0008, 0013)."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('tariff_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_yuan_per_t', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('payload_t', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('min_train_t', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('match_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('objective', sa.Enum(*OBJECTIVES, name='objective', native_enum=False,
                                                           create_constraint=True, length=20),
                                      server_default='max_tonnes', nullable=False))
        batch_op.add_column(sa.Column('truckloads', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('max_partners_per_supply', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delivered_cost_yuan', sa.Numeric(precision=16, scale=2), nullable=True))
        batch_op.add_column(sa.Column('value_yuan', sa.Numeric(precision=16, scale=2), nullable=True))
        batch_op.add_column(sa.Column('marginal_cost_curve', sa.JSON(), server_default='[]', nullable=False))
    _sqlite_foreign_keys(True)
    op.create_table('demand_listing_material',
    sa.Column('demand_listing_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['demand_listing_id'], ['demand_listing.id'],
                            name=op.f('fk_demand_listing_material_demand_listing_id_demand_listing'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['material_id'], ['material.id'],
                            name=op.f('fk_demand_listing_material_material_id_material')),
    sa.PrimaryKeyConstraint('demand_listing_id', 'material_id', name=op.f('pk_demand_listing_material'))
    )
    tariff = sa.table('tariff_version', sa.column('version', sa.Integer), sa.column('value_yuan_per_t', sa.JSON),
                      sa.column('payload_t', sa.JSON), sa.column('min_train_t', sa.Integer))
    op.execute(tariff.update().where(tariff.c.version == 1)
               .values(value_yuan_per_t=VALUES, payload_t=PAYLOADS, min_train_t=MIN_TRAIN_T))


def downgrade():
    op.drop_table('demand_listing_material')
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('match_round', schema=None) as batch_op:
        batch_op.drop_column('marginal_cost_curve')
        batch_op.drop_column('value_yuan')
        batch_op.drop_column('delivered_cost_yuan')
        batch_op.drop_column('max_partners_per_supply')
        batch_op.drop_column('truckloads')
        batch_op.drop_constraint(op.f('ck_match_round_objective'), type_='check')
        batch_op.drop_column('objective')
    with op.batch_alter_table('tariff_version', schema=None) as batch_op:
        batch_op.drop_column('min_train_t')
        batch_op.drop_column('payload_t')
        batch_op.drop_column('value_yuan_per_t')
    _sqlite_foreign_keys(True)
