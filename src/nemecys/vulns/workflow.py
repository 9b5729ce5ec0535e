"""Scan an SBOM, then set finding states from stored triage decisions and from VEX documents.

`nemecys sbom scan` and the vulnerabilities section of `nemecys assess` both call
`scan_with_triage`, which runs these steps:

1. match the components against the advisory store in batches, reporting progress;
2. attach KEV, EPSS and the MITRE rubric score (`nemecys.vulns.match.finish_findings`);
3. apply the triage decisions stored for the product. `nemecys.vex.triage.carry_over` takes a
   decision recorded on one component version to the version in this SBOM;
4. apply the VEX statements read from files. A statement replaces a stored decision unless
   the stored decision is strictly newer, so a decision recorded by hand after a vendor VEX
   was imported survives later scans that pass the same VEX file again;
5. rank the findings again, because closed states move down the list.

Each finding whose state comes from a decision gets a `TriageOrigin`: who decided, when, on
which component version, and where the decision came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex._common import parse_timestamp
from nemecys.vex.apply import VexIndex
from nemecys.vex.convert import finding_component, with_statement
from nemecys.vex.model import VexDocument, VexStatement
from nemecys.vex.triage import CarriedDecision, carry_over, record_statements
from nemecys.vulns.findings import Finding, ScanResult
from nemecys.vulns.match import Matcher, MatchOptions, finish_findings
from nemecys.vulns.scoring import prioritise
from nemecys.vulns.store import AdvisoryStore, TriageDecision, TriageStore

# Components matched between two progress reports. Small enough for a smooth bar on an SBOM of
# a few hundred components, large enough that the report costs nothing next to the matching.
PROGRESS_BATCH = 25

ProgressCallback = Callable[[int, int], None]  # (components done, components in total)

SOURCE_DATABASE = "database"
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TriageOrigin:
    """The decision that set a finding's state, and where it came from."""

    source: str  # SOURCE_DATABASE, or the path of the VEX file
    vulnerability: str  # the id the decision names, which may be an alias of the finding's id
    author: str | None = None
    timestamp: str | None = None  # ISO 8601
    taken_on_version: str | None = None  # component version the decision was taken on
    version_changed: bool = False  # taken on another version than the one scanned now
    needs_review: bool = False  # see nemecys.vex.triage.CarriedDecision.needs_review
    responses: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Return the origin as plain JSON-ready data."""
        return {
            "source": self.source,
            "vulnerability": self.vulnerability,
            "author": self.author,
            "timestamp": self.timestamp,
            "taken_on_version": self.taken_on_version,
            "version_changed": self.version_changed,
            "needs_review": self.needs_review,
            "responses": list(self.responses),
        }

    def label(self) -> str:
        """Return "by WHO at WHEN on VERSION" with the parts that are known, for tables."""
        parts = []
        if self.author:
            parts.append(f"by {self.author}")
        if self.timestamp:
            parts.append(f"at {self.timestamp}")
        if self.taken_on_version:
            parts.append(f"on {self.taken_on_version}")
        if self.needs_review:
            parts.append("(review)")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class TriagedScan:
    """A scan result whose finding states include stored decisions and VEX statements."""

    result: ScanResult
    product: str | None
    origins: Mapping[tuple[str, str], TriageOrigin] = field(default_factory=dict)
    # VEX statements that set a finding's state, each with the component it was applied to.
    applied: tuple[tuple[SoftwareComponent, VexStatement], ...] = ()
    carried: int = 0  # stored decisions that set a finding's state

    def origin(self, finding: Finding) -> TriageOrigin | None:
        """Return the decision behind a finding's state, or None when no decision applies."""
        return self.origins.get(finding_key(finding))


def finding_key(finding: Finding) -> tuple[str, str]:
    """Return the key of a finding in `TriagedScan.origins`: (component key, vulnerability id)."""
    return finding.component_key, finding.vulnerability_id


def match_in_batches(
    document: SbomDocument,
    store: AdvisoryStore,
    *,
    options: MatchOptions | None = None,
    progress: ProgressCallback | None = None,
) -> ScanResult:
    """Match every component of an SBOM, calling `progress` after each batch.

    The findings are neither scored nor ranked, as with `Matcher.match_document`.
    """
    matcher = Matcher(store, options)
    components = document.components
    total = len(components)
    findings: list[Finding] = []
    unversioned: list[str] = []
    unidentified: list[str] = []
    notes: dict[str, None] = {}
    uncovered: dict[str, list[str]] = {}
    if progress is not None:
        progress(0, total)
    for start in range(0, total, PROGRESS_BATCH):
        batch = replace(document, components=components[start : start + PROGRESS_BATCH])
        part = matcher.match_document(batch)
        findings += part.findings
        unversioned += part.unversioned
        unidentified += part.unidentified
        notes.update(dict.fromkeys(part.notes))
        for purl_type, keys in part.uncovered.items():
            uncovered.setdefault(purl_type, []).extend(keys)
        if progress is not None:
            progress(min(start + PROGRESS_BATCH, total), total)
    return ScanResult(
        source=document.path,
        findings=tuple(findings),
        components=total,
        unversioned=tuple(unversioned),
        unidentified=tuple(unidentified),
        notes=tuple(notes),
        uncovered={t: tuple(keys) for t, keys in sorted(uncovered.items())},
    )


def scan_with_triage(
    document: SbomDocument,
    store: AdvisoryStore,
    *,
    product: str | None = None,
    triage_store: TriageStore | None = None,
    vex_documents: Sequence[VexDocument] = (),
    model_answers: Mapping[str, str] | None = None,
    user_answers: Mapping[str, str] | None = None,
    options: MatchOptions | None = None,
    progress: ProgressCallback | None = None,
) -> TriagedScan:
    """Scan an SBOM and apply the stored decisions for `product`, then the VEX documents.

    Stored decisions are read only when both `product` and `triage_store` are given.
    """
    matched = match_in_batches(document, store, options=options, progress=progress)
    findings = list(
        finish_findings(
            matched.findings, store, model_answers=model_answers, user_answers=user_answers
        )
    )
    origins: dict[tuple[str, str], TriageOrigin] = {}
    carried = 0
    if product and triage_store is not None:
        findings, carried = _apply_stored(
            findings, triage_store.triage_for(product), document, origins
        )
    findings, applied = _apply_vex(findings, vex_documents, document, origins)
    result = replace(matched, findings=tuple(prioritise(findings)))
    return TriagedScan(
        result=result,
        product=product,
        origins=origins,
        applied=tuple(applied),
        carried=carried,
    )


def apply_vex_to_result(
    result: ScanResult, vex_documents: Sequence[VexDocument]
) -> tuple[ScanResult, dict[tuple[str, str], TriageOrigin]]:
    """Apply VEX documents to findings that have no SBOM behind them (device lists).

    Statements are matched against each finding's own component name, version and purl.
    """
    origins: dict[tuple[str, str], TriageOrigin] = {}
    findings, _ = _apply_vex(list(result.findings), vex_documents, None, origins)
    return replace(result, findings=tuple(prioritise(findings))), origins


def record_applied(
    store: TriageStore,
    scan: TriagedScan,
    *,
    default_author: str | None = None,
    now: str | None = None,
) -> list[TriageDecision]:
    """Save the VEX statements that set finding states as triage decisions for the product.

    A statement without an author gets `default_author`, and one without a time gets `now`
    (default: the current time), so that every stored decision records who decided and when.
    Raises ValueError when the scan has no product.
    """
    if not scan.product:
        raise ValueError("the scan has no product to record triage decisions for")
    when = now or _now()
    completed = [
        (
            component,
            replace(
                statement,
                author=statement.author or default_author,
                first_issued=statement.first_issued or (None if statement.last_updated else when),
            ),
        )
        for component, statement in scan.applied
    ]
    return record_statements(store, scan.product, completed)


# --- stored decisions ---------------------------------------------------------------------------


def _apply_stored(
    findings: list[Finding],
    decisions: Iterable[TriageDecision],
    document: SbomDocument,
    origins: dict[tuple[str, str], TriageOrigin],
) -> tuple[list[Finding], int]:
    by_component: dict[str, list[Sequence[str]]] = {}
    for finding in findings:
        by_component.setdefault(finding.component_key, []).append(finding.ids)
    proposals: dict[tuple[str, tuple[str, ...]], CarriedDecision] = {
        (proposal.component.key, proposal.finding_ids): proposal
        for proposal in carry_over(decisions, document, by_component)
    }
    updated: list[Finding] = []
    for finding in findings:
        proposal = proposals.get((finding.component_key, finding.ids))
        if proposal is None:
            updated.append(finding)
            continue
        decision = proposal.decision
        updated.append(
            replace(
                finding,
                state=decision.state,
                justification=decision.justification,
                detail=decision.detail,
            )
        )
        origins[finding_key(finding)] = TriageOrigin(
            source=SOURCE_DATABASE,
            vulnerability=decision.vulnerability,
            author=decision.author,
            timestamp=decision.timestamp,
            taken_on_version=decision.component_version,
            version_changed=proposal.version_changed,
            needs_review=proposal.needs_review,
            responses=decision.response,
        )
    return updated, len(proposals)


# --- VEX documents ------------------------------------------------------------------------------


def _apply_vex(
    findings: list[Finding],
    vex_documents: Sequence[VexDocument],
    document: SbomDocument | None,
    origins: dict[tuple[str, str], TriageOrigin],
) -> tuple[list[Finding], list[tuple[SoftwareComponent, VexStatement]]]:
    statements: list[VexStatement] = []
    sources: dict[int, str] = {}
    for vex in vex_documents:
        for original in vex.statements:
            completed = _with_document_defaults(original, vex)
            statements.append(completed)
            sources[id(completed)] = vex.source or vex.format
    if not statements:
        return findings, []

    index = VexIndex(statements, sbom=document)
    components = {c.key: c for c in document.components} if document else {}
    if document and document.subject:
        components.setdefault(document.subject.key, document.subject)
    updated: list[Finding] = []
    applied: list[tuple[SoftwareComponent, VexStatement]] = []
    for finding in findings:
        component = finding_component(finding, components)
        statement = index.decide(component, finding.ids)
        if statement is None or _stored_is_newer(origins.get(finding_key(finding)), statement):
            updated.append(finding)
            continue
        updated.append(with_statement(finding, statement))
        applied.append((component, statement))
        origins[finding_key(finding)] = TriageOrigin(
            source=sources.get(id(statement), "VEX"),
            vulnerability=statement.vulnerability,
            author=statement.author,
            timestamp=statement.timestamp,
            taken_on_version=None,
            responses=tuple(r.value for r in statement.responses),
        )
    return updated, applied


def _with_document_defaults(statement: VexStatement, vex: VexDocument) -> VexStatement:
    """Give a statement its document's author and time when it has none of its own."""
    author = statement.author or vex.author
    first_issued = statement.first_issued
    if statement.timestamp is None:
        first_issued = vex.last_updated or vex.timestamp
    if author == statement.author and first_issued == statement.first_issued:
        return statement
    return replace(statement, author=author, first_issued=first_issued)


def _stored_is_newer(origin: TriageOrigin | None, statement: VexStatement) -> bool:
    if origin is None or origin.source != SOURCE_DATABASE:
        return False
    return _moment(origin.timestamp) > _moment(statement.timestamp)


def _moment(timestamp: str | None) -> datetime:
    if not timestamp:
        return _OLDEST
    try:
        return parse_timestamp(timestamp)
    except ValueError:
        return _OLDEST


def _now() -> str:
    from nemecys.vex.convert import now_timestamp

    return now_timestamp()


__all__ = [
    "PROGRESS_BATCH",
    "SOURCE_DATABASE",
    "ProgressCallback",
    "TriageOrigin",
    "TriagedScan",
    "apply_vex_to_result",
    "finding_key",
    "match_in_batches",
    "record_applied",
    "scan_with_triage",
]
