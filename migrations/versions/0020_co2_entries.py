"""the ledger entries each CO2 certificate counts, one row per entry with the entry as primary key: a delivery's
CO2 is certified once by a constraint, and the check is an index lookup instead of a scan of every certificate

Revision ID: 0020_co2_entries
Revises: 0019_ledger_check
Create Date: 2026-12-01 11:00:00

"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0020_co2_entries'
down_revision = '0019_ledger_check'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'co2_certified_entry',
        sa.Column('entry_seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['certificate_id'], ['co2_certificate.id'],
                                name=op.f('fk_co2_certified_entry_certificate_id_co2_certificate')),
        sa.PrimaryKeyConstraint('entry_seq', name=op.f('pk_co2_certified_entry')),
    )
    with op.batch_alter_table('co2_certified_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_co2_certified_entry_certificate_id'), ['certificate_id'], unique=False)
    rows, seen = [], set()
    for cid, seqs in op.get_bind().execute(sa.text("SELECT id, entry_seqs FROM co2_certificate ORDER BY id")):
        for seq in (json.loads(seqs) if isinstance(seqs, str) else seqs) or []:
            if seq not in seen:  # issued before the rule was a constraint: the first certificate keeps it
                seen.add(seq)
                rows.append({'entry_seq': seq, 'certificate_id': cid})
    if rows:
        op.bulk_insert(table, rows)


def downgrade():
    with op.batch_alter_table('co2_certified_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_co2_certified_entry_certificate_id'))
    op.drop_table('co2_certified_entry')
