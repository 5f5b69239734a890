"""Tenants: integration keys, their orders and their webhook subscriptions belong to a shop.

Existing integration keys become their own tenant (tenant = the key's id), and
their subscriptions take their key's tenant; existing orders keep no tenant
(depot-wide: only the depot's roles see them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=100), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_tenant"), ["tenant"], unique=False)
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=100), nullable=True))
    op.execute("UPDATE api_keys SET tenant = id WHERE role = 'integration'")
    op.execute(
        "UPDATE webhook_subscriptions SET tenant = (SELECT api_keys.tenant FROM api_keys "
        "WHERE api_keys.id = webhook_subscriptions.owner_key_id) "
        "WHERE owner_key_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("tenant")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_tenant"))
        batch_op.drop_column("tenant")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("tenant")
