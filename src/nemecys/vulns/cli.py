"""The `nemecys sbom scan` and `nemecys sbom triage` commands (registered by nemecys.cli).

`scan` checks an SBOM (CycloneDX or SPDX) or an operator's device list (`.csv`, `.yaml`,
`.yml`) against the advisory database. It applies the triage decisions stored for the product,
then the statements of any `--vex` files (CycloneDX VEX, OpenVEX or CSAF VEX). The ranked
findings are written as a table, JSON, SARIF 2.1.0, CycloneDX VEX or VDR, OpenVEX 0.2.0 or
CSAF 2.0 VEX. `--record-triage` saves the applied VEX statements in the database, so later scans of
newer SBOM versions of the same product start from them.

`triage` records one analyst decision in the database, in CycloneDX VEX terms.

Exit codes follow nemecys.cli: 0 done, 1 a finding reaches `--fail-on`, 2 invalid input;
with `--fail-on`, 4 when no finding reaches it but some components were checked against no
advisory source (the database holds no advisories for their package type).
"""

from __future__ import annotations

import getpass
import io
import json
import time
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from nemecys import __version__
from nemecys.errors import InputError, NemecysError
from nemecys.sbom.model import SbomDocument
from nemecys.vulns.findings import SEVERITY_ORDER, Finding, ScanResult
from nemecys.vulns.store import AdvisoryStore, TriageDecision
from nemecys.vulns.vex_output import VexFormat, VexOptions
from nemecys.vulns.workflow import SOURCE_DATABASE, TriagedScan, TriageOrigin

if TYPE_CHECKING:
    from nemecys.storage.store import SqlStore
    from nemecys.vex.model import VexDocument

EXIT_GATE_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_UNCHECKED = 4  # --fail-on: components of a package type the database has no advisories for

DEVICE_LIST_SUFFIXES = (".csv", ".yaml", ".yml")

# Scans that finish sooner show no progress bar.
PROGRESS_DELAY_S = 1.0


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    CYCLONEDX_VEX = "cyclonedx-vex"
    CYCLONEDX_VDR = "cyclonedx-vdr"
    OPENVEX = "openvex"
    CSAF = "csaf"


class FailOn(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Advisory database URL or SQLite file; default: $NEMECYS_DB, else the local database.",
        show_default=False,
    ),
]


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """The inputs of one `nemecys sbom scan`, apart from the output options."""

    file: Path
    db: str | None = None
    model: Path | None = None
    component: str | None = None
    answers: tuple[str, ...] = ()
    vex: tuple[Path, ...] = ()
    product: str | None = None
    record_triage: bool = False
    author: str | None = None


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """A finished scan with the SBOM it read (None for a device list)."""

    scan: TriagedScan
    sbom: SbomDocument | None
    recorded: int = 0  # triage decisions saved by --record-triage


def scan(
    file: Annotated[
        Path,
        typer.Argument(
            help="SBOM (CycloneDX or SPDX), or a device list (.csv, .yaml) with vendor, product and version.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.TABLE,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when an open finding has this severity or higher (unknown severity "
            "counts); else exit 4 when components were not checked because the database holds "
            "no advisories for their package type (npm, PyPI, ...).",
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
            help="Rubric answer QUESTION=VALUE, e.g. XACL=N or XCT=H. Repeatable; overrides the "
            "model and the advisory's vector (SBOM scans only). Unanswered questions "
            "count as their worse value: an advisory without a CVSS vector scores 10.0 until "
            "answered. Questions: XAVN XAVT XAVW XAVR XAVP XAVPA (Y/N, attack vector), XACL XPRL "
            "XPRZ XPRS XUI XS (Y/N, the flaw), XCPM (Y/N), and X{C,I,A}{P,D,T,W,S,O} (H/L/N, "
            "impact per category). A score falls only when every question it depends on is "
            "answered: XS=N alone still leaves the six impact categories of each metric at H.",
        ),
    ] = None,
    vex: Annotated[
        list[Path] | None,
        typer.Option(
            "--vex",
            help="CycloneDX VEX, OpenVEX or CSAF VEX file whose statements set finding states. Repeatable.",
        ),
    ] = None,
    product: Annotated[
        str | None,
        typer.Option(
            "--product",
            help="Product name under which triage decisions are stored; default: the SBOM's subject name.",
            show_default=False,
        ),
    ] = None,
    record_triage: Annotated[
        bool,
        typer.Option(
            "--record-triage",
            help="Save the --vex statements that set a finding's state as triage decisions for the product.",
        ),
    ] = False,
    author: Annotated[
        str | None,
        typer.Option(
            "--author",
            help="Author of VEX output (default: the SBOM's supplier or author) and of recorded decisions whose VEX names none.",
            show_default=False,
        ),
    ] = None,
    publisher_namespace: Annotated[
        str | None,
        typer.Option(
            "--publisher-namespace",
            help="CSAF publisher web address (document.publisher.namespace), e.g. https://psirt.example.com.",
            show_default=False,
        ),
    ] = None,
    tracking_id: Annotated[
        str | None,
        typer.Option(
            "--tracking-id",
            help="CSAF document tracking id; default: <product>-<version>-vex-<date>.",
            show_default=False,
        ),
    ] = None,
    timestamp: Annotated[
        str | None,
        typer.Option(
            "--timestamp",
            help="Issue time (ISO 8601) written into VEX output; default: now.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Scan an SBOM or a device list for known vulnerabilities."""
    err = Console(stderr=True, soft_wrap=True)
    request = ScanRequest(
        file=file,
        db=db,
        model=model,
        component=component,
        answers=tuple(answer or ()),
        vex=tuple(vex or ()),
        product=product,
        record_triage=record_triage,
        author=author,
    )
    options = VexOptions(
        author=author,
        publisher_namespace=publisher_namespace,
        tracking_id=tracking_id,
        timestamp=timestamp,
    )
    try:
        outcome = run_scan(request, err)
        text = render_outcome(outcome, fmt, options)
    except NemecysError as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except SQLAlchemyError as exc:
        from nemecys.vulns.database import database_reason

        err.print(f"database error: {database_reason(exc)}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None

    result = outcome.scan.result
    if outcome.recorded:
        err.print(
            f"recorded {outcome.recorded} triage decision{'' if outcome.recorded == 1 else 's'} "
            f"for product {outcome.scan.product!r}",
            markup=False,
            highlight=False,
        )
    if output is None:
        typer.echo(text, nl=False)
    else:
        from nemecys.fileio import write_atomic

        write_atomic(output, text)
        err.print(f"wrote {len(result.findings)} findings to {output}", highlight=False)
    for message in result.coverage_messages():
        err.print(f"warning: {message}", markup=False, highlight=False)
    if fail_on is not None:
        failing = [f for f in result.findings if f.meets_severity(fail_on.value)]
        if failing:
            err.print(
                f"{len(failing)} findings at or above {fail_on.value} (or of unknown severity)",
                highlight=False,
            )
            raise typer.Exit(EXIT_GATE_FAILED)
        if result.uncovered:
            err.print(
                f"--fail-on {fail_on.value} cannot pass: {result.uncovered_count:,} components "
                "were checked against no advisory source (see the warnings above)",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(EXIT_UNCHECKED)


def run_scan(request: ScanRequest, console: Console | None = None) -> ScanOutcome:
    """Scan the file of `request`, apply stored triage and VEX, and record triage on request.

    `console` shows a progress bar on a terminal when matching takes longer than a second.
    """
    user_answers = parse_answers(list(request.answers))
    if (request.model is None) != (request.component is None):
        raise InputError("--model and --component go together: name the model and its component")
    is_device_list = request.file.suffix.lower() in DEVICE_LIST_SUFFIXES
    if request.record_triage and not request.vex:
        raise InputError(
            "--record-triage saves the statements of --vex files; pass at least one --vex FILE"
        )
    if request.record_triage and is_device_list:
        raise InputError(
            "--record-triage needs an SBOM: decisions are stored per product and component, "
            "which a device list does not name"
        )

    store = _open_store(request.db)
    try:
        if is_device_list:
            return ScanOutcome(_scan_devices(request, store), None)
        return _scan_sbom(request, store, user_answers, console)
    finally:
        store.close()


def _scan_devices(request: ScanRequest, store: SqlStore) -> TriagedScan:
    from nemecys.vulns.devices import match_devices, read_device_list
    from nemecys.vulns.workflow import apply_vex_to_result

    result = match_devices(read_device_list(request.file), store, source=str(request.file))
    # NOTE: stored triage decisions are not applied to device lists, because a device list
    # names no product to look them up by. Only --vex statements set device finding states.
    documents = _read_vex(request.vex, None)
    if documents:
        result, origins = apply_vex_to_result(result, documents)
        return TriagedScan(result=result, product=request.product, origins=origins)
    return TriagedScan(result=result, product=request.product)


def _scan_sbom(
    request: ScanRequest,
    store: SqlStore,
    user_answers: dict[str, str],
    console: Console | None,
) -> ScanOutcome:
    from nemecys.vulns.workflow import record_applied, scan_with_triage

    document = read_sbom(request.file)
    product = request.product or (document.subject.name if document.subject else None)
    if request.record_triage and not product:
        raise InputError(
            f"{request.file} names no product (CycloneDX metadata.component or the SPDX "
            "described package), so recorded decisions would have no product; pass --product NAME"
        )
    model_answers = None
    if request.model is not None and request.component is not None:
        model_answers = _model_answers(request.model, request.component)
    documents = _read_vex(request.vex, document)
    with ScanProgress(console, f"scanning {request.file.name}") as progress:
        triaged = scan_with_triage(
            document,
            store,
            product=product,
            triage_store=store,
            vex_documents=documents,
            model_answers=model_answers,
            user_answers=user_answers or None,
            progress=progress,
        )
    recorded = 0
    if request.record_triage:
        recorded = len(record_applied(store, triaged, default_author=request.author))
    return ScanOutcome(triaged, document, recorded)


def _read_vex(paths: tuple[Path, ...], sbom: SbomDocument | None) -> list[VexDocument]:
    from nemecys.vex import read_vex

    return [read_vex(path, sboms=(sbom,) if sbom else ()) for path in paths]


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
    return _open_store(db)


def _open_store(db: str | None) -> SqlStore:
    from nemecys.vulns.database import find_database, missing_database_message, open_database

    url = find_database(db)
    if url is None:
        raise InputError(missing_database_message())
    return open_database(url)


def read_sbom(path: Path) -> SbomDocument:
    """Read an SBOM in any format that `nemecys.sbom` supports."""
    from nemecys.sbom import read_sbom_document

    return read_sbom_document(path)


# --- progress -----------------------------------------------------------------------------------


class ScanProgress:
    """A rich progress bar on stderr that appears once a scan has run for `PROGRESS_DELAY_S`.

    It stays hidden when the console is not a terminal, so logs and captured output hold only
    the results. Use it as a context manager and call it with (components done, total).
    """

    def __init__(self, console: Console | None, description: str) -> None:
        self.console = console
        self.description = description
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, completed: int, total: int) -> None:
        console = self.console
        if console is None:
            return
        if self.progress is None:
            if not console.is_terminal or time.monotonic() - self.started < PROGRESS_DELAY_S:
                return
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("components"),
                console=console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=total)
        if self.task is not None:
            self.progress.update(self.task, completed=completed, total=total)

    def __enter__(self) -> ScanProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.progress is not None:
            self.progress.stop()


# --- nemecys sbom triage ------------------------------------------------------------------------


def triage(
    product: Annotated[
        str,
        typer.Option(
            "--product",
            help="Product the decision is for (the SBOM subject name).",
            show_default=False,
        ),
    ],
    component: Annotated[
        str,
        typer.Option(
            "--component",
            help="Component as a purl (its version is the version decided on) or a name.",
            show_default=False,
        ),
    ],
    vulnerability: Annotated[
        str,
        typer.Option(
            "--vulnerability",
            help="Vulnerability id: CVE, GHSA or advisory id.",
            show_default=False,
        ),
    ],
    state: Annotated[
        str,
        typer.Option(
            "--state",
            help="CycloneDX analysis state: resolved, resolved_with_pedigree, exploitable, "
            "in_triage, false_positive or not_affected.",
            show_default=False,
        ),
    ],
    justification: Annotated[
        str | None,
        typer.Option(
            "--justification",
            help="Why the component is not_affected: code_not_present, code_not_reachable, "
            "requires_configuration, requires_dependency, requires_environment, "
            "protected_by_compiler, protected_at_runtime, protected_at_perimeter or "
            "protected_by_mitigating_control.",
            show_default=False,
        ),
    ] = None,
    response: Annotated[
        list[str] | None,
        typer.Option(
            "--response",
            help="Vendor response: can_not_fix, will_not_fix, update, rollback or "
            "workaround_available. Repeatable.",
            show_default=False,
        ),
    ] = None,
    detail: Annotated[
        str | None,
        typer.Option("--detail", help="Free text explaining the decision.", show_default=False),
    ] = None,
    author: Annotated[
        str | None,
        typer.Option("--author", help="Who decided; default: the login name.", show_default=False),
    ] = None,
    component_version: Annotated[
        str | None,
        typer.Option(
            "--component-version",
            help="Component version the decision was taken on, when --component is a name.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Record one triage decision; later scans of the product apply it to new SBOM versions.

    A decision replaces an earlier one for the same product, component and vulnerability.
    """
    err = Console(stderr=True, soft_wrap=True)
    try:
        decision = build_decision(
            product=product,
            component=component,
            vulnerability=vulnerability,
            state=state,
            justification=justification,
            responses=tuple(response or ()),
            detail=detail,
            author=author or _login_name(),
            component_version=component_version,
        )
        store = _open_store(db)
        try:
            store.save_triage(decision)
        finally:
            store.close()
    except NemecysError as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except SQLAlchemyError as exc:
        from nemecys.vulns.database import database_reason

        err.print(f"database error: {database_reason(exc)}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    version = f" {decision.component_version}" if decision.component_version else ""
    typer.echo(
        f"recorded {decision.state} for {decision.vulnerability} in {decision.component}"
        f"{version} of product {decision.product!r}, by {decision.author} at {decision.timestamp}"
    )


def build_decision(
    *,
    product: str,
    component: str,
    vulnerability: str,
    state: str,
    justification: str | None = None,
    responses: tuple[str, ...] = (),
    detail: str | None = None,
    author: str | None = None,
    component_version: str | None = None,
    timestamp: str | None = None,
) -> TriageDecision:
    """Return the triage decision for one decision given in CycloneDX terms.

    Raises InputError for a value outside the CycloneDX vocabulary, a justification on another
    state than not_affected, a not_affected decision with neither justification nor detail
    (a VEX consumer needs one of them), or an invalid purl.
    """
    from nemecys.vex.convert import now_timestamp
    from nemecys.vex.model import (
        CYCLONEDX_JUSTIFICATIONS,
        CYCLONEDX_RESPONSES,
        AnalysisState,
        Justification,
        Product,
        Response,
        VexStatement,
    )
    from nemecys.vex.triage import decision_from_statement

    product = product.strip()
    vulnerability = vulnerability.strip()
    component = component.strip()
    for option, value in (
        ("--product", product),
        ("--vulnerability", vulnerability),
        ("--component", component),
    ):
        if not value:
            raise InputError(f"{option} is empty; give a value")
    if any(c.isspace() for c in vulnerability):
        raise InputError(f"invalid --vulnerability {vulnerability!r}: an id has no spaces")

    analysis_state = AnalysisState(_choice("--state", state, [s.value for s in AnalysisState]))
    reason = None
    if justification is not None:
        allowed = sorted(j.value for j in CYCLONEDX_JUSTIFICATIONS)
        reason = Justification(_choice("--justification", justification, allowed))
        if analysis_state is not AnalysisState.NOT_AFFECTED:
            raise InputError(
                f"--justification explains a not_affected state, not {analysis_state.value}; "
                "drop it or use --state not_affected"
            )
    if analysis_state is AnalysisState.NOT_AFFECTED and reason is None and not detail:
        raise InputError(
            "--state not_affected needs --justification or --detail saying why the "
            "vulnerability does not affect the component"
        )
    allowed_responses = sorted(r.value for r in CYCLONEDX_RESPONSES)
    vendor_responses = tuple(
        Response(_choice("--response", value, allowed_responses)) for value in responses
    )

    if component.startswith("pkg:"):
        from nemecys.vex.apply import parse_purl

        parsed = parse_purl(component)
        if parsed is None:
            raise InputError(
                f"invalid --component purl {component!r}; expected pkg:TYPE/NAMESPACE/NAME@VERSION, "
                "e.g. pkg:npm/lodash@4.17.21"
            )
        target = Product(purl=component, version=component_version or parsed.version)
    else:
        target = Product(name=component, version=component_version)
    statement = VexStatement(
        vulnerability=vulnerability,
        state=analysis_state,
        product=target,
        justification=reason,
        responses=vendor_responses,
        detail=detail or None,
        first_issued=timestamp or now_timestamp(),
        author=author,
    )
    decision = decision_from_statement(statement, product)
    if decision.component_version is None and target.version:
        decision = replace(decision, component_version=target.version)
    return decision


def _choice(option: str, value: str, allowed: list[str]) -> str:
    normalized = value.strip().lower().replace("-", "_")
    if normalized not in allowed:
        raise InputError(f"invalid {option} {value!r}; expected one of {', '.join(allowed)}")
    return normalized


def _login_name() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name: no $USER and no passwd entry for the uid
        return None


# --- rendering ----------------------------------------------------------------------------------


def render_outcome(outcome: ScanOutcome, fmt: OutputFormat, options: VexOptions) -> str:
    """Render a finished scan in one of the output formats."""
    scan = outcome.scan
    if fmt is OutputFormat.TABLE:
        return render_table(scan.result, scan)
    if fmt is OutputFormat.JSON:
        return json.dumps(render_json(scan), indent=2) + "\n"
    if fmt is OutputFormat.SARIF:
        return json.dumps(render_sarif(scan.result, scan), indent=2) + "\n"
    from nemecys.vulns.vex_output import write_document

    return write_document(scan, outcome.sbom, VexFormat(fmt.value), options)


def render(result: ScanResult, fmt: OutputFormat) -> str:
    """Render a scan result without triage information; VEX formats use the default options."""
    scan = TriagedScan(result=result, product=None)
    return render_outcome(ScanOutcome(scan, None), fmt, VexOptions())


def render_json(scan: TriagedScan) -> dict[str, Any]:
    """Return the scan as JSON-ready data: the result, the product and each finding's triage."""
    data = scan.result.to_dict()
    data["product"] = scan.product
    for finding, entry in zip(scan.result.findings, data["findings"], strict=True):
        origin = scan.origin(finding)
        entry["triage"] = origin.to_dict() if origin else None
    return data


def _score_text(finding: Finding) -> str:
    if finding.rubric is not None:
        return finding.rubric.label()
    return finding.severity


def _decision_text(origin: TriageOrigin | None) -> str:
    if origin is None:
        return ""
    source = "stored" if origin.source == SOURCE_DATABASE else Path(origin.source).name
    label = origin.label()
    return f"{label} ({source})" if label else source


def render_table(result: ScanResult, scan: TriagedScan | None = None) -> str:
    """Render findings as a text table, highest priority first, with a summary line.

    With `scan`, a decision column shows who set each triaged state, when, and on which version.
    """
    console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
    title = f"{result.source}: {len(result.findings)} findings in {result.components} components"
    if scan is not None and scan.product:
        title += f" (product {scan.product})"
    table = Table(title=title)
    show_decisions = scan is not None and bool(scan.origins)
    columns = ["#", "vulnerability", "component", "version", "rubric", "CVSS", "KEV", "EPSS"]
    columns += ["state", "decision"] if show_decisions else ["state"]
    columns.append("fixed in")
    for column in columns:
        table.add_column(column, overflow="fold")
    for finding in result.findings:
        cvss = finding.max_cvss
        row = [
            str(finding.priority),
            finding.vulnerability_id,
            finding.component_name,
            finding.component_version or "",
            _score_text(finding),
            f"{cvss:.1f}" if cvss is not None else "",
            "yes" if finding.kev else "",
            f"{finding.epss:.3f}" if finding.epss is not None else "",
            finding.state,
        ]
        if show_decisions and scan is not None:
            row.append(_decision_text(scan.origin(finding)))
        row.append(", ".join(finding.fixed_versions) or (finding.remediation or "")[:60])
        table.add_row(*row)
    console.print(table)
    if result.unversioned:
        console.print(
            f"{len(result.unversioned)} components have no version: SBOM components without one "
            "were not checked; listed devices without one were matched as if every version were "
            "affected"
        )
    if result.unidentified:
        console.print(
            f"{len(result.unidentified)} components have neither purl nor CPE and were not checked"
        )
    for message in result.coverage_messages():
        console.print(message, markup=False, highlight=False)
    return console.export_text()


_SARIF_LEVELS = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "none": "note",
}


def render_sarif(result: ScanResult, scan: TriagedScan | None = None) -> dict[str, Any]:
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
        properties: dict[str, Any] = {
            "priority": finding.priority,
            "state": finding.state,
            "matchedBy": finding.matched_by.value,
            "kev": finding.kev,
            "epss": finding.epss,
            "rubricScore": finding.rubric.base_score if finding.rubric else None,
            "rubricVector": finding.rubric.base_vector if finding.rubric else None,
            "security-severity": f"{finding.rubric.base_score:.1f}" if finding.rubric else None,
            "rubricWorstCase": finding.rubric.worst_case if finding.rubric else False,
            "rubricUnknownQuestions": list(finding.rubric.unknown_questions)
            if finding.rubric
            else [],
        }
        if finding.rubric is not None and finding.rubric.worst_case:
            message += f"; rubric score {finding.rubric.label()}"
        origin = scan.origin(finding) if scan is not None else None
        if origin is not None:
            properties["triage"] = origin.to_dict()
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
                "properties": properties,
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
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {"level": "warning", "message": {"text": text}}
                            for text in result.coverage_messages()
                        ],
                    }
                ],
            }
        ],
    }


__all__ = [
    "SEVERITY_ORDER",
    "OutputFormat",
    "ScanOutcome",
    "ScanProgress",
    "ScanRequest",
    "build_decision",
    "open_store",
    "read_sbom",
    "render",
    "render_outcome",
    "run_scan",
    "scan",
    "triage",
]
