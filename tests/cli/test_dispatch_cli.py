"""``doorstep dispatch``: exceptions and proposals listed, one accepted, against the service."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from api.conftest import Service, service  # noqa: F401  (the fixture)
from api.test_dispatch import H, at, published_day, scan_until_eleven
from doorstep.cli import app
from doorstep.cli import dispatch as cli

runner = CliRunner()


class _Client:
    """The test client in place of an HTTP connection, carrying the CLI's key."""

    def __init__(self, running: Service, key: str) -> None:
        self.client = running.client
        self.headers = {"Authorization": f"Bearer {key}"}

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def request(self, method: str, path: str, json: Any = None) -> Any:
        return self.client.request(method, path, json=json, headers=self.headers)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_breakdown_seen_and_handled_from_the_command_line(
    service: Service,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    """Exceptions shows the breakdown's sentence, proposals its cost, accept applies one."""
    dispatcher, routes = published_day(service)
    scan_until_eleven(service, routes[0], 2, "a")
    scan_until_eleven(service, routes[1], 2, "b")
    service.app.state.clock = lambda: at(11 * H + 60)  # type: ignore[attr-defined]
    incident = {"kind": "breakdown", "at": at(11 * H).isoformat()}
    made = service.client.post(
        f"/v1/routes/{routes[0]['id']}/incidents", json=incident, headers=dispatcher
    )
    exception_id = made.json()["exception_id"]
    key = dispatcher["Authorization"].removeprefix("Bearer ")
    monkeypatch.setattr(cli, "make_client", lambda url, k: _Client(service, k))

    listed = runner.invoke(app, ["dispatch", "exceptions", "--key", key], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.output
    assert exception_id in listed.output and "vehicle_unavailable" in listed.output

    shown = runner.invoke(app, ["dispatch", "proposals", exception_id, "--key", key, "--json"])
    assert shown.exit_code == 0, shown.output
    proposals = json.loads(shown.output)
    hand_over = next(p for p in proposals if p["kind"] == "hand_over")

    done = runner.invoke(
        app, ["dispatch", "accept", hand_over["id"], "--reason", "room", "--key", key]
    )
    assert done.exit_code == 0, done.output
    assert "new route versions" in done.output
    again = runner.invoke(app, ["dispatch", "accept", hand_over["id"], "--key", key])
    assert again.exit_code == 1 and "proposal_closed" in again.output


def test_no_key_and_no_service_exit_2() -> None:
    """Without a key, or with nothing listening, the command says what to do and exits 2."""
    assert (
        runner.invoke(app, ["dispatch", "exceptions"], env={"DOORSTEP_API_KEY": ""}).exit_code == 2
    )
    gone = runner.invoke(
        app, ["dispatch", "exceptions", "--key", "k", "--url", "http://127.0.0.1:9"]
    )
    assert gone.exit_code == 2 and "doorstep serve" in gone.output
