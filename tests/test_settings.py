"""Service settings: doorstep.toml, environment variables over it, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from doorstep.settings import Settings


def test_toml_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values come from the file named by DOORSTEP_CONFIG; an environment variable wins."""
    config = tmp_path / "doorstep.toml"
    config.write_text('database_url = "sqlite:///from-file.db"\nrouter = "osrm"\n')
    monkeypatch.setenv("DOORSTEP_CONFIG", str(config))
    monkeypatch.delenv("DOORSTEP_DATABASE_URL", raising=False)
    assert Settings().database_url == "sqlite:///from-file.db"
    assert Settings().router == "osrm"
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", "sqlite:///from-env.db")
    assert Settings().database_url == "sqlite:///from-env.db"


def test_bad_values_and_unknown_keys_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown router, a short admin key or a misspelt setting in the file is an error."""
    monkeypatch.setenv("DOORSTEP_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DOORSTEP_ROUTER", "teleport")
    with pytest.raises(ValidationError, match="router"):
        Settings()
    monkeypatch.delenv("DOORSTEP_ROUTER")
    with pytest.raises(ValidationError, match="admin_key"):
        Settings(admin_key="short")
    config = tmp_path / "typo.toml"
    config.write_text('databse_url = "sqlite:///x.db"\n')
    monkeypatch.setenv("DOORSTEP_CONFIG", str(config))
    with pytest.raises(ValidationError, match="databse_url"):
        Settings()
