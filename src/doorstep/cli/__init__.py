"""The ``doorstep`` command line: one Typer app, one module per command."""

from __future__ import annotations

import typer

from doorstep import __version__
from doorstep.cli.accounts import accounts_app
from doorstep.cli.audit import audit_command
from doorstep.cli.bench import bench_command, solve_command
from doorstep.cli.dispatch import dispatch_app
from doorstep.cli.kpi import export_command, kpi_command
from doorstep.cli.network import matrix_command, network_app
from doorstep.cli.plan import plan_command
from doorstep.cli.reconcile import reconcile_command
from doorstep.cli.report import report_command
from doorstep.cli.risk import risk_app
from doorstep.cli.serve import db_app, keys_app, serve_command
from doorstep.cli.simulate import simulate_command
from doorstep.cli.validate import validate_command

app = typer.Typer(
    name="doorstep",
    help=(
        "Doorstep: check the day's delivery manifest, plan routes on real roads, "
        "run the day, learn from it.\n\nStart with: doorstep validate ORDERS.csv --fleet FLEET.csv"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
app.command("validate")(validate_command)
app.command("plan")(plan_command)
app.command("matrix")(matrix_command)
app.command("solve")(solve_command)
app.command("bench")(bench_command)
app.add_typer(network_app, name="network")
app.command("serve")(serve_command)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
app.add_typer(dispatch_app, name="dispatch")
app.command("kpi")(kpi_command)
app.command("export")(export_command)
app.command("audit")(audit_command)
app.command("reconcile")(reconcile_command)
app.command("report")(report_command)
app.add_typer(risk_app, name="risk")
app.command("simulate")(simulate_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"doorstep {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Doorstep: last-mile delivery planning."""


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
