"""Typed results of a vulnerability scan: one `Finding` per vulnerability per component or device.

A finding carries everything a report, a VEX document or a CI gate needs without another store
query. It names the component and version, the match method (`purl`, `cpe` or `csaf`), every
id of the vulnerability, the range text that matched and the fixed versions. It also carries
CVSS scores, KEV and EPSS data, the MITRE medical rubric score, the triage state and the
priority rank.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class MatchedBy(StrEnum):
    """Method that produced a finding: package URL, CPE, or CSAF product entry."""

    PURL = "purl"
    CPE = "cpe"
    CSAF = "csaf"


# Triage states, as CycloneDX `analysis.state` names them, plus `affected` for a definite
# version match that is not triaged yet.
AFFECTED = "affected"
IN_TRIAGE = "in_triage"
NOT_AFFECTED = "not_affected"
FALSE_POSITIVE = "false_positive"
RESOLVED = "resolved"
EXPLOITABLE = "exploitable"

# States that take a finding out of `--fail-on` gating and down the priority list.
CLOSED_STATES = frozenset({NOT_AFFECTED, FALSE_POSITIVE, RESOLVED, "resolved_with_pedigree"})

SEVERITY_ORDER = ("none", "low", "medium", "high", "critical")


def severity_rating(score: float) -> str:
    """Return the CVSS v3/v4 qualitative rating of a base score (FIRST CVSS v3.1, section 5)."""
    if score <= 0.0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


@dataclass(frozen=True, slots=True)
class CvssScore:
    """A CVSS base score computed from a published vector."""

    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    base_score: float
    rating: str  # none, low, medium, high, critical


@dataclass(frozen=True, slots=True)
class RubricScore:
    """A score from the MITRE "Rubric for Applying CVSS to Medical Devices"."""

    base_vector: str  # CVSS v3.0 base vector the answers map to
    extended_vector: str  # every question's answer, e.g. "XAVN:Y/XAVT:U/…"
    base_score: float
    rating: str
    answer_sources: dict[str, str] = field(
        default_factory=dict
    )  # question id → model/user/advisory/unknown
    # Unanswered questions whose answer would change the vector: each counts as its worse value.
    unknown_questions: tuple[str, ...] = ()
    worst_case_reason: str | None = None  # why questions are unanswered, when some are

    @property
    def worst_case(self) -> bool:
        """Whether the score is a worst-case default: an answer could still lower it."""
        return bool(self.unknown_questions)

    def label(self) -> str:
        """Return e.g. "7.5 high", with the worst-case explanation when it applies."""
        text = f"{self.base_score:.1f} {self.rating}"
        if not self.worst_case:
            return text
        reason = self.worst_case_reason or "rubric questions unanswered"
        questions = self.unknown_questions
        which = f" {', '.join(questions)}" if len(questions) <= 4 else ""
        return f"{text} (worst case: {reason}; answer the rubric questions{which} with --answer)"


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability in one SBOM component or one listed device."""

    component_key: str  # SBOM bom-ref or SPDXID; device id for device-list findings
    component_name: str
    component_version: str | None
    component_purl: str | None
    vulnerability_id: str  # the CVE id when one is known, else the advisory id
    aliases: tuple[str, ...]  # every other id of the vulnerability, sorted
    advisory_ids: tuple[str, ...]  # ids of the advisory records that matched
    matched_by: MatchedBy
    affected_range: str  # the range, enumeration or product version text that matched
    summary: str | None = None
    fixed_versions: tuple[str, ...] = ()
    severities: tuple[CvssScore, ...] = ()
    kev: bool = False
    kev_date_added: str | None = None
    kev_required_action: str | None = None
    epss: float | None = None
    epss_percentile: float | None = None
    rubric: RubricScore | None = None
    state: str = AFFECTED
    justification: str | None = None
    detail: str | None = None
    remediation: str | None = None
    matched_cpe: str | None = None
    references: tuple[str, ...] = ()
    priority: int = 0  # 1 = fix first; 0 until ranked

    @property
    def ids(self) -> tuple[str, ...]:
        """The vulnerability id followed by its aliases."""
        return (self.vulnerability_id, *self.aliases)

    @property
    def max_cvss(self) -> float | None:
        """The highest published CVSS base score, or None without a vector."""
        return max((s.base_score for s in self.severities), default=None)

    @property
    def severity(self) -> str:
        """The rating used for gating: the rubric score's, else the highest CVSS score's.

        Without either, `unknown`; `meets_severity` treats unknown as the worst case.
        """
        if self.rubric is not None:
            return self.rubric.rating
        top = self.max_cvss
        return severity_rating(top) if top is not None else "unknown"

    def meets_severity(self, threshold: str) -> bool:
        """Return whether this open finding is at or above `threshold` (low … critical)."""
        if self.state in CLOSED_STATES:
            return False
        if self.severity == "unknown":
            return True
        return SEVERITY_ORDER.index(self.severity) >= SEVERITY_ORDER.index(threshold)

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as plain JSON-ready data."""
        data = asdict(self)
        data["matched_by"] = self.matched_by.value
        data["severity"] = self.severity
        data["rubric_worst_case"] = self.rubric.worst_case if self.rubric else False
        data["rubric_unknown_questions"] = (
            list(self.rubric.unknown_questions) if self.rubric else []
        )
        return data


def uncovered_message(purl_type: str, count: int) -> str:
    """Say that `count` components of one purl type were checked against no advisory source."""
    from nemecys.vulns.store import CPE_COVERAGE, PURL_TYPE_TO_OSV_ECOSYSTEM

    noun = "component was" if count == 1 else "components were"
    if purl_type == CPE_COVERAGE:
        return (
            f"{count:,} {noun} not checked: they have only a CPE and the database has no CPE "
            "data; import NVD records with `nemecys db import` or `nemecys db update`"
        )
    ecosystem = PURL_TYPE_TO_OSV_ECOSYSTEM.get(purl_type)
    update = f" or `nemecys db update -e {ecosystem}`" if ecosystem else ""
    return (
        f"{count:,} {purl_type} {noun} not checked: the database has no {purl_type} advisories; "
        f"import them with `nemecys db import`{update}"
    )


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The findings of one scan and what could not be checked."""

    source: str  # SBOM path or device list path
    findings: tuple[Finding, ...]
    components: int  # components or devices examined
    unversioned: tuple[str, ...] = ()  # keys of components with a purl but no version
    unidentified: tuple[str, ...] = ()  # keys of components with neither purl nor CPE
    notes: tuple[str, ...] = ()  # problems met while matching, such as invalid ranges
    # purl type ("cpe" for CPE-only components) to the keys of versioned components that were
    # checked against no advisory source, because the store holds none for that type
    uncovered: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def uncovered_count(self) -> int:
        """Components checked against no advisory source at all."""
        return sum(len(keys) for keys in self.uncovered.values())

    def coverage_messages(self) -> list[str]:
        """One sentence per purl type whose components no advisory source covers."""
        return [uncovered_message(t, len(keys)) for t, keys in sorted(self.uncovered.items())]

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-ready data."""
        return {
            "source": self.source,
            "components": self.components,
            "findings": [f.to_dict() for f in self.findings],
            "unversioned": list(self.unversioned),
            "unidentified": list(self.unidentified),
            "notes": list(self.notes),
            "uncovered": {t: len(keys) for t, keys in sorted(self.uncovered.items())},
            "uncovered_components": {t: list(keys) for t, keys in sorted(self.uncovered.items())},
            "coverage": self.coverage_messages(),
        }
