"""The design-time assessment: model → threats → risk before and after controls → results.

`assess(project)` is the application service behind `nemecys assess`, `nemecys check` and
`nemecys validate`; it returns an `Assessment` and never prints or exits.

Steps:
  (1) load and validate the model (schema, then cross-references);
  (2) load the control catalog and the threat libraries (packaged plus the model's own);
  (3) derive threats and check that decisions name threats that exist;
  (4) score exploitability and severity, apply controls, rate risk before and after;
  (5) set each threat's status from decisions, assumptions or its residual risk;
  (6) evaluate the CI gate and attach SBOM summaries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemecys import __version__
from nemecys.controls import CatalogControl, load_catalog
from nemecys.errors import ModelError, Problem
from nemecys.model import (
    LoadedModel,
    check_threat_ids,
    read_document,
    resolve_project,
    validate_document,
)
from nemecys.model.schema import Control, ControlStatus, Severity, ThreatStatus
from nemecys.model.yamlsource import SourceMap
from nemecys.results import (
    AppliedControl,
    Assessment,
    ControlTrace,
    FunctionSummary,
    GateResult,
    PolicyRef,
    RiskRating,
    SbomSummary,
    SourceLocation,
    SystemSummary,
    TargetRef,
    ThreatResult,
)
from nemecys.risk.policy import Acceptance, Exploitability, RiskMatrix, default_rubric, load_matrix
from nemecys.risk.scoring import control_applies, reduce, score_exploitability, score_severity
from nemecys.sbom import read_sbom
from nemecys.threats import DerivedThreat, ModelIndex, ThreatLibrary, derive_threats, load_library
from nemecys.threats.library import STRIDE_LETTERS

# Custom controls that state no reduction lower exploitability by one level.
_CUSTOM_EXPLOITABILITY_REDUCTION = 1


@dataclass(frozen=True)
class Prepared:
    """A validated model with its library, catalog and derived threats."""

    loaded: LoadedModel
    library: ThreatLibrary
    catalog: dict[str, CatalogControl]
    index: ModelIndex
    threats: list[DerivedThreat]


def prepare(project: Path) -> Prepared:
    """Run steps 1 to 3; raise ModelError or LibraryError listing every problem found."""
    path = resolve_project(project)
    document, source, files = read_document(path)
    return prepare_document(path, document, source, files)


def prepare_document(
    path: Path,
    document: dict[str, Any],
    source: SourceMap | None = None,
    files: tuple[Path, ...] = (),
) -> Prepared:
    """Run steps 1 to 3 on a merged model document; `path` anchors relative file names."""
    source = source or SourceMap()

    # The model names its own rule files, so they load before the model's references are
    # checked against the rule ids.
    catalog = load_catalog().by_id()
    library_files, problems = _library_files(document, source, path.parent)
    library = load_library(library_files, catalog_ids=set(catalog))
    try:
        loaded = validate_document(
            path, document, source, files, rule_ids=set(library.rules), catalog_ids=set(catalog)
        )
    except ModelError as exc:
        raise ModelError(exc.summary, problems + exc.problems) from None
    if problems:
        raise ModelError("the model is invalid", problems)

    disabled = set(loaded.model.threats.disable)
    if disabled:
        library = ThreatLibrary(
            rules={k: v for k, v in library.rules.items() if k not in disabled},
            sources=library.sources,
        )

    index = ModelIndex(loaded.model)
    threats = derive_threats(index, library)
    problems = check_threat_ids(document, source, {t.id for t in threats})
    if problems:
        raise ModelError("the model is invalid", problems)
    return Prepared(loaded, library, catalog, index, threats)


def _library_files(
    document: dict[str, Any], source: SourceMap, base: Path
) -> tuple[list[Path], list[Problem]]:
    settings = document.get("threats")
    raw = settings.get("libraries") if isinstance(settings, dict) else None
    files: list[Path] = []
    problems: list[Problem] = []
    if not isinstance(raw, list):
        return files, problems
    for i, name in enumerate(raw):
        if not isinstance(name, str):
            continue
        candidate = base / name
        if candidate.is_file():
            files.append(candidate)
        else:
            problems.append(
                Problem(
                    "threat library file not found",
                    source.find(("threats", "libraries", i)),
                    value=name,
                    hint=f"paths are relative to {base}",
                )
            )
    return files, problems


def assess(project: Path, sboms: Mapping[str, Path] | None = None) -> Assessment:
    """Assess PROJECT; `sboms` maps component ids to SBOM files, overriding the model's."""
    return assess_prepared(prepare(project), sboms)


def assess_prepared(prepared: Prepared, sboms: Mapping[str, Path] | None = None) -> Assessment:
    """Run steps 4 to 6 on a prepared model."""
    loaded = prepared.loaded
    model = loaded.model

    matrix_path = loaded.base_dir / model.risk.matrix if model.risk.matrix else None
    matrix = load_matrix(matrix_path)
    rubric = default_rubric()

    decisions = {d.threat: d for d in model.decisions}
    exclusions: dict[str, str] = {}
    for assumption in model.assumptions:
        for ref in assumption.excludes:
            exclusions.setdefault(ref, f"assumption {assumption.id}: {assumption.text}")

    results: list[ThreatResult] = []
    traces: dict[str, list[str]] = defaultdict(list)
    for threat in prepared.threats:
        result = _score(threat, prepared, matrix, decisions, exclusions)
        results.append(result)
        for control in result.controls:
            traces[control.id].append(threat.id)

    sbom_summaries = _sboms(loaded, sboms or {})
    failures = [f"{r.id}: {r.gate_reason}" for r in results if r.gate == "fail"]
    return Assessment(
        tool="nemecys",
        tool_version=__version__,
        model_path=str(loaded.path),
        model_files=[str(f) for f in loaded.files],
        system=_system_summary(loaded),
        libraries=[PolicyRef(id=s.id, version=s.version) for s in prepared.library.sources],
        matrix=PolicyRef(id=matrix.matrix.id, version=matrix.matrix.version),
        rubric=PolicyRef(id=rubric.rubric.id, version=rubric.rubric.version),
        threats=results,
        controls=[_trace(c, prepared.catalog, traces) for c in model.controls],
        sboms=sbom_summaries,
        gate=GateResult(passed=not failures, failures=failures),
        risk_levels=list(matrix.risk_levels),
        matrix_cells={k: list(v) for k, v in matrix.cells.items()},
    )


def _rating(matrix: RiskMatrix, exploitability: Exploitability, severity: Severity) -> RiskRating:
    level = matrix.level(severity, exploitability)
    return RiskRating(
        exploitability=exploitability.label,
        severity=severity.label,
        level=level,
        acceptance=matrix.acceptance[level].value,
    )


def _score(
    threat: DerivedThreat,
    prepared: Prepared,
    matrix: RiskMatrix,
    decisions: Mapping[str, object],
    exclusions: Mapping[str, str],
) -> ThreatResult:
    index, loaded = prepared.index, prepared.loaded
    rubric = default_rubric()
    spec = threat.rule.spec

    # (4) Score, then apply the controls that close this threat here.
    exploitability = score_exploitability(index, threat, rubric)
    severity = score_severity(index, threat, rubric)
    initial_e = Exploitability[exploitability.level.upper()]
    initial_s = Severity(severity.value)
    applied: list[tuple[Control, int, int]] = []
    applied_results: list[AppliedControl] = []
    for control in index.model.controls:
        if not control_applies(control, threat):
            continue
        entry = prepared.catalog.get(control.catalog) if control.catalog else None
        e_drop = control.exploitability_reduction
        if e_drop is None:
            e_drop = entry.exploitability_reduction if entry else _CUSTOM_EXPLOITABILITY_REDUCTION
        s_drop = control.severity_reduction
        if s_drop is None:
            s_drop = entry.severity_reduction if entry else 0
        applied.append((control, e_drop, s_drop))
        applied_results.append(
            AppliedControl(
                id=control.id,
                catalog=control.catalog,
                name=control.name or (entry.name if entry else control.id),
                status=control.status.value,
                exploitability_reduction=e_drop,
                severity_reduction=s_drop,
            )
        )
    present = {c.catalog for c, _, _ in applied if c.catalog}
    missing = [c for c in spec.controls if c not in present]

    initial = _rating(matrix, initial_e, initial_s)
    residual = _rating(matrix, *reduce(initial_e, initial_s, applied, {ControlStatus.IMPLEMENTED}))
    projected = _rating(
        matrix,
        *reduce(initial_e, initial_s, applied, {ControlStatus.IMPLEMENTED, ControlStatus.PLANNED}),
    )

    # (5) Status: an explicit decision wins, then an assumption, then what the risk shows.
    decision = decisions.get(threat.id) or decisions.get(threat.rule.id)
    exclusion = exclusions.get(threat.id) or exclusions.get(threat.rule.id)
    if decision is not None:
        status = decision.status  # type: ignore[attr-defined]
        rationale = decision.rationale  # type: ignore[attr-defined]
        source = "decision"
    elif exclusion is not None:
        status, rationale, source = ThreatStatus.NOT_APPLICABLE, exclusion, "assumption"
    elif any(c.status is ControlStatus.IMPLEMENTED for c, _, _ in applied) and (
        residual.acceptance == Acceptance.ACCEPTABLE
    ):
        status, rationale, source = (
            ThreatStatus.MITIGATED,
            "implemented controls bring the risk to an acceptable level",
            "derived",
        )
    else:
        status, rationale, source = ThreatStatus.OPEN, None, "derived"

    # (6) The CI gate.
    gate, reason = "pass", None
    if status is not ThreatStatus.NOT_APPLICABLE:
        if residual.acceptance == Acceptance.UNACCEPTABLE:
            gate, reason = "fail", f"residual risk {residual.level} is unacceptable"
        elif residual.acceptance == Acceptance.DECISION_REQUIRED and status is ThreatStatus.OPEN:
            gate = "fail"
            reason = f"residual risk {residual.level} needs a decision (mitigate further, accept or transfer)"

    where = threat.element
    location = _element_location(loaded, where.target.value, where.id)
    return ThreatResult(
        id=threat.id,
        rule=threat.rule.id,
        library=threat.rule.library,
        title=spec.title,
        description=spec.description,
        stride=[STRIDE_LETTERS[s] for s in spec.stride],
        capec=list(spec.capec),
        cwe=list(spec.cwe),
        objectives=[o.value for o in spec.objectives],
        target=TargetRef(kind=where.target.value, id=where.id, name=where.name),
        why=threat.why,
        location=location,
        exploitability=exploitability,
        severity=severity,
        initial=initial,
        residual=residual,
        projected=projected,
        controls=applied_results,
        missing_controls=missing,
        status=status.value,
        status_source=source,
        rationale=rationale,
        gate=gate,
        gate_reason=reason,
    )


def _element_location(loaded: LoadedModel, kind: str, element_id: str) -> SourceLocation | None:
    model = loaded.model
    path: tuple[str | int, ...] | None = None
    if kind == "system":
        path = ("system",)
    elif kind == "component":
        path = next(
            (("components", i) for i, c in enumerate(model.components) if c.id == element_id), None
        )
    elif kind == "interface":
        owner, _, iface = element_id.partition(".")
        for i, c in enumerate(model.components):
            if c.id == owner:
                j = next((j for j, x in enumerate(c.interfaces) if x.id == iface), None)
                path = ("components", i, "interfaces", j) if j is not None else ("components", i)
    elif kind == "flow":
        path = next((("flows", i) for i, f in enumerate(model.flows) if f.id == element_id), None)
    elif kind == "asset":
        path = next((("assets", i) for i, a in enumerate(model.assets) if a.id == element_id), None)
    if path is None:
        return None
    found = loaded.locate(path)
    if found is None:
        return None
    return SourceLocation(file=str(found.file), line=found.line, column=found.column)


def _trace(
    control: Control, catalog: Mapping[str, CatalogControl], traces: Mapping[str, list[str]]
) -> ControlTrace:
    entry = catalog.get(control.catalog) if control.catalog else None
    return ControlTrace(
        id=control.id,
        catalog=control.catalog,
        name=control.name or (entry.name if entry else control.id),
        category=entry.category if entry else None,
        status=control.status.value,
        applies_to=list(control.applies_to),
        threats=sorted(traces.get(control.id, [])),
        evidence=list(control.evidence),
    )


def _system_summary(loaded: LoadedModel) -> SystemSummary:
    model = loaded.model
    system = model.system
    classification = {k: v for k, v in system.classification.model_dump().items() if v}
    return SystemSummary(
        name=system.name,
        version=system.version,
        manufacturer=system.manufacturer,
        intended_use=system.intended_use,
        description=system.description,
        classification=classification,
        cyber_device=system.cyber_device,
        functions=[
            FunctionSummary(
                id=f.id, name=f.name or f.id, harm=f.harm, severity=f.severity, reach=f.reach.value
            )
            for f in system.clinical_functions
        ],
        components=len(model.components),
        flows=len(model.flows),
        assets=len(model.assets),
        actors=len(model.actors),
    )


def _sboms(loaded: LoadedModel, overrides: Mapping[str, Path]) -> list[SbomSummary]:
    model = loaded.model
    known = {c.id for c in model.components}
    unknown = [c for c in overrides if c not in known]
    if unknown:
        from nemecys.model.loader import suggest

        problems = []
        for name in unknown:
            guess = suggest(name, known)
            problems.append(
                Problem(
                    f"--sbom names unknown component '{name}'",
                    hint=f"did you mean '{guess}'?" if guess else "use a component id of the model",
                )
            )
        raise ModelError("invalid --sbom option", problems)
    paths: dict[str, Path] = {
        c.id: loaded.base_dir / c.software.sbom for c in model.components if c.software.sbom
    }
    paths.update(overrides)
    return [read_sbom(path, component) for component, path in sorted(paths.items())]


__all__ = ["Prepared", "assess", "assess_prepared", "prepare", "prepare_document"]
