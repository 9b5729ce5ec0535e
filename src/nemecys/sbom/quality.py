"""Check an SBOM against the NTIA minimum elements and the FDA support fields.

The NTIA "Minimum Elements for a Software Bill of Materials" (2021) name seven data fields:
supplier, component name, version, other unique identifiers, dependency relationship, author of
the SBOM data and timestamp. The first five apply to each component, the last two to the
document. FDA premarket cybersecurity guidance adds, per component, the level of support and the
end-of-support date. `check_quality` measures how many components carry each element, lists what
to fix grouped by problem, and lists the components whose support has ended.

How an element counts as present:

- supplier, name, version: a non-empty value; a placeholder version ("unknown", "*") does not count;
- unique identifier: a purl, a CPE or a SWID tag id;
- dependency relationship: the component depends on something, something depends on it, or it
  is nested in another component;
- level of support: a statement other than a placeholder such as "Unknown";
- end-of-support date: an ISO 8601 date (`nemecys.sbom.fda.parse_support_date`); text such as
  "Open source" is reported but does not count.

The score (0–100) is the weighted mean of the element percentages, with the weights in `ELEMENTS`.
The weights are nemecys's choice, not part of the NTIA or FDA texts. They favour the fields that
vulnerability matching needs (version, identifier, supplier) and give the two FDA fields 30 points
together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol

from packageurl import PackageURL
from pydantic import BaseModel, ConfigDict, Field

from nemecys.sbom._common import SWID_PROPERTY
from nemecys.sbom.fda import (
    SupportState,
    classify_end_of_support,
    classify_level_of_support,
    parse_support_date,
)
from nemecys.sbom.model import SbomDocument, SoftwareComponent

Severity = Literal["error", "warning", "info"]

_PLACEHOLDER_VERSIONS = frozenset(
    {"unknown", "noassertion", "none", "n/a", "na", "*", "-", "latest", "unspecified"}
)
# A version at the end of a name: "WolfSSL 4.8.1", "log4j-core-2.14.1", "FreeRTOS v10.0.1".
_VERSION_IN_NAME = re.compile(r"(?:^|[\s_-])v?(\d+(?:\.\d+)+[A-Za-z0-9.+~-]*)$")
_NAME_TAIL = 64
_CPE23_SPLIT = re.compile(r"(?<!\\):")
_EXAMPLES = 5


class Element(StrEnum):
    NAME = "name"
    VERSION = "version"
    SUPPLIER = "supplier"
    UNIQUE_IDENTIFIER = "unique_identifier"
    DEPENDENCY_RELATIONSHIP = "dependency_relationship"
    AUTHOR = "author"
    TIMESTAMP = "timestamp"
    LEVEL_OF_SUPPORT = "level_of_support"
    END_OF_SUPPORT_DATE = "end_of_support_date"


@dataclass(frozen=True)
class ElementSpec:
    element: Element
    label: str
    source: Literal["NTIA", "FDA"]
    scope: Literal["component", "document"]
    weight: int


ELEMENTS: tuple[ElementSpec, ...] = (
    ElementSpec(Element.SUPPLIER, "Supplier name", "NTIA", "component", 10),
    ElementSpec(Element.NAME, "Component name", "NTIA", "component", 10),
    ElementSpec(Element.VERSION, "Version", "NTIA", "component", 15),
    ElementSpec(
        Element.UNIQUE_IDENTIFIER, "Unique identifier (purl, CPE, SWID)", "NTIA", "component", 15
    ),
    ElementSpec(
        Element.DEPENDENCY_RELATIONSHIP, "Dependency relationship", "NTIA", "component", 10
    ),
    ElementSpec(Element.AUTHOR, "Author of SBOM data", "NTIA", "document", 5),
    ElementSpec(Element.TIMESTAMP, "Timestamp", "NTIA", "document", 5),
    ElementSpec(Element.LEVEL_OF_SUPPORT, "Level of support", "FDA", "component", 15),
    ElementSpec(Element.END_OF_SUPPORT_DATE, "End-of-support date", "FDA", "component", 15),
)


# --- result types -------------------------------------------------------------------------------


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ElementCoverage(_Result):
    element: Element
    label: str
    source: Literal["NTIA", "FDA"]
    scope: Literal["component", "document"]
    weight: int
    present: int = Field(description="Components (or 1 for the document) that carry the element")
    total: int
    percent: float


class Finding(_Result):
    """One problem with one component or with the document."""

    code: str
    severity: Severity
    element: Element | None
    message: str


class ComponentQuality(_Result):
    key: str
    name: str
    version: str | None
    purl: str | None
    level_of_support: str | None
    end_of_support: str | None
    end_of_support_date: date | None
    missing: list[Element]
    findings: list[Finding]


class FixItem(_Result):
    """One kind of problem, with how many components have it and what to do."""

    code: str
    severity: Severity
    element: Element | None
    count: int
    action: str
    examples: list[str] = Field(
        description=f"Up to {_EXAMPLES} affected components, or the finding for a document problem"
    )
    components: list[str] = Field(description="Keys of all affected components")


class SupportConcern(_Result):
    """A component whose support has ended or whose maintenance has stopped."""

    key: str
    name: str
    version: str | None
    reason: str


class QualityReport(_Result):
    path: str
    format: str
    encoding: str
    spec_version: str | None
    checked_on: date = Field(description="Date against which end-of-support dates were compared")
    subject: str | None = Field(description="The product the SBOM describes")
    component_count: int
    score: float = Field(description="Weighted completeness, 0 to 100")
    ntia_complete: bool = Field(description="Every NTIA element present everywhere")
    fda_complete: bool = Field(description="Level of support and end-of-support date everywhere")
    elements: list[ElementCoverage]
    fixes: list[FixItem] = Field(description="What to fix, most severe and most frequent first")
    support_concerns: list[SupportConcern]
    components: list[ComponentQuality]
    reader_warnings: list[str]
    schema_errors: list[str] | None = Field(
        default=None, description="Schema validation messages; None when not validated"
    )


class _Note(Protocol):
    """The signature of the `note` callback passed to the identifier checks."""

    def __call__(
        self, code: str, severity: Severity, message: str, element: Element | None = None
    ) -> None: ...


# --- checks -------------------------------------------------------------------------------------


def check_quality(
    document: SbomDocument,
    *,
    today: date | None = None,
    reader_warnings: Sequence[str] = (),
    schema_errors: Sequence[str] | None = None,
) -> QualityReport:
    """Check `document`; end-of-support dates before `today` (default: the current date) are flagged."""
    checked_on = today or date.today()
    linked = _linked_keys(document)
    results = [_check_component(component, linked) for component in document.components]
    document_findings = _check_document(document)
    document_missing = {f.element for f in document_findings if f.element is not None}

    coverage = [_coverage(spec, results, document_missing) for spec in ELEMENTS]
    total_weight = sum(spec.weight for spec in ELEMENTS)
    score = sum(item.percent * item.weight for item in coverage) / total_weight
    components = [
        ComponentQuality(
            key=component.key,
            name=component.name,
            version=component.version,
            purl=component.purl,
            level_of_support=component.level_of_support,
            end_of_support=component.end_of_support,
            end_of_support_date=parse_support_date(component.end_of_support),
            missing=sorted(missing),
            findings=findings,
        )
        for component, (missing, findings) in zip(document.components, results, strict=True)
    ]
    return QualityReport(
        path=document.path,
        format=document.format,
        encoding=document.encoding,
        spec_version=document.spec_version,
        checked_on=checked_on,
        subject=_label(document.subject) if document.subject else None,
        component_count=len(document.components),
        score=round(score, 1),
        ntia_complete=all(c.percent == 100.0 for c in coverage if c.source == "NTIA"),
        fda_complete=all(c.percent == 100.0 for c in coverage if c.source == "FDA"),
        elements=coverage,
        fixes=_fixes(document, components, document_findings),
        support_concerns=_support_concerns(document.components, checked_on),
        components=components,
        reader_warnings=list(reader_warnings),
        schema_errors=list(schema_errors) if schema_errors is not None else None,
    )


def _linked_keys(document: SbomDocument) -> set[str]:
    """Return the keys of components that take part in a dependency or nesting relationship."""
    everything = [*document.components, *([document.subject] if document.subject else [])]
    linked: set[str] = set()
    for component in everything:
        if component.depends_on or component.nested_in is not None:
            linked.add(component.key)
        linked.update(component.depends_on)
    return linked


def _check_component(
    component: SoftwareComponent, linked: set[str]
) -> tuple[set[Element], list[Finding]]:
    findings: list[Finding] = []
    missing: set[Element] = set()

    def lack(element: Element, code: str, message: str) -> None:
        missing.add(element)
        findings.append(Finding(code=code, severity="error", element=element, message=message))

    def note(code: str, severity: Severity, message: str, element: Element | None = None) -> None:
        findings.append(Finding(code=code, severity=severity, element=element, message=message))

    if not component.name:
        lack(Element.NAME, "name-missing", "no name")
    version = (component.version or "").strip()
    if not version or version.lower() in _PLACEHOLDER_VERSIONS:
        # Only the end of the name is searched, which bounds the regex work on hostile names.
        embedded = _VERSION_IN_NAME.search(component.name[-_NAME_TAIL:])
        if embedded:
            lack(
                Element.VERSION,
                "version-in-name",
                f"version field is empty but the name {component.name!r} ends in {embedded[1]!r}",
            )
        elif version:
            lack(Element.VERSION, "version-placeholder", f"version is the placeholder {version!r}")
        else:
            lack(Element.VERSION, "version-missing", "no version")
    if not component.supplier:
        lack(Element.SUPPLIER, "supplier-missing", "no supplier")
    swid = any(name == SWID_PROPERTY for name, _ in component.properties)
    if not (component.purl or component.cpe or swid):
        lack(Element.UNIQUE_IDENTIFIER, "identifier-missing", "no purl, CPE or SWID tag id")
    if component.key not in linked:
        lack(
            Element.DEPENDENCY_RELATIONSHIP,
            "dependency-missing",
            "not in the dependency graph (depends on nothing, nothing depends on it, not nested)",
        )

    comparable = "" if Element.VERSION in missing else version
    if component.purl:
        _check_purl(component.purl, comparable, note)
    if component.cpe:
        _check_cpe(component.cpe, comparable, note)

    level_state = classify_level_of_support(component.level_of_support)
    if level_state is SupportState.MISSING:
        lack(Element.LEVEL_OF_SUPPORT, "level-of-support-missing", "no level of support")
    elif level_state is SupportState.UNKNOWN:
        lack(
            Element.LEVEL_OF_SUPPORT,
            "level-of-support-unknown",
            f"level of support is {component.level_of_support!r}",
        )

    end_state = classify_end_of_support(component.end_of_support)
    if end_state is SupportState.MISSING:
        lack(Element.END_OF_SUPPORT_DATE, "end-of-support-missing", "no end-of-support date")
    elif end_state is SupportState.UNKNOWN:
        lack(
            Element.END_OF_SUPPORT_DATE,
            "end-of-support-unknown",
            f"end of support is {component.end_of_support!r}",
        )
    elif end_state in (SupportState.TEXT, SupportState.ENDED):
        lack(
            Element.END_OF_SUPPORT_DATE,
            "end-of-support-not-a-date",
            f"end of support is {component.end_of_support!r}, not a date",
        )
    return missing, findings


def _check_purl(purl: str, version: str, note: _Note) -> None:
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as exc:
        note(
            "purl-invalid", "warning", f"purl {purl!r} is invalid: {exc}", Element.UNIQUE_IDENTIFIER
        )
        return
    if not parsed.version:
        note(
            "purl-without-version",
            "warning",
            f"purl {purl!r} has no version, so vulnerability databases cannot match it",
            Element.UNIQUE_IDENTIFIER,
        )
    elif version and parsed.version != version:
        note(
            "purl-version-mismatch",
            "warning",
            f"purl version {parsed.version!r} differs from the version {version!r}",
            Element.UNIQUE_IDENTIFIER,
        )


def _check_cpe(cpe: str, version: str, note: _Note) -> None:
    if cpe.startswith("cpe:2.3:"):
        fields = _CPE23_SPLIT.split(cpe)
        cpe_version = fields[5] if len(fields) > 5 else ""
    elif cpe.startswith("cpe:/"):
        fields = cpe[5:].split(":")
        cpe_version = fields[3] if len(fields) > 3 else ""
    else:
        note(
            "cpe-invalid",
            "warning",
            f"CPE {cpe!r} is neither CPE 2.3 nor CPE 2.2",
            Element.UNIQUE_IDENTIFIER,
        )
        return
    if version and cpe_version not in ("", "*", "-") and cpe_version.replace("\\", "") != version:
        note(
            "cpe-version-mismatch",
            "warning",
            f"CPE version {cpe_version!r} differs from the version {version!r}",
            Element.UNIQUE_IDENTIFIER,
        )


def _check_document(document: SbomDocument) -> list[Finding]:
    findings: list[Finding] = []
    if not document.authors:
        tools = f" (tools listed: {', '.join(document.tools)})" if document.tools else ""
        findings.append(
            Finding(
                code="author-missing",
                severity="error",
                element=Element.AUTHOR,
                message=f"the SBOM names no author{tools}",
            )
        )
    if not document.timestamp:
        findings.append(
            Finding(
                code="timestamp-missing",
                severity="error",
                element=Element.TIMESTAMP,
                message="the SBOM has no creation timestamp",
            )
        )
    elif not _is_iso_timestamp(document.timestamp):
        findings.append(
            Finding(
                code="timestamp-invalid",
                severity="warning",
                element=None,
                message=f"timestamp {document.timestamp!r} is not ISO 8601",
            )
        )
    if document.subject is None:
        findings.append(
            Finding(
                code="subject-missing",
                severity="warning",
                element=None,
                message="the SBOM does not name the product it describes",
            )
        )
    if not document.components:
        findings.append(
            Finding(
                code="no-components",
                severity="error",
                element=None,
                message="the SBOM lists no components",
            )
        )
    return findings


def _is_iso_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _coverage(
    spec: ElementSpec,
    results: Sequence[tuple[set[Element], list[Finding]]],
    document_missing: set[Element],
) -> ElementCoverage:
    if spec.scope == "document":
        present = 0 if spec.element in document_missing else 1
        total = 1
    else:
        total = len(results)
        present = sum(1 for missing, _ in results if spec.element not in missing)
    percent = round(100.0 * present / total, 1) if total else 0.0
    return ElementCoverage(
        element=spec.element,
        label=spec.label,
        source=spec.source,
        scope=spec.scope,
        weight=spec.weight,
        present=present,
        total=total,
        percent=percent,
    )


# --- what to fix --------------------------------------------------------------------------------

# What to do about each finding code; the counted nouns ({components}, {purls}, …) and {values}
# are filled in.
_ACTIONS: dict[str, str] = {
    "name-missing": "Give {components} a name.",
    "version-missing": "Add the version to {components}.",
    "version-placeholder": "Replace placeholder versions ({values}) with the real version on {components}.",
    "version-in-name": "Move the version out of the name into the version field on {components}.",
    "supplier-missing": "Name the supplier (CycloneDX supplier.name, SPDX PackageSupplier) of {components}.",
    "identifier-missing": "Add a purl or CPE to {components} so they can be matched against vulnerability databases.",
    "dependency-missing": "Add {components} to the dependency graph: list what the product and each component depend on (CycloneDX dependencies[].dependsOn, SPDX DEPENDS_ON or CONTAINS).",
    "purl-invalid": "Correct {invalid_purls} (see the purl specification).",
    "purl-without-version": "Add the version to {purls} (pkg:type/name@version).",
    "purl-version-mismatch": "Make purl and version agree on {components}.",
    "cpe-invalid": "Correct {malformed_cpes}.",
    "cpe-version-mismatch": "Make CPE and version agree on {components}.",
    "level-of-support-missing": "State the level of support (for example 'Actively maintained', 'No longer maintained') of {components}.",
    "level-of-support-unknown": "Find out the level of support of {components} recorded as {values}.",
    "end-of-support-missing": "Add the end-of-support date (YYYY-MM-DD) of {components}.",
    "end-of-support-unknown": "Find out the end-of-support date of {components} recorded as {values}.",
    "end-of-support-not-a-date": "Replace end-of-support text with a date (YYYY-MM-DD) on {components}; found {values}.",
    "author-missing": "Name the author of the SBOM data (CycloneDX metadata.authors, SPDX Creator: Person/Organization).",
    "timestamp-missing": "Add the SBOM creation time (CycloneDX metadata.timestamp, SPDX Created).",
    "timestamp-invalid": "Write the SBOM timestamp in ISO 8601 (2025-01-31T12:00:00Z).",
    "subject-missing": "Name the product the SBOM describes (CycloneDX metadata.component, SPDX DESCRIBES relationship).",
    "no-components": "List the product's components; an empty SBOM meets no element.",
}
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _fixes(
    document: SbomDocument,
    components: Sequence[ComponentQuality],
    document_findings: Sequence[Finding],
) -> list[FixItem]:
    by_key = {component.key: component for component in document.components}
    grouped: dict[str, list[tuple[ComponentQuality, Finding]]] = {}
    for result in components:
        for finding in result.findings:
            grouped.setdefault(finding.code, []).append((result, finding))

    fixes = [
        FixItem(
            code=finding.code,
            severity=finding.severity,
            element=finding.element,
            count=1,
            action=_ACTIONS.get(finding.code, finding.message),
            examples=[finding.message],
            components=[],
        )
        for finding in document_findings
    ]
    for code, entries in grouped.items():
        first = entries[0][1]
        values = _value_counts(code, [by_key[result.key] for result, _ in entries])
        count = len(entries)
        action = _ACTIONS.get(code, first.message).format(
            components=_plural(count, "component"),
            purls=_plural(count, "purl"),
            invalid_purls=_plural(count, "invalid purl"),
            malformed_cpes=_plural(count, "malformed CPE"),
            values=values,
        )
        fixes.append(
            FixItem(
                code=code,
                severity=first.severity,
                element=first.element,
                count=len(entries),
                action=action,
                examples=[_label(by_key[result.key]) for result, _ in entries[:_EXAMPLES]],
                components=[result.key for result, _ in entries],
            )
        )
    fixes.sort(key=lambda item: (_SEVERITY_ORDER[item.severity], -item.count, item.code))
    return fixes


def _value_counts(code: str, components: Iterable[SoftwareComponent]) -> str:
    """Return the distinct offending values of a finding, most frequent first."""
    if code.startswith("end-of-support"):
        values = [component.end_of_support or "" for component in components]
    elif code.startswith("level-of-support"):
        values = [component.level_of_support or "" for component in components]
    elif code == "version-placeholder":
        values = [component.version or "" for component in components]
    else:
        return ""
    counts = Counter(values).most_common()
    return ", ".join(f"{value!r} ×{count}" for value, count in counts)


def _support_concerns(components: Iterable[SoftwareComponent], today: date) -> list[SupportConcern]:
    concerns: list[SupportConcern] = []
    for component in components:
        reasons: list[str] = []
        end_date = parse_support_date(component.end_of_support)
        if end_date is not None and end_date < today:
            reasons.append(f"end of support {end_date.isoformat()} has passed")
        elif classify_end_of_support(component.end_of_support) is SupportState.ENDED:
            reasons.append(f"end of support reads {component.end_of_support!r}")
        if classify_level_of_support(component.level_of_support) is SupportState.ENDED:
            reasons.append(f"level of support reads {component.level_of_support!r}")
        if reasons:
            concerns.append(
                SupportConcern(
                    key=component.key,
                    name=component.name,
                    version=component.version,
                    reason="; ".join(reasons),
                )
            )
    return concerns


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _label(component: SoftwareComponent) -> str:
    name = f"{component.group}/{component.name}" if component.group else component.name
    name = name or component.key
    return f"{name}@{component.version}" if component.version else name
