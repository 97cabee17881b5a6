"""the papers (issue #15): product lines, production months and CO2 certificates; waste codes on the catalogue, the declaration's disposal, other transfers and stock,
reference factors (environmental tax, CO2 method) and the VAT refund catalogue, seeded

Revision ID: 0013_papers
Revises: 0010_jobs
Create Date: 2026-12-01 07:30:00

"""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = '0013_papers'
down_revision = '0010_jobs'
branch_labels = None
depends_on = None

#: The category codes of general industrial solid waste of the MEE ledger guide (公告2021年第82号, annex),
#: which follow GB/T 39198-2020's categories. Carbide and gasification slag have no category of their own there:
#: SW59 (other). Data, to check against the standard's text before filing (README).
WASTE_CODES = {
    "fly_ash": "SW02", "fgd_gypsum": "SW06", "coal_gangue": "SW04", "furnace_slag": "SW03", "gbf_slag": "SW01",
    "steel_slag": "SW01", "carbide_slag": "SW59", "gasification_slag": "SW59", "ferroalloy_slag": "SW01",
}

ENV_TAX_SOURCE = "中华人民共和国环境保护税法 附表一《环境保护税税目税额表》（固体废物）"
CO2_SOURCE = ("GB/T 32151.8-2015 (cement) method; dry-process clinker about 808 kg CO2/t (process ≈ 520, "
              "fuel ≈ 288); IPCC Tier 1 process factor 0.507 t/t clinker for comparison")
FACTORS = [
    # key, value, unit, source
    ("env_tax.coal_gangue", "5", "yuan/t", ENV_TAX_SOURCE + " 煤矸石 5元/吨"),
    ("env_tax.fly_ash", "25", "yuan/t", ENV_TAX_SOURCE + " 粉煤灰 25元/吨"),
    ("env_tax.furnace_slag", "25", "yuan/t", ENV_TAX_SOURCE + " 炉渣 25元/吨"),
    ("env_tax.gbf_slag", "25", "yuan/t", ENV_TAX_SOURCE + " 冶炼渣 25元/吨"),
    ("env_tax.steel_slag", "25", "yuan/t", ENV_TAX_SOURCE + " 冶炼渣 25元/吨"),
    ("env_tax.ferroalloy_slag", "25", "yuan/t", ENV_TAX_SOURCE + " 冶炼渣 25元/吨"),
    ("env_tax.fgd_gypsum", "25", "yuan/t", ENV_TAX_SOURCE + " 其他固体废物 25元/吨"),
    ("env_tax.carbide_slag", "25", "yuan/t", ENV_TAX_SOURCE + " 其他固体废物 25元/吨"),
    ("env_tax.gasification_slag", "25", "yuan/t", ENV_TAX_SOURCE + " 其他固体废物 25元/吨"),
    ("co2.clinker", "0.808", "t CO2/t clinker", CO2_SOURCE),
    # one tonne of fly ash or slag powder in cement or concrete stands for one tonne of clinker not burnt
    ("co2.clinker_replaced.fly_ash", "1", "t clinker/t", "stated method: 1:1 substitution of clinker (assumption)"),
    ("co2.clinker_replaced.gbf_slag", "1", "t clinker/t", "stated method: 1:1 substitution of clinker (assumption)"),
]

VAT_SOURCE = "财政部 税务总局公告2021年第40号《资源综合利用产品和劳务增值税优惠目录（2022年版）》"
ALL_RESIDUES = ("fly_ash,fgd_gypsum,coal_gangue,furnace_slag,gbf_slag,steel_slag,carbide_slag,gasification_slag,"
                "ferroalloy_slag")
VAT_ROWS = [
    # code, product (zh, en), materials, min waste %, refund %, condition
    ("bricks_blocks", "砖瓦（不含烧结普通砖）、砌块、陶粒、墙板、管材、混凝土、砂浆等建材产品",
     "Bricks and tiles (not sintered common bricks), blocks, ceramsite, boards, pipes, concrete, mortar",
     ALL_RESIDUES, "70", "70", "产品原料70%以上来自所列资源"),
    ("cement_425", "水泥（42.5及以上等级）", "Cement of grade 42.5 and above",
     ALL_RESIDUES, "20", "70", "42.5及以上等级水泥的原料20%以上来自所列资源"),
    ("cement_other", "其他水泥、水泥熟料", "Other cement and clinker",
     ALL_RESIDUES, "40", "70", "其他水泥、水泥熟料的原料40%以上来自所列资源"),
    ("aggregate", "建筑砂石骨料", "Construction sand and aggregate",
     "coal_gangue,furnace_slag,steel_slag,gasification_slag", "90", "50", "产品原料90%以上来自所列资源"),
    ("gangue_power", "电力、热力（煤矸石等）", "Power and heat from coal gangue and similar",
     "coal_gangue", "60", "50", "燃料60%以上来自所列资源"),
]


def _sqlite_foreign_keys(on):
    """SQLite's batch mode copies material and generation_record into new tables and drops the old ones, which
    other tables reference: SQLite's own recipe is to switch foreign keys off meanwhile (as in 0008)."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('material', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waste_code', sa.String(length=20), nullable=True))
    with op.batch_alter_table('generation_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tonnes_disposed', sa.Numeric(precision=14, scale=3), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('tonnes_transferred_other', sa.Numeric(precision=14, scale=3),
                                      server_default='0', nullable=False))
        batch_op.add_column(sa.Column('other_receivers', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('stock_opening', sa.Numeric(precision=14, scale=3), nullable=True))
        batch_op.add_column(sa.Column('stock_closing', sa.Numeric(precision=14, scale=3), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_generation_record_disposed_nonneg'), 'tonnes_disposed >= 0')
        batch_op.create_check_constraint(
            op.f('ck_generation_record_transferred_other_nonneg'), 'tonnes_transferred_other >= 0')
        batch_op.create_check_constraint(
            op.f('ck_generation_record_opening_nonneg'), 'stock_opening IS NULL OR stock_opening >= 0')
        batch_op.create_check_constraint(
            op.f('ck_generation_record_closing_nonneg'), 'stock_closing IS NULL OR stock_closing >= 0')
    op.create_table('reference_factor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_factor')),
    sa.UniqueConstraint('key', 'version', name='uq_reference_factor_key_version')
    )
    op.create_table('vat_catalogue_row',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('product_zh', sa.String(length=300), nullable=False),
    sa.Column('product_en', sa.String(length=300), nullable=False),
    sa.Column('materials', sa.String(length=300), nullable=False),
    sa.Column('min_waste_pct', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('refund_pct', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('condition', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vat_catalogue_row')),
    sa.UniqueConstraint('version', 'code', name='uq_vat_catalogue_row_version_code')
    )
    _create_utiliser_tables()
    _sqlite_foreign_keys(True)
    seed()


def _create_utiliser_tables():
    """Product lines and their months (VAT evidence) and CO2 certificates."""
    op.create_table('product_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vat_code', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_product_line_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_line'))
    )
    op.create_index(op.f('ix_product_line_organisation_id'), 'product_line', ['organisation_id'], unique=False)
    op.create_table('production_month',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('raw_input_t', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('waste_input_t', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('output_t', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('output_t >= 0', name=op.f('ck_production_month_output_nonneg')),
    sa.CheckConstraint('raw_input_t > 0', name=op.f('ck_production_month_raw_input_positive')),
    sa.CheckConstraint('waste_input_t >= 0 AND waste_input_t <= raw_input_t', name=op.f('ck_production_month_waste_within_input')),
    sa.ForeignKeyConstraint(['line_id'], ['product_line.id'], name=op.f('fk_production_month_line_id_product_line')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_production_month_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_month')),
    sa.UniqueConstraint('line_id', 'month', name='uq_production_month_line_month')
    )
    op.create_index(op.f('ix_production_month_line_id'), 'production_month', ['line_id'], unique=False)
    op.create_table('co2_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=43), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('material', sa.String(length=200), nullable=False),
    sa.Column('tonnes', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('avoided_t', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('transport_t', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('net_t', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('method', sa.JSON(), nullable=False),
    sa.Column('entry_seqs', sa.JSON(), nullable=False),
    sa.Column('entries_digest', sa.String(length=64), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('agreement_id IS NOT NULL OR organisation_id IS NOT NULL', name=op.f('ck_co2_certificate_scope_set')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_co2_certificate_agreement_id_agreement')),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['ledger_checkpoint.id'], name=op.f('fk_co2_certificate_checkpoint_id_ledger_checkpoint')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user.id'], name=op.f('fk_co2_certificate_issued_by_id_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_co2_certificate_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_co2_certificate')),
    sa.UniqueConstraint('token', name=op.f('uq_co2_certificate_token'))
    )
    op.create_index(op.f('ix_co2_certificate_agreement_id'), 'co2_certificate', ['agreement_id'], unique=False)
    op.create_index(op.f('ix_co2_certificate_organisation_id'), 'co2_certificate', ['organisation_id'], unique=False)


def seed():
    material = sa.table("material", sa.column("code", sa.String), sa.column("waste_code", sa.String))
    for code, waste_code in WASTE_CODES.items():
        op.execute(material.update().where(material.c.code == code).values(waste_code=waste_code))
    factor = sa.table("reference_factor", sa.column("key", sa.String), sa.column("version", sa.Integer),
                      sa.column("value", sa.Numeric(14, 4)), sa.column("unit", sa.String),
                      sa.column("source", sa.Text), sa.column("effective_from", sa.Date))
    op.bulk_insert(factor, [{"key": key, "version": 1, "value": Decimal(value), "unit": unit, "source": source,
                             "effective_from": date(2018, 1, 1)} for key, value, unit, source in FACTORS])
    row = sa.table("vat_catalogue_row", sa.column("version", sa.Integer), sa.column("code", sa.String),
                   sa.column("product_zh", sa.String), sa.column("product_en", sa.String),
                   sa.column("materials", sa.String), sa.column("min_waste_pct", sa.Numeric(5, 2)),
                   sa.column("refund_pct", sa.Numeric(5, 2)), sa.column("condition", sa.Text),
                   sa.column("source", sa.String), sa.column("effective_from", sa.Date))
    op.bulk_insert(row, [{"version": 1, "code": code, "product_zh": zh, "product_en": en, "materials": materials,
                          "min_waste_pct": Decimal(low), "refund_pct": Decimal(refund), "condition": condition,
                          "source": VAT_SOURCE, "effective_from": date(2022, 3, 1)}
                         for code, zh, en, materials, low, refund, condition in VAT_ROWS])


def downgrade():
    _sqlite_foreign_keys(False)
    op.drop_table('co2_certificate')
    op.drop_table('production_month')
    op.drop_table('product_line')
    op.drop_table('vat_catalogue_row')
    op.drop_table('reference_factor')
    with op.batch_alter_table('generation_record', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_generation_record_closing_nonneg'), type_='check')
        batch_op.drop_constraint(op.f('ck_generation_record_opening_nonneg'), type_='check')
        batch_op.drop_constraint(op.f('ck_generation_record_transferred_other_nonneg'), type_='check')
        batch_op.drop_constraint(op.f('ck_generation_record_disposed_nonneg'), type_='check')
        batch_op.drop_column('stock_closing')
        batch_op.drop_column('stock_opening')
        batch_op.drop_column('other_receivers')
        batch_op.drop_column('tonnes_transferred_other')
        batch_op.drop_column('tonnes_disposed')
    with op.batch_alter_table('material', schema=None) as batch_op:
        batch_op.drop_column('waste_code')
    _sqlite_foreign_keys(True)
