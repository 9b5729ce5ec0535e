"""Typed results of an assessment: the content of `results.json` and the input of every report.

The JSON Schema of these classes is published as `docs/results.schema.json`. `RESULTS_VERSION`
follows semantic versioning: a new optional field raises the minor number, a removed or
renamed field the major number.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

RESULTS_VERSION = "1.1"


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


class TriageRecord(_Result):
    """The triage decision behind a finding's state: who took it, when, on which version."""

    source: str = Field(description="'database' for a stored decision, else the VEX file")
    vulnerability: str = Field(description="Id the decision names; may be an alias")
    author: str | None = None
    timestamp: str | None = Field(default=None, description="ISO 8601")
    taken_on_version: str | None = Field(
        default=None, description="Component version the decision was taken on"
    )
    needs_review: bool = Field(
        default=False,
        description="Taken on another version, or 'resolved' while the vulnerability is still found",
    )
    responses: list[str] = Field(default_factory=list, description="CycloneDX responses")


class VulnerabilityFinding(_Result):
    """One known vulnerability in one SBOM component."""

    priority: int = Field(
        description="1 = fix first: open before closed, then KEV, rubric score, EPSS, CVSS"
    )
    id: str = Field(description="CVE id when one is known, else the advisory id")
    aliases: list[str]
    component: str = Field(description="SBOM component name")
    component_key: str = Field(description="SBOM bom-ref or SPDXID")
    version: str | None
    purl: str | None
    summary: str | None
    rubric_score: float | None = Field(
        description="Base score from the MITRE rubric for applying CVSS to medical devices"
    )
    rubric_rating: str | None
    rubric_vector: str | None = Field(description="CVSS v3.0 vector of the rubric answers")
    rubric_worst_case: bool = Field(
        default=False,
        description="The rubric score is a worst-case default: unanswered questions count as "
        "their worse value",
    )
    rubric_unknown_questions: list[str] = Field(
        default_factory=list, description="Unanswered rubric questions that could lower the score"
    )
    rubric_worst_case_reason: str | None = Field(
        default=None, description="Why rubric questions are unanswered"
    )
    cvss: float | None = Field(description="Highest published CVSS base score")
    kev: bool = Field(description="Listed in the CISA Known Exploited Vulnerabilities catalog")
    epss: float | None = Field(description="EPSS probability of exploitation in 30 days")
    epss_percentile: float | None
    state: str = Field(
        description="affected (version match, not triaged) or a CycloneDX analysis state"
    )
    justification: str | None
    detail: str | None
    fixed_versions: list[str]
    level_of_support: str | None = Field(description="FDA level of support of the component")
    end_of_support: str | None = Field(description="FDA end-of-support of the component")
    triage: TriageRecord | None = Field(description="None when no triage decision applies")


class SbomVulnerabilities(_Result):
    """The vulnerability scan of the SBOM of one model component."""

    component: str = Field(description="Model component the SBOM belongs to")
    sbom: str = Field(description="SBOM file")
    product: str = Field(description="Product name under which triage decisions are stored")
    components: int = Field(description="SBOM components examined")
    unversioned: int = Field(description="Components not checked: purl without version")
    unidentified: int = Field(description="Components not checked: neither purl nor CPE")
    support_stated: int = Field(description="Components with a level of support")
    end_of_support_dates: int = Field(description="Components with an end-of-support date")
    support_ended: int = Field(
        description="Components whose end of support has passed or whose support has ended"
    )
    rubric_answers: dict[str, str] = Field(
        description="Rubric answers derived from the model component"
    )
    triage_applied: int = Field(description="Findings whose state comes from a stored decision")
    findings: list[VulnerabilityFinding]
    notes: list[str] = Field(description="Problems met while matching, such as invalid ranges")
    uncovered: dict[str, int] = Field(
        default_factory=dict,
        description="Components not checked, per purl type ('cpe' for CPE only), because the "
        "database holds no advisories for that type",
    )
    coverage: list[str] = Field(
        default_factory=list, description="One sentence per purl type in `uncovered`"
    )


class AdvisorySource(_Result):
    source: str = Field(description="osv, nvd, csaf, kev or epss")
    records: int
    last_import: str | None


class VulnerabilitySection(_Result):
    """Known vulnerabilities of the SBOMs attached to model components."""

    status: str = Field(description="scanned, no_database or no_sbom")
    message: str | None = Field(
        default=None, description="Why nothing was scanned, and what to do about it"
    )
    database: str | None = Field(default=None, description="Advisory database URL, password hidden")
    sources: list[AdvisorySource] = Field(default_factory=list)
    checked_on: str = Field(description="Date (ISO 8601) end-of-support dates were compared with")
    sboms: list[SbomVulnerabilities] = Field(default_factory=list)


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
    vulnerabilities: VulnerabilitySection | None = Field(
        default=None,
        description="Known vulnerabilities of the attached SBOMs; None when not checked",
    )
