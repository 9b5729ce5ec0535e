"""`nemecys db ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage the local advisory database.", no_args_is_help=True)
