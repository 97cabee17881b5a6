"""the year's subsidy computed once (top-up claims), affected claims and recoveries

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subsidy_claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('year_eligible_kg', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('year_total_yuan', sa.Numeric(precision=16, scale=2), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('previously_approved_yuan', sa.Numeric(precision=16, scale=2),
                                      server_default='0', nullable=False))
        batch_op.add_column(sa.Column('affected', sa.Boolean(), server_default=sa.false(), nullable=False))
    # claims made before this revision were computed on their own: their year is what they counted
    op.execute("UPDATE subsidy_claim SET year_eligible_kg = eligible_kg, year_total_yuan = amount_yuan")
    op.create_table('subsidy_recovery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('reversal_entry_id', sa.Integer(), nullable=False),
    sa.Column('approved_before_yuan', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('should_have_yuan', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('amount_yuan', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('settlement', sa.String(length=20), nullable=True),
    sa.Column('offset_claim_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('settled_by_id', sa.Integer(), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_yuan > 0', name=op.f('ck_subsidy_recovery_amount_positive')),
    sa.ForeignKeyConstraint(['claim_id'], ['subsidy_claim.id'], name=op.f('fk_subsidy_recovery_claim_id_subsidy_claim')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_subsidy_recovery_created_by_id_user')),
    sa.ForeignKeyConstraint(['offset_claim_id'], ['subsidy_claim.id'], name=op.f('fk_subsidy_recovery_offset_claim_id_subsidy_claim')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_subsidy_recovery_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['reversal_entry_id'], ['ledger_entry.id'], name=op.f('fk_subsidy_recovery_reversal_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['settled_by_id'], ['user.id'], name=op.f('fk_subsidy_recovery_settled_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_recovery'))
    )
    with op.batch_alter_table('subsidy_recovery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_recovery_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_recovery_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_recovery_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('subsidy_recovery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_recovery_status'))
        batch_op.drop_index(batch_op.f('ix_subsidy_recovery_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_recovery_claim_id'))
    op.drop_table('subsidy_recovery')
    with op.batch_alter_table('subsidy_claim', schema=None) as batch_op:
        batch_op.drop_column('affected')
        batch_op.drop_column('previously_approved_yuan')
        batch_op.drop_column('year_total_yuan')
        batch_op.drop_column('year_eligible_kg')
