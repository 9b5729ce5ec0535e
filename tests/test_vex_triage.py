"""Triage decisions: recording statements, carrying decisions to the next SBOM version of a
product, converting findings to statements, with an in-memory store and with SqlStore."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex import (
    AnalysisState,
    Justification,
    Product,
    Response,
    VexDocument,
    VexStatement,
    carry_over,
    decision_from_statement,
    document_from_scan,
    parse_vex,
    statement_from_finding,
    write_csaf_vex,
    write_cyclonedx_vex,
    write_openvex,
)
from nemecys.vex.csaf_rules import check_csaf
from nemecys.vex.triage import (
    carry_over_from_store,
    component_key,
    record_statements,
    statement_from_decision,
)
from nemecys.vulns.findings import CvssScore, Finding, MatchedBy, ScanResult
from nemecys.vulns.store import TriageDecision, TriageStore

PRODUCT = "Infusion pump"


@dataclass
class MemoryTriageStore:
    """A TriageStore that keeps the latest decision per product, component and vulnerability."""

    rows: dict[tuple[str, str, str], TriageDecision] = field(default_factory=dict)

    def save_triage(self, decision: TriageDecision) -> None:
        key = (decision.product, decision.component, decision.vulnerability)
        self.rows[key] = decision

    def triage_for(self, product: str) -> Sequence[TriageDecision]:
        return [d for (p, _, _), d in sorted(self.rows.items()) if p == product]


def log4j(version: str, *, key: str = "log4j", qualifiers: str = "?type=jar") -> SoftwareComponent:
    return SoftwareComponent(
        key=key,
        name="log4j-core",
        group="org.apache.logging.log4j",
        version=version,
        purl=f"pkg:maven/org.apache.logging.log4j/log4j-core@{version}{qualifiers}",
    )


def pump_sbom(*components: SoftwareComponent, version: str = "4.3") -> SbomDocument:
    return SbomDocument(
        path=f"pump-{version}.cdx.json",
        format="CycloneDX",
        encoding="json",
        spec_version="1.6",
        serial_number="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        subject=SoftwareComponent(key="pump", name=PRODUCT, version=version, type="device"),
        components=components,
    )


def not_affected(**changes: object) -> VexStatement:
    statement = VexStatement(
        vulnerability="CVE-2021-44228",
        state=AnalysisState.NOT_AFFECTED,
        aliases=("GHSA-jfh8-c2jp-5v3q",),
        product=Product(purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
        justification=Justification.VULNERABLE_CODE_NOT_IN_EXECUTE_PATH,
        responses=(Response.NO_FIX_PLANNED,),
        detail="JNDI lookups are disabled at build time.",
        first_issued="2024-05-01T12:00:00Z",
        author="A. Analyst",
    )
    return replace(statement, **changes)  # type: ignore[arg-type]


# --- recording -------------------------------------------------------------------------------


def test_component_key_drops_version_and_qualifiers() -> None:
    assert component_key(log4j("2.14.1")) == "pkg:maven/org.apache.logging.log4j/log4j-core"
    assert component_key(SoftwareComponent(key="x", name=" Treck TCP/IP ")) == "treck tcp/ip"


def test_decision_keeps_who_when_and_version() -> None:
    decision = decision_from_statement(not_affected(), PRODUCT, log4j("2.14.1"))
    assert decision == TriageDecision(
        product=PRODUCT,
        component="pkg:maven/org.apache.logging.log4j/log4j-core",
        vulnerability="CVE-2021-44228",
        state="not_affected",
        justification="code_not_reachable",
        response=("will_not_fix",),
        detail="JNDI lookups are disabled at build time.",
        author="A. Analyst",
        timestamp="2024-05-01T12:00:00Z",
        component_version="2.14.1",
    )


def test_decision_from_statement_target() -> None:
    decision = decision_from_statement(not_affected(), PRODUCT)
    assert decision.component == "pkg:maven/org.apache.logging.log4j/log4j-core"
    assert decision.component_version == "2.14.1"
    with pytest.raises(ValueError, match="names no component by purl or name"):
        decision_from_statement(not_affected(product=None), PRODUCT)


def test_statement_from_decision_round_trip() -> None:
    component = log4j("2.14.1")
    decision = decision_from_statement(not_affected(), PRODUCT, component)
    statement = statement_from_decision(decision, component)
    assert statement.state is AnalysisState.NOT_AFFECTED
    assert statement.justification is Justification.CODE_NOT_REACHABLE
    assert statement.responses == (Response.WILL_NOT_FIX,)
    assert statement.product is not None
    assert statement.product.purl == component.purl
    assert statement.author == "A. Analyst"


# --- carry-over ------------------------------------------------------------------------------


def stored(store: TriageStore, *pairs: tuple[SoftwareComponent, VexStatement]) -> None:
    record_statements(store, PRODUCT, pairs)


def test_carry_over_to_upgraded_component() -> None:
    store = MemoryTriageStore()
    stored(store, (log4j("2.14.1"), not_affected()))
    new_sbom = pump_sbom(log4j("2.15.0", qualifiers=""))
    findings = {"log4j": [["GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228"]]}
    [proposal] = carry_over_from_store(store, PRODUCT, new_sbom, findings)
    assert proposal.component.version == "2.15.0"
    assert proposal.decision.component_version == "2.14.1"
    assert proposal.decision.author == "A. Analyst"
    assert proposal.decision.timestamp == "2024-05-01T12:00:00Z"
    assert proposal.version_changed
    assert proposal.needs_review
    statement = proposal.statement()
    assert statement.product is not None
    assert statement.product.purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.15.0"
    assert statement.detail == (
        "JNDI lookups are disabled at build time.\n"
        "Decision taken on version 2.14.1 by A. Analyst at 2024-05-01T12:00:00Z."
    )


def test_carry_over_same_version_needs_no_review() -> None:
    store = MemoryTriageStore()
    stored(store, (log4j("2.14.1"), not_affected()))
    [proposal] = carry_over(store.triage_for(PRODUCT), pump_sbom(log4j("2.14.1")))
    assert not proposal.version_changed
    assert not proposal.needs_review
    assert proposal.finding_ids == ()
    assert proposal.statement().detail == "JNDI lookups are disabled at build time."


def test_carry_over_skips_fixed_vulnerability() -> None:
    store = MemoryTriageStore()
    stored(store, (log4j("2.14.1"), not_affected()))
    new_sbom = pump_sbom(log4j("2.17.1"))
    assert carry_over(store.triage_for(PRODUCT), new_sbom, {"log4j": []}) == []
    assert carry_over(store.triage_for(PRODUCT), new_sbom, {}) == []


def test_carry_over_skips_removed_component() -> None:
    store = MemoryTriageStore()
    stored(store, (log4j("2.14.1"), not_affected()))
    other = SoftwareComponent(key="zlib", name="zlib", version="1.3", purl="pkg:generic/zlib@1.3")
    assert carry_over(store.triage_for(PRODUCT), pump_sbom(other)) == []


def test_carry_over_latest_decision_wins() -> None:
    store = MemoryTriageStore()
    component = log4j("2.14.1")
    older = not_affected(
        vulnerability="GHSA-jfh8-c2jp-5v3q",
        aliases=(),
        state=AnalysisState.IN_TRIAGE,
        justification=None,
        first_issued="2024-01-01T00:00:00Z",
    )
    stored(store, (component, older), (component, not_affected()))
    findings = {"log4j": [["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"]]}
    [proposal] = carry_over(store.triage_for(PRODUCT), pump_sbom(log4j("2.16.0")), findings)
    assert proposal.decision.state == "not_affected"
    assert proposal.finding_ids == ("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q")


def test_resolved_but_still_found_needs_review() -> None:
    store = MemoryTriageStore()
    component = log4j("2.14.1")
    stored(store, (component, not_affected(state=AnalysisState.RESOLVED, justification=None)))
    findings = {"log4j": [["CVE-2021-44228"]]}
    [proposal] = carry_over(store.triage_for(PRODUCT), pump_sbom(component), findings)
    assert not proposal.version_changed
    assert proposal.needs_review


def test_carry_over_other_product_untouched() -> None:
    store = MemoryTriageStore()
    record_statements(store, "Other device", [(log4j("2.14.1"), not_affected())])
    assert carry_over_from_store(store, PRODUCT, pump_sbom(log4j("2.14.1"))) == []


def test_carried_statements_write_valid_vex() -> None:
    store = MemoryTriageStore()
    stored(store, (log4j("2.14.1"), not_affected()))
    new_sbom = pump_sbom(log4j("2.15.0"))
    proposals = carry_over(store.triage_for(PRODUCT), new_sbom)
    statements = tuple(p.statement() for p in proposals)
    vex = VexDocument(statements=statements, author="Pump PSIRT")
    document = parse_vex(json.loads(write_cyclonedx_vex(vex, sbom=new_sbom)), sboms=[new_sbom])
    [statement] = document.statements
    assert statement.product is not None
    assert statement.product.version == "2.15.0"
    assert statement.detail is not None
    assert "Decision taken on version 2.14.1" in statement.detail


def test_sql_store_carry_over(tmp_path: Path) -> None:
    from nemecys.storage.store import SqlStore

    with SqlStore.open(f"sqlite:///{tmp_path / 'triage.db'}") as store:
        stored(store, (log4j("2.14.1"), not_affected()))
        saved = store.triage_for(PRODUCT)
        assert len(saved) == 1
        assert saved[0].response == ("will_not_fix",)
        assert saved[0].component_version == "2.14.1"
        findings = {"log4j": [["CVE-2021-44228"]]}
        [proposal] = carry_over_from_store(store, PRODUCT, pump_sbom(log4j("2.15.0")), findings)
        assert proposal.decision.author == "A. Analyst"
        assert proposal.decision.timestamp == "2024-05-01T12:00:00Z"
        assert proposal.version_changed


# --- findings to statements ------------------------------------------------------------------


def scan_finding(**changes: object) -> Finding:
    finding = Finding(
        component_key="log4j",
        component_name="log4j-core",
        component_version="2.14.1",
        component_purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        vulnerability_id="CVE-2021-44228",
        aliases=("GHSA-jfh8-c2jp-5v3q",),
        advisory_ids=("GHSA-jfh8-c2jp-5v3q",),
        matched_by=MatchedBy.PURL,
        affected_range="vers:maven/>=2.0-beta9|<2.15.0",
        summary="Remote code injection in Log4j",
        fixed_versions=("2.15.0",),
        severities=(
            CvssScore(
                version="3.1",
                vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                base_score=10.0,
                rating="critical",
            ),
        ),
    )
    return replace(finding, **changes)  # type: ignore[arg-type]


def test_untriaged_finding_is_in_triage() -> None:
    statement = statement_from_finding(scan_finding())
    assert statement.state is AnalysisState.IN_TRIAGE
    assert statement.fixed_versions == ("2.15.0",)
    assert statement.ratings[0].method == "CVSSv31"
    assert statement.product is not None
    assert statement.product.purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    exploitable = statement_from_finding(scan_finding(), untriaged_state=AnalysisState.EXPLOITABLE)
    assert exploitable.state is AnalysisState.EXPLOITABLE


def test_triaged_finding_keeps_state() -> None:
    finding = scan_finding(
        state="not_affected", justification="code_not_present", detail="Removed."
    )
    statement = statement_from_finding(finding)
    assert statement.state is AnalysisState.NOT_AFFECTED
    assert statement.justification is Justification.CODE_NOT_PRESENT
    assert statement.detail == "Removed."


def test_scan_to_every_format() -> None:
    sbom = pump_sbom(log4j("2.14.1"), version="4.2")
    result = ScanResult(
        source=sbom.path,
        findings=(
            scan_finding(),
            scan_finding(
                vulnerability_id="CVE-2021-45046",
                aliases=(),
                state="exploitable",
                remediation="Update to 2.16.0.",
            ),
        ),
        components=1,
    )
    document = document_from_scan(
        result, sbom, author="Pump PSIRT", timestamp="2024-05-01T12:00:00Z"
    )
    assert all(s.subcomponent is not None for s in document.statements)
    write_cyclonedx_vex(document, sbom=sbom)
    openvex = json.loads(write_openvex(document))
    assert openvex["statements"][0]["products"][0]["subcomponents"][0]["@id"] == (
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    )
    csaf = json.loads(
        write_csaf_vex(
            document, publisher_namespace="https://pump.example.com", tracking_id="PUMP-2024-1"
        )
    )
    assert check_csaf(csaf) == []
    remediation = csaf["vulnerabilities"][1]["remediations"][0]
    assert remediation["details"] == "Update to 2.16.0."


def test_matcher_applies_recorded_decision() -> None:
    from nemecys.vulns.match import apply_decisions

    decision = decision_from_statement(not_affected(), PRODUCT, log4j("2.14.1"))
    upgraded = scan_finding(
        component_version="2.15.0",
        component_purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.15.0?type=jar",
    )
    [finding] = apply_decisions([upgraded], [decision], PRODUCT)
    assert finding.state == "not_affected"
    assert finding.justification == "code_not_reachable"
