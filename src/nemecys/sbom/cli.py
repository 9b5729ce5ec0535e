"""`nemecys sbom ...` commands.

Exit codes follow nemecys.cli: 0 when the command ran (a poor SBOM still exits 0, because the
report is the result), 2 when the SBOM or an option cannot be used.
"""

from __future__ import annotations

import io
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from nemecys.errors import InputError

app = typer.Typer(
    help="Read SBOMs, check their quality, scan them for vulnerabilities.", no_args_is_help=True
)

EXIT_INVALID_INPUT = 2
_MEBIBYTE = 1024 * 1024


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command()
def quality(
    sbom: Annotated[
        Path, typer.Argument(help="SBOM file: CycloneDX JSON/XML, SPDX JSON/tag-value/JSON-LD.")
    ],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file instead of stdout."),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(
            help="Date (YYYY-MM-DD) to compare end-of-support dates with; default: today."
        ),
    ] = None,
    details: Annotated[
        bool, typer.Option("--details", help="Add a row per component to the table.")
    ] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help="Also validate against the format's schema (CycloneDX schemas; SPDX 2 needs spdx-tools).",
        ),
    ] = False,
    max_size: Annotated[int, typer.Option(help="Largest SBOM to read, in MiB.", min=1)] = 64,
) -> None:
    """Check an SBOM for the NTIA minimum elements and the FDA support fields."""
    from nemecys.fileio import write_atomic
    from nemecys.sbom.quality import check_quality
    from nemecys.sbom.readers import parse_sbom_bytes, read_sbom_bytes
    from nemecys.sbom.render import quality_tables
    from nemecys.sbom.validation import validate_sbom

    err = Console(stderr=True, soft_wrap=True)
    checked_on = _parse_date(today, err)
    try:
        data = read_sbom_bytes(sbom, max_bytes=max_size * _MEBIBYTE)
        reading = parse_sbom_bytes(data, source=str(sbom))
    except InputError as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None

    schema_errors = validate_sbom(data, reading.document) if validate else None
    report = check_quality(
        reading.document,
        today=checked_on,
        reader_warnings=(*reading.defects, *reading.warnings),
        schema_errors=schema_errors,
    )

    if output_format is OutputFormat.JSON:
        text = report.model_dump_json(indent=2) + "\n"
    elif output is None:
        Console().print(quality_tables(report, details=details))
        return
    else:
        buffer = io.StringIO()
        Console(file=buffer, width=140, color_system=None).print(
            quality_tables(report, details=details)
        )
        text = buffer.getvalue()
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(output, text)
        err.print(f"wrote {output} (score {report.score:.1f} / 100)", highlight=False)


def _parse_date(value: str | None, err: Console) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"invalid --today '{value}': expected a date such as 2026-01-31", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
