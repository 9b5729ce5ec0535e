"""Vulnerability domain types shared by the feed importers, the advisory store and the matcher.

An `Advisory` is one vulnerability record as a source publishes it (an OSV record, an NVD CVE,
a CSAF document's vulnerability, a KEV entry), normalised. The store merges advisories whose
ids alias each other into one vulnerability with every id.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Event:
    """One OSV range event: exactly one of the four fields is set."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


@dataclass(frozen=True, slots=True)
class Range:
    type: str  # OSV: SEMVER, ECOSYSTEM, GIT; NVD/CSAF ranges are converted to ECOSYSTEM or "VERS"
    events: tuple[Event, ...] = ()
    vers: str | None = None  # a vers: range string, for sources that publish one


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """What an advisory says is affected: a package of an ecosystem, a CPE, or a CSAF product."""

    ecosystem: str | None = None  # OSV ecosystem name, e.g. "PyPI", "npm", "Debian:12"
    name: str | None = None
    purl: str | None = None
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()  # enumerated affected versions
    cpe: str | None = None  # CPE 2.3 match string (NVD)
    vulnerable: bool = True  # False for NVD "running on" platform entries
    vendor: str | None = None  # CSAF product tree vendor
    product: str | None = None  # CSAF product name
    product_version: str | None = None  # CSAF product version or range text
    status: str = "affected"  # CSAF product status: known_affected, fixed, known_not_affected, …
    remediation: str | None = None


@dataclass(frozen=True, slots=True)
class Severity:
    type: str  # CVSS_V2, CVSS_V3, CVSS_V4, or a source's qualitative label
    score: str  # vector string, or label


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    source: str  # osv, nvd, csaf, kev, ...
    aliases: tuple[str, ...] = ()
    summary: str | None = None
    details: str | None = None
    published: str | None = None  # ISO 8601
    modified: str | None = None  # ISO 8601
    withdrawn: str | None = None  # ISO 8601 when the source withdrew it
    severities: tuple[Severity, ...] = ()
    affected: tuple[AffectedPackage, ...] = ()
    references: tuple[str, ...] = ()
    cwes: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KevEntry:
    cve: str
    vendor: str
    product: str
    name: str
    date_added: str
    due_date: str | None
    required_action: str | None
    ransomware: str | None


@dataclass(frozen=True, slots=True)
class EpssScore:
    cve: str
    score: float
    percentile: float
    date: str | None
