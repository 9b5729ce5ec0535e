"""Conversions between the matcher's findings and VEX statements, both ways.

`statement_from_finding` and `document_from_scan` turn a scan into statements for the VEX
writers; `apply_to_findings` sets the triage state of findings from VEX statements read from
files. A finding the matcher reports before any triage has state "affected". Its statement gets
`untriaged_state`, by default `in_triage`, because claiming "exploitable" (OpenVEX "affected")
is an analyst's decision, not a version match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex._common import format_timestamp
from nemecys.vex.apply import VexIndex
from nemecys.vex.model import (
    AnalysisState,
    Justification,
    Product,
    Rating,
    VexDocument,
    VexStatement,
    cyclonedx_justification,
)
from nemecys.vulns.findings import Finding, ScanResult

_CVSS_METHODS = {"2.0": "CVSSv2", "3.0": "CVSSv3", "3.1": "CVSSv31", "4.0": "CVSSv4"}


def product_of_component(component: SoftwareComponent) -> Product:
    """Return the VEX product for an SBOM component, keeping its bom-ref as `ref`."""
    return Product(
        ref=component.key,
        purl=component.purl,
        cpe=component.cpe,
        name=component.name,
        version=component.version,
        vendor=component.supplier,
    )


def statement_from_finding(
    finding: Finding,
    *,
    product: Product | None = None,
    untriaged_state: AnalysisState = AnalysisState.IN_TRIAGE,
    author: str | None = None,
    timestamp: str | None = None,
) -> VexStatement:
    """Return the VEX statement for one finding.

    With `product` (normally the SBOM's subject) the statement is about the finding's component
    as a subcomponent of that product, which OpenVEX writes as `subcomponents` and CSAF as a
    `default_component_of` relationship.
    """
    component = Product(
        ref=finding.component_key,
        purl=finding.component_purl,
        name=finding.component_name,
        version=finding.component_version,
    )
    try:
        state = AnalysisState(finding.state)
    except ValueError:
        state = untriaged_state
    justification = None
    if finding.justification:
        try:
            justification = Justification(finding.justification)
        except ValueError:
            justification = None
    ratings = tuple(
        Rating(
            method=_CVSS_METHODS.get(score.version),
            score=score.base_score,
            severity=score.rating,
            vector=score.vector,
        )
        for score in finding.severities
    )
    return VexStatement(
        vulnerability=finding.vulnerability_id,
        state=state,
        aliases=finding.aliases,
        product=product if product is not None else component,
        subcomponent=component if product is not None else None,
        justification=justification,
        detail=finding.detail,
        action=finding.remediation,
        first_issued=timestamp,
        author=author,
        ratings=ratings,
        fixed_versions=finding.fixed_versions,
        description=finding.summary,
    )


def document_from_scan(
    result: ScanResult,
    sbom: SbomDocument | None = None,
    *,
    author: str | None = None,
    timestamp: str | None = None,
    untriaged_state: AnalysisState = AnalysisState.IN_TRIAGE,
) -> VexDocument:
    """Return a VEX document with one statement per finding of a scan.

    `timestamp` defaults to the SBOM timestamp; pass one (ISO 8601) for reproducible output.
    """
    subject = product_of_component(sbom.subject) if sbom and sbom.subject else None
    when = timestamp or (sbom.timestamp if sbom else None)
    statements = tuple(
        statement_from_finding(
            finding,
            product=subject,
            untriaged_state=untriaged_state,
            author=author,
            timestamp=when,
        )
        for finding in result.findings
    )
    return VexDocument(
        statements=statements,
        author=author,
        timestamp=when,
        product=subject,
        source=result.source,
    )


def apply_to_findings(
    findings: Sequence[Finding],
    statements: Iterable[VexStatement],
    sbom: SbomDocument | None = None,
    *,
    match_names: bool = False,
) -> list[Finding]:
    """Return the findings with state, justification, detail and remediation set from VEX.

    Findings no statement applies to are returned unchanged. Components are looked up in `sbom`
    by key; without it, each finding's own component name, version and purl are used.
    """
    index = VexIndex(statements, sbom=sbom, match_names=match_names)
    components = {c.key: c for c in (sbom.components if sbom else ())}
    if sbom and sbom.subject:
        components[sbom.subject.key] = sbom.subject
    updated = []
    for finding in findings:
        statement = index.decide(finding_component(finding, components), finding.ids)
        updated.append(finding if statement is None else with_statement(finding, statement))
    return updated


def finding_component(
    finding: Finding, components: Mapping[str, SoftwareComponent]
) -> SoftwareComponent:
    """Return the SBOM component of a finding, or one rebuilt from the finding's fields."""
    return components.get(finding.component_key) or SoftwareComponent(
        key=finding.component_key,
        name=finding.component_name,
        version=finding.component_version,
        purl=finding.component_purl,
    )


def with_statement(finding: Finding, statement: VexStatement) -> Finding:
    """Return the finding with the state, justification and detail of a VEX statement."""
    justification = statement.justification
    return replace(
        finding,
        state=statement.state.value,
        justification=cyclonedx_justification(justification).value if justification else None,
        detail=statement.detail,
        remediation=statement.action or finding.remediation,
    )


def now_timestamp() -> str:
    """Return the current time as a VEX timestamp (UTC, ISO 8601 with Z)."""
    from datetime import UTC, datetime

    return format_timestamp(datetime.now(UTC))
