"""VEX: read CycloneDX VEX, OpenVEX and CSAF VEX, apply statements to findings, keep triage.

read_vex(path)                      any of the three formats → VexDocument
VexIndex(statements, sbom=…)        which statement decides a finding (purl-aware)
apply_to_findings(findings, …)      set finding states from statements
write_cyclonedx_vex / _vdr, write_openvex, write_csaf_vex
carry_over(decisions, sbom, …)      stored triage decisions proposed for a new SBOM version
"""

from __future__ import annotations

from nemecys.vex.apply import VexIndex, canonical_purl, purls_match
from nemecys.vex.convert import apply_to_findings, document_from_scan, statement_from_finding
from nemecys.vex.model import (
    AnalysisState,
    Justification,
    Product,
    Response,
    VersionConstraint,
    VexDocument,
    VexStatement,
    VexStatus,
)
from nemecys.vex.read import parse_vex, read_vex
from nemecys.vex.triage import CarriedDecision, carry_over, decision_from_statement
from nemecys.vex.write import write_cyclonedx_vdr, write_cyclonedx_vex, write_openvex
from nemecys.vex.write_csaf import csaf_filename, write_csaf_vex

__all__ = [
    "AnalysisState",
    "CarriedDecision",
    "Justification",
    "Product",
    "Response",
    "VersionConstraint",
    "VexDocument",
    "VexIndex",
    "VexStatement",
    "VexStatus",
    "apply_to_findings",
    "canonical_purl",
    "carry_over",
    "csaf_filename",
    "decision_from_statement",
    "document_from_scan",
    "parse_vex",
    "purls_match",
    "read_vex",
    "statement_from_finding",
    "write_csaf_vex",
    "write_cyclonedx_vdr",
    "write_cyclonedx_vex",
    "write_openvex",
]
