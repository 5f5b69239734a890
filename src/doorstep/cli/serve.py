"""``doorstep serve``, ``doorstep db`` and ``doorstep keys``: running the service."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from doorstep.cli.output import fail, stdout
from doorstep.errors import InputError
from doorstep.settings import Settings

db_app = typer.Typer(
    help="The service's database: migrations.", no_args_is_help=True, rich_markup_mode="rich"
)
keys_app = typer.Typer(help="API keys for the service.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: DOORSTEP_DATABASE_URL, doorstep.toml, "
        "else sqlite:///doorstep.db).",
    ),
]


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment and doorstep.toml, with a URL given on the command line."""
    try:
        return Settings() if database_url is None else Settings(database_url=database_url)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        fail(
            InputError(
                f"settings are not valid: {problems}",
                hint="Check the DOORSTEP_* environment variables and doorstep.toml.",
            )
        )


def _revision(settings: Settings) -> str | None:
    from doorstep.store.database import current_revision, make_engine

    try:
        engine = make_engine(settings.database_url)
    except InputError as exc:
        fail(exc)
    try:
        return current_revision(engine)
    except Exception as exc:  # the server is down, the file is not a database...
        fail(InputError(f"cannot open the database: {exc}", hint="Check --database-url."))
    finally:
        engine.dispose()


@db_app.command("upgrade")
def upgrade_command(database_url: UrlOption = None) -> None:
    """Create or migrate the database to the latest schema (safe to run again)."""
    from doorstep.store.database import upgrade

    settings = load_settings(database_url)
    before = _revision(settings)
    upgrade(settings.database_url)
    after = _revision(settings)
    stdout.print(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("status")
def status_command(database_url: UrlOption = None) -> None:
    """Show which migration the database is at."""
    settings = load_settings(database_url)
    revision = _revision(settings)
    stdout.print(f"database at revision {revision or 'none (run: doorstep db upgrade)'}")


@keys_app.command("create")
def create_key_command(
    role: Annotated[str, typer.Option(help="admin, planner, dispatcher, driver or integration")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
    driver: Annotated[str | None, typer.Option(help="The driver a driver key belongs to.")] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            help="The shop an integration key works for (it sees only that tenant's orders). "
            "Left out, the key is a tenant of its own."
        ),
    ] = None,
    database_url: UrlOption = None,
) -> None:
    """Create an API key and print it (once: only its hash is stored).

    The first admin key has to come from here; admins make the others over the API.
    """
    from doorstep.api.problems import ProblemError
    from doorstep.api.security import Role, create_key
    from doorstep.domain.ids import ID_RULE, id_problem
    from doorstep.store.database import make_engine, session_factory, transaction

    try:
        chosen = Role(role)
    except ValueError:
        fail(InputError(f"unknown role {role!r}", hint=f"Use one of: {', '.join(Role)}."))
    if tenant is not None and (problem := id_problem(tenant)) is not None:
        fail(InputError(f"--tenant: {problem}", hint=f"A tenant is an id: {ID_RULE}."))
    settings = load_settings(database_url)
    if _revision(settings) is None:
        fail(InputError("the database is empty", hint="Run: doorstep db upgrade"))
    engine = make_engine(settings.database_url)
    try:
        with transaction(session_factory(engine)) as db:
            secret, row = create_key(db, chosen, name, driver, tenant)
    except ProblemError as exc:
        fail(InputError(exc.detail))
    finally:
        engine.dispose()
    owner = f", tenant {row.tenant}" if row.tenant else ""
    stdout.print(f"{row.id} ({chosen.value}{owner}): {secret}")


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    database_url: UrlOption = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Start on a fresh SQLite file with the Helsinki sample day uploaded, planned "
            "and published, and print demo accounts (one per role) to sign in with.",
        ),
    ] = False,
    demo_dir: Annotated[
        Path | None,
        typer.Option(help="With --demo: the folder for the database (default: a new temp folder)."),
    ] = None,
    demo_data: Annotated[
        Path | None,
        typer.Option(help="With --demo: the sample day's folder (default: examples/helsinki)."),
    ] = None,
) -> None:
    """Run the REST API (OpenAPI docs at /docs) and the web pages (sign in at /login).

    Settings come from DOORSTEP_* environment variables or doorstep.toml. The
    database must be migrated first: doorstep db upgrade. With --demo, a fresh
    database is made and filled instead (see docs/web.md).
    """
    import uvicorn

    from doorstep.store.database import head_revision

    if demo:
        database_url = _demo(host, port, demo_dir, demo_data)
        workers = 1
    settings = load_settings(database_url)
    revision = _revision(settings)
    if revision != head_revision():
        state = "has no schema yet" if revision is None else f"is at revision {revision}"
        fail(
            InputError(
                f"the database {settings.database_url} {state}; "
                f"this Doorstep needs {head_revision()}",
                hint="Run: doorstep db upgrade",
            )
        )
    os.environ["DOORSTEP_DATABASE_URL"] = settings.database_url  # for the worker processes
    stdout.print(f"Doorstep on http://{host}:{port} (docs at /docs), {settings.database_url}")
    uvicorn.run(
        "doorstep.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        timeout_graceful_shutdown=5,  # open dispatch-board streams end, not wait
    )


def _demo(host: str, port: int, folder: Path | None, sample: Path | None) -> str:
    """Set up the demo database (:func:`doorstep.cli.demo.set_up_demo`), print how to sign in.

    Returns
    -------
    str
        The demo database's URL.
    """
    from doorstep.cli.demo import set_up_demo

    where = folder or Path(tempfile.mkdtemp(prefix="doorstep-demo-"))
    stdout.print(
        f"Setting up the demo in {where}: the Helsinki sample day, planned and published..."
    )
    try:
        made = set_up_demo(where, load_settings(), sample)
    except InputError as exc:
        fail(exc)
    stdout.print(
        f"Demo day {made.day}: {made.orders} orders on {made.routes} published routes "
        f"(plan {made.plan_id})."
    )
    stdout.print(f"Open http://{host}:{port}/login and sign in with one of these accounts:")
    for account in made.accounts:
        stdout.print(f"  {account.role:<11} {account.username:<16} {account.password}")
    stdout.print("The passwords are shown only now; the database is " + made.database_url)
    return made.database_url
