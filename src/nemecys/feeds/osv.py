"""OSV records (https://ossf.github.io/osv-schema/) as `Advisory` values.

OSV is the format of the PyPA, GitHub, Go and osv.dev databases, published as one JSON (or,
in the PyPA repository, YAML) file per record and as per-ecosystem zip archives. The parser
checks what the store and the matcher rely on: `id` and `modified`; for each affected entry
`package.ecosystem` and `package.name` when a package is given; for each range a known
`type` and a non-empty `events` list of one-key events that includes an `introduced` event,
as the OSV JSON schema requires. Other fields are read when present and ignored otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from nemecys.feeds._values import (
    invalid,
    mapping,
    required_text,
    sequence,
    strings,
    text,
    timestamp,
)
from nemecys.vulns.model import Advisory, AffectedPackage, Event, Range, Severity

KIND = "OSV record"
RANGE_TYPES = frozenset({"ECOSYSTEM", "SEMVER", "GIT"})
EVENT_KEYS = ("introduced", "fixed", "last_affected", "limit")

# Scalars that the YAML 1.1 resolver would turn into numbers or datetimes stay text.
_TEXT_TAGS = frozenset(
    {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
)
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class OsvYamlLoader(_BaseLoader):  # type: ignore[misc]
    """A safe YAML loader that keeps timestamps and numbers as text.

    The PyPA database writes `modified: 2023-11-07T20:24:23.946863Z` unquoted, which the
    standard resolver turns into a datetime, and an unquoted version `1.10` would become the
    float 1.1. Every OSV field that the parser reads is a string.
    """


OsvYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _TEXT_TAGS]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def load_yaml(data: bytes) -> object:
    """Parse one YAML document with the safe loader (libyaml when available)."""
    return yaml.load(data, Loader=OsvYamlLoader)  # noqa: S506 - a SafeLoader subclass


def looks_like_osv(document: Mapping[str, object]) -> bool:
    return "id" in document and ("modified" in document or "affected" in document)


def parse_osv(document: object, origin: str) -> Advisory:
    """Convert one OSV record; raise InputError naming `origin` when it breaks the schema."""
    data = mapping(document, origin, KIND, "the record")
    record_id = required_text(data, "id", origin, KIND).strip()
    where = f"{record_id}: "
    modified = timestamp(data, "modified", origin, KIND, where)
    if modified is None:
        raise invalid(origin, KIND, f"{where}modified is missing")

    affected = tuple(
        _affected(entry, origin, f"{where}affected[{index}].")
        for index, entry in enumerate(sequence(data.get("affected"), origin, KIND, "affected"))
    )
    severities = tuple(
        _severity(entry, origin, f"{where}severity[{index}].")
        for index, entry in enumerate(sequence(data.get("severity"), origin, KIND, "severity"))
    )
    references: list[str] = []
    for index, entry in enumerate(sequence(data.get("references"), origin, KIND, "references")):
        reference = mapping(entry, origin, KIND, f"{where}references[{index}]")
        url = text(reference, "url", origin, KIND, f"{where}references[{index}].")
        if url:
            references.append(url)

    extra: dict[str, str] = {}
    schema_version = text(data, "schema_version", origin, KIND, where)
    if schema_version:
        extra["schema_version"] = schema_version

    return Advisory(
        id=record_id,
        source="osv",
        aliases=tuple(
            a.strip() for a in strings(data, "aliases", origin, KIND, where) if a.strip()
        ),
        summary=text(data, "summary", origin, KIND, where),
        details=text(data, "details", origin, KIND, where),
        published=timestamp(data, "published", origin, KIND, where),
        modified=modified,
        withdrawn=timestamp(data, "withdrawn", origin, KIND, where),
        severities=severities,
        affected=affected,
        references=tuple(references),
        cwes=_cwes(data, origin, where),
        extra=extra,
    )


def _affected(entry: object, origin: str, where: str) -> AffectedPackage:
    data = mapping(entry, origin, KIND, where.rstrip("."))
    ecosystem = name = purl = None
    package = data.get("package")
    if package is not None:
        fields = mapping(package, origin, KIND, f"{where}package")
        ecosystem = required_text(fields, "ecosystem", origin, KIND, f"{where}package.")
        name = required_text(fields, "name", origin, KIND, f"{where}package.")
        purl = text(fields, "purl", origin, KIND, f"{where}package.")
    ranges = tuple(
        _range(item, origin, f"{where}ranges[{index}].")
        for index, item in enumerate(sequence(data.get("ranges"), origin, KIND, f"{where}ranges"))
    )
    if package is None and not any(r.type == "GIT" for r in ranges):
        raise invalid(origin, KIND, f"{where}package is missing (only GIT ranges may omit it)")
    return AffectedPackage(
        ecosystem=ecosystem,
        name=name,
        purl=purl,
        ranges=ranges,
        versions=strings(data, "versions", origin, KIND, where),
    )


def _range(entry: object, origin: str, where: str) -> Range:
    data = mapping(entry, origin, KIND, where.rstrip("."))
    range_type = required_text(data, "type", origin, KIND, where)
    if range_type not in RANGE_TYPES:
        raise invalid(
            origin,
            KIND,
            f"{where}type {range_type!r} is not one of {', '.join(sorted(RANGE_TYPES))}",
        )
    raw_events = sequence(data.get("events"), origin, KIND, f"{where}events")
    if not raw_events:
        raise invalid(origin, KIND, f"{where}events is missing or empty")
    events = tuple(
        _event(item, origin, f"{where}events[{index}]") for index, item in enumerate(raw_events)
    )
    if not any(event.introduced is not None for event in events):
        raise invalid(origin, KIND, f"{where}events has no 'introduced' event")
    return Range(type=range_type, events=events)


def _event(entry: object, origin: str, where: str) -> Event:
    data = mapping(entry, origin, KIND, where)
    keys = [key for key in EVENT_KEYS if key in data]
    if len(keys) != 1:
        raise invalid(
            origin,
            KIND,
            f"{where} must have exactly one of {', '.join(EVENT_KEYS)}, got {sorted(data)}",
        )
    key = keys[0]
    value = data[key]
    if not isinstance(value, str):
        raise invalid(origin, KIND, f"{where}.{key} must be a string, got {value!r}")
    return Event(**{key: value})


def _severity(entry: object, origin: str, where: str) -> Severity:
    data = mapping(entry, origin, KIND, where.rstrip("."))
    return Severity(
        type=required_text(data, "type", origin, KIND, where),
        score=required_text(data, "score", origin, KIND, where),
    )


def _cwes(data: Mapping[str, object], origin: str, where: str) -> tuple[str, ...]:
    """Return CWE ids from `database_specific.cwe_ids`, where GitHub and osv.dev put them."""
    specific = data.get("database_specific")
    if not isinstance(specific, Mapping):
        return ()
    return strings(specific, "cwe_ids", origin, KIND, f"{where}database_specific.")
