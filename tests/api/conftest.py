"""The service under test: a fresh database (SQLite, then PostgreSQL) and keys per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from doorstep.api.app import create_app
from doorstep.api.security import Role, create_key
from doorstep.settings import Settings
from doorstep.store.database import transaction


class Service:
    """A test client plus a way to mint keys for any role."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.app = client.app

    def key(self, role: Role, driver_id: str | None = None) -> dict[str, str]:
        """Headers carrying a fresh key of ``role``."""
        with transaction(self.app.state.sessions) as db:  # type: ignore[attr-defined]
            secret, _ = create_key(db, role, f"test {role.value}", driver_id)
        return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    """The app on a migrated database, straight-line travel times, no webhook sender."""
    settings = Settings(
        database_url=database_url,
        router="straight",
        dispatch_webhooks=False,
        webhook_allow_private=True,  # the tests' receivers listen on 127.0.0.1
        monitor_interval_s=0,  # tests run the monitor themselves, at the moments they choose
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client)


@pytest.fixture
def admin(service: Service) -> dict[str, str]:
    """Headers with an admin key."""
    return service.key(Role.ADMIN)
