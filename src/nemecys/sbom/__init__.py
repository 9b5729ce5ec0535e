"""SBOM ingest and quality: CycloneDX and SPDX files into one normalised component model.

`read_sbom_document` (in `readers`) reads any supported format into `SbomDocument`;
`check_quality` (in `quality`) measures it against the NTIA minimum elements and the FDA support
fields. `read_sbom` here is the summary that `nemecys assess` attaches to a model component.
"""

from __future__ import annotations

from pathlib import Path

from nemecys.errors import InputError
from nemecys.results import SbomComponent, SbomSummary
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.sbom.readers import MAX_SBOM_BYTES, read_sbom_document, read_sbom_file

_FORMAT_LABELS = {
    "json": "JSON",
    "xml": "XML",
    "tag-value": "tag-value",
    "json-ld": "JSON-LD",
}


def read_sbom(path: Path, component: str) -> SbomSummary:
    """Read an SBOM of any supported format and summarise its components for `component`."""
    if not path.is_file():
        raise InputError(f"SBOM for '{component}' not found: {path}")
    document = read_sbom_document(path, strict=True)
    components = [_summarise(c) for c in document.components]
    components.sort(key=lambda c: (c.name.lower(), c.version or ""))
    return SbomSummary(
        component=component,
        path=str(path),
        format=f"{document.format} {_FORMAT_LABELS.get(document.encoding, document.encoding)}",
        spec_version=_plain_version(document),
        components=components,
    )


def _plain_version(document: SbomDocument) -> str | None:
    # SPDX 2 writes "SPDX-2.3"; the summary keeps the number only, as for CycloneDX.
    version = document.spec_version
    if version and document.format == "SPDX":
        return version.removeprefix("SPDX-")
    return version


def _summarise(component: SoftwareComponent) -> SbomComponent:
    name = f"{component.group}/{component.name}" if component.group else component.name
    return SbomComponent(
        name=name or component.key,
        version=component.version,
        purl=component.purl,
        type=component.type,
        licenses=sorted(component.licenses),
        scope=component.scope,
    )


__all__ = [
    "MAX_SBOM_BYTES",
    "SbomDocument",
    "SoftwareComponent",
    "read_sbom",
    "read_sbom_document",
    "read_sbom_file",
]
