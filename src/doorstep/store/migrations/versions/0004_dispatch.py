"""Dispatch: incidents, requests, exceptions, proposals, decisions; route versions; attempts.

Existing routes become version 1 and existing orders have had no attempt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 18:22:02.438287
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import doorstep.store.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("exception_id", sa.String(length=40), nullable=False),
        sa.Column("proposal_id", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("delta", sa.JSON(), nullable=False),
        sa.Column("at", doorstep.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_day"), ["day"], unique=False)

    op.create_table(
        "exceptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("cause", sa.String(length=300), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("route_id", sa.String(length=160), nullable=True),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("parcel_ids", sa.JSON(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen", doorstep.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", doorstep.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", doorstep.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exceptions")),
    )
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exceptions_day_status"), ["day", "status"], unique=False
        )

    op.create_table(
        "customer_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", doorstep.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_customer_requests_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_requests")),
    )
    with op.batch_alter_table("customer_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_requests_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "proposals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("exception_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("delta", sa.JSON(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", doorstep.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exception_id"], ["exceptions.id"], name=op.f("fk_proposals_exception_id_exceptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposals_exception_id"), ["exception_id"], unique=False
        )

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("route_id", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("at", doorstep.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", doorstep.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"], ["routes.id"], name=op.f("fk_incidents_route_id_routes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_route_id"), ["route_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_eta_s", sa.Integer(), nullable=True))

    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("replaces", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("replaced_by", sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.drop_column("notified_eta_s")

    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_column("replaced_by")
        batch_op.drop_column("replaces")
        batch_op.drop_column("version")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("attempts")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_route_id"))

    op.drop_table("incidents")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposals_exception_id"))

    op.drop_table("proposals")
    with op.batch_alter_table("customer_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_requests_order_id"))

    op.drop_table("customer_requests")
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exceptions_day_status"))

    op.drop_table("exceptions")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_day"))

    op.drop_table("decisions")
