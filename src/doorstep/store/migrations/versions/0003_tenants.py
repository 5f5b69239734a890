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


TENANT_TABLES = ("api_keys", "orders", "webhook_subscriptions")
"""The tables that get a ``tenant`` column (as long as an id: 100)."""


def upgrade() -> None:
    for table in TENANT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("tenant", sa.String(length=100), nullable=True))
            if table == "orders":
                batch_op.create_index(batch_op.f("ix_orders_tenant"), ["tenant"], unique=False)
    op.execute("UPDATE api_keys SET tenant = id WHERE role = 'integration'")
    op.execute(
        "UPDATE webhook_subscriptions SET tenant = (SELECT api_keys.tenant FROM api_keys "
        "WHERE api_keys.id = webhook_subscriptions.owner_key_id) "
        "WHERE owner_key_id IS NOT NULL"
    )


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "orders":
                batch_op.drop_index(batch_op.f("ix_orders_tenant"))
            batch_op.drop_column("tenant")
