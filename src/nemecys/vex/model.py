"""VEX statements in one model, and the mappings between the CycloneDX, OpenVEX and CSAF terms.

Readers turn CycloneDX VEX, OpenVEX and CSAF VEX documents into `VexStatement`s, writers turn
them back, and the triage store keeps them as `TriageDecision`s. The three formats name the same
ideas differently, so the model keeps the richest form:

- `state` uses the six CycloneDX analysis states, because TriageDecision stores those and they
  refine the four OpenVEX statuses and CSAF product statuses (`false_positive` and
  `resolved_with_pedigree` have no OpenVEX or CSAF equivalent).
- `justification` and `responses` accept the terms of every format. A statement read from one
  format keeps its own terms, so writing it back to that format loses nothing, and the mapping
  functions below convert the terms only when another format is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class AnalysisState(StrEnum):
    """CycloneDX `analysis.state`: the impact of a vulnerability on a component or product."""

    RESOLVED = "resolved"
    RESOLVED_WITH_PEDIGREE = "resolved_with_pedigree"
    EXPLOITABLE = "exploitable"
    IN_TRIAGE = "in_triage"
    FALSE_POSITIVE = "false_positive"
    NOT_AFFECTED = "not_affected"


class VexStatus(StrEnum):
    """OpenVEX 0.2.0 `status`, the four statuses of the CISA VEX minimum requirements."""

    NOT_AFFECTED = "not_affected"
    AFFECTED = "affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"


class Justification(StrEnum):
    """Reason a product is not affected, in CycloneDX terms or in OpenVEX and CSAF flag terms."""

    # CycloneDX 1.4+ analysis.justification
    CODE_NOT_PRESENT = "code_not_present"
    CODE_NOT_REACHABLE = "code_not_reachable"
    REQUIRES_CONFIGURATION = "requires_configuration"
    REQUIRES_DEPENDENCY = "requires_dependency"
    REQUIRES_ENVIRONMENT = "requires_environment"
    PROTECTED_BY_COMPILER = "protected_by_compiler"
    PROTECTED_AT_RUNTIME = "protected_at_runtime"
    PROTECTED_AT_PERIMETER = "protected_at_perimeter"
    PROTECTED_BY_MITIGATING_CONTROL = "protected_by_mitigating_control"
    # OpenVEX 0.2.0 justification, identical to the CSAF 2.0 flag labels
    COMPONENT_NOT_PRESENT = "component_not_present"
    VULNERABLE_CODE_NOT_PRESENT = "vulnerable_code_not_present"
    VULNERABLE_CODE_NOT_IN_EXECUTE_PATH = "vulnerable_code_not_in_execute_path"
    VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY = (
        "vulnerable_code_cannot_be_controlled_by_adversary"
    )
    INLINE_MITIGATIONS_ALREADY_EXIST = "inline_mitigations_already_exist"


CYCLONEDX_JUSTIFICATIONS = frozenset(list(Justification)[:9])
OPENVEX_JUSTIFICATIONS = frozenset(list(Justification)[9:])


class Response(StrEnum):
    """Vendor response to a vulnerability, in CycloneDX or CSAF remediation terms."""

    # CycloneDX analysis.response
    CAN_NOT_FIX = "can_not_fix"
    WILL_NOT_FIX = "will_not_fix"
    UPDATE = "update"
    ROLLBACK = "rollback"
    WORKAROUND_AVAILABLE = "workaround_available"
    # CSAF 2.0 remediations[].category
    VENDOR_FIX = "vendor_fix"
    WORKAROUND = "workaround"
    MITIGATION = "mitigation"
    NO_FIX_PLANNED = "no_fix_planned"
    NONE_AVAILABLE = "none_available"


CYCLONEDX_RESPONSES = frozenset(list(Response)[:5])
CSAF_REMEDIATIONS = frozenset(list(Response)[5:])


class AffectedStatus(StrEnum):
    """CycloneDX `affects[].versions[].status`."""

    AFFECTED = "affected"
    UNAFFECTED = "unaffected"
    UNKNOWN = "unknown"


# The CSAF product_status categories and the state each one maps to. first_affected and
# last_affected name affected versions, first_fixed and recommended name fixed ones.
CSAF_STATUS_TO_STATE: dict[str, AnalysisState] = {
    "known_not_affected": AnalysisState.NOT_AFFECTED,
    "known_affected": AnalysisState.EXPLOITABLE,
    "first_affected": AnalysisState.EXPLOITABLE,
    "last_affected": AnalysisState.EXPLOITABLE,
    "fixed": AnalysisState.RESOLVED,
    "first_fixed": AnalysisState.RESOLVED,
    "recommended": AnalysisState.RESOLVED,
    "under_investigation": AnalysisState.IN_TRIAGE,
}

_STATE_TO_STATUS: dict[AnalysisState, VexStatus] = {
    AnalysisState.NOT_AFFECTED: VexStatus.NOT_AFFECTED,
    AnalysisState.FALSE_POSITIVE: VexStatus.NOT_AFFECTED,
    AnalysisState.EXPLOITABLE: VexStatus.AFFECTED,
    AnalysisState.RESOLVED: VexStatus.FIXED,
    AnalysisState.RESOLVED_WITH_PEDIGREE: VexStatus.FIXED,
    AnalysisState.IN_TRIAGE: VexStatus.UNDER_INVESTIGATION,
}

_STATUS_TO_STATE: dict[VexStatus, AnalysisState] = {
    VexStatus.NOT_AFFECTED: AnalysisState.NOT_AFFECTED,
    VexStatus.AFFECTED: AnalysisState.EXPLOITABLE,
    VexStatus.FIXED: AnalysisState.RESOLVED,
    VexStatus.UNDER_INVESTIGATION: AnalysisState.IN_TRIAGE,
}

_STATUS_TO_CSAF: dict[VexStatus, str] = {
    VexStatus.NOT_AFFECTED: "known_not_affected",
    VexStatus.AFFECTED: "known_affected",
    VexStatus.FIXED: "fixed",
    VexStatus.UNDER_INVESTIGATION: "under_investigation",
}

# CycloneDX justification to the OpenVEX label closest in meaning. The CycloneDX "requires_*"
# justifications state that the attacker lacks a precondition, which OpenVEX calls "cannot be
# controlled by adversary". Every "protected_*" one is a mitigation already in place.
_CYCLONEDX_TO_OPENVEX: dict[Justification, Justification] = {
    Justification.CODE_NOT_PRESENT: Justification.VULNERABLE_CODE_NOT_PRESENT,
    Justification.CODE_NOT_REACHABLE: Justification.VULNERABLE_CODE_NOT_IN_EXECUTE_PATH,
    Justification.REQUIRES_CONFIGURATION: (
        Justification.VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY
    ),
    Justification.REQUIRES_DEPENDENCY: Justification.COMPONENT_NOT_PRESENT,
    Justification.REQUIRES_ENVIRONMENT: (
        Justification.VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY
    ),
    Justification.PROTECTED_BY_COMPILER: Justification.INLINE_MITIGATIONS_ALREADY_EXIST,
    Justification.PROTECTED_AT_RUNTIME: Justification.INLINE_MITIGATIONS_ALREADY_EXIST,
    Justification.PROTECTED_AT_PERIMETER: Justification.INLINE_MITIGATIONS_ALREADY_EXIST,
    Justification.PROTECTED_BY_MITIGATING_CONTROL: Justification.INLINE_MITIGATIONS_ALREADY_EXIST,
}

# OpenVEX label to CycloneDX. CycloneDX has no "component not present": the nearest claim is
# that the vulnerable code is absent.
_OPENVEX_TO_CYCLONEDX: dict[Justification, Justification] = {
    Justification.COMPONENT_NOT_PRESENT: Justification.CODE_NOT_PRESENT,
    Justification.VULNERABLE_CODE_NOT_PRESENT: Justification.CODE_NOT_PRESENT,
    Justification.VULNERABLE_CODE_NOT_IN_EXECUTE_PATH: Justification.CODE_NOT_REACHABLE,
    Justification.VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY: (
        Justification.REQUIRES_ENVIRONMENT
    ),
    Justification.INLINE_MITIGATIONS_ALREADY_EXIST: (Justification.PROTECTED_BY_MITIGATING_CONTROL),
}

_CYCLONEDX_TO_CSAF_REMEDIATION: dict[Response, Response] = {
    Response.UPDATE: Response.VENDOR_FIX,
    Response.ROLLBACK: Response.VENDOR_FIX,
    Response.WORKAROUND_AVAILABLE: Response.WORKAROUND,
    Response.WILL_NOT_FIX: Response.NO_FIX_PLANNED,
    Response.CAN_NOT_FIX: Response.NONE_AVAILABLE,
}

_CSAF_REMEDIATION_TO_CYCLONEDX: dict[Response, Response] = {
    Response.VENDOR_FIX: Response.UPDATE,
    Response.WORKAROUND: Response.WORKAROUND_AVAILABLE,
    Response.MITIGATION: Response.WORKAROUND_AVAILABLE,
    Response.NO_FIX_PLANNED: Response.WILL_NOT_FIX,
    Response.NONE_AVAILABLE: Response.CAN_NOT_FIX,
}


def status_of(state: AnalysisState) -> VexStatus:
    """Return the OpenVEX status of a CycloneDX analysis state."""
    return _STATE_TO_STATUS[state]


def state_of(status: VexStatus) -> AnalysisState:
    """Return the CycloneDX analysis state of an OpenVEX status."""
    return _STATUS_TO_STATE[status]


def csaf_status_of(state: AnalysisState) -> str:
    """Return the CSAF product_status category for a state (known_affected, fixed, …)."""
    return _STATUS_TO_CSAF[_STATE_TO_STATUS[state]]


def cyclonedx_justification(justification: Justification) -> Justification:
    """Return the CycloneDX term for a justification given in either vocabulary."""
    if justification in CYCLONEDX_JUSTIFICATIONS:
        return justification
    return _OPENVEX_TO_CYCLONEDX[justification]


def openvex_justification(justification: Justification) -> Justification:
    """Return the OpenVEX term (also the CSAF flag label) for a justification."""
    if justification in OPENVEX_JUSTIFICATIONS:
        return justification
    return _CYCLONEDX_TO_OPENVEX[justification]


def cyclonedx_responses(responses: Iterable[Response]) -> tuple[Response, ...]:
    """Return the CycloneDX terms for responses given in either vocabulary, without repeats."""
    mapped = (
        r if r in CYCLONEDX_RESPONSES else _CSAF_REMEDIATION_TO_CYCLONEDX[r] for r in responses
    )
    return tuple(dict.fromkeys(mapped))


def csaf_remediations(responses: Iterable[Response]) -> tuple[Response, ...]:
    """Return the CSAF remediation categories for responses, without repeats."""
    mapped = (r if r in CSAF_REMEDIATIONS else _CYCLONEDX_TO_CSAF_REMEDIATION[r] for r in responses)
    return tuple(dict.fromkeys(mapped))


@dataclass(frozen=True, slots=True)
class Product:
    """A product or component as a VEX document identifies it.

    `ref` is the identifier the document uses: a CycloneDX bom-ref or BOM-Link
    (`urn:cdx:<serial>/<version>#<bom-ref>`), an OpenVEX `@id`, or a CSAF product_id. Matching
    uses `purl` first, then `cpe`, then `ref`.
    """

    ref: str | None = None
    purl: str | None = None
    cpe: str | None = None
    name: str | None = None
    version: str | None = None
    vendor: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (algorithm, hex digest), OpenVEX names

    def label(self) -> str:
        """Return a short human-readable identifier for messages and CSAF product names."""
        if self.purl:
            return self.purl
        if self.name:
            return f"{self.name} {self.version}" if self.version else self.name
        return self.ref or self.cpe or "unnamed product"


@dataclass(frozen=True, slots=True)
class VersionConstraint:
    """One CycloneDX `affects[].versions[]` entry: an exact version or a vers range."""

    version: str | None = None
    range: str | None = None  # vers string, e.g. "vers:generic/>=2.9|<=4.1"
    status: AffectedStatus = AffectedStatus.AFFECTED


@dataclass(frozen=True, slots=True)
class Rating:
    """A severity rating, with `method` named as CycloneDX names it (CVSSv31, CVSSv4, SSVC, …)."""

    method: str | None = None
    score: float | None = None
    severity: str | None = None  # none, low, medium, high, critical, info, unknown
    vector: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class VexStatement:
    """The impact of one vulnerability on one product, or on one subcomponent of a product.

    When `subcomponent` is None the statement is about `product` itself, and a statement about a
    whole product covers every component of it. A statement with neither applies to whatever
    product its document is applied to (CycloneDX VEX without `affects`, OpenVEX without
    `products`). `versions` narrows the statement to some versions of its target. Without
    them, the statement is about the version in the target's purl, or every version when the
    purl has none.
    """

    vulnerability: str
    state: AnalysisState
    aliases: tuple[str, ...] = ()
    product: Product | None = None
    subcomponent: Product | None = None
    justification: Justification | None = None
    responses: tuple[Response, ...] = ()
    detail: str | None = None  # CycloneDX analysis.detail, OpenVEX impact_statement, CSAF impact
    action: str | None = None  # OpenVEX action_statement, CSAF remediation details
    versions: tuple[VersionConstraint, ...] = ()
    first_issued: str | None = None  # ISO 8601
    last_updated: str | None = None  # ISO 8601
    author: str | None = None
    ratings: tuple[Rating, ...] = ()
    fixed_versions: tuple[str, ...] = ()
    description: str | None = None  # of the vulnerability, not of the decision

    @property
    def status(self) -> VexStatus:
        return status_of(self.state)

    @property
    def target(self) -> Product | None:
        """The component the statement is about: the subcomponent, else the product."""
        return self.subcomponent or self.product

    @property
    def ids(self) -> tuple[str, ...]:
        """The vulnerability id followed by its aliases."""
        return (self.vulnerability, *self.aliases)

    @property
    def timestamp(self) -> str | None:
        """When the statement was last known true: last_updated, else first_issued."""
        return self.last_updated or self.first_issued


@dataclass(frozen=True, slots=True)
class VexDocument:
    """A VEX document: who issued it, when, about which product, and its statements."""

    statements: tuple[VexStatement, ...]
    format: str = "nemecys"  # CycloneDX, OpenVEX or CSAF for documents read from a file
    id: str | None = None  # OpenVEX @id, CSAF tracking id, CycloneDX serialNumber
    version: str | None = None  # document revision, e.g. "1" or "1.0.1"
    author: str | None = None
    author_url: str | None = None  # CSAF publisher namespace
    timestamp: str | None = None  # ISO 8601, first issued
    last_updated: str | None = None  # ISO 8601
    product: Product | None = None  # CycloneDX metadata.component
    spec_version: str | None = None
    source: str | None = None  # path or label of the input
