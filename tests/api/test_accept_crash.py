"""An accept killed half-way (SIGKILL, a real process death): all or nothing after restart.

A child process opens its own connection to the test database and accepts the
breakdown's hand-over proposal with a hook that kills the process (SIGKILL)
right after the first new route version is written, inside the transaction.
The service then sees the day exactly as before: no route version, the
proposal still open; accepting again succeeds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from .conftest import Service
from .test_dispatch import DAY, _broken_day, _snapshot

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime, UTC
    from doorstep.service import proposals as rules
    from doorstep.settings import Settings
    from doorstep.store.database import make_engine, session_factory, transaction

    url, proposal_id = sys.argv[1], sys.argv[2]
    real = rules._new_version
    calls = []

    def dying(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    rules._new_version = dying
    settings = Settings(database_url=url, router="straight", monitor_interval_s=0)
    sessions = session_factory(make_engine(url))
    with transaction(sessions) as db:
        rules.accept(db, proposal_id, None, "crash", settings, datetime.now(UTC))
    print("not killed")
    """
)


def test_an_accept_killed_half_way_leaves_nothing(service: Service, database_url: str) -> None:
    """SIGKILL after the first new route version: after restart nothing of it is there."""
    c = service.client
    dispatcher, exception_id, _ = _broken_day(service)
    before = _snapshot(service, dispatcher)
    proposals = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    hand_over = next(p for p in proposals if p["kind"] == "hand_over")
    child = subprocess.run(
        [sys.executable, "-c", CHILD, database_url, hand_over["id"]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stdout + child.stderr
    assert _snapshot(service, dispatcher) == before
    again = c.get(f"/v1/exceptions/{exception_id}/proposals", headers=dispatcher).json()
    assert {p["id"]: p["status"] for p in again}[hand_over["id"]] == "open"
    log = c.get(f"/v1/decisions?day={DAY.isoformat()}", headers=dispatcher).json()
    assert log == []
    done = c.post(f"/v1/proposals/{hand_over['id']}/accept", headers=dispatcher)
    assert done.status_code == 200, done.text
    assert _snapshot(service, dispatcher) != before
