"""``doorstep dispatch``: the day's exceptions and proposals, from a running service.

Talks to the service's API (``--url``, ``DOORSTEP_URL``) with a dispatcher's key
(``--key``, ``DOORSTEP_API_KEY``). Exit codes: 0 done, 1 the service refused
(the reason is printed), 2 the service could not be reached or the options are
wrong.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

dispatch_app = typer.Typer(
    help=(
        "Run the day against a running service: list exceptions, see their proposals "
        "with their cost, accept or reject one.\n\n"
        "Start with: doorstep dispatch exceptions --status open"
    ),
    no_args_is_help=True,
)

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="DOORSTEP_URL", help="The service's address."),
]
KeyOption = Annotated[
    str,
    typer.Option(
        "--key",
        envvar="DOORSTEP_API_KEY",
        help="A dispatcher's (or admin's) API key.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the service's JSON as it is.")]

DEFAULT_URL = "http://127.0.0.1:8000"


def make_client(url: str, key: str) -> httpx.Client:
    """An HTTP client for the service at ``url`` carrying ``key`` (tests replace this)."""
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _call(url: str, key: str, method: str, path: str, body: Any = None) -> Any:
    """Send one request; exit 2 when unreachable, 1 with the problem's detail when refused."""
    if not key:
        typer.echo("No API key: pass --key or set DOORSTEP_API_KEY.", err=True)
        raise typer.Exit(2)
    try:
        with make_client(url, key) as client:
            response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        typer.echo(
            f"Cannot reach the service at {url}: {exc}. Is `doorstep serve` running?", err=True
        )
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = f"{problem.get('code', 'error')}: {problem.get('detail', response.text)}"
        except ValueError:
            detail = response.text
        typer.echo(f"The service refused ({response.status_code}) {detail}", err=True)
        raise typer.Exit(1)
    return response.json()


def _delta(delta: dict[str, Any]) -> str:
    parts = []
    for name, unit in (("km", " km"), ("duty_min", " min"), ("late_stops", " late")):
        if name in delta:
            parts.append(f"{delta[name]:+g}{unit}")
    for name, label in (("stops_moved", "moved"), ("orders_put_off", "put off")):
        if delta.get(name):
            parts.append(f"{delta[name]} {label}")
    if delta.get("customers_notified"):
        parts.append(f"{delta['customers_notified']} told")
    return ", ".join(parts)


@dispatch_app.command("exceptions")
def exceptions_command(
    day: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD); all days if left out.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, acknowledged or resolved; all if left out.")
    ] = "open",
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """The day's exceptions, most severe first, each with its sentence."""
    params = {k: v for k, v in (("day", day), ("status", status)) if v}
    query = "&".join(f"{k}={v}" for k, v in params.items())
    rows = _call(url, key, "GET", f"/v1/exceptions{'?' + query if query else ''}")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    order = {"high": 0, "medium": 1, "low": 2}
    table = Table(title=f"{len(rows)} exception{'s' if len(rows) != 1 else ''}")
    for column in ("id", "severity", "type", "route", "status", "what happened"):
        table.add_column(column, overflow="fold")
    for row in sorted(rows, key=lambda r: (order.get(r["severity"], 3), r["first_seen"])):
        table.add_row(
            row["id"],
            row["severity"],
            row["kind"],
            row["route_id"] or "",
            row["status"],
            row["sentence"],
        )
    Console().print(table)


@dispatch_app.command("proposals")
def proposals_command(
    exception_id: Annotated[
        str, typer.Argument(help="The exception (from `dispatch exceptions`).")
    ],
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """The exception's proposals with what each costs (computed by its playbook)."""
    rows = _call(url, key, "GET", f"/v1/exceptions/{exception_id}/proposals")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Proposals for {exception_id}")
    for column in ("id", "kind", "status", "cost", "proposal"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["kind"], row["status"], _delta(row["delta"]), row["sentence"])
    Console().print(table)


@dispatch_app.command("accept")
def accept_command(
    proposal_id: Annotated[str, typer.Argument(help="The proposal to apply.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the decision log).")] = "",
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Apply a proposal: new route versions, ETA notices, the decision logged."""
    out = _call(url, key, "POST", f"/v1/proposals/{proposal_id}/accept", {"reason": reason})
    routes = ", ".join(out["new_routes"]) or "none"
    typer.echo(
        f"Accepted {proposal_id}: new route versions {routes}; {out['eta_notices']} customers told."
    )


@dispatch_app.command("reject")
def reject_command(
    proposal_id: Annotated[str, typer.Argument(help="The proposal to turn down.")],
    reason: Annotated[str, typer.Option(help="Why (required, kept in the decision log).")],
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Reject a proposal with a reason; the exception stays, acknowledged."""
    _call(url, key, "POST", f"/v1/proposals/{proposal_id}/reject", {"reason": reason})
    typer.echo(f"Rejected {proposal_id}.")
