"""Signed session cookies, tracking form tokens and where the signing secret comes from."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from doorstep.api.app import create_app
from doorstep.settings import Settings
from doorstep.store.database import upgrade
from doorstep.web.sessions import (
    SecretMissingError,
    WebSession,
    decode,
    encode,
    new_session,
    resolve_secret,
    tracking_csrf,
    tracking_csrf_ok,
)

KEY = b"k" * 32


def test_a_session_round_trips_and_resists_tampering() -> None:
    """encode/decode keep the session; any changed byte, another key or expiry give None."""
    session = new_session("acc_1", 60)
    value = encode(session, KEY)
    assert decode(value, KEY) == session
    assert decode(value, b"another key of thirty-two bytes!") is None
    head, _, tail = value.partition(".")
    assert (
        decode(head[:-2] + ("A" if head[-2] != "A" else "B") + head[-1] + "." + tail, KEY) is None
    )
    assert decode(value + "x", KEY) is None
    assert decode("garbage", KEY) is None and decode("", KEY) is None
    assert decode(value, KEY, now=time.time() + 61) is None


def test_a_signed_but_malformed_payload_is_refused() -> None:
    """A payload of the wrong shape is refused even with a good signature."""
    odd = WebSession(123, "token", int(time.time()) + 60)  # type: ignore[arg-type]
    assert decode(encode(odd, KEY), KEY) is None


def test_tracking_tokens_are_bound_to_their_link_and_expire() -> None:
    """A tracking form token works for its link for a day, not for another link."""
    now = time.time()
    token = tracking_csrf(KEY, "tokA", now)
    assert tracking_csrf_ok(KEY, "tokA", token, now + 3600)
    assert not tracking_csrf_ok(KEY, "tokB", token, now)
    assert not tracking_csrf_ok(KEY, "tokA", token, now + 2 * 86_400)
    assert not tracking_csrf_ok(KEY, "tokA", token, now - 60)  # issued in the future
    assert not tracking_csrf_ok(b"x" * 32, "tokA", token, now)
    for bad in ("", None, "abc", "12.", ".xyz"):
        assert not tracking_csrf_ok(KEY, "tokA", bad, now)


def test_a_sqlite_secret_is_made_once_and_kept(tmp_path: Path) -> None:
    """Unset on SQLite, the secret is generated beside the file (mode 0600) and read again."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}")
    first = resolve_secret(settings)
    kept = tmp_path / "d.db.session-secret"
    assert kept.exists() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert resolve_secret(settings) == first and len(first) >= 32
    assert resolve_secret(Settings(database_url="sqlite://")) != resolve_secret(
        Settings(database_url="sqlite://")
    )  # in memory: random each time, nothing written


def test_the_setting_wins_and_postgresql_needs_it() -> None:
    """session_secret is used as given; without it, PostgreSQL refuses clearly."""
    url = "postgresql+psycopg://u:p@127.0.0.1:1/db"
    assert resolve_secret(Settings(database_url=url, session_secret="z" * 40)) == b"z" * 40
    with pytest.raises(SecretMissingError, match="DOORSTEP_SESSION_SECRET"):
        resolve_secret(Settings(database_url=url))


def test_without_a_secret_the_pages_say_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no secret can be had, the sign-in page is a 503 naming the setting; the API works."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)

    def missing(settings: Settings) -> bytes:
        raise SecretMissingError("The web pages need a signing secret: set DOORSTEP_SESSION_SECRET")

    monkeypatch.setattr("doorstep.web.sessions.resolve_secret", missing)
    settings = Settings(database_url=url, router="straight", dispatch_webhooks=False)
    with TestClient(create_app(settings)) as client:
        r = client.get("/login")
        assert r.status_code == 503 and "DOORSTEP_SESSION_SECRET" in r.text
        assert client.get("/v1/track/" + "0" * 32).status_code == 404
