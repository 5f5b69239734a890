"""Engines: the pool's size, overflow and timeout come from the caller (the settings)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.pool import QueuePool

from doorstep.store.database import make_engine


def test_pool_sizes_and_timeout_are_taken_from_the_arguments(tmp_path: Path) -> None:
    """make_engine builds a queue pool of the given size, overflow and timeout."""
    engine = make_engine(
        f"sqlite:///{tmp_path / 'x.db'}", pool_size=3, max_overflow=4, pool_timeout_s=1.5
    )
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 4
        assert engine.pool.timeout() == 1.5
    finally:
        engine.dispose()


def test_an_in_memory_database_still_opens(tmp_path: Path) -> None:
    """An in-memory SQLite (one connection per thread, no queue pool) ignores the pool sizes."""
    engine = make_engine("sqlite://", pool_size=3)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
