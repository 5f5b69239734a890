"""Pytest configuration: the hypothesis profile, a private cache, and databases to test on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session, sessionmaker

settings.register_profile(
    "ci", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Road networks and matrices prepared by tests go to a temporary cache, not ~/.cache."""
    previous = os.environ.get("DOORSTEP_CACHE_DIR")
    os.environ["DOORSTEP_CACHE_DIR"] = str(tmp_path_factory.mktemp("doorstep-cache"))
    yield
    if previous is None:
        del os.environ["DOORSTEP_CACHE_DIR"]
    else:
        os.environ["DOORSTEP_CACHE_DIR"] = previous


@pytest.fixture(autouse=True, scope="session")
def _serial_by_default() -> Iterator[None]:
    """Sub-problems run in-process unless a test starts Ray itself (tests/plan/test_parallel.py).

    A test that plans a big day must not start a local Ray (seconds and ~700 MB) by accident.
    """
    previous = os.environ.get("DOORSTEP_PARALLEL")
    os.environ["DOORSTEP_PARALLEL"] = "serial"
    yield
    if previous is None:
        del os.environ["DOORSTEP_PARALLEL"]
    else:
        os.environ["DOORSTEP_PARALLEL"] = previous


POSTGRES_ENV = "DOORSTEP_TEST_POSTGRES_URL"
"""Set by ``.ci/run`` (``scripts/test-postgres.sh``): a PostgreSQL server the tests may use."""


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str | None]:
    """A migrated PostgreSQL database that each test's database is copied from."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        yield None
        return
    from databases import create_database, drop_database
    from doorstep.store.database import upgrade

    name = f"doorstep_template_{uuid.uuid4().hex[:8]}"
    url = create_database(base, name)
    upgrade(url)
    yield name
    drop_database(base, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, _postgres_template: str | None
) -> Iterator[str]:
    """A freshly migrated database: a SQLite file, then a real PostgreSQL database.

    Without ``DOORSTEP_TEST_POSTGRES_URL`` the PostgreSQL run is skipped, and the
    skip is listed in the test summary.
    """
    if request.param == "sqlite":
        from doorstep.store.database import upgrade

        url = f"sqlite:///{tmp_path / 'doorstep.db'}"
        upgrade(url)
        yield url
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base or _postgres_template is None:
        pytest.skip(f"PostgreSQL not available: set {POSTGRES_ENV} (scripts/test-postgres.sh)")
    from databases import create_database, drop_database

    name = f"doorstep_test_{uuid.uuid4().hex[:10]}"
    url = create_database(base, name, template=_postgres_template)
    yield url
    drop_database(base, name)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a freshly migrated database (SQLite, then PostgreSQL)."""
    from doorstep.store.database import make_engine, session_factory

    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()
