"""The normalised SBOM: one component model for CycloneDX and SPDX inputs.

Components keep their identity from the SBOM (CycloneDX bom-ref, SPDX SPDXID), so two entries
with the same name and version stay two components. `ecosystem` is the purl type where a purl
exists; matching uses it before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SoftwareComponent:
    """One component of an SBOM, normalised across formats."""

    key: str  # bom-ref, SPDXID, or a generated unique key when the SBOM has none
    name: str
    version: str | None = None
    group: str | None = None  # CycloneDX group, Maven groupId, npm scope
    purl: str | None = None
    cpe: str | None = None
    type: str = "library"
    supplier: str | None = None
    author: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (algorithm, hex digest)
    licenses: tuple[str, ...] = ()
    scope: str | None = None  # required, optional, excluded (CycloneDX)
    level_of_support: str | None = None  # FDA premarket SBOM property
    end_of_support: str | None = (
        None  # FDA premarket SBOM property, as written (ISO date when valid)
    )
    properties: tuple[tuple[str, str], ...] = ()
    depends_on: tuple[str, ...] = ()  # keys of direct dependencies
    nested_in: str | None = None  # key of the parent component (CycloneDX nested components)

    @property
    def ecosystem(self) -> str | None:
        """The purl type (npm, pypi, maven, deb, …) or None without a purl."""
        if not self.purl or not self.purl.startswith("pkg:"):
            return None
        return self.purl[4:].split("/", 1)[0].lower() or None


@dataclass(frozen=True, slots=True)
class SbomDocument:
    """A parsed SBOM: its metadata and its components in document order."""

    path: str
    format: str  # "CycloneDX" or "SPDX"
    encoding: str  # "json", "xml", "tag-value", "json-ld"
    spec_version: str | None
    serial_number: str | None = None
    timestamp: str | None = None
    authors: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    subject: SoftwareComponent | None = None  # CycloneDX metadata.component, SPDX described package
    components: tuple[SoftwareComponent, ...] = field(default_factory=tuple)
