"""OSV helpers for the vulnerability tests: small records from dicts, real records from YAML.

`osv_advisory` reads only the fields the matcher uses, so the small-input tests need no
`modified` timestamp and no schema-valid record.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from nemecys.feeds.osv import load_yaml
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


def load_osv_records(folder: Path) -> list[dict[str, Any]]:
    """Parse every `*.yaml` OSV record under `folder`, keeping timestamps and numbers as text."""
    return [
        cast("dict[str, Any]", load_yaml(path.read_bytes()))
        for path in sorted(folder.rglob("*.yaml"))
    ]


def load_osv_folder(folder: Path) -> list[Advisory]:
    """Load every `*.yaml` OSV record under `folder` as Advisories."""
    return [osv_advisory(record) for record in load_osv_records(folder)]
