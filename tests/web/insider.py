"""Tampering with the ledger as an insider with the owner's rights would (tests only)."""
from contextlib import contextmanager

from sqlalchemy import text

LEDGER_TABLES = ("ledger_entry", "ledger_checkpoint")


@contextmanager
def insider(db):
    """On PostgreSQL the append-only triggers refuse UPDATE and DELETE; the tables' owner can switch them
    off, as an insider with the owner's password could. The block's changes are committed."""
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        for table in LEDGER_TABLES:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    yield
    if postgres:
        for table in LEDGER_TABLES:
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    db.session.commit()
