"""`nemecys sbom ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Read SBOMs, check their quality, scan them for vulnerabilities.", no_args_is_help=True)
