"""Shared console plumbing: where output goes, and how a user mistake is reported."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from doorstep.errors import DoorstepError

stdout = Console(highlight=False, soft_wrap=False)
stderr = Console(stderr=True, highlight=False)

EXIT_USER_ERROR = 2


def fail(error: DoorstepError) -> NoReturn:
    """Print a user mistake as one clear message (no traceback) and exit with code 2."""
    stderr.print(f"[bold red]error[/] [dim]({error.code})[/]: {error.message}", markup=True)
    if error.hint:
        stderr.print(f"  {error.hint}", markup=False)
    raise typer.Exit(EXIT_USER_ERROR)
