"""Connecting to the database: engines, sessions and schema migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout, so the API's threads and the webhook sender can share the file.
PostgreSQL is reached by URL (``postgresql+psycopg://...``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from doorstep.errors import InputError

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    pool_timeout_s: float = 10.0,
) -> Engine:
    """An engine for ``url`` (SQLite gets WAL, foreign keys and a busy timeout).

    Parameters
    ----------
    url
        SQLAlchemy URL.
    pool_size, max_overflow
        Connections kept open, and opened beyond those under load (the
        service's ``db_pool_size`` and ``db_max_overflow`` settings).
    pool_timeout_s
        How long a checkout waits for a free connection before SQLAlchemy
        raises :class:`sqlalchemy.exc.TimeoutError` (the service answers 503).
        An in-memory SQLite database has one connection per thread and no
        such pool.

    Raises
    ------
    InputError
        For a URL SQLAlchemy cannot read.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(
            f"database URL {url!r} is not valid",
            hint="Use sqlite:///path.db or postgresql+psycopg://user:password@host/db.",
        ) from exc
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout_s}
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({} if in_memory else pool),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        _serialise_sqlite_writers(engine)
        return engine
    # No pre-ping: it costs a round trip on every request; a connection broken by a
    # server restart fails once and the pool is then refreshed.
    return create_engine(parsed, pool_recycle=1800, **pool)


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Let one connection of this process write at a time, queueing the others.

    SQLite allows one writer. A second connection that wants to write waits in
    SQLite's busy handler, which sleeps in steps of up to 100 ms and lets newer
    writers overtake it: under load a few requests waited over a second. A lock
    taken at a connection's first write and released when it goes back to the
    pool (its transaction over) makes them queue instead, in arrival order. Other
    processes (more uvicorn workers) still meet at SQLite's own lock.
    """
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not conn.info.get("writing") and statement.lstrip()[:7].upper().startswith(_WRITES):
            lock.acquire()
            conn.info["writing"] = True

    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop("writing", False):
            lock.release()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with sessions() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    """Alembic's configuration for ``url``, with the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating the SQLite file if needed)."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest migration shipped with this version of Doorstep."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return None if row is None else str(row[0])
