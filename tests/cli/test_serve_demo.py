"""``doorstep serve --demo``: the setting up (not the server loop) makes a day ready to watch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from doorstep.api.app import create_app
from doorstep.cli import app
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import make_engine, session_factory, transaction

runner = CliRunner()


def _sign_in(client: TestClient, username: str, password: str) -> Any:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    data = {"username": username, "password": password, "csrf_token": token.group(1)}
    return client.post("/login", data=data)


def test_serve_demo_publishes_the_sample_day_and_prints_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample day is planned and published today, and each printed account signs in."""
    import uvicorn

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.update(kwargs))
    monkeypatch.setenv("DOORSTEP_ROUTER", "straight")
    monkeypatch.setenv("DOORSTEP_PLAN_TIME_LIMIT_S", "1")
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", "sqlite:///unused.db")  # restored afterwards
    folder = tmp_path / "demo"
    result = runner.invoke(app, ["serve", "--demo", "--demo-dir", str(folder), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "Open http://127.0.0.1:8123/login" in result.output
    assert served["workers"] == 1 and served["port"] == 8123
    accounts = re.findall(r"^\s+(\w+)\s+(demo-\w+)\s+(\S+)$", result.output, re.MULTILINE)
    assert [a[0] for a in accounts] == ["admin", "planner", "dispatcher", "driver"]
    url = f"sqlite:///{(folder / 'doorstep.db').resolve()}"
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as db:
            plans = db.scalars(select(t.Plan)).all()
            assert [p.status for p in plans] == ["published"]
            states = set(db.scalars(select(t.Route.state).where(t.Route.plan_id == plans[0].id)))
            planned = db.scalar(
                select(func.count()).select_from(t.Order).where(t.Order.status == "planned")
            )
    finally:
        engine.dispose()
    assert states == {"published"}
    assert planned is not None and planned > 250  # 286 accepted by the gate, 1 or so left out
    settings = Settings(database_url=url, router="straight", monitor_interval_s=0)
    with TestClient(create_app(settings)) as client:
        for role, username, password in accounts:
            home = _sign_in(client, username, password)
            assert home.status_code == 200 and f"({role})" in home.text, role
            client.cookies.clear()
    again = runner.invoke(app, ["serve", "--demo", "--demo-dir", str(folder)])
    assert again.exit_code == 2 and "exists already" in again.output
