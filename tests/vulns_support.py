"""Small loaders for the vulnerability tests: OSV records, CycloneDX JSON SBOMs, CSAF advisories.

They read only the fields the matcher uses, so matcher tests do not depend on the feed
importers and SBOM readers that are built separately.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vulns.model import Advisory, AffectedPackage, Event, Range, Severity


def osv_advisory(record: Mapping[str, Any]) -> Advisory:
    """Convert an OSV record (as parsed JSON or YAML) into an Advisory."""
    affected: list[AffectedPackage] = []
    for entry in record.get("affected", []):
        package = entry.get("package", {})
        ranges = tuple(
            Range(
                type=r["type"],
                events=tuple(
                    Event(**{k: str(v) for k, v in event.items()}) for event in r.get("events", [])
                ),
            )
            for r in entry.get("ranges", [])
        )
        affected.append(
            AffectedPackage(
                ecosystem=package.get("ecosystem"),
                name=package.get("name"),
                purl=package.get("purl"),
                ranges=ranges,
                versions=tuple(str(v) for v in entry.get("versions", [])),
            )
        )
    return Advisory(
        id=record["id"],
        source="osv",
        aliases=tuple(record.get("aliases", [])),
        summary=record.get("summary"),
        details=record.get("details"),
        withdrawn=str(record["withdrawn"]) if record.get("withdrawn") else None,
        severities=tuple(Severity(s["type"], s["score"]) for s in record.get("severity", [])),
        affected=tuple(affected),
        references=tuple(r["url"] for r in record.get("references", [])),
    )


# libyaml's loader reads the 2,661 PyPI records about ten times faster than the pure one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_osv_records(folder: Path) -> list[dict[str, Any]]:
    """Parse every `*.yaml` OSV record under `folder`."""
    return [
        yaml.load(path.read_bytes(), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        for path in sorted(folder.rglob("*.yaml"))
    ]


def load_osv_folder(folder: Path) -> list[Advisory]:
    """Load every `*.yaml` OSV record under `folder` as Advisories."""
    return [osv_advisory(record) for record in load_osv_records(folder)]


def cyclonedx_document(path: Path) -> SbomDocument:
    """Read the components of a CycloneDX JSON SBOM, nested ones included."""
    data = json.loads(path.read_bytes())
    components: list[SoftwareComponent] = []

    def walk(entries: Iterable[Mapping[str, Any]], parent: str | None) -> None:
        for entry in entries:
            key = entry.get("bom-ref") or f"component-{len(components) + 1}"
            components.append(
                SoftwareComponent(
                    key=key,
                    name=entry["name"],
                    version=entry.get("version"),
                    group=entry.get("group"),
                    purl=entry.get("purl"),
                    cpe=entry.get("cpe"),
                    type=entry.get("type", "library"),
                    nested_in=parent,
                )
            )
            walk(entry.get("components", []), key)

    walk(data.get("components", []), None)
    return SbomDocument(
        path=str(path),
        format="CycloneDX",
        encoding="json",
        spec_version=data.get("specVersion"),
        components=tuple(components),
    )


def csaf_advisories(path: Path) -> list[Advisory]:
    """Convert a CSAF 2.0 document: one Advisory per vulnerability, one entry per product."""
    document = json.loads(path.read_bytes())
    tracking = document["document"]["tracking"]["id"]
    products: dict[str, dict[str, str]] = {}

    def walk(branches: Iterable[Mapping[str, Any]], names: dict[str, str]) -> None:
        for branch in branches:
            here = {**names, branch["category"]: branch["name"]}
            if "product" in branch:
                products[branch["product"]["product_id"]] = {
                    **here,
                    "full_name": branch["product"]["name"],
                }
            walk(branch.get("branches", []), here)

    walk(document.get("product_tree", {}).get("branches", []), {})
    advisories: list[Advisory] = []
    for number, vulnerability in enumerate(document.get("vulnerabilities", []), start=1):
        remediations: dict[str, list[str]] = {}
        for remediation in vulnerability.get("remediations", []):
            for product_id in remediation.get("product_ids", []):
                remediations.setdefault(product_id, []).append(remediation["details"])
        affected: list[AffectedPackage] = []
        for status, product_ids in vulnerability.get("product_status", {}).items():
            for product_id in product_ids:
                names = products.get(product_id, {})
                affected.append(
                    AffectedPackage(
                        name=names.get("full_name"),
                        vendor=names.get("vendor"),
                        product=names.get("product_name"),
                        product_version=names.get("product_version")
                        or names.get("product_version_range"),
                        status=status,
                        remediation="\n".join(remediations.get(product_id, [])) or None,
                    )
                )
        cve = vulnerability.get("cve")
        severities = tuple(
            Severity("CVSS_V3", score["cvss_v3"]["vectorString"])
            for score in vulnerability.get("scores", [])
            if "cvss_v3" in score
        )
        advisories.append(
            Advisory(
                id=f"{tracking}/{cve or number}",
                source="csaf",
                aliases=(cve,) if cve else (),
                summary=document["document"]["title"],
                severities=severities,
                affected=tuple(affected),
            )
        )
    return advisories
