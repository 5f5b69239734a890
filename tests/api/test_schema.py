"""schemathesis against the service's OpenAPI schema: no 5xx, and every answer as documented.

Each generated request is checked for a server error, a status code the
operation does not document, a content type it does not document, and a body
that breaks the documented response schema. A short stateful run follows the
links schemathesis infers (create a resource, then read it).

The app runs on a migrated SQLite file, and on a real PostgreSQL database when
``DOORSTEP_TEST_POSTGRES_URL`` is set (where column limits are enforced). Every
request carries an admin key, so generation reaches past authentication.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from databases import create_database, drop_database
from doorstep.api.app import create_app
from doorstep.api.security import Role, create_key
from doorstep.settings import Settings
from doorstep.store.database import transaction, upgrade


def _app(url: str) -> tuple[Any, dict[str, str]]:
    upgrade(url)
    app = create_app(Settings(database_url=url, router="straight", dispatch_webhooks=False))
    with transaction(app.state.sessions) as db:
        secret, _ = create_key(db, Role.ADMIN, "schemathesis")
    return app, {"Authorization": f"Bearer {secret}"}


SQLITE_APP, SQLITE_KEY = _app(f"sqlite:///{Path(tempfile.mkdtemp()) / 'schema.db'}")
sqlite_schema = schemathesis.openapi.from_asgi("/openapi.json", SQLITE_APP)

_POSTGRES = os.environ.get("DOORSTEP_TEST_POSTGRES_URL")
if _POSTGRES:
    _NAME = f"doorstep_schema_{uuid.uuid4().hex[:8]}"
    POSTGRES_APP, POSTGRES_KEY = _app(create_database(_POSTGRES, _NAME))
    atexit.register(lambda: (POSTGRES_APP.state.engine.dispose(), drop_database(_POSTGRES, _NAME)))
    postgres_schema = schemathesis.openapi.from_asgi("/openapi.json", POSTGRES_APP)
else:  # the same operations, skipped visibly below
    POSTGRES_KEY = SQLITE_KEY
    postgres_schema = sqlite_schema

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
"""What every answer must pass (schemathesis 4's checks)."""

FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@sqlite_schema.parametrize()
@FAST
def test_no_server_errors_on_sqlite(case: Any) -> None:
    """Whatever the schema allows, the service answers below 500 (SQLite)."""
    case.call_and_validate(headers=SQLITE_KEY, checks=CHECKS)


@postgres_schema.parametrize()
@FAST
def test_no_server_errors_on_postgresql(case: Any) -> None:
    """Whatever the schema allows, the service answers below 500 (PostgreSQL)."""
    if not _POSTGRES:
        pytest.skip("PostgreSQL not available: set DOORSTEP_TEST_POSTGRES_URL")
    case.call_and_validate(headers=POSTGRES_KEY, checks=CHECKS)


StatefulSqlite = sqlite_schema.as_state_machine()
StatefulSqlite.TestCase.settings = settings(
    max_examples=10,
    stateful_step_count=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


class _Calls:
    """The admin key and the checks on every step of the stateful run."""

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": SQLITE_KEY}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response, checks=CHECKS)


class TestStatefulOnSqlite(_Calls, StatefulSqlite.TestCase):  # type: ignore[misc,name-defined]
    """Chains of calls along the inferred links (SQLite): no 5xx, answers as documented."""
