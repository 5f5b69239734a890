"""``doorstep accounts add|list|disable|enable``: people who sign in to the web pages.

Exit codes: 0 done, 2 a mistake (one message, no traceback). See docs/web.md.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.cli.output import fail, stdout
from doorstep.cli.serve import UrlOption, load_settings
from doorstep.errors import DoorstepError, InputError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

accounts_app = typer.Typer(
    help="Accounts for people who sign in to the web pages (passwords stored as scrypt hashes).",
    no_args_is_help=True,
)


def _sessions(database_url: str | None) -> tuple[Engine, sessionmaker[Session]]:
    """An engine and its session factory for the configured, migrated database."""
    from doorstep.store.database import (
        current_revision,
        head_revision,
        make_engine,
        session_factory,
    )

    settings = load_settings(database_url)
    try:
        engine = make_engine(settings.database_url)
        revision = current_revision(engine)
    except DoorstepError as exc:
        fail(exc)
    except Exception as exc:  # the server is down, the file is not a database...
        fail(InputError(f"cannot open the database: {exc}", hint="Check --database-url."))
    if revision != head_revision():
        engine.dispose()
        state = "is empty" if revision is None else f"is at revision {revision}"
        fail(InputError(f"the database {state}", hint="Run: doorstep db upgrade"))
    return engine, session_factory(engine)


def _read_password(from_stdin: bool) -> str:
    """The password: the first line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail(InputError("--password-stdin: stdin is empty", hint="Pipe the password in."))
        return line.rstrip("\r\n")
    typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


@accounts_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="How the person signs in (lower case).")],
    role: Annotated[str, typer.Option(help="admin, planner, dispatcher or driver.")],
    driver_id: Annotated[
        str | None,
        typer.Option(
            "--driver-id", help="The driver a driver account is (it sees only its route)."
        ),
    ] = None,
    display_name: Annotated[
        str, typer.Option("--display-name", help="How pages name the person.")
    ] = "",
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of stdin (scripts)."
        ),
    ] = False,
    database_url: UrlOption = None,
) -> None:
    """Create an account; the password is asked for (twice) unless --password-stdin is given."""
    from doorstep.service.accounts import create_account
    from doorstep.store.database import transaction

    engine, sessions = _sessions(database_url)
    try:
        password = _read_password(password_stdin)
        with transaction(sessions) as db:
            row = create_account(
                db,
                username,
                role,
                password,
                display_name=display_name,
                driver_id=driver_id,
            )
            shown = f"{row.username} ({row.role}"
            shown += f", driver {row.driver_id})" if row.driver_id else ")"
    except DoorstepError as exc:
        fail(exc)
    finally:
        engine.dispose()
    stdout.print(f"account {shown} created; sign in at /login")


@accounts_app.command("list")
def list_command(database_url: UrlOption = None) -> None:
    """List the accounts, tab-separated: username, role, driver, state, name (never a hash)."""
    from doorstep.store.database import transaction
    from doorstep.store.queries.accounts import all_accounts

    engine, sessions = _sessions(database_url)
    try:
        with transaction(sessions) as db:
            lines = [
                f"{r.username}\t{r.role}\t{r.driver_id or '-'}\t"
                f"{'disabled' if r.disabled else 'active'}\t{r.display_name}"
                for r in all_accounts(db)
            ]
    finally:
        engine.dispose()
    for line in lines:  # tab-separated, for scripts (rich would expand the tabs)
        typer.echo(line)


def _set_disabled(username: str, disabled: bool, database_url: str | None) -> None:
    from doorstep.service.accounts import set_disabled
    from doorstep.store.database import transaction

    engine, sessions = _sessions(database_url)
    try:
        with transaction(sessions) as db:
            name = set_disabled(db, username, disabled).username
    except DoorstepError as exc:
        fail(exc)
    finally:
        engine.dispose()
    stdout.print(f"account {name} {'disabled' if disabled else 'enabled'}")


@accounts_app.command("disable")
def disable_command(username: str, database_url: UrlOption = None) -> None:
    """Disable an account: it cannot sign in, and its open sessions stop working."""
    _set_disabled(username, True, database_url)


@accounts_app.command("enable")
def enable_command(username: str, database_url: UrlOption = None) -> None:
    """Enable a disabled account again."""
    _set_disabled(username, False, database_url)
