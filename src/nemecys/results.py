"""Typed results of an assessment: the content of `results.json` and the input of every report.

The JSON Schema of these classes is published as `docs/results.schema.json`. `RESULTS_VERSION`
follows semantic versioning: a new optional field raises the minor number, a removed or
renamed field the major number.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

RESULTS_VERSION = "1.0"


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceLocation(_Result):
    file: str
    line: int
    column: int


class TargetRef(_Result):
    kind: str = Field(description="system, component, interface, flow or asset")
    id: str
    name: str


class ExploitabilityResult(_Result):
    attack_vector: str
    attack_complexity: str
    privileges_required: str
    user_interaction: str
    cvss_vector: str = Field(
        description="CVSS v3.1 exploitability metrics, e.g. AV:A/AC:L/PR:N/UI:N"
    )
    score: float = Field(description="CVSS v3.1 exploitability sub-score, 0.1 to 3.9")
    level: str
    basis: list[str]


class SeverityResult(_Result):
    level: str
    value: int = Field(ge=1, le=5)
    functions: list[str] = Field(description="Clinical functions the threat reaches")
    harm: str | None = Field(description="Worst harm named by the reached functions")
    multi_patient: bool
    basis: list[str]


class RiskRating(_Result):
    exploitability: str
    severity: str
    level: str
    acceptance: str


class AppliedControl(_Result):
    id: str
    catalog: str | None
    name: str
    status: str
    exploitability_reduction: int
    severity_reduction: int


class ThreatResult(_Result):
    id: str = Field(description="Stable threat id: RULE@element")
    rule: str
    library: str
    title: str
    description: str
    stride: list[str]
    capec: list[int]
    cwe: list[int]
    objectives: list[str]
    target: TargetRef
    why: str
    location: SourceLocation | None
    exploitability: ExploitabilityResult
    severity: SeverityResult
    initial: RiskRating
    residual: RiskRating = Field(description="After implemented controls")
    projected: RiskRating = Field(description="After implemented and planned controls")
    controls: list[AppliedControl]
    missing_controls: list[str] = Field(
        description="Catalog controls the rule names that the model lacks here"
    )
    status: str
    status_source: str = Field(description="decision, assumption or derived")
    rationale: str | None
    gate: str = Field(description="pass or fail for 'nemecys check'")
    gate_reason: str | None


class ControlTrace(_Result):
    id: str
    catalog: str | None
    name: str
    category: str | None
    status: str
    applies_to: list[str]
    threats: list[str]
    evidence: list[str]


class FunctionSummary(_Result):
    id: str
    name: str
    harm: str
    severity: str
    reach: str


class SystemSummary(_Result):
    name: str
    version: str | None
    manufacturer: str | None
    intended_use: str
    description: str | None
    classification: dict[str, str]
    cyber_device: bool | None
    functions: list[FunctionSummary]
    components: int
    flows: int
    assets: int
    actors: int


class SbomComponent(_Result):
    name: str
    version: str | None
    purl: str | None
    type: str
    licenses: list[str]
    scope: str | None


class SbomSummary(_Result):
    component: str = Field(description="Model component the SBOM belongs to")
    path: str
    format: str
    spec_version: str | None
    components: list[SbomComponent]


class PolicyRef(_Result):
    id: str
    version: str


class GateResult(_Result):
    passed: bool
    failures: list[str]


class Assessment(_Result):
    results_version: str = RESULTS_VERSION
    tool: str
    tool_version: str
    model_path: str
    model_files: list[str]
    system: SystemSummary
    libraries: list[PolicyRef]
    matrix: PolicyRef
    rubric: PolicyRef
    threats: list[ThreatResult]
    controls: list[ControlTrace]
    sboms: list[SbomSummary]
    gate: GateResult
    risk_levels: list[str] = Field(description="Risk levels of the matrix, lowest first")
    matrix_cells: dict[str, list[str]] = Field(
        description="Risk level per severity and exploitability"
    )
