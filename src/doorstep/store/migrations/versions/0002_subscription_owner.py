"""Webhook subscriptions belong to the key that made them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 02:11:32.205774
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_key_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_webhook_subscriptions_owner_key_id"), ["owner_key_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscriptions_owner_key_id"))
        batch_op.drop_column("owner_key_id")
