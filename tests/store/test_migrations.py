"""Migrations: an empty database upgrades to exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from doorstep.store.database import current_revision, head_revision, make_engine, upgrade
from doorstep.store.tables import Base


def test_upgrade_creates_the_declared_schema(database_url: str) -> None:
    """After ``upgrade`` the database is at head and autogenerate finds nothing to change."""
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision() == "0008"
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        assert {"orders", "events", "outbox", "plans", "stops"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    """Running the migrations again on a migrated database changes nothing."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision() == "0008"
    finally:
        engine.dispose()


def test_a_database_at_0001_upgrades_and_keeps_its_rows(database_url: str) -> None:
    """Down to 0001, a subscription stored there survives the upgrade to 0002 (no owner)."""
    from alembic import command
    from sqlalchemy import text

    from doorstep.store.database import alembic_config

    command.downgrade(alembic_config(database_url), "0001")
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == "0001"
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO webhook_subscriptions (id, url, event_types, secret, active, "
                    "created_at) VALUES ('wh_old', 'https://x.example', '[]', 's', true, "
                    "'2026-11-24 00:00:00')"
                )
            )
        command.upgrade(alembic_config(database_url), "0002")
        assert current_revision(engine) == "0002"
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT id, owner_key_id FROM webhook_subscriptions")
            ).one()
        assert tuple(row) == ("wh_old", None)
    finally:
        engine.dispose()


def test_a_database_at_0002_upgrades_to_tenants_and_keeps_its_rows(database_url: str) -> None:
    """Up to 0003: integration keys and their subscriptions get the key's id as tenant, no other."""
    from alembic import command
    from sqlalchemy import text

    from doorstep.store.database import alembic_config

    command.downgrade(alembic_config(database_url), "0002")
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == "0002"
        with engine.begin() as connection:
            for key_id, role in (("key_shop", "integration"), ("key_admin", "admin")):
                connection.execute(
                    text(
                        "INSERT INTO api_keys (id, key_hash, role, name, created_at) "
                        "VALUES (:id, :hash, :role, '', '2026-11-24 00:00:00')"
                    ),
                    {"id": key_id, "hash": key_id.ljust(64, "0"), "role": role},
                )
            for sub_id, owner in (("wh_shop", "key_shop"), ("wh_admin", "key_admin")):
                connection.execute(
                    text(
                        "INSERT INTO webhook_subscriptions (id, url, event_types, secret, "
                        "active, owner_key_id, created_at) VALUES (:id, 'https://x.example', "
                        "'[]', 's', true, :owner, '2026-11-24 00:00:00')"
                    ),
                    {"id": sub_id, "owner": owner},
                )
            connection.execute(
                text(
                    "INSERT INTO orders (id, kind, street, unit, zip, city, lat, lon, windows, "
                    "service_s, parcels, weight_g, volume_ml, skills, priority, "
                    "late_cost_per_hour, name, phone, email, notes, tracking_token, status, "
                    "created_at) VALUES ('O-old', 'delivery', '', '', '', '', 60.1, 24.9, '[]', "
                    "0, 1, 0, 0, '[]', 0, 0, '', '', '', '', 'tok', 'created', "
                    "'2026-11-24 00:00:00')"
                )
            )
        upgrade(database_url)
        assert current_revision(engine) == "0008"
        with engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, tenant FROM api_keys")).all())
            subs = dict(
                connection.execute(text("SELECT id, tenant FROM webhook_subscriptions")).all()
            )
            orders = connection.execute(text("SELECT id, tenant FROM orders")).all()
            attempts = connection.execute(text("SELECT attempts FROM orders")).scalars().all()
            customers = connection.execute(text("SELECT customer_id FROM orders")).scalars().all()
        assert keys == {"key_shop": "key_shop", "key_admin": None}
        assert subs == {"wh_shop": "key_shop", "wh_admin": None}
        assert [tuple(row) for row in orders] == [("O-old", None)]
        assert attempts == [0]  # 0004: an order stored before has had no attempt
        assert customers == [None]  # 0007: an order stored before has no customer id
    finally:
        engine.dispose()
