"""The `nemecys sbom scan` command (registered on the `sbom` command group by nemecys.cli).

It scans an SBOM (CycloneDX or SPDX) or an operator's device list (`.csv`, `.yaml`, `.yml`)
against the local advisory database and writes the ranked findings as a table, JSON or
SARIF 2.1.0. The VEX formats (CycloneDX VEX, OpenVEX, CSAF VEX) are written by
`nemecys.vex`; until its writers exist those formats stop with a clear error.

Exit codes follow nemecys.cli: 0 done, 1 a finding reaches `--fail-on`, 2 invalid input.
"""

from __future__ import annotations

import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nemecys import __version__
from nemecys.errors import InputError, NemecysError
from nemecys.sbom.model import SbomDocument
from nemecys.vulns.findings import SEVERITY_ORDER, Finding, ScanResult
from nemecys.vulns.store import AdvisoryStore

EXIT_GATE_FAILED = 1
EXIT_INVALID_INPUT = 2

DEVICE_LIST_SUFFIXES = (".csv", ".yaml", ".yml")


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    CYCLONEDX_VEX = "cyclonedx-vex"
    OPENVEX = "openvex"
    CSAF = "csaf"


class FailOn(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


def scan(
    file: Annotated[
        Path,
        typer.Argument(
            help="SBOM (CycloneDX or SPDX), or a device list (.csv, .yaml) with vendor, product and version.",
            show_default=False,
        ),
    ],
    db: Annotated[
        str | None,
        typer.Option("--db", help="Advisory database URL; default: the local database."),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when an open finding has this severity or higher (unknown severity counts).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="System model whose component answers rubric questions."),
    ] = None,
    component: Annotated[
        str | None,
        typer.Option("--component", help="Model component the SBOM describes (with --model)."),
    ] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--answer",
            help="Rubric answer QUESTION=VALUE, e.g. XACL=N or XCT=H. Repeatable; overrides the model.",
        ),
    ] = None,
) -> None:
    """Scan an SBOM or a device list for known vulnerabilities."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        result = _scan(file, db, model, component, answer or [])
        text = render(result, fmt)
    except NemecysError as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        from nemecys.fileio import write_atomic

        write_atomic(output, text)
        err.print(f"wrote {len(result.findings)} findings to {output}", highlight=False)
    if fail_on is not None:
        failing = [f for f in result.findings if f.meets_severity(fail_on.value)]
        if failing:
            err.print(
                f"{len(failing)} findings at or above {fail_on.value} (or of unknown severity)",
                highlight=False,
            )
            raise typer.Exit(EXIT_GATE_FAILED)


def _scan(
    file: Path, db: str | None, model: Path | None, component: str | None, answers: list[str]
) -> ScanResult:
    user_answers = parse_answers(answers)
    if (model is None) != (component is None):
        raise InputError("--model and --component go together: name the model and its component")
    store = open_store(db)
    if file.suffix.lower() in DEVICE_LIST_SUFFIXES:
        from nemecys.vulns.devices import match_devices, read_device_list

        return match_devices(read_device_list(file), store, source=str(file))

    from nemecys.vulns.match import scan_document

    model_answers = _model_answers(model, component) if model and component else None
    document = read_sbom(file)
    return scan_document(
        document, store, model_answers=model_answers, user_answers=user_answers or None
    )


def parse_answers(values: list[str]) -> dict[str, str]:
    """Parse `QUESTION=VALUE` rubric answers; raise InputError on a bad one."""
    from nemecys.vulns.scoring import validate_answers

    answers: dict[str, str] = {}
    for value in values:
        question, sep, answer = value.partition("=")
        if not sep:
            raise InputError(f"invalid --answer {value!r}: expected QUESTION=VALUE, e.g. XACL=N")
        answers[question.strip().upper()] = answer.strip().upper()
    try:
        validate_answers(answers)
    except ValueError as exc:
        raise InputError(f"invalid --answer: {exc}") from None
    return answers


def _model_answers(model: Path, component: str) -> dict[str, str]:
    from nemecys.model import load_model
    from nemecys.vulns.scoring import answers_from_model

    loaded = load_model(model)
    try:
        return answers_from_model(loaded.model, component)
    except KeyError as exc:
        raise InputError(f"--component: {exc.args[0]}") from None


def open_store(db: str | None) -> AdvisoryStore:
    """Open the advisory database at `db`, or the default local database."""
    from nemecys.storage.store import SqlStore

    return SqlStore.open(db)


def read_sbom(path: Path) -> SbomDocument:
    """Read an SBOM in any format that `nemecys.sbom` supports."""
    from nemecys.sbom import read_sbom_document

    return read_sbom_document(path)


# --- rendering ----------------------------------------------------------------------------------


def render(result: ScanResult, fmt: OutputFormat) -> str:
    """Render a scan result in one of the output formats."""
    if fmt is OutputFormat.TABLE:
        return render_table(result)
    if fmt is OutputFormat.JSON:
        return json.dumps(result.to_dict(), indent=2) + "\n"
    if fmt is OutputFormat.SARIF:
        return json.dumps(render_sarif(result), indent=2) + "\n"
    return _render_vex(result, fmt)


def _render_vex(result: ScanResult, fmt: OutputFormat) -> str:
    # TODO: call the writers of nemecys.vex once they exist; its readers landed first.
    raise InputError(
        f"--format {fmt.value} is not available yet: the VEX writers of nemecys.vex are "
        "still being built; use table, json or sarif"
    )


def _score_text(finding: Finding) -> str:
    if finding.rubric is not None:
        return f"{finding.rubric.base_score:.1f} {finding.rubric.rating}"
    return finding.severity


def render_table(result: ScanResult) -> str:
    """Render findings as a text table, highest priority first, with a summary line."""
    console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
    table = Table(
        title=f"{result.source}: {len(result.findings)} findings in {result.components} components"
    )
    for column in (
        "#",
        "vulnerability",
        "component",
        "version",
        "rubric",
        "CVSS",
        "KEV",
        "EPSS",
        "state",
        "fixed in",
    ):
        table.add_column(column, overflow="fold")
    for finding in result.findings:
        cvss = finding.max_cvss
        table.add_row(
            str(finding.priority),
            finding.vulnerability_id,
            finding.component_name,
            finding.component_version or "",
            _score_text(finding),
            f"{cvss:.1f}" if cvss is not None else "",
            "yes" if finding.kev else "",
            f"{finding.epss:.3f}" if finding.epss is not None else "",
            finding.state,
            ", ".join(finding.fixed_versions) or (finding.remediation or "")[:60],
        )
    console.print(table)
    if result.unversioned:
        console.print(f"{len(result.unversioned)} components have no version and were not checked")
    if result.unidentified:
        console.print(
            f"{len(result.unidentified)} components have neither purl nor CPE and were not checked"
        )
    return console.export_text()


_SARIF_LEVELS = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "none": "note",
}


def render_sarif(result: ScanResult) -> dict[str, Any]:
    """Render findings as a SARIF 2.1.0 log: one rule per vulnerability, one result per finding."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for finding in result.findings:
        rule = rules.setdefault(
            finding.vulnerability_id,
            {
                "id": finding.vulnerability_id,
                "shortDescription": {"text": finding.summary or finding.vulnerability_id},
                "helpUri": finding.references[0] if finding.references else None,
                "properties": {
                    "aliases": list(finding.aliases),
                    "tags": ["security", "vulnerability"],
                },
            },
        )
        if rule["helpUri"] is None:
            del rule["helpUri"]
        subject = finding.component_purl or finding.component_name
        version = f" {finding.component_version}" if finding.component_version else ""
        message = f"{finding.vulnerability_id} in {subject}{version} ({finding.affected_range})"
        if finding.fixed_versions:
            message += f"; fixed in {', '.join(finding.fixed_versions)}"
        results.append(
            {
                "ruleId": finding.vulnerability_id,
                "level": _SARIF_LEVELS.get(finding.severity, "error"),
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": result.source}},
                        "logicalLocations": [
                            {"name": subject, "fullyQualifiedName": finding.component_key}
                        ],
                    }
                ],
                "properties": {
                    "priority": finding.priority,
                    "state": finding.state,
                    "matchedBy": finding.matched_by.value,
                    "kev": finding.kev,
                    "epss": finding.epss,
                    "rubricScore": finding.rubric.base_score if finding.rubric else None,
                    "rubricVector": finding.rubric.base_vector if finding.rubric else None,
                    "security-severity": f"{finding.rubric.base_score:.1f}"
                    if finding.rubric
                    else None,
                },
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nemecys",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }


__all__ = ["SEVERITY_ORDER", "OutputFormat", "open_store", "read_sbom", "render", "scan"]
