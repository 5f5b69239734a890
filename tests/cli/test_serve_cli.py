"""``doorstep db``, ``doorstep keys`` and ``doorstep serve``: a real server, restarted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from doorstep.cli import app

runner = CliRunner()


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'service.db'}"


def test_db_upgrade_then_keys(tmp_path: Path) -> None:
    """An empty database is refused until upgraded; then a key is printed once."""
    url = _url(tmp_path)
    result = runner.invoke(app, ["keys", "create", "--role", "admin", "--database-url", url])
    assert result.exit_code == 2 and "doorstep db upgrade" in result.output
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0 and "revision 0008 (was empty)" in result.output
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert "revision 0008 (was 0008)" in result.output
    result = runner.invoke(app, ["keys", "create", "--role", "planner", "--database-url", url])
    assert result.exit_code == 0 and ": ds_" in result.output
    result = runner.invoke(app, ["keys", "create", "--role", "chief", "--database-url", url])
    assert result.exit_code == 2 and "unknown role" in result.output
    result = runner.invoke(app, ["db", "status", "--database-url", "not a url"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, port: int, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DOORSTEP_DATABASE_URL": url, "DOORSTEP_ROUTER": "straight"}
    process = subprocess.Popen(
        [sys.executable, "-m", "doorstep", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("doorstep serve did not start")


def test_serve_keeps_everything_across_a_restart(tmp_path: Path, database_url: str) -> None:
    """Orders and events posted to a real server are still there after it is killed.

    On SQLite and on PostgreSQL (the database is already migrated; upgrading again
    must be harmless).
    """
    url = database_url
    runner.invoke(app, ["db", "upgrade", "--database-url", url])
    key = runner.invoke(app, ["keys", "create", "--role", "admin", "--database-url", url])
    headers = {"Authorization": "Bearer " + key.output.strip().rsplit(" ", 1)[1]}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(url, port, tmp_path)
    try:
        order = {"id": "R1", "lat": 60.17, "lon": 24.94}
        assert httpx.post(f"{base}/v1/orders", json=order, headers=headers).status_code == 201
        scan = {"event_id": "e1", "parcel_id": "R1-1", "kind": "scanned_at_depot"}
        scan["at"] = "2026-11-24T07:00:00+02:00"
        r = httpx.post(f"{base}/v1/events", json={"events": [scan]}, headers=headers)
        assert r.json()["accepted"] == 1
    finally:
        server.kill()
        server.wait()
    server = _start(url, port, tmp_path)
    try:
        got = httpx.get(f"{base}/v1/orders/R1", headers=headers).json()
        assert got["status"] == "at_depot"
        r = httpx.post(f"{base}/v1/events", json={"events": [scan]}, headers=headers)
        assert r.json()["duplicates"] == 1
    finally:
        server.terminate()
        server.wait()
