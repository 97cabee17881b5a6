"""login hardening: session versions, TOTP, token expiry, released credit codes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 04:00:00

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('session_version', server_default=None)

    # Tokens issued before expiry existed get the default 90 days from today.
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.get_bind().execute(sa.text("UPDATE api_token SET expires_at = :at"),
                          {"at": datetime.now(timezone.utc) + timedelta(days=90)})
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)
    # Regulators' and the operator's tokens were issued without a second factor, which they now need.
    op.get_bind().execute(sa.text(
        "UPDATE api_token SET revoked_at = :at WHERE revoked_at IS NULL AND user_id IN ("
        " SELECT u.id FROM \"user\" u JOIN organisation o ON o.id = u.organisation_id"
        " WHERE o.kind IN ('regulator', 'operator'))"), {"at": datetime.now(timezone.utc)})

    # The operator can release a squatted credit code: the organisation keeps it only for the record.
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_credit_code', sa.String(length=18), nullable=True))
        batch_op.alter_column('credit_code', existing_type=sa.String(length=18), nullable=True)


def downgrade():
    op.execute("UPDATE organisation SET credit_code = released_credit_code WHERE credit_code IS NULL")
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.alter_column('credit_code', existing_type=sa.String(length=18), nullable=False)
        batch_op.drop_column('released_credit_code')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('session_version')
