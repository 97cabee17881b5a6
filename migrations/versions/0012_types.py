"""a CHECK constraint on every status and kind column: the database refuses a value the code does not know

The columns keep their type (VARCHAR) and their stored values; each gets a named CHECK (ck_<table>_<name>)
listing the values of its enum in marketplace/models/. Before adding them, the upgrade looks for rows that
would violate them and stops with a message naming the table, the column and the values, rather than
leaving a half-migrated database or a bare constraint error.

Revision ID: 0012_types
Revises: 0013_papers
Create Date: 2026-12-01 07:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_types'
down_revision = '0013_papers'
branch_labels = None
depends_on = None

# (table, column, constraint name, allowed values): frozen here, as they are at this revision.
LISTING_STATUSES = ('draft', 'open', 'partly_matched', 'fully_matched', 'expired', 'withdrawn')
USES = ('cement', 'concrete', 'bricks_blocks', 'plasterboard', 'road_base', 'mine_backfill', 'gangue_power',
        'other')
CHECKS = (
    ('organisation', 'kind', 'org_kind', ('producer', 'consumer', 'both', 'regulator', 'operator')),
    ('organisation', 'verification', 'verification_status', ('pending', 'verified', 'rejected')),
    ('user', 'role', 'user_role', ('admin', 'member')),
    ('supply_listing', 'status', 'listing_status', LISTING_STATUSES),
    ('demand_listing', 'status', 'listing_status', LISTING_STATUSES),
    ('demand_listing', 'use', 'use', USES),
    ('match_round', 'scope', 'scope', ('market', 'demand', 'supply')),
    ('match_round', 'status', 'round_status',
     ('queued', 'building', 'solving', 'writing', 'done', 'failed', 'cancelled')),
    ('proposal', 'mode', 'mode', ('road', 'rail')),
    ('proposal', 'status', 'proposal_status',
     ('pending', 'agreed', 'declined', 'expired', 'lapsed', 'withdrawn')),
    ('proposal', 'producer_decision', 'producer_decision', ('accepted', 'declined')),
    ('proposal', 'consumer_decision', 'consumer_decision', ('accepted', 'declined')),
    ('agreement', 'mode', 'mode', ('road', 'rail')),
    ('agreement', 'use', 'use', USES),
    ('shipment', 'status', 'status', ('dispatched', 'confirmed')),
    ('ledger_entry', 'kind', 'kind', ('utilisation', 'reversal')),
    ('subsidy_scheme', 'mode', 'mode', ('whole', 'tiered')),
    ('baseline', 'status', 'status', ('pending', 'approved', 'rejected')),
    ('subsidy_claim', 'status', 'status', ('draft', 'submitted', 'approved', 'paid', 'rejected')),
    ('subsidy_recovery', 'status', 'status', ('open', 'settled')),
    ('subsidy_recovery', 'settlement', 'settlement', ('offset', 'repaid')),
    ('loan_project', 'status', 'status', ('submitted', 'approved', 'rejected')),
)


def _condition(column, values):
    listed = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({listed})"


def _refuse_unknown_values():
    """Every violation in every table, in one message, before anything changes."""
    bind = op.get_bind()
    problems = []
    for table, column, _name, values in CHECKS:
        t = sa.table(table, sa.column(column))
        found = bind.execute(sa.select(t.c[column]).distinct()
                             .where(t.c[column].is_not(None), t.c[column].not_in(values))).scalars().all()
        if found:
            problems.append(f"{table}.{column} holds {sorted(found)!r}; allowed: {list(values)!r}")
    if problems:
        raise RuntimeError("0012_types: rows hold values the code does not know; correct them, then upgrade "
                           "again:\n  " + "\n  ".join(problems))


def upgrade():
    _refuse_unknown_values()
    tables = dict.fromkeys(table for table, *_ in CHECKS)
    for table in tables:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for t, column, name, values in CHECKS:
                if t == table:
                    batch_op.create_check_constraint(op.f(f'ck_{table}_{name}'), _condition(column, values))


def downgrade():
    tables = dict.fromkeys(table for table, *_ in CHECKS)
    for table in tables:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for t, _column, name, _values in CHECKS:
                if t == table:
                    batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
