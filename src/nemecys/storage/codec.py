"""Conversion of `Advisory` values to and from the JSON stored in `advisories.document`.

Fields at their default value are left out, so a typical OSV record takes a few hundred bytes
and the digest of two equal advisories is equal whatever produced them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from nemecys.vulns.model import Advisory, AffectedPackage, Event, Range, Severity


def _event_to_dict(event: Event) -> dict[str, str]:
    for key in ("introduced", "fixed", "last_affected", "limit"):
        value = getattr(event, key)
        if value is not None:
            return {key: value}
    return {}


def _range_to_dict(item: Range) -> dict[str, Any]:
    data: dict[str, Any] = {"type": item.type}
    if item.events:
        data["events"] = [_event_to_dict(event) for event in item.events]
    if item.vers is not None:
        data["vers"] = item.vers
    return data


_AFFECTED_TEXT_FIELDS = (
    "ecosystem",
    "name",
    "purl",
    "cpe",
    "vendor",
    "product",
    "product_version",
    "remediation",
)


def _affected_to_dict(affected: AffectedPackage) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in _AFFECTED_TEXT_FIELDS:
        value = getattr(affected, key)
        if value is not None:
            data[key] = value
    if affected.ranges:
        data["ranges"] = [_range_to_dict(item) for item in affected.ranges]
    if affected.versions:
        data["versions"] = list(affected.versions)
    if not affected.vulnerable:
        data["vulnerable"] = False
    if affected.status != "affected":
        data["status"] = affected.status
    return data


def advisory_to_dict(advisory: Advisory) -> dict[str, Any]:
    data: dict[str, Any] = {"id": advisory.id, "source": advisory.source}
    for key in ("summary", "details", "published", "modified", "withdrawn"):
        value = getattr(advisory, key)
        if value is not None:
            data[key] = value
    for key in ("aliases", "references", "cwes"):
        value = getattr(advisory, key)
        if value:
            data[key] = list(value)
    if advisory.severities:
        data["severities"] = [{"type": s.type, "score": s.score} for s in advisory.severities]
    if advisory.affected:
        data["affected"] = [_affected_to_dict(item) for item in advisory.affected]
    if advisory.extra:
        data["extra"] = dict(advisory.extra)
    return data


def encode(advisory: Advisory) -> tuple[str, str]:
    """Return the advisory's stored JSON and the SHA-256 hex digest of that JSON."""
    document = json.dumps(
        advisory_to_dict(advisory), ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    return document, hashlib.sha256(document.encode("utf-8")).hexdigest()


def _range_from_dict(data: Mapping[str, Any]) -> Range:
    return Range(
        type=data["type"],
        events=tuple(Event(**event) for event in data.get("events", ())),
        vers=data.get("vers"),
    )


def _affected_from_dict(data: Mapping[str, Any]) -> AffectedPackage:
    return AffectedPackage(
        ecosystem=data.get("ecosystem"),
        name=data.get("name"),
        purl=data.get("purl"),
        ranges=tuple(_range_from_dict(item) for item in data.get("ranges", ())),
        versions=tuple(data.get("versions", ())),
        cpe=data.get("cpe"),
        vulnerable=data.get("vulnerable", True),
        vendor=data.get("vendor"),
        product=data.get("product"),
        product_version=data.get("product_version"),
        status=data.get("status", "affected"),
        remediation=data.get("remediation"),
    )


def advisory_from_dict(data: Mapping[str, Any]) -> Advisory:
    return Advisory(
        id=data["id"],
        source=data["source"],
        aliases=tuple(data.get("aliases", ())),
        summary=data.get("summary"),
        details=data.get("details"),
        published=data.get("published"),
        modified=data.get("modified"),
        withdrawn=data.get("withdrawn"),
        severities=tuple(Severity(**item) for item in data.get("severities", ())),
        affected=tuple(_affected_from_dict(item) for item in data.get("affected", ())),
        references=tuple(data.get("references", ())),
        cwes=tuple(data.get("cwes", ())),
        extra=dict(data.get("extra", {})),
    )


def decode(document: str) -> Advisory:
    return advisory_from_dict(json.loads(document))
