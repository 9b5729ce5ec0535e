"""An operator's device list matched against CSAF advisories (CISA ICSMA and vendor advisories).

Hospitals know their devices by vendor, product and version, not by purl. This module reads
such a list (CSV or YAML) and matches it against advisories whose affected entries name a
vendor, product and product version, as CSAF product trees do.

Names are compared after normalisation: case, punctuation and legal suffixes (`Inc.`,
`GmbH`, `and Company`) are dropped, and a parenthesised short form counts as an alias, so
`BD` meets `Becton, Dickinson and Company (BD)`. A product matches when every word of the
advisory's product name occurs in the device's product name, because the operator may be
more specific. The reverse also matches when the device's name has two words or a model
number.

CSAF product versions come as `vers:` strings or as the free text that advisories contain:
`<= 2.3.6`, `>= 1.0.0 | <= 1.3.1` (a range), `9.13 | 9.19` (a list), `2.X`, `2.3.6 and below`,
model numbers (`MMT-1715 | MMT-1754`), or prose (`with wireless option (shipped between …)`).
Text that cannot be evaluated makes the finding `in_triage` with the text shown, never a
silent miss.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import yaml

from nemecys.errors import InputError
from nemecys.vulns.findings import AFFECTED, IN_TRIAGE, Finding, MatchedBy, ScanResult
from nemecys.vulns.match import finish_findings
from nemecys.vulns.model import Advisory, AffectedPackage
from nemecys.vulns.scoring import cvss_scores
from nemecys.vulns.store import AdvisoryStore, TriageDecision
from nemecys.vulns.versions import Comparable, InvalidVersionError, parse_vers, try_parse_version

MAX_DEVICE_LIST_BYTES = 16 * 1024 * 1024

# CSAF product status categories, plus `affected`, the AffectedPackage default.
AFFECTED_STATUSES = frozenset({"affected", "known_affected", "first_affected", "last_affected"})
CLEAN_STATUSES = frozenset({"fixed", "first_fixed", "known_not_affected"})
INVESTIGATION_STATUSES = frozenset({"under_investigation"})


@dataclass(frozen=True, slots=True)
class Device:
    """One entry of an operator's device list."""

    id: str
    vendor: str
    product: str
    version: str | None = None
    model: str | None = None
    location: str | None = None


# --- reading ------------------------------------------------------------------------------------

_COLUMN_ALIASES = {
    "id": "id",
    "device": "id",
    "device_id": "id",
    "asset_id": "id",
    "name": "id",
    "vendor": "vendor",
    "manufacturer": "vendor",
    "product": "product",
    "model_name": "product",
    "version": "version",
    "software_version": "version",
    "firmware_version": "version",
    "firmware": "version",
    "model": "model",
    "model_number": "model",
    "location": "location",
}


_REQUIRED_COLUMNS = ("vendor", "product", "version")
_EXPECTED_COLUMNS = (
    "vendor (or manufacturer), product (or model_name), version (or software_version, "
    "firmware_version, firmware); optional: id, model, location"
)


@dataclass(frozen=True, slots=True)
class _Row:
    """One device entry as read, with the line it starts on (0 when unknown)."""

    values: Mapping[str, object]
    line: int = 0


def read_device_list(path: Path) -> list[Device]:
    """Read a device list from CSV (with a header row) or YAML (a list, or `devices:` list).

    Columns or keys: `vendor`, `product` and `version` (required), `model`, `id`, `location`.
    A CSV header must name all three required columns. A row whose version is left empty,
    or a YAML device without a `version` key, is kept: `match_devices` lists it as not
    checked (no version) instead of matching it. Raises InputError naming the file, the line
    (and column for YAML) and the offending value for a missing file, a broken CSV quote,
    invalid YAML, a missing column or a missing vendor or product.
    """
    if not path.is_file():
        raise InputError(f"device list not found: {path}")
    size = path.stat().st_size
    if size > MAX_DEVICE_LIST_BYTES:
        raise InputError(
            f"device list {path} is {size:,} bytes, above the limit of {MAX_DEVICE_LIST_BYTES:,}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"device list {path} is not UTF-8 text: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        rows = _yaml_rows(text, path)
    elif path.suffix.lower() == ".csv":
        rows = _csv_rows(text, path)
    else:
        raise InputError(f"device list {path}: unknown format; use a .csv, .yaml or .yml file")
    return [_device(row, path, number) for number, row in enumerate(rows, start=1)]


def _field(key: object) -> str | None:
    return _COLUMN_ALIASES.get(str(key).strip().lower().replace(" ", "_"))


def _csv_rows(text: str, path: Path) -> list[_Row]:
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    ended = 0  # the last line of the last complete record
    try:
        for record in reader:
            records.append((ended + 1, record))
            ended = reader.line_num
    except csv.Error as exc:
        line = ended + 1
        raise InputError(
            f"{path}:{line}: the device list is not valid CSV ({exc}): a quoted field "
            "starting on this line is never closed\n"
            f"    value: {lines[line - 1] if line <= len(lines) else ''}\n"
            '    hint: close the quote, and write a quote inside a quoted field as ""'
        ) from None
    records = [(line, r) for line, r in records if any(cell.strip() for cell in r)]
    if not records:
        raise InputError(f"{path}: the device list is empty; expected a header row and devices")
    header_line, header = records[0]
    found = {_field(name) for name in header} - {None}
    missing = [c for c in _REQUIRED_COLUMNS if c not in found]
    if missing:
        raise InputError(
            f"{path}:{header_line}: the header has no {' or '.join(repr(m) for m in missing)} "
            f"column\n"
            f"    columns found: {', '.join(h.strip() for h in header) or '(none)'}\n"
            f"    expected: {_EXPECTED_COLUMNS}\n"
            "    hint: add the missing column to the header row; leave a cell empty when a "
            "device's version is unknown"
        )
    rows: list[_Row] = []
    for line, record in records[1:]:
        if len(record) > len(header):
            raise InputError(
                f"{path}:{line}: the row has {len(record)} fields, the header {len(header)}\n"
                f"    value: {lines[line - 1] if line <= len(lines) else ''}\n"
                "    hint: quote a value that contains a comma, or add a column to the header"
            )
        rows.append(_Row(dict(zip(header, record, strict=False)), line))
    return rows


def _yaml_rows(text: str, path: Path) -> list[_Row]:
    try:
        document = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        line = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
        raise InputError(
            f"{where}: the device list is not valid YAML: {reason or 'syntax error'}\n"
            f"    value: {line.strip()}\n"
            "    hint: check the indentation and quoting at this position; quote a value "
            "that contains ': ' or starts with a special character"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: the device list is not valid YAML: {exc}") from None
    if isinstance(document, Mapping):
        document = document.get("devices")
        if isinstance(node, yaml.MappingNode):
            node = next(
                (
                    v
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == "devices"
                ),
                None,
            )
    if not isinstance(document, list) or not all(isinstance(r, Mapping) for r in document):
        raise InputError(
            f"{path}: expected a list of devices, or a 'devices:' list, each with "
            f"{_EXPECTED_COLUMNS}"
        )
    marks = (
        [item.start_mark.line + 1 for item in node.value]
        if isinstance(node, yaml.SequenceNode) and len(node.value) == len(document)
        else [0] * len(document)
    )
    return [_Row(values, line) for values, line in zip(document, marks, strict=True)]


def _device(row: _Row, path: Path, number: int) -> Device:
    values: dict[str, str] = {}
    for key, value in row.values.items():
        if key is None or value is None:
            continue
        field = _field(key)
        text = str(value).strip()
        if field and text and field not in values:
            values[field] = text
    for required in ("vendor", "product"):
        if required not in values:
            where = f"{path}:{row.line}" if row.line else str(path)
            shown = ", ".join(f"{k}: {v}" for k, v in row.values.items() if k is not None)
            raise InputError(
                f"{where}: device {number}: '{required}' is missing\n"
                f"    value: {shown or '(empty)'}\n"
                f"    hint: give every device a vendor and a product; expected {_EXPECTED_COLUMNS}"
            )
    return Device(
        id=values.get("id", f"device-{number}"),
        vendor=values["vendor"],
        product=values["product"],
        version=values.get("version"),
        model=values.get("model"),
        location=values.get("location"),
    )


# --- names --------------------------------------------------------------------------------------

_LEGAL_WORDS = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "gmbh",
        "ag",
        "sa",
        "se",
        "plc",
        "bv",
        "nv",
        "kg",
        "and",
        "the",
        "of",
    }
)
_WORD = re.compile(r"[a-z0-9]+")
_PARENTHESISED = re.compile(r"\(([^)]*)\)")


@dataclass(frozen=True, slots=True)
class _Name:
    words: tuple[str, ...]
    aliases: frozenset[tuple[str, ...]]


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(text.lower()) if w not in _LEGAL_WORDS)


def _name(text: str) -> _Name:
    aliases = {_words(a) for a in _PARENTHESISED.findall(text)}
    aliases.discard(())
    return _Name(_words(_PARENTHESISED.sub(" ", text)), frozenset(aliases))


def _vendor_matches(device: _Name, advisory: _Name) -> bool:
    mine = {device.words, *device.aliases} - {()}
    theirs = {advisory.words, *advisory.aliases} - {()}
    if mine & theirs:
        return True
    # "GE" meets "GE Healthcare", "Baxter" meets "Baxter International".
    return any(set(a) <= set(b) or set(b) <= set(a) for a in mine for b in theirs if a and b)


def _product_matches(device_words: tuple[str, ...], advisory_words: tuple[str, ...]) -> bool:
    if not advisory_words or not device_words:
        return False
    if set(advisory_words) <= set(device_words):
        return True
    specific = len(device_words) >= 2 or any(any(c.isdigit() for c in w) for w in device_words)
    return specific and set(device_words) <= set(advisory_words)


# --- versions -----------------------------------------------------------------------------------


class Verdict(Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


_ALL_VERSIONS = frozenset({"*", "all", "all versions", "vers:all/*", "any", "all models"})
_AND_BELOW = re.compile(r"^(.+?)\s+(?:and|or)\s+(?:below|earlier|prior|older|lower)$")
_COMPARATOR = re.compile(r"^(<=|>=|<|>|=)\s*(.+)$")
_SINGLE_TOKEN = re.compile(r"^[a-z0-9][a-z0-9._\-+/()]*$")


def version_verdict(
    text: str | None, version: str | None, model: str | None = None, product: str = ""
) -> Verdict:
    """Decide whether a device version (or model) falls under a CSAF product version text."""
    if text is None or _all_versions(text):
        return Verdict.YES
    value = " ".join(text.lower().split())
    if value.startswith("vers:"):
        return _vers_verdict(value, version)
    below = _AND_BELOW.match(value)
    if below:
        value = f"<= {below.group(1)}"
    parts = [p.strip() for p in value.split("|") if p.strip()]
    candidates = [c.lower() for c in (version, model) if c]
    product_text = " ".join(product.lower().split())
    comparisons: list[str] = []
    unknown = False
    for part in parts:
        compared = _COMPARATOR.match(part)
        if (
            compared
            and _SINGLE_TOKEN.match(compared.group(2).replace(" ", ""))
            and not _has_prose(compared.group(2))
        ):
            comparisons.append(f"{compared.group(1)}{compared.group(2).replace(' ', '')}")
            continue
        if compared:
            unknown = True
            continue
        if any(_equal_or_wildcard(part, c) for c in candidates) or (part and part in product_text):
            return Verdict.YES
        if not _SINGLE_TOKEN.match(part):
            unknown = True
    if comparisons:
        if not version:
            return Verdict.UNKNOWN
        try:
            if parse_vers("vers:generic/" + "|".join(comparisons), "generic").contains(
                _generic(version)
            ):
                return Verdict.YES
        except (ValueError, InvalidVersionError):
            return Verdict.UNKNOWN
    if unknown or not candidates:
        return Verdict.UNKNOWN
    return Verdict.NO


def _all_versions(text: str | None) -> bool:
    if text is None or not text.strip():
        return True
    value = " ".join(text.lower().split())
    return value in _ALL_VERSIONS or value.startswith("vers:all/")


def _has_prose(text: str) -> bool:
    # "< august 28", "<May 2018", "< 1.8.4 Service Pack 01": text that is not a version.
    return bool(re.search(r"[a-z]{4,}", text)) and not re.fullmatch(
        r"[a-z]{0,3}[\d.]+[a-z0-9]*", text
    )


def _generic(version: str) -> Comparable:
    parsed = try_parse_version("generic", version)
    if parsed is None:
        raise InvalidVersionError(f"{version!r} has no digit or letter")
    return parsed


def _equal_or_wildcard(pattern: str, value: str) -> bool:
    if pattern == value:
        return True
    if re.search(r"(^|\.)x(\.|$)", pattern):
        prefix = re.split(r"\.?x(?:\.x)*$", pattern)[0]
        return value == prefix or value.startswith(prefix + ".")
    left, right = try_parse_version("generic", pattern), try_parse_version("generic", value)
    return (
        left is not None
        and right is not None
        and any(ch.isdigit() for ch in pattern)
        and left == right
    )


def _vers_verdict(value: str, version: str | None) -> Verdict:
    if not version:
        return Verdict.UNKNOWN
    try:
        vers = parse_vers(value, "generic")
        return Verdict.YES if vers.contains(_generic(version)) else Verdict.NO
    except (ValueError, InvalidVersionError):
        return Verdict.UNKNOWN


# --- matching -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ProductEntry:
    advisory: Advisory
    affected: AffectedPackage
    vendor: _Name
    product_words: tuple[str, ...]


def _entries(advisories: Iterable[Advisory]) -> list[_ProductEntry]:
    entries: list[_ProductEntry] = []
    for advisory in advisories:
        if advisory.withdrawn:
            continue
        for affected in advisory.affected:
            if not affected.vendor or not (affected.product or affected.name):
                continue
            vendor = _name(affected.vendor)
            product = _words(affected.product or affected.name or "")
            product = tuple(w for w in product if w not in vendor.words) or product
            entries.append(_ProductEntry(advisory, affected, vendor, product))
    return entries


def match_devices(
    devices: Sequence[Device],
    store: AdvisoryStore,
    *,
    source: str = "device list",
    decisions: Iterable[TriageDecision] = (),
) -> ScanResult:
    """Match listed devices against the store's CSAF product entries, then score and rank.

    A device without a version is still matched by vendor and product, and the version
    check treats the unknown version as possibly affected, because an unknown answer must
    resolve to the worse case. Its id is also listed in `unversioned`, so the report can ask
    for the version.
    """
    entries = _entries(store.advisories_with_products())
    findings: list[Finding] = []
    unversioned: list[str] = []
    for device in devices:
        if not device.version:
            unversioned.append(device.id)
        findings.extend(_device_findings(device, entries))
    ranked = finish_findings(findings, store, decisions=decisions)
    return ScanResult(
        source=source, findings=ranked, components=len(devices), unversioned=tuple(unversioned)
    )


def _device_findings(device: Device, entries: Sequence[_ProductEntry]) -> list[Finding]:
    vendor = _name(device.vendor)
    product_words = tuple(w for w in _words(device.product) if w not in vendor.words) or _words(
        device.product
    )
    by_advisory: dict[str, list[tuple[_ProductEntry, Verdict]]] = {}
    for entry in entries:
        if not _vendor_matches(vendor, entry.vendor):
            continue
        if not _product_matches(product_words, entry.product_words):
            continue
        verdict = version_verdict(
            entry.affected.product_version, device.version, device.model, device.product
        )
        by_advisory.setdefault(entry.advisory.id, []).append((entry, verdict))
    findings: list[Finding] = []
    for matches in by_advisory.values():
        finding = _finding(device, matches)
        if finding is not None:
            findings.append(finding)
    return findings


def _finding(device: Device, matches: list[tuple[_ProductEntry, Verdict]]) -> Finding | None:
    affected = [
        (e, v)
        for e, v in matches
        if e.affected.status in AFFECTED_STATUSES | INVESTIGATION_STATUSES and v is not Verdict.NO
    ]
    if not affected:
        return None
    definite = [
        (e, v) for e, v in affected if v is Verdict.YES and e.affected.status in AFFECTED_STATUSES
    ]
    specific = [(e, v) for e, v in definite if not _all_versions(e.affected.product_version)]
    clean = any(v is Verdict.YES and e.affected.status in CLEAN_STATUSES for e, v in matches)
    if clean and not specific:
        # The advisory names this version as fixed or not affected, and only a vaguer entry
        # (all versions, prose) would make it affected.
        return None
    chosen = specific or definite or affected
    advisory = chosen[0][0].advisory
    ids = {advisory.id, *advisory.aliases}
    primary = next((i for i in sorted(ids) if i.startswith("CVE-")), advisory.id)
    ranges = [
        f"{e.affected.status}: {e.affected.product or e.affected.name} {e.affected.product_version or 'all versions'}"
        for e, _ in chosen
    ]
    remediation = "\n".join(
        dict.fromkeys(e.affected.remediation for e, _ in chosen if e.affected.remediation)
    )
    return Finding(
        component_key=device.id,
        component_name=f"{device.vendor} {device.product}",
        component_version=device.version,
        component_purl=None,
        vulnerability_id=primary,
        aliases=tuple(sorted(ids - {primary})),
        advisory_ids=(advisory.id,),
        matched_by=MatchedBy.CSAF,
        affected_range="; ".join(dict.fromkeys(ranges)),
        summary=advisory.summary or advisory.details,
        severities=cvss_scores(advisory.severities),
        state=AFFECTED if definite else IN_TRIAGE,
        remediation=remediation or None,
        references=advisory.references,
    )
