"""The known-vulnerabilities part of the HTML and Markdown reports.

Both reports show the same two views of `Assessment.vulnerabilities`: counts per model
component, then every finding of every SBOM in one list sorted by priority. The order is the
matcher's: open findings before triaged-away ones, then KEV listing, rubric score, EPSS and
published CVSS, highest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from nemecys.results import SbomVulnerabilities, VulnerabilityFinding, VulnerabilitySection
from nemecys.vulns.findings import CLOSED_STATES, severity_rating

RATINGS = ("critical", "high", "medium", "low", "none")


@dataclass(frozen=True)
class FindingRow:
    """One finding with the model component and SBOM it was found in."""

    finding: VulnerabilityFinding
    sbom: SbomVulnerabilities
    component_name: str  # display name of the model component
    copies: int = 1  # SBOM components with the same name, version, vulnerability and state

    @property
    def closed(self) -> bool:
        return self.finding.state in CLOSED_STATES


@dataclass(frozen=True)
class ComponentCounts:
    """The figures of one SBOM scan that the reports show in the counts table."""

    sbom: SbomVulnerabilities
    component_name: str
    open: int
    closed: int
    kev: int
    open_by_rating: dict[str, int]  # rubric rating (else CVSS rating) of open findings
    checked: int  # components with a version and a purl or CPE that an advisory source covers


def rating_of(finding: VulnerabilityFinding) -> str:
    """Return the rubric rating, else the rating of the highest CVSS score, else "unknown"."""
    if finding.rubric_rating:
        return finding.rubric_rating
    if finding.cvss is None:
        return "unknown"
    return severity_rating(finding.cvss)


def _priority_key(row: FindingRow) -> tuple[bool, bool, float, float, float, str, str]:
    finding = row.finding
    return (
        row.closed,
        not finding.kev,
        -(finding.rubric_score if finding.rubric_score is not None else -1.0),
        -(finding.epss if finding.epss is not None else -1.0),
        -(finding.cvss if finding.cvss is not None else -1.0),
        finding.id,
        row.sbom.component,
    )


def ranked_rows(
    section: VulnerabilitySection, component_names: Mapping[str, str]
) -> list[FindingRow]:
    """Return the findings of every SBOM in one list, highest priority first.

    An SBOM often lists one package version at several install paths, each a component with
    its own finding. Findings that agree on package, version, vulnerability, state and
    decision become one row that counts its copies.
    """
    rows = [
        FindingRow(
            finding=finding,
            sbom=sbom,
            component_name=component_names.get(sbom.component, sbom.component),
        )
        for sbom in section.sboms
        for finding in sbom.findings
    ]
    grouped: dict[tuple[str, ...], FindingRow] = {}
    for row in sorted(rows, key=_priority_key):
        finding = row.finding
        key = (
            row.sbom.component,
            finding.id,
            finding.component,
            finding.version or "",
            finding.state,
            decision_text(finding),
        )
        first = grouped.get(key)
        grouped[key] = row if first is None else replace(first, copies=first.copies + 1)
    return list(grouped.values())


def component_counts(
    section: VulnerabilitySection, component_names: Mapping[str, str]
) -> list[ComponentCounts]:
    """Return the counts-table figures for each scanned SBOM."""
    counts = []
    for sbom in section.sboms:
        open_findings = [f for f in sbom.findings if f.state not in CLOSED_STATES]
        by_rating = dict.fromkeys((*RATINGS, "unknown"), 0)
        for finding in open_findings:
            by_rating[rating_of(finding)] += 1
        counts.append(
            ComponentCounts(
                sbom=sbom,
                component_name=component_names.get(sbom.component, sbom.component),
                open=len(open_findings),
                closed=len(sbom.findings) - len(open_findings),
                kev=sum(1 for f in open_findings if f.kev),
                open_by_rating=by_rating,
                checked=sbom.components
                - sbom.unversioned
                - sbom.unidentified
                - sum(sbom.uncovered.values()),
            )
        )
    return counts


def rubric_text(finding: VulnerabilityFinding) -> str:
    """Return e.g. "10.0 critical (worst case: ...)", or "—" without a rubric score."""
    if finding.rubric_score is None:
        return "—"
    text = f"{finding.rubric_score:.1f} {finding.rubric_rating}"
    if finding.rubric_worst_case:
        reason = finding.rubric_worst_case_reason or "rubric questions unanswered"
        text += f" (worst case: {reason}; answer the rubric questions)"
    return text


def coverage_lines(section: VulnerabilitySection) -> list[str]:
    """Return one sentence per SBOM and purl type whose components were not checked."""
    return [f"{sbom.component}: {message}" for sbom in section.sboms for message in sbom.coverage]


def decision_text(finding: VulnerabilityFinding) -> str:
    """Return who set the finding's state, when and on which version, or "" when untriaged."""
    triage = finding.triage
    if triage is None:
        return ""
    parts = []
    if triage.author:
        parts.append(f"by {triage.author}")
    if triage.timestamp:
        parts.append(triage.timestamp[:10])
    if triage.taken_on_version and triage.taken_on_version != finding.version:
        parts.append(f"on version {triage.taken_on_version}")
    source = "stored decision" if triage.source == "database" else f"VEX {triage.source}"
    text = f"{source}, {' '.join(parts)}" if parts else source
    return text + ("; review it" if triage.needs_review else "")


def sources_text(section: VulnerabilitySection) -> str:
    """Return the advisory sources with their record counts and last import dates."""
    parts = []
    for source in section.sources:
        when = f", imported {source.last_import[:10]}" if source.last_import else ""
        noun = "record" if source.records == 1 else "records"
        parts.append(f"{source.source} {source.records:,} {noun}{when}")
    return "; ".join(parts) if parts else "no advisories imported yet"


def markdown_lines(
    section: VulnerabilitySection | None,
    component_names: Mapping[str, str],
    md: Callable[[object], str],
) -> list[str]:
    """Return the Markdown lines of the section; `md` escapes text for one Markdown line."""
    lines = ["## Known vulnerabilities", ""]

    if section is None:
        return [*lines, "Vulnerabilities were not checked in this run.", ""]
    if section.message:
        return [*lines, md(section.message), ""]

    lines.append(
        f"Advisory database {md(section.database or '')}: {md(sources_text(section))}. "
        f"End-of-support dates compared with {section.checked_on}."
    )
    lines += [
        "",
        "| Component | SBOM components | Checked | Open | Critical | High | KEV | Closed by triage "
        "| Support stated | End-of-support dates | Support ended |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for counts in component_counts(section, component_names):
        sbom = counts.sbom
        lines.append(
            f"| {md(counts.component_name)} | {sbom.components} | {counts.checked} | "
            f"{counts.open} | {counts.open_by_rating['critical']} | "
            f"{counts.open_by_rating['high']} | {counts.kev} | {counts.closed} | "
            f"{sbom.support_stated} | {sbom.end_of_support_dates} | {sbom.support_ended} |"
        )

    rows = ranked_rows(section, component_names)
    lines.append("")
    unchecked = coverage_lines(section)
    if unchecked:
        lines += [
            "**Not checked against any advisory:**",
            "",
            *(f"- {md(text)}" for text in unchecked),
            "",
        ]
    if not rows:
        if unchecked:
            return [
                *lines,
                "No known vulnerability was found in the components that were checked; the "
                "components listed above were not checked.",
                "",
            ]
        return [*lines, "No known vulnerability was found in the checked components.", ""]
    lines += [
        "Sorted by priority: open before closed, then KEV, rubric score, EPSS and CVSS.",
        "",
        "| # | Vulnerability | Component | Version | Rubric | CVSS | KEV | EPSS | State | Fixed in |",
        "|---:|---|---|---|---|---:|---|---:|---|---|",
    ]
    for number, row in enumerate(rows, start=1):
        finding = row.finding
        rubric = rubric_text(finding)
        state = finding.state.replace("_", " ")
        decision = decision_text(finding)
        if decision:
            state += f" ({decision})"
        copies = f" ×{row.copies}" if row.copies > 1 else ""
        lines.append(
            f"| {number} | {md(finding.id)} | {md(finding.component)}{copies} "
            f"({md(row.component_name)}) | {md(finding.version or '—')} | {md(rubric)} | "
            f"{f'{finding.cvss:.1f}' if finding.cvss is not None else '—'} | "
            f"{'yes' if finding.kev else ''} | "
            f"{f'{finding.epss:.3f}' if finding.epss is not None else '—'} | {md(state)} | "
            f"{md(', '.join(finding.fixed_versions) or '—')} |"
        )
    lines.append("")
    return lines


__all__ = [
    "ComponentCounts",
    "FindingRow",
    "component_counts",
    "coverage_lines",
    "decision_text",
    "markdown_lines",
    "ranked_rows",
    "rating_of",
    "rubric_text",
    "sources_text",
]
