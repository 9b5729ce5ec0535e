"""NVD CVE records in the CVE API 2.0 JSON format as `Advisory` values.

Accepted shapes: an API response or 2.0 data feed (`{"vulnerabilities": [{"cve": {...}}]}`),
one item (`{"cve": {...}}`), or a bare CVE object. Each CPE match of the `configurations`
becomes an `AffectedPackage` with the CPE 2.3 string, the `vulnerable` flag (False for the
"running on" platform of an AND configuration, and for matches under a negated node) and the
`versionStart*`/`versionEnd*` bounds as a `VERS` range. NVD marks a CVE it revoked with
`vulnStatus: Rejected`; such a record is stored as withdrawn at its `lastModified` time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from nemecys.feeds._values import (
    invalid,
    mapping,
    required_text,
    sequence,
    text,
    timestamp,
)
from nemecys.vulns.model import Advisory, AffectedPackage, Event, Range, Severity

KIND = "NVD CVE record"
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")

# NVD metric keys, newest CVSS version first, with the OSV severity type each maps to.
METRIC_TYPES = (
    ("cvssMetricV40", "CVSS_V4"),
    ("cvssMetricV31", "CVSS_V3"),
    ("cvssMetricV30", "CVSS_V3"),
    ("cvssMetricV2", "CVSS_V2"),
)
# CWE placeholders NVD uses when no CWE applies; they name no weakness.
_NO_CWE = frozenset({"NVD-CWE-Other", "NVD-CWE-noinfo"})
_ANY_VERSION = frozenset({"*", "-", ""})


def looks_like_nvd(document: Mapping[str, object]) -> bool:
    if document.get("format") == "NVD_CVE" or isinstance(document.get("cve"), Mapping):
        return True
    if "sourceIdentifier" in document or "lastModified" in document:
        return "id" in document
    items = document.get("vulnerabilities")
    return (
        isinstance(items, list)
        and bool(items)
        and isinstance(items[0], Mapping)
        and "cve" in items[0]
    )


def parse_nvd(document: object, origin: str) -> Iterator[Advisory]:
    """Yield one advisory per CVE in an API response, a single item or a bare CVE object."""
    data = mapping(document, origin, KIND, "the document")
    if "vulnerabilities" in data:
        for index, item in enumerate(
            sequence(data["vulnerabilities"], origin, KIND, "vulnerabilities")
        ):
            entry = mapping(item, origin, KIND, f"vulnerabilities[{index}]")
            yield parse_cve(entry.get("cve"), origin, f"vulnerabilities[{index}].cve")
    elif "cve" in data:
        yield parse_cve(data["cve"], origin, "cve")
    else:
        yield parse_cve(data, origin, "the record")


def parse_cve(document: object, origin: str, where: str = "cve") -> Advisory:
    """Convert one CVE object (the value of an item's `cve` key)."""
    data = mapping(document, origin, KIND, where)
    cve_id = required_text(data, "id", origin, KIND).strip()
    if not CVE_ID.match(cve_id):
        raise invalid(origin, KIND, f"id {cve_id!r} is not a CVE id such as CVE-2021-44228")
    prefix = f"{cve_id}: "
    modified = timestamp(data, "lastModified", origin, KIND, prefix)
    if modified is None:
        raise invalid(origin, KIND, f"{prefix}lastModified is missing")
    status = text(data, "vulnStatus", origin, KIND, prefix)

    extra: dict[str, str] = {}
    if status:
        extra["vuln_status"] = status
    source_identifier = text(data, "sourceIdentifier", origin, KIND, prefix)
    if source_identifier:
        extra["source_identifier"] = source_identifier

    return Advisory(
        id=cve_id,
        source="nvd",
        details=_english_description(data, origin, prefix),
        published=timestamp(data, "published", origin, KIND, prefix),
        modified=modified,
        withdrawn=modified if status == "Rejected" else None,
        severities=_severities(data, origin, prefix),
        affected=_affected(data, origin, prefix),
        references=_references(data, origin, prefix),
        cwes=_cwes(data, origin, prefix),
        extra=extra,
    )


def _english_description(data: Mapping[str, object], origin: str, prefix: str) -> str | None:
    first: str | None = None
    for index, item in enumerate(
        sequence(data.get("descriptions"), origin, KIND, f"{prefix}descriptions")
    ):
        description = mapping(item, origin, KIND, f"{prefix}descriptions[{index}]")
        value = text(description, "value", origin, KIND, f"{prefix}descriptions[{index}].")
        if value is None:
            continue
        if description.get("lang") == "en":
            return value
        first = first or value
    return first


def _severities(data: Mapping[str, object], origin: str, prefix: str) -> tuple[Severity, ...]:
    """Return one CVSS vector per version, preferring NVD's own (Primary) assessment."""
    metrics = data.get("metrics")
    if metrics is None:
        return ()
    metrics = mapping(metrics, origin, KIND, f"{prefix}metrics")
    severities: list[Severity] = []
    for key, severity_type in METRIC_TYPES:
        entries = [
            mapping(item, origin, KIND, f"{prefix}metrics.{key}[{index}]")
            for index, item in enumerate(
                sequence(metrics.get(key), origin, KIND, f"{prefix}metrics.{key}")
            )
        ]
        entries.sort(key=lambda entry: entry.get("type") != "Primary")
        for index, entry in enumerate(entries):
            cvss = mapping(
                entry.get("cvssData"), origin, KIND, f"{prefix}metrics.{key}[{index}].cvssData"
            )
            vector = required_text(
                cvss, "vectorString", origin, KIND, f"{prefix}metrics.{key}[{index}].cvssData."
            )
            severity = Severity(type=severity_type, score=vector)
            if all(s.type != severity_type for s in severities):
                severities.append(severity)
            break
    return tuple(severities)


def _affected(data: Mapping[str, object], origin: str, prefix: str) -> tuple[AffectedPackage, ...]:
    affected: list[AffectedPackage] = []
    seen: set[AffectedPackage] = set()
    configurations = sequence(data.get("configurations"), origin, KIND, f"{prefix}configurations")
    for c_index, configuration in enumerate(configurations):
        where = f"{prefix}configurations[{c_index}]"
        nodes = sequence(
            mapping(configuration, origin, KIND, where).get("nodes"), origin, KIND, f"{where}.nodes"
        )
        for n_index, node_value in enumerate(nodes):
            node_where = f"{where}.nodes[{n_index}]"
            node = mapping(node_value, origin, KIND, node_where)
            negated = node.get("negate") is True
            matches = sequence(node.get("cpeMatch"), origin, KIND, f"{node_where}.cpeMatch")
            for m_index, match_value in enumerate(matches):
                match_where = f"{node_where}.cpeMatch[{m_index}]"
                package = _cpe_match(
                    mapping(match_value, origin, KIND, match_where), origin, match_where, negated
                )
                if package not in seen:
                    seen.add(package)
                    affected.append(package)
    return tuple(affected)


def _cpe_match(
    match: Mapping[str, object], origin: str, where: str, negated: bool
) -> AffectedPackage:
    criteria = required_text(match, "criteria", origin, KIND, f"{where}.")
    if not criteria.startswith("cpe:2.3:") or len(split_cpe(criteria)) != 13:
        raise invalid(origin, KIND, f"{where}.criteria {criteria!r} is not a CPE 2.3 string")
    vulnerable = match.get("vulnerable")
    if not isinstance(vulnerable, bool):
        raise invalid(origin, KIND, f"{where}.vulnerable must be true or false")

    bounds = {
        key: text(match, key, origin, KIND, f"{where}.")
        for key in (
            "versionStartIncluding",
            "versionStartExcluding",
            "versionEndIncluding",
            "versionEndExcluding",
        )
    }
    ranges = (_cpe_range(**bounds),) if any(bounds.values()) else ()
    version = split_cpe(criteria)[5]
    versions = (unescape_cpe(version),) if not ranges and version not in _ANY_VERSION else ()
    return AffectedPackage(
        cpe=criteria,
        vulnerable=vulnerable and not negated,
        ranges=ranges,
        versions=versions,
    )


def _cpe_range(
    versionStartIncluding: str | None,  # noqa: N803 - the NVD field names
    versionStartExcluding: str | None,  # noqa: N803
    versionEndIncluding: str | None,  # noqa: N803
    versionEndExcluding: str | None,  # noqa: N803
) -> Range:
    """Build a `VERS` range for NVD version bounds, with OSV events when they can say the same.

    OSV events cannot express an excluded lower bound, so such a range carries only the vers.
    """
    constraints: list[str] = []
    if versionStartIncluding:
        constraints.append(f">={versionStartIncluding}")
    if versionStartExcluding:
        constraints.append(f">{versionStartExcluding}")
    if versionEndIncluding:
        constraints.append(f"<={versionEndIncluding}")
    if versionEndExcluding:
        constraints.append(f"<{versionEndExcluding}")

    events: tuple[Event, ...] = ()
    if not versionStartExcluding:
        start = Event(introduced=versionStartIncluding or "0")
        if versionEndExcluding:
            events = (start, Event(fixed=versionEndExcluding))
        elif versionEndIncluding:
            events = (start, Event(last_affected=versionEndIncluding))
        else:
            events = (start,)
    return Range(type="VERS", events=events, vers="vers:generic/" + "|".join(constraints))


def _references(data: Mapping[str, object], origin: str, prefix: str) -> tuple[str, ...]:
    urls: list[str] = []
    for index, item in enumerate(
        sequence(data.get("references"), origin, KIND, f"{prefix}references")
    ):
        url = text(
            mapping(item, origin, KIND, f"{prefix}references[{index}]"), "url", origin, KIND, prefix
        )
        if url and url not in urls:
            urls.append(url)
    return tuple(urls)


def _cwes(data: Mapping[str, object], origin: str, prefix: str) -> tuple[str, ...]:
    cwes: list[str] = []
    for index, item in enumerate(
        sequence(data.get("weaknesses"), origin, KIND, f"{prefix}weaknesses")
    ):
        weakness = mapping(item, origin, KIND, f"{prefix}weaknesses[{index}]")
        descriptions = sequence(
            weakness.get("description"), origin, KIND, f"{prefix}weaknesses[{index}].description"
        )
        for d_index, entry in enumerate(descriptions):
            where = f"{prefix}weaknesses[{index}].description[{d_index}]."
            value = text(mapping(entry, origin, KIND, where), "value", origin, KIND, where)
            if value and value not in _NO_CWE and value not in cwes:
                cwes.append(value)
    return tuple(cwes)


def split_cpe(cpe: str) -> list[str]:
    """Split a CPE 2.3 formatted string at the colons that are not escaped with a backslash.

    Components keep their escapes, so `cpe:2.3:a:foo\\:bar:...` has the vendor `foo\\:bar`.
    """
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in cpe:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def unescape_cpe(component: str) -> str:
    """Remove the backslash escapes of one CPE 2.3 component (`1.0\\-rc1` is `1.0-rc1`)."""
    return re.sub(r"\\(.)", r"\1", component)


def cpe_vendor_product(cpe: str) -> tuple[str, str] | None:
    """Return the lower-cased vendor and product of a CPE 2.3 string, as the store indexes them."""
    parts = split_cpe(cpe)
    if len(parts) < 5 or parts[0] != "cpe":
        return None
    return parts[3].lower(), parts[4].lower()
