"""The design-time assessment: model → threats → risk before and after controls → results.

`assess(project)` is the application service behind `nemecys assess`, `nemecys check` and
`nemecys validate`; it returns an `Assessment` and never prints or exits.

Steps:
  (1) load and validate the model (schema, then cross-references);
  (2) load the control catalog and the threat libraries (packaged plus the model's own);
  (3) derive threats and check that decisions name threats that exist;
  (4) score exploitability and severity, apply controls, rate risk before and after;
  (5) set each threat's status from decisions, assumptions or its residual risk;
  (6) evaluate the CI gate and attach SBOM summaries;
  (7) on request, scan the SBOMs for known vulnerabilities (`nemecys.assess.vulnerabilities`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemecys import __version__
from nemecys.assess.vulnerabilities import AssessProgress, check_vulnerabilities
from nemecys.controls import CatalogControl, load_catalog
from nemecys.errors import LibraryError, ModelError, Problem
from nemecys.model import (
    LoadedModel,
    check_threat_ids,
    read_document,
    resolve_project,
    validate_document,
)
from nemecys.model.schema import Control, ControlStatus, Decision, Severity, ThreatStatus
from nemecys.model.yamlsource import SourceMap
from nemecys.perf import paused_gc
from nemecys.results import (
    AppliedControl,
    Assessment,
    ControlTrace,
    ExploitabilityResult,
    FunctionSummary,
    GateResult,
    PolicyRef,
    RiskRating,
    SeverityResult,
    SourceLocation,
    SystemSummary,
    TargetRef,
    ThreatResult,
)
from nemecys.risk.policy import (
    Acceptance,
    Exploitability,
    RiskMatrix,
    default_matrix,
    default_rubric,
    load_matrix,
)
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
    matrix: RiskMatrix


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
    library: ThreatLibrary | None = None
    try:
        library = load_library(library_files, catalog_ids=set(catalog))
    except LibraryError as exc:
        # Report the library's problems together with the model's; without a library the
        # model's references to rule ids cannot be checked in this pass.
        problems.extend(exc.problems)
    rule_ids = set(library.rules) if library is not None else None
    try:
        loaded = validate_document(
            path, document, source, files, rule_ids=rule_ids, catalog_ids=set(catalog)
        )
    except ModelError as exc:
        raise ModelError(exc.summary, problems + exc.problems) from None
    matrix = _matrix(loaded, problems)
    if problems or library is None or matrix is None:
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
    return Prepared(loaded, library, catalog, index, threats, matrix)


def _matrix(loaded: LoadedModel, problems: list[Problem]) -> RiskMatrix | None:
    """Load the model's risk matrix, or the default; add what is wrong with it to `problems`."""
    name = loaded.model.risk.matrix
    if name is None:
        return default_matrix()
    path = loaded.base_dir / name
    if not path.is_file():
        problems.append(
            Problem(
                "risk matrix file not found",
                loaded.locate(("risk", "matrix")),
                value=name,
                hint=f"paths are relative to {loaded.base_dir}",
            )
        )
        return None
    try:
        return load_matrix(path)
    except LibraryError as exc:
        problems.extend(exc.problems)
        return None


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


def assess(
    project: Path,
    sboms: Mapping[str, Path] | None = None,
    *,
    vulnerabilities: bool = False,
    db: str | None = None,
    progress: AssessProgress | None = None,
) -> Assessment:
    """Assess PROJECT; `sboms` maps component ids to SBOM files, overriding the model's.

    With `vulnerabilities`, step 7 scans each SBOM against the advisory database `db` (see
    `nemecys.assess.vulnerabilities`), and `progress` follows the scans.
    """
    with paused_gc():
        return assess_prepared(
            prepare(project), sboms, vulnerabilities=vulnerabilities, db=db, progress=progress
        )


def assess_prepared(
    prepared: Prepared,
    sboms: Mapping[str, Path] | None = None,
    *,
    vulnerabilities: bool = False,
    db: str | None = None,
    progress: AssessProgress | None = None,
) -> Assessment:
    """Run steps 4 to 6 on a prepared model, and step 7 when `vulnerabilities` is set."""
    loaded = prepared.loaded
    model = loaded.model

    matrix = prepared.matrix
    rubric = default_rubric()

    decisions = {d.threat: d for d in model.decisions}
    exclusions: dict[str, str] = {}
    for assumption in model.assumptions:
        for ref in assumption.excludes:
            exclusions.setdefault(ref, f"assumption {assumption.id}: {assumption.text}")

    scorer = _Scorer(prepared, matrix, decisions, exclusions)
    results: list[ThreatResult] = []
    traces: dict[str, list[str]] = defaultdict(list)
    for threat in prepared.threats:
        result = scorer.score(threat)
        results.append(result)
        for control in result.controls:
            traces[control.id].append(threat.id)

    sbom_paths = _sbom_paths(loaded, sboms or {})
    sbom_summaries = [read_sbom(path, component) for component, path in sbom_paths.items()]
    vulnerability_section = (
        check_vulnerabilities(model, sbom_paths, db, progress=progress) if vulnerabilities else None
    )
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
        vulnerabilities=vulnerability_section,
    )


class _Scorer:
    """Steps 4 to 6 for each threat, with the indexes and caches that keep them linear.

    Many threats share an element and a rule's scoring inputs, so exploitability, severity
    and ratings are computed once per distinct input. Controls are indexed by the catalog id
    and the rule or threat ids they name, so a threat only looks at controls that can close it.
    """

    def __init__(
        self,
        prepared: Prepared,
        matrix: RiskMatrix,
        decisions: Mapping[str, Decision],
        exclusions: Mapping[str, str],
    ) -> None:
        self.prepared = prepared
        self.index = prepared.index
        self.matrix = matrix
        self.rubric = default_rubric()
        self.decisions = decisions
        self.exclusions = exclusions
        self._exploitability: dict[tuple[object, ...], ExploitabilityResult] = {}
        self._severity: dict[tuple[object, ...], SeverityResult] = {}
        self._ratings: dict[tuple[Exploitability, Severity], RiskRating] = {}
        self._locations = _element_locations(prepared.loaded)

        self._control_order = {c.id: i for i, c in enumerate(prepared.index.model.controls)}
        # Controls are indexed by what they name (a catalog id, a rule id or a threat id) and
        # split into system-wide ones and ones listed per target. A threat then looks up only
        # the controls that name it and cover one of its scope ids.
        self._named: dict[str, list[Control]] = defaultdict(list)
        self._global: dict[str, list[Control]] = defaultdict(list)
        self._targeted: dict[tuple[str, str], list[Control]] = defaultdict(list)
        for control in prepared.index.model.controls:
            names = ([control.catalog] if control.catalog else []) + list(control.mitigates)
            for name in names:
                self._named[name].append(control)
                if not control.applies_to:
                    self._global[name].append(control)
                for target in control.applies_to:
                    self._targeted[(name, target)].append(control)

    def _candidates(self, threat: DerivedThreat) -> list[Control]:
        names = [*threat.rule.spec.controls, threat.rule.id, threat.id]
        found: dict[str, Control] = {}
        scope = threat.element.scope
        if len(scope) > 64:
            # A system-wide element covers every id; scanning by name is cheaper than by scope.
            for name in names:
                for control in self._named.get(name, ()):
                    found[control.id] = control
        else:
            for name in names:
                for control in self._global.get(name, ()):
                    found[control.id] = control
                for target in scope:
                    for control in self._targeted.get((name, target), ()):
                        found[control.id] = control
        # Keep the model's order so results do not depend on dictionary order.
        return sorted(found.values(), key=lambda c: self._control_order[c.id])

    def _rating(self, exploitability: Exploitability, severity: Severity) -> RiskRating:
        key = (exploitability, severity)
        rating = self._ratings.get(key)
        if rating is None:
            level = self.matrix.level(severity, exploitability)
            rating = RiskRating(
                exploitability=exploitability.label,
                severity=severity.label,
                level=level,
                acceptance=self.matrix.acceptance[level].value,
            )
            self._ratings[key] = rating
        return rating

    def score(self, threat: DerivedThreat) -> ThreatResult:
        spec = threat.rule.spec
        element = threat.element

        # (4) Score, then apply the controls that close this threat here.
        exploitability_key = (element.target, element.id, spec.exploitability)
        exploitability = self._exploitability.get(exploitability_key)
        if exploitability is None:
            exploitability = score_exploitability(self.index, threat, self.rubric)
            self._exploitability[exploitability_key] = exploitability
        severity_key = (
            element.target,
            element.id,
            frozenset(spec.objectives),
            spec.default_severity,
        )
        severity = self._severity.get(severity_key)
        if severity is None:
            severity = score_severity(self.index, threat, self.rubric)
            self._severity[severity_key] = severity
        initial_e = Exploitability[exploitability.level.upper()]
        initial_s = Severity(severity.value)

        applied: list[tuple[Control, int, int]] = []
        applied_results: list[AppliedControl] = []
        for control in self._candidates(threat):
            if not control_applies(control, threat):
                continue
            entry = self.prepared.catalog.get(control.catalog) if control.catalog else None
            e_drop = control.exploitability_reduction
            if e_drop is None:
                e_drop = (
                    entry.exploitability_reduction if entry else _CUSTOM_EXPLOITABILITY_REDUCTION
                )
            s_drop = control.severity_reduction
            if s_drop is None:
                s_drop = entry.severity_reduction if entry else 0
            applied.append((control, e_drop, s_drop))
            applied_results.append(
                AppliedControl.model_construct(
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

        initial = self._rating(initial_e, initial_s)
        residual = self._rating(*reduce(initial_e, initial_s, applied, _IMPLEMENTED))
        projected = self._rating(*reduce(initial_e, initial_s, applied, _IMPLEMENTED_OR_PLANNED))

        # (5) Status: an explicit decision wins, then an assumption, then what the risk shows.
        decision = self.decisions.get(threat.id) or self.decisions.get(threat.rule.id)
        exclusion = self.exclusions.get(threat.id) or self.exclusions.get(threat.rule.id)
        status: ThreatStatus
        rationale: str | None
        if decision is not None:
            status, rationale, source = decision.status, decision.rationale, "decision"
        elif exclusion is not None:
            status, rationale, source = ThreatStatus.NOT_APPLICABLE, exclusion, "assumption"
        elif any(c.status is ControlStatus.IMPLEMENTED for c, _, _ in applied) and (
            residual.acceptance == Acceptance.ACCEPTABLE
        ):
            status, source = ThreatStatus.MITIGATED, "derived"
            rationale = "implemented controls bring the risk to an acceptable level"
        else:
            status, rationale, source = ThreatStatus.OPEN, None, "derived"

        # (6) The CI gate.
        gate, reason = "pass", None
        if status is not ThreatStatus.NOT_APPLICABLE:
            if residual.acceptance == Acceptance.UNACCEPTABLE:
                gate, reason = "fail", f"residual risk {residual.level} is unacceptable"
            elif (
                residual.acceptance == Acceptance.DECISION_REQUIRED and status is ThreatStatus.OPEN
            ):
                gate = "fail"
                reason = f"residual risk {residual.level} needs a decision (mitigate further, accept or transfer)"

        # Every value below was validated or computed by nemecys itself, so the result is
        # built without a second validation pass, which dominated the time of large models.
        return ThreatResult.model_construct(
            id=threat.id,
            rule=threat.rule.id,
            library=threat.rule.library,
            title=spec.title,
            description=spec.description,
            stride=[STRIDE_LETTERS[s] for s in spec.stride],
            capec=list(spec.capec),
            cwe=list(spec.cwe),
            objectives=[o.value for o in spec.objectives],
            target=TargetRef.model_construct(
                kind=element.target.value, id=element.id, name=element.name
            ),
            why=threat.why,
            location=self._locations.get((element.target.value, element.id)),
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


_IMPLEMENTED = frozenset({ControlStatus.IMPLEMENTED})
_IMPLEMENTED_OR_PLANNED = frozenset({ControlStatus.IMPLEMENTED, ControlStatus.PLANNED})


def _element_locations(loaded: LoadedModel) -> dict[tuple[str, str], SourceLocation]:
    """Map (target kind, element id) to where the element is declared."""
    model = loaded.model
    paths: dict[tuple[str, str], tuple[str | int, ...]] = {("system", "system"): ("system",)}
    for i, component in enumerate(model.components):
        paths[("component", component.id)] = ("components", i)
        for j, interface in enumerate(component.interfaces):
            paths[("interface", f"{component.id}.{interface.id}")] = (
                "components",
                i,
                "interfaces",
                j,
            )
    for i, flow in enumerate(model.flows):
        paths[("flow", flow.id)] = ("flows", i)
    for i, asset in enumerate(model.assets):
        paths[("asset", asset.id)] = ("assets", i)
    locations: dict[tuple[str, str], SourceLocation] = {}
    for key, path in paths.items():
        found = loaded.locate(path)
        if found is not None:
            locations[key] = SourceLocation.model_construct(
                file=str(found.file), line=found.line, column=found.column
            )
    return locations


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


def _sbom_paths(loaded: LoadedModel, overrides: Mapping[str, Path]) -> dict[str, Path]:
    """Return the SBOM file of each component, sorted by component id; `overrides` win."""
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
    return dict(sorted(paths.items()))


__all__ = ["Prepared", "assess", "assess_prepared", "prepare", "prepare_document"]
