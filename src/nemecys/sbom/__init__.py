"""SBOM reading for the assessment report: the components of a CycloneDX JSON SBOM.

This is the thin first step of SBOM support: it lists the components (nested ones included)
so the report can show what a model component is built from. Parsing is delegated to
cyclonedx-python-lib.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nemecys.errors import InputError
from nemecys.results import SbomComponent, SbomSummary

MAX_SBOM_BYTES = 64 * 1024 * 1024

# TODO: SPDX and CycloneDX XML input, the FDA support properties and vulnerability matching
# belong to the SBOM subsystem proper; only CycloneDX JSON is read here.


def read_sbom(path: Path, component: str) -> SbomSummary:
    """Read a CycloneDX JSON SBOM and summarise its components for `component`."""
    from cyclonedx.model.bom import Bom

    if not path.is_file():
        raise InputError(f"SBOM for '{component}' not found: {path}")
    size = path.stat().st_size
    if size > MAX_SBOM_BYTES:
        raise InputError(
            f"SBOM {path} is {size:,} bytes, above the limit of {MAX_SBOM_BYTES:,} bytes"
        )
    try:
        document = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"SBOM {path} is not valid JSON: {exc}; only CycloneDX JSON is read"
        ) from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise InputError(
            f'SBOM {path} is not a CycloneDX JSON document (no "bomFormat": "CycloneDX"); '
            "convert SPDX with a tool such as cyclonedx-cli first"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bom = Bom.from_json(document)  # type: ignore[attr-defined]
    except Exception as exc:  # cyclonedx-python-lib raises many unrelated types on bad input
        raise InputError(f"SBOM {path} could not be parsed as CycloneDX: {exc}") from None

    components = [_summarise(c) for c in _walk(bom.components)]
    components.sort(key=lambda c: (c.name.lower(), c.version or ""))
    return SbomSummary(
        component=component,
        path=str(path),
        format="CycloneDX JSON",
        spec_version=str(document.get("specVersion")) if document.get("specVersion") else None,
        components=components,
    )


def _walk(components: Iterable[Any]) -> Iterator[Any]:
    for component in components:
        yield component
        yield from _walk(component.components)


def _summarise(component: Any) -> SbomComponent:
    licenses: list[str] = []
    for entry in component.licenses:
        value = (
            getattr(entry, "id", None)
            or getattr(entry, "name", None)
            or getattr(entry, "value", None)
        )
        if value:
            licenses.append(str(value))
    name = component.name if not component.group else f"{component.group}/{component.name}"
    return SbomComponent(
        name=name,
        version=component.version,
        purl=str(component.purl) if component.purl else None,
        type=str(component.type.value) if component.type else "library",
        licenses=sorted(licenses),
        scope=str(component.scope.value) if component.scope else None,
    )
