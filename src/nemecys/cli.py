"""The `nemecys` command line. The only module that prints for the user or exits the process.

Exit codes: 0 success; 1 `check` found a failing risk; 2 invalid input (model, library, SBOM,
option); 3 an unexpected internal error.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from nemecys import __version__
from nemecys.errors import NemecysError

app = typer.Typer(
    name="nemecys",
    help="Cybersecurity by design for connected medical devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
logger = logging.getLogger("nemecys")

EXIT_GATE_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_INTERNAL = 3

T = TypeVar("T")

ProjectArg = Annotated[
    Path,
    typer.Argument(help="Model file, or a folder holding nemecys.yaml.", show_default=False),
]


def _run(action: Callable[[], T]) -> T:
    """Run `action`, turning nemecys errors into a message and exit code 2."""
    try:
        return action()
    except NemecysError as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except OSError as exc:
        # A path the user gave cannot be read or written: a folder where a file is needed,
        # no permission, a full disk. Say which path and why, not a traceback.
        target = exc.filename or "a file"
        err.print(f"cannot use {target}: {exc.strerror or exc}; check the path and its permissions")
        raise typer.Exit(EXIT_INVALID_INPUT) from None


def _parse_sboms(values: list[str]) -> dict[str, Path]:
    sboms: dict[str, Path] = {}
    for value in values:
        component, sep, path = value.partition("=")
        if not sep or not component or not path:
            err.print(
                f"invalid --sbom '{value}': expected COMPONENT=PATH, e.g. nightscout-server=sbom.cdx.json"
            )
            raise typer.Exit(EXIT_INVALID_INPUT)
        sboms[component] = Path(path)
    return sboms


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages.")] = False,
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Only our own logger gets the verbose level; libraries stay quiet.
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


@app.command()
def version() -> None:
    """Print the nemecys version."""
    out.print(__version__)


@app.command()
def validate(project: ProjectArg) -> None:
    """Check a model: syntax, schema, references, and the threat ids its decisions name."""
    from nemecys.assess import prepare

    prepared = _run(lambda: prepare(project))
    model = prepared.loaded.model
    out.print(
        f"[green]valid[/green]: {prepared.loaded.path} "
        f"({len(model.components)} components, {len(model.flows)} flows, "
        f"{len(prepared.threats)} threats from {len(prepared.library.rules)} rules)"
    )


@app.command()
def assess(
    project: ProjectArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the reports.")] = Path(
        "nemecys-out"
    ),
    sbom: Annotated[
        list[str] | None,
        typer.Option(
            "--sbom",
            help="COMPONENT=PATH: attach a CycloneDX JSON SBOM to a component. Repeatable.",
        ),
    ] = None,
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="Report formats to write (default: all)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Advisory database (URL or SQLite file) to scan the SBOMs against; default: "
            "$NEMECYS_DB, else the local database when it exists.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Assess a model and write the threat model and risk report."""
    from nemecys.assess import assess_prepared, prepare
    from nemecys.perf import paused_gc
    from nemecys.report import FORMATS

    formats = tuple(fmt) if fmt else FORMATS
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        err.print(f"unknown format {', '.join(unknown)}: choose from {', '.join(FORMATS)}")
        raise typer.Exit(EXIT_INVALID_INPUT)
    sboms = _parse_sboms(sbom or [])

    with out.status("assessing…") as status:

        def scanning(component: str, done: int, total: int) -> None:
            status.update(f"scanning the SBOM of {component} for vulnerabilities: {done}/{total}")

        with paused_gc():
            prepared = _run(lambda: prepare(project))
            assessment = _run(
                lambda: assess_prepared(
                    prepared, sboms, vulnerabilities=True, db=db, progress=scanning
                )
            )
        loaded = prepared.loaded
        written = _run(lambda: _write_reports_atomically(assessment, loaded, output, formats))

    _print_summary(assessment)
    width = max((len(name) for name in written), default=0)
    for name, path in written.items():
        out.print(f"  {name:<{width}}  {path}", highlight=False)


def _write_reports_atomically(
    assessment: Any, loaded: Any, output: Path, formats: tuple[str, ...]
) -> dict[str, Path]:
    """Write the reports into a staging folder, then move them into OUTPUT together.

    A failure while writing (a full disk, a bad template value) then leaves OUTPUT as it was,
    instead of holding new and old reports side by side.
    """
    from nemecys.report import write_reports

    if output.exists() and not output.is_dir():
        raise NotADirectoryError(
            20, "exists and is not a folder; pass a folder to --output", str(output)
        )
    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".nemecys-staging-", dir=output))
    try:
        staged = write_reports(assessment, loaded, staging, formats)
        blocked = [output / p.name for p in staged.values() if (output / p.name).is_dir()]
        if blocked:
            raise IsADirectoryError(
                21, "is a folder where a report file goes; move it away", str(blocked[0])
            )
        written: dict[str, Path] = {}
        for name, path in staged.items():
            final = output / path.name
            os.replace(path, final)
            written[name] = final
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _print_summary(assessment: Any) -> None:
    threats = assessment.threats
    table = Table(title=f"{assessment.system.name}: {len(threats)} threats", show_lines=False)
    table.add_column("risk level")
    table.add_column("initial", justify="right")
    table.add_column("residual", justify="right")
    for level in reversed(assessment.risk_levels):
        initial = sum(1 for t in threats if t.initial.level == level)
        residual = sum(1 for t in threats if t.residual.level == level)
        table.add_row(level, str(initial), str(residual))
    out.print(table)
    _print_vulnerabilities(assessment)
    if assessment.gate.passed:
        out.print(
            "[green]gate passed[/green]: no unacceptable residual risk, no undecided high risk"
        )
    else:
        out.print(
            f"[red]gate failed[/red]: {len(assessment.gate.failures)} threats need work ('nemecys check' lists them)"
        )


def _print_vulnerabilities(assessment: Any) -> None:
    section = assessment.vulnerabilities
    if section is None or section.status == "no_sbom":
        return
    if section.message:
        out.print(f"vulnerabilities: {section.message}", markup=False, highlight=False)
        return
    from nemecys.vulns.findings import CLOSED_STATES

    findings = [f for s in section.sboms for f in s.findings]
    open_findings = [f for f in findings if f.state not in CLOSED_STATES]
    kev = sum(1 for f in open_findings if f.kev)
    out.print(
        f"vulnerabilities: {len(open_findings)} open ({kev} KEV), "
        f"{len(findings) - len(open_findings)} closed by triage, "
        f"in {len(section.sboms)} SBOM{'' if len(section.sboms) == 1 else 's'}",
        highlight=False,
    )
    for sbom in section.sboms:
        for message in sbom.coverage:
            out.print(f"warning: {sbom.component}: {message}", markup=False, highlight=False)


@app.command()
def check(
    project: ProjectArg,
    sbom: Annotated[
        list[str] | None, typer.Option("--sbom", help="COMPONENT=PATH, as for assess.")
    ] = None,
) -> None:
    """CI gate: exit 1 when a residual risk is unacceptable or a high risk has no decision."""
    from nemecys.assess import assess as run_assessment

    assessment = _run(lambda: run_assessment(project, _parse_sboms(sbom or [])))
    failing = [t for t in assessment.threats if t.gate == "fail"]
    for threat in failing:
        where = f"{threat.location.file}:{threat.location.line}: " if threat.location else ""
        out.print(f"{where}[red]FAIL[/red] {threat.id}: {threat.gate_reason}", highlight=False)
    if failing:
        out.print(f"{len(failing)} of {len(assessment.threats)} threats fail the gate")
        raise typer.Exit(EXIT_GATE_FAILED)
    out.print(f"[green]OK[/green]: {len(assessment.threats)} threats, none fails the gate")


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    kind: Annotated[str, typer.Option(help="'model' or 'results'.")] = "model",
) -> None:
    """Print the JSON Schema of the model format (or of results.json)."""
    from nemecys.fileio import write_atomic
    from nemecys.model.schema import SystemModel
    from nemecys.results import Assessment

    if kind not in ("model", "results"):
        err.print(f"unknown schema kind '{kind}': use 'model' or 'results'")
        raise typer.Exit(EXIT_INVALID_INPUT)
    cls: Any = SystemModel if kind == "model" else Assessment
    document = cls.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        out.print(f"wrote {output}")


@app.command()
def rules(
    library: Annotated[
        list[Path] | None,
        typer.Option("--library", "-l", help="Extra rule file to load. Repeatable."),
    ] = None,
) -> None:
    """List the threat rules (packaged plus any extra library files)."""
    from nemecys.controls import load_catalog
    from nemecys.threats import load_library

    catalog = _run(load_catalog)
    loaded = _run(lambda: load_library(library or [], catalog_ids={c.id for c in catalog.controls}))
    table = Table(title=f"{len(loaded.rules)} rules")
    for column in ("id", "target", "STRIDE", "title", "library"):
        table.add_column(column)
    for rule in sorted(loaded.rules.values(), key=lambda r: r.id):
        from nemecys.threats.library import STRIDE_LETTERS

        stride = "".join(STRIDE_LETTERS[s] for s in rule.spec.stride)
        table.add_row(rule.id, rule.spec.target.value, stride, rule.spec.title, rule.library)
    out.print(table)


@app.command()
def controls() -> None:
    """List the control catalog."""
    from nemecys.controls import load_catalog

    catalog = _run(load_catalog)
    table = Table(
        title=f"{len(catalog.controls)} controls ({catalog.catalog.id} {catalog.catalog.version})"
    )
    for column in ("id", "category", "name", "expl. -", "sev. -"):
        table.add_column(column)
    for control in catalog.controls:
        table.add_row(
            control.id,
            control.category,
            control.name,
            str(control.exploitability_reduction),
            str(control.severity_reduction),
        )
    out.print(table)


@app.command(name="import")
def import_(
    source: Annotated[Path, typer.Argument(help="Threagile YAML or Threat Dragon v2 JSON file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file to write.")],
    fmt: Annotated[
        str | None,
        typer.Option("--from", help="threagile or threat-dragon; detected when omitted."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
) -> None:
    """Convert another tool's threat model into a nemecys model file."""
    from nemecys.fileio import write_atomic
    from nemecys.importers import dump_yaml, import_model

    if output.is_dir():
        err.print(f"{output} is a folder; give the path of the model file to write")
        raise typer.Exit(EXIT_INVALID_INPUT)
    if output.exists() and not force:
        err.print(f"{output} exists; pass --force to overwrite it")
        raise typer.Exit(EXIT_INVALID_INPUT)
    result = _run(lambda: import_model(source, fmt))
    _run(lambda: write_atomic(output, dump_yaml(result.document)))
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    out.print(
        f"wrote {output} from {result.source_format}; review it, then run 'nemecys validate {output}'"
    )


def _register_groups() -> None:
    # Each subsystem owns its command group; this is the only place they meet.
    from nemecys.mlaudit import cli as mlaudit_cli
    from nemecys.sbom import cli as sbom_cli
    from nemecys.storage import cli as storage_cli
    from nemecys.vulns import cli as vulns_cli

    app.command("ml-audit")(mlaudit_cli.ml_audit)
    sbom_cli.app.command("scan")(vulns_cli.scan)
    sbom_cli.app.command("triage")(vulns_cli.triage)
    app.add_typer(sbom_cli.app, name="sbom")
    app.add_typer(storage_cli.app, name="db")


_register_groups()


def main() -> None:
    try:
        app()
    except SystemExit:
        raise
    except Exception:  # an internal error: show it, with a distinct exit code
        logger.exception("internal error; please report it with the model that caused it")
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
