"""Migrations: an empty database upgrades to exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from doorstep.store.database import current_revision, make_engine, upgrade
from doorstep.store.tables import Base


def test_upgrade_creates_the_declared_schema(database_url: str) -> None:
    """After ``upgrade`` the database is at head and autogenerate finds nothing to change."""
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == "0001"
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
        assert current_revision(engine) == "0001"
    finally:
        engine.dispose()
