"""The advisory store interface that the matcher queries, and an in-memory implementation.

The SQL implementation lives in `nemecys.storage`; tests and small runs can use `MemoryStore`.
Both index affected packages by `package_key(ecosystem, name)`, so an importer and the matcher
agree on how a package is looked up whatever the source spelled.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nemecys.vulns.model import Advisory, EpssScore, KevEntry

# OSV ecosystem names (https://ossf.github.io/osv-schema/#affectedpackage-field) to purl types.
# Distro ecosystems carry a release after a colon ("Debian:12"); only the part before it counts.
OSV_ECOSYSTEM_TO_PURL_TYPE = {
    "pypi": "pypi",
    "npm": "npm",
    "maven": "maven",
    "go": "golang",
    "crates.io": "cargo",
    "nuget": "nuget",
    "rubygems": "gem",
    "packagist": "composer",
    "hex": "hex",
    "pub": "pub",
    "debian": "deb",
    "ubuntu": "deb",
    "alpine": "apk",
    "rocky linux": "rpm",
    "almalinux": "rpm",
    "red hat": "rpm",
    "suse": "rpm",
    "opensuse": "rpm",
    "github actions": "github",
    "swifturl": "swift",
    "cran": "cran",
    "bioconductor": "bioconductor",
    "conan": "conan",
}


# The entry `covered_types` adds when the store holds CPE data; no purl type has this name.
CPE_COVERAGE = "cpe"

# The OSV ecosystem name `nemecys db update -e` takes for a purl type.
PURL_TYPE_TO_OSV_ECOSYSTEM = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "nuget": "NuGet",
    "gem": "RubyGems",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "deb": "Debian",
    "apk": "Alpine",
    "rpm": "Red Hat",
}


def purl_type_of(ecosystem: str) -> str:
    """Return the purl type for an OSV ecosystem name, or the lower-cased name itself."""
    base = ecosystem.split(":", 1)[0].strip().lower()
    return OSV_ECOSYSTEM_TO_PURL_TYPE.get(base, base)


_PYPI_SEPARATORS = re.compile(r"[-_.]+")


def normalize_name(purl_type: str, name: str) -> str:
    """Normalise a package name the way its ecosystem compares names.

    PyPI follows PEP 503 (case-insensitive, runs of '-', '_', '.' equal); npm names are
    lower-case with an optional '@scope/'; Maven names are 'groupId:artifactId' as written;
    Go module paths and most others compare as written. A purl's namespace joins the name with
    '/' (npm scope, Go path), except for Maven, where it joins with ':'.
    """
    if purl_type == "pypi":
        return _PYPI_SEPARATORS.sub("-", name).lower()
    if purl_type in ("npm", "nuget", "gem", "composer", "deb", "apk", "rpm", "cargo", "hex", "pub"):
        return name.lower()
    return name


def package_key(purl_type: str, name: str) -> tuple[str, str]:
    return purl_type, normalize_name(purl_type, name)


class AdvisoryStore(Protocol):
    """Read access to advisories, as the matcher needs it."""

    def advisories_for_package(self, purl_type: str, name: str) -> Sequence[Advisory]:
        """Advisories with an affected package of this purl type and (un-normalised) name."""
        ...

    def advisories_for_cpe(self, vendor: str, product: str) -> Sequence[Advisory]:
        """Advisories whose CPE configurations name this vendor and product."""
        ...

    def advisories_with_products(self) -> Sequence[Advisory]:
        """Advisories that name products by vendor, product and version (CSAF)."""
        ...

    def covered_types(self) -> set[str]:
        """Purl types the store holds advisories for, plus `CPE_COVERAGE` when it has CPE data.

        A component whose purl type is missing here was checked against no advisory at all.
        """
        ...

    def kev(self, ids: Iterable[str]) -> dict[str, KevEntry]: ...

    def epss(self, ids: Iterable[str]) -> dict[str, EpssScore]: ...


@dataclass
class MemoryStore:
    """An AdvisoryStore over advisories held in memory."""

    advisories: list[Advisory]
    kev_entries: dict[str, KevEntry]
    epss_scores: dict[str, EpssScore]

    def __init__(
        self,
        advisories: Iterable[Advisory] = (),
        kev: Iterable[KevEntry] = (),
        epss: Iterable[EpssScore] = (),
    ) -> None:
        self.advisories = list(advisories)
        self.kev_entries = {k.cve: k for k in kev}
        self.epss_scores = {e.cve: e for e in epss}
        self._by_package: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
        self._by_cpe: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
        self._with_products: list[Advisory] = []
        for advisory in self.advisories:
            self._index(advisory)

    def _index(self, advisory: Advisory) -> None:
        packages: set[tuple[str, str]] = set()
        cpes: set[tuple[str, str]] = set()
        has_product = False
        for affected in advisory.affected:
            if affected.ecosystem and affected.name:
                packages.add(package_key(purl_type_of(affected.ecosystem), affected.name))
            if affected.cpe:
                parts = affected.cpe.split(":")
                if len(parts) > 4:
                    cpes.add((parts[3].lower(), parts[4].lower()))
            if affected.product:
                has_product = True
        for key in packages:
            self._by_package[key].append(advisory)
        for key in cpes:
            self._by_cpe[key].append(advisory)
        if has_product:
            self._with_products.append(advisory)

    def advisories_for_package(self, purl_type: str, name: str) -> Sequence[Advisory]:
        return self._by_package.get(package_key(purl_type, name), [])

    def advisories_for_cpe(self, vendor: str, product: str) -> Sequence[Advisory]:
        return self._by_cpe.get((vendor.lower(), product.lower()), [])

    def advisories_with_products(self) -> Sequence[Advisory]:
        return self._with_products

    def covered_types(self) -> set[str]:
        types = {purl_type for purl_type, _ in self._by_package}
        if self._by_cpe:
            types.add(CPE_COVERAGE)
        return types

    def kev(self, ids: Iterable[str]) -> dict[str, KevEntry]:
        return {i: self.kev_entries[i] for i in ids if i in self.kev_entries}

    def epss(self, ids: Iterable[str]) -> dict[str, EpssScore]:
        return {i: self.epss_scores[i] for i in ids if i in self.epss_scores}


@dataclass(frozen=True, slots=True)
class TriageDecision:
    """An analyst's decision on one vulnerability in one component of one product (VEX data)."""

    product: str  # product name the SBOM describes; decisions carry over between its versions
    component: str  # purl without version (or name when no purl), so it survives upgrades
    vulnerability: str
    state: str  # CycloneDX analysis state: resolved, exploitable, in_triage, false_positive, not_affected, …
    justification: str | None = None
    response: tuple[str, ...] = ()
    detail: str | None = None
    author: str | None = None
    timestamp: str | None = None  # ISO 8601
    component_version: str | None = None  # version the decision was taken on


class TriageStore(Protocol):
    def save_triage(self, decision: TriageDecision) -> None: ...

    def triage_for(self, product: str) -> Sequence[TriageDecision]: ...
