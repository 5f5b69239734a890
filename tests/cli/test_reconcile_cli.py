"""``doorstep reconcile``: the day read from the store, as a table and as JSON; bad options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from api.conftest import Service, service  # noqa: F401  (the fixture)
from api.test_dispatch import DAY, H, at, published_day, scan_until_eleven
from doorstep.cli import app

runner = CliRunner()


def _parcels(service: Service, route: dict[str, Any], headers: dict[str, str]) -> list[set[str]]:  # noqa: F811
    stops = service.client.get(f"/v1/routes/{route['id']}", headers=headers).json()["stops"]
    return [set(s["parcel_ids"]) for s in stops]


def test_the_day_as_json_and_as_a_table(service: Service, database_url: str) -> None:  # noqa: F811
    """One van out with two stops delivered, the other not scanned: the buckets and gaps at noon."""
    dispatcher, (out, idle) = published_day(service)
    scan_until_eleven(service, out, 2, "a")
    stops = _parcels(service, out, dispatcher)
    idle_parcels = set().union(*_parcels(service, idle, dispatcher))
    noon = at(12 * H).isoformat()
    args = ["reconcile", "--day", DAY.isoformat(), "--at", noon, "--database-url", database_url]

    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["parcels"] == 12
    buckets = {name: set(b["parcel_ids"]) for name, b in body["buckets"].items()}
    assert buckets["terminal"] == stops[0] | stops[1]
    assert buckets["out_for_delivery"] == set().union(*stops[2:])
    assert buckets["manifest"] == idle_parcels
    assert set(body["anomalies"]["never_at_depot"]["parcel_ids"]) == idle_parcels
    assert body["end_of_day"] is False

    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert f"Reconciliation of {DAY.isoformat()} at {DAY.isoformat()} 12:00" in table.output
    assert "12 parcels" in table.output
    assert "never_at_depot" in table.output and "delivered" in table.output


def test_bad_options_exit_2_without_a_traceback(tmp_path: Path) -> None:
    """A wrong day, a moment without a zone and a database never upgraded: exit 2, one message."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    cases = [
        (["--day", "2026-13-01"], "is not a date"),
        (["--day", "9999-12-31"], "give a day between"),
        (["--day", "2026-05-04", "--at", "2026-05-04T12:00"], "has no time zone"),
        (["--day", "2026-05-04", "--at", "noon"], "is not a date and time"),
        (["--day", "2026-05-04"], "doorstep db upgrade"),
    ]
    for options, message in cases:
        result = runner.invoke(app, ["reconcile", *options, "--database-url", url])
        assert result.exit_code == 2, (options, result.output)
        assert message in result.output, (options, result.output)
        assert "Traceback" not in result.output
