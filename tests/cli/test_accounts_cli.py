"""``doorstep accounts``: add (password from stdin), list, disable and enable."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from doorstep.cli import app
from doorstep.service.accounts import authenticate
from doorstep.store.database import make_engine, session_factory, transaction, upgrade

runner = CliRunner()


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'doorstep.db'}"
    upgrade(url)
    return url


def test_add_list_disable(tmp_path: Path) -> None:
    """An account added from stdin signs in; list shows it (no hash); disable stops it."""
    url = _db(tmp_path)
    r = runner.invoke(
        app,
        ["accounts", "add", "Pia", "--role", "planner", "--password-stdin", "--database-url", url],
        input="correct horse battery\n",
    )
    assert r.exit_code == 0, r.output
    assert "account pia (planner) created" in r.output
    listed = runner.invoke(app, ["accounts", "list", "--database-url", url])
    assert listed.exit_code == 0 and "pia\tplanner\t-\tactive" in listed.output
    assert "scrypt" not in listed.output
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as db:
            assert authenticate(db, "pia", "correct horse battery") is not None
        r = runner.invoke(app, ["accounts", "disable", "pia", "--database-url", url])
        assert r.exit_code == 0 and "account pia disabled" in r.output
        with transaction(session_factory(engine)) as db:
            assert authenticate(db, "pia", "correct horse battery") is None
    finally:
        engine.dispose()


def test_mistakes_are_one_message(tmp_path: Path) -> None:
    """A weak password, an unknown role, a taken name or an empty database: exit 2, a message."""
    url = _db(tmp_path)
    add = ["accounts", "add", "--password-stdin", "--database-url", url]
    r = runner.invoke(app, [*add, "pia", "--role", "planner"], input="short\n")
    assert r.exit_code == 2 and "weak_password" in r.output
    r = runner.invoke(app, [*add, "pia", "--role", "integration"], input="long enough pass\n")
    assert r.exit_code == 2 and "invalid_role" in r.output
    r = runner.invoke(app, [*add, "ville", "--role", "driver"], input="long enough pass\n")
    assert r.exit_code == 2 and "driver_account_needs_driver" in r.output
    assert (
        runner.invoke(app, [*add, "pia", "--role", "admin"], input="long enough pass\n").exit_code
        == 0
    )
    r = runner.invoke(app, [*add, "pia", "--role", "admin"], input="long enough pass\n")
    assert r.exit_code == 2 and "username_taken" in r.output
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    r = runner.invoke(
        app,
        ["accounts", "add", "x1", "--role", "admin", "--password-stdin", "--database-url", empty],
        input="long enough pass\n",
    )
    assert r.exit_code == 2 and "doorstep db upgrade" in r.output


def test_the_password_is_asked_twice_without_stdin(tmp_path: Path) -> None:
    """Without --password-stdin the password is prompted for, hidden, and confirmed."""
    url = _db(tmp_path)
    r = runner.invoke(
        app,
        ["accounts", "add", "dora", "--role", "dispatcher", "--database-url", url],
        input="long enough pass\nlong enough pass\n",
    )
    assert r.exit_code == 0, r.output
    assert "long enough pass" not in r.output
