"""Triage decisions: record VEX statements in the triage store and carry them to new SBOM versions.

A `TriageDecision` names its component by purl without version (or by lower-case name when the
component has no purl), so a decision taken on log4j-core 2.14.0 still names log4j-core after
the product moves to 2.17.1. For a new SBOM version of the same product, `carry_over` finds the
stored decisions whose component is still in the SBOM and whose vulnerability is still found
there. It proposes each for the new version and keeps who decided, when, and on which version.
A proposal needs review when the component version changed, or when the decision claims
"resolved" although the vulnerability is still found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex._common import parse_timestamp
from nemecys.vex.apply import canonical_purl, parse_purl
from nemecys.vex.convert import product_of_component
from nemecys.vex.model import (
    AnalysisState,
    Justification,
    Product,
    Response,
    VexStatement,
    cyclonedx_justification,
    cyclonedx_responses,
)
from nemecys.vulns.store import TriageDecision, TriageStore

_RESOLVED = frozenset({AnalysisState.RESOLVED, AnalysisState.RESOLVED_WITH_PEDIGREE})
_OLDEST = datetime.min.replace(tzinfo=UTC)


def component_key(component: SoftwareComponent) -> str:
    """Return the name a decision stores for a component: purl without version, else name."""
    if component.purl:
        key = canonical_purl(component.purl, with_version=False)
        if key is not None:
            return key
    return component.name.strip().lower()


def _target_key(target: Product) -> str | None:
    if target.purl:
        key = canonical_purl(target.purl, with_version=False)
        if key is not None:
            return key
    return target.name.strip().lower() if target.name else None


def decision_from_statement(
    statement: VexStatement,
    product: str,
    component: SoftwareComponent | None = None,
) -> TriageDecision:
    """Return the triage decision that records a statement for `product`.

    The component is `component` when given (the SBOM component the statement was applied
    to), else the statement's target. Raises ValueError when neither names a component.
    """
    target = statement.target
    if component is not None:
        key: str | None = component_key(component)
        version = _version_of(component.purl, component.version)
    elif target is not None:
        key = _target_key(target)
        version = _version_of(target.purl, target.version)
    else:
        key, version = None, None
    if key is None:
        raise ValueError(
            f"statement for {statement.vulnerability} names no component by purl or name; "
            "pass the component it was applied to"
        )
    justification = statement.justification
    return TriageDecision(
        product=product,
        component=key,
        vulnerability=statement.vulnerability,
        state=statement.state.value,
        justification=cyclonedx_justification(justification).value if justification else None,
        response=tuple(r.value for r in cyclonedx_responses(statement.responses)),
        detail=statement.detail,
        author=statement.author,
        timestamp=statement.timestamp,
        component_version=version,
    )


def record_statements(
    store: TriageStore,
    product: str,
    applied: Iterable[tuple[SoftwareComponent, VexStatement]],
) -> list[TriageDecision]:
    """Save one decision per (component, statement) pair and return the saved decisions."""
    saved = []
    for component, statement in applied:
        decision = decision_from_statement(statement, product, component)
        store.save_triage(decision)
        saved.append(decision)
    return saved


def statement_from_decision(
    decision: TriageDecision,
    component: SoftwareComponent | None = None,
    *,
    note_origin: bool = False,
) -> VexStatement:
    """Return a VEX statement for a stored decision, about `component` when given.

    With `note_origin`, the detail ends with the version, author and time the decision was
    taken, for statements carried to another version.
    """
    if component is not None:
        target = product_of_component(component)
    elif decision.component.startswith("pkg:"):
        target = Product(purl=decision.component, ref=decision.component)
    else:
        target = Product(name=decision.component)
    detail = decision.detail
    if note_origin:
        origin = _origin_note(decision)
        detail = f"{detail}\n{origin}" if detail else origin
    return VexStatement(
        vulnerability=decision.vulnerability,
        state=_state(decision.state),
        product=target,
        justification=_justification(decision.justification),
        responses=tuple(r for r in (_response(v) for v in decision.response) if r),
        detail=detail,
        first_issued=decision.timestamp,
        author=decision.author,
    )


@dataclass(frozen=True, slots=True)
class CarriedDecision:
    """A stored decision proposed for a component of a new SBOM version."""

    decision: TriageDecision  # as stored: who, when and the version it was taken on
    component: SoftwareComponent  # the component in the new SBOM
    finding_ids: tuple[str, ...] = ()  # ids of the finding it decides, empty without findings

    @property
    def version_changed(self) -> bool:
        """True when the decision was taken on another version than the component has now."""
        taken_on = self.decision.component_version
        return taken_on is not None and taken_on != _version_of(
            self.component.purl, self.component.version
        )

    @property
    def needs_review(self) -> bool:
        """True when the version changed, or "resolved" is claimed for a vulnerability still found."""
        still_found = bool(self.finding_ids)
        resolved = self.decision.state in {s.value for s in _RESOLVED}
        return self.version_changed or (resolved and still_found)

    def statement(self) -> VexStatement:
        """Return the decision as a statement about the new component version."""
        return statement_from_decision(
            self.decision, self.component, note_origin=self.version_changed
        )


def carry_over(
    decisions: Iterable[TriageDecision],
    sbom: SbomDocument,
    findings: Mapping[str, Sequence[Sequence[str]]] | None = None,
) -> list[CarriedDecision]:
    """Propose stored decisions for the components of a new SBOM version.

    `findings` maps a component key (bom-ref) of the new SBOM to the id lists (id and aliases)
    of the vulnerabilities found in it. With it, a decision is proposed only when its
    vulnerability is still found, and matched through any alias. Without it, every decision
    whose component is still present is proposed. When several decisions match one finding,
    the latest wins.
    """
    latest: dict[tuple[str, str], tuple[int, TriageDecision]] = {}
    for position, decision in enumerate(decisions):
        key = (_decision_component(decision.component), decision.vulnerability.upper())
        previous = latest.get(key)
        if previous is None or _rank((position, decision)) >= _rank(previous):
            latest[key] = (position, decision)
    by_component: dict[str, list[tuple[int, TriageDecision]]] = {}
    for (stored_key, _), entry in latest.items():
        by_component.setdefault(stored_key, []).append(entry)

    proposals: list[CarriedDecision] = []
    components = [*([sbom.subject] if sbom.subject else []), *sbom.components]
    for component in components:
        stored = by_component.get(component_key(component), [])
        if not stored:
            continue
        if findings is None:
            proposals += [CarriedDecision(d, component) for _, d in sorted(stored, key=_rank)]
            continue
        for ids in findings.get(component.key, ()):
            wanted = {i.upper() for i in ids}
            answering = [e for e in stored if e[1].vulnerability.upper() in wanted]
            if answering:
                _, best = max(answering, key=_rank)
                proposals.append(CarriedDecision(best, component, tuple(ids)))
    return proposals


def carry_over_from_store(
    store: TriageStore,
    product: str,
    sbom: SbomDocument,
    findings: Mapping[str, Sequence[Sequence[str]]] | None = None,
) -> list[CarriedDecision]:
    """Propose the decisions stored for `product` for a new SBOM version of it."""
    return carry_over(store.triage_for(product), sbom, findings)


def _decision_component(text: str) -> str:
    if text.startswith("pkg:"):
        key = canonical_purl(text, with_version=False)
        if key is not None:
            return key
    return text.strip().lower()


def _version_of(purl: str | None, version: str | None) -> str | None:
    parsed = parse_purl(purl) if purl else None
    return parsed.version if parsed and parsed.version else version


def _ordering(decision: TriageDecision, position: int) -> tuple[datetime, int]:
    moment = _OLDEST
    if decision.timestamp:
        try:
            moment = parse_timestamp(decision.timestamp)
        except ValueError:
            moment = _OLDEST
    return moment, position


def _rank(entry: tuple[int, TriageDecision]) -> tuple[datetime, int]:
    return _ordering(entry[1], entry[0])


def _origin_note(decision: TriageDecision) -> str:
    parts = [f"Decision taken on version {decision.component_version or 'unknown'}"]
    if decision.author:
        parts.append(f"by {decision.author}")
    if decision.timestamp:
        parts.append(f"at {decision.timestamp}")
    return " ".join(parts) + "."


def _state(value: str) -> AnalysisState:
    try:
        return AnalysisState(value)
    except ValueError:
        return AnalysisState.IN_TRIAGE


def _justification(value: str | None) -> Justification | None:
    try:
        return Justification(value) if value else None
    except ValueError:
        return None


def _response(value: str) -> Response | None:
    try:
        return Response(value)
    except ValueError:
        return None
