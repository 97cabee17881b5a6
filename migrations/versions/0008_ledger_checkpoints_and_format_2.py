"""the ledger: entry hashes over every field (format 2), signed checkpoints, append-only on PostgreSQL

Existing entries are re-hashed into format 2 (which adds the entry's id, recorded_by_id and the format
version to what the hash covers), in sequence order, and the head moves to the new last hash. No checkpoint
existed before this migration, so nothing outside the database attests the old hashes: the re-hash cannot
prove that the entries were not changed before it; what it guarantees starts with the first checkpoint
signed after it. Downgrade re-hashes back to format 1.

On PostgreSQL a trigger refuses UPDATE and DELETE on ledger_entry and ledger_checkpoint (migrations run as
the owner, who alone may disable it; see README "The ledger").

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:00:00

"""
import hashlib
import json
from datetime import timezone

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
APPEND_ONLY_TABLES = ("ledger_entry", "ledger_checkpoint")
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def _stamp(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fields(e):
    return {"seq": e.seq, "kind": e.kind, "shipment_id": e.shipment_id, "agreement_id": e.agreement_id,
            "producer_org_id": e.producer_org_id, "consumer_org_id": e.consumer_org_id, "material": e.material,
            "net_kg": e.net_kg, "ticket_no": e.ticket_no, "dispatched_at": _stamp(e.dispatched_at),
            "confirmed_at": _stamp(e.confirmed_at), "reverses_id": e.reverses_id, "reason": e.reason or ""}


def _dumps(d):
    return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_v1(prev_hash, e):
    """Format 1 (migration 0004): SHA-256 over prev hash + canonical JSON, without id and recorded_by_id."""
    return hashlib.sha256((prev_hash + _dumps(_fields(e))).encode("utf-8")).hexdigest()


def hash_v2(prev_hash, e):
    """Format 2 (frozen copy of marketplace/services/ledger.py canonical): every column but the hash."""
    d = _fields(e)
    d.update(v=2, id=e.id, recorded_by_id=e.recorded_by_id, prev_hash=prev_hash)
    return hashlib.sha256(_dumps(d).encode("utf-8")).hexdigest()


def _rehash(hash_of, version):
    """Recompute every entry's prev_hash and hash in sequence order, then the head."""
    conn = op.get_bind()
    entries = sa.table("ledger_entry", *(sa.column(c) for c in (
        "id", "seq", "kind", "shipment_id", "agreement_id", "producer_org_id", "consumer_org_id", "material",
        "net_kg", "ticket_no")), sa.column("dispatched_at", sa.DateTime(timezone=True)),
        sa.column("confirmed_at", sa.DateTime(timezone=True)),
        *(sa.column(c) for c in ("reverses_id", "reason", "recorded_by_id", "prev_hash", "hash", "format_version")))
    columns = [c for c in entries.c if c.name != "format_version"]
    # Hashes are unique: move every row to a temporary value first so that no two rows collide midway.
    conn.execute(entries.update().values(hash=sa.literal("x", sa.String) + sa.cast(entries.c.id, sa.String)))
    prev, last_seq = GENESIS, 0
    while True:  # in batches by sequence number, so that a large ledger is never held in memory
        rows = conn.execute(sa.select(*columns).where(entries.c.seq > last_seq).order_by(entries.c.seq)
                            .limit(5000)).all()
        if not rows:
            break
        for row in rows:
            new = hash_of(prev, row)
            values = {"prev_hash": prev, "hash": new}
            if version == 2:
                values["format_version"] = 2
            conn.execute(entries.update().where(entries.c.id == row.id).values(**values))
            prev, last_seq = new, row.seq
    head = sa.table("ledger_head", sa.column("id"), sa.column("seq"), sa.column("hash"))
    conn.execute(head.update().where(head.c.id == 1).values(seq=last_seq, hash=prev))


def _sqlite_foreign_keys(on):
    """SQLite's batch mode copies subsidy_claim (and ledger_entry) into a new table and drops the old one,
    which other tables reference: SQLite's own recipe is to switch foreign keys off meanwhile. The pragma
    only acts outside a transaction, hence the autocommit block."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    op.create_table('ledger_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('time', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_ledger_checkpoint_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoint'))
    )
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_checkpoint_seq'), ['seq'], unique=False)
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format_version', sa.SmallInteger(), server_default='2', nullable=False))
    _rehash(hash_v2, 2)
    with op.batch_alter_table('subsidy_claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ledger_checkpoint_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_subsidy_claim_ledger_checkpoint_id_ledger_checkpoint'),
                                    'ledger_checkpoint', ['ledger_checkpoint_id'], ['id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY)
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    if op.get_bind().dialect.name == 'postgresql':
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    _rehash(hash_v1, 1)
    with op.batch_alter_table('subsidy_claim', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_subsidy_claim_ledger_checkpoint_id_ledger_checkpoint'),
                                 type_='foreignkey')
        batch_op.drop_column('ledger_checkpoint_id')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_column('format_version')
    with op.batch_alter_table('ledger_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_checkpoint_seq'))
    op.drop_table('ledger_checkpoint')
    _sqlite_foreign_keys(True)
