"""``doorstep audit``: a scripted day read from the store, as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.conftest import Service, service  # noqa: F401  (the fixture)
from api.test_audit import EARLY, LATE, _drive_late
from api.test_dispatch import DAY, published_day
from doorstep.cli import app

runner = CliRunner()


def test_audit_json_and_table(
    service: Service,  # noqa: F811
    database_url: str,
) -> None:
    """The CLI prints the API's audit: every route of the day, causes adding up, one route."""
    dispatcher, routes = published_day(service)
    late_route = routes[0]
    _drive_late(service, late_route, dispatcher)
    day = DAY.isoformat()
    result = runner.invoke(
        app, ["audit", "--day", day, "--format", "json", "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    audits = json.loads(result.output)
    assert sorted(a["route_id"] for a in audits) == sorted(r["id"] for r in routes)
    late = next(a for a in audits if a["route_id"] == late_route["id"])
    api = service.client.get(f"/v1/routes/{late_route['id']}/audit", headers=dispatcher).json()
    assert late == api
    assert all(
        [(c["cause"], c["seconds"]) for c in s["causes"]]
        == [("late_departure", LATE - EARLY), ("driving", EARLY)]
        for s in late["stops"]
    )
    result = runner.invoke(
        app, ["audit", "--day", day, "--route", late_route["id"], "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert late_route["id"] in result.output and "late departure +29.0" in result.output
    assert "failed: not_home" in result.output
    other = next(r for r in routes if r["id"] != late_route["id"])
    assert other["id"] not in result.output


def test_audit_mistakes_are_clear(
    service: Service,  # noqa: F811
    database_url: str,
    tmp_path: Path,
) -> None:
    """A bad day, an unknown route or an empty database: exit 2, a message, no traceback."""
    published_day(service)
    day = DAY.isoformat()
    for args, message in (
        (["--day", "tuesday"], "not a date"),
        (["--day", day, "--route", "nope"], "no route 'nope'"),
        (["--day", "2020-01-01", "--route", "nope"], "no route"),
    ):
        result = runner.invoke(app, ["audit", *args, "--database-url", database_url])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(app, ["audit", "--day", day, "--database-url", empty])
    assert result.exit_code == 2 and "doorstep db upgrade" in result.output
    result = runner.invoke(app, ["audit", "--day", "2020-01-01", "--database-url", database_url])
    assert result.exit_code == 0 and "no published routes" in result.output
