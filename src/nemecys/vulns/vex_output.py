"""Scan results as VEX documents: CycloneDX VEX or VDR, OpenVEX 0.2.0 and CSAF 2.0 VEX.

`document_from_scan` (nemecys.vex.convert) gives one statement per finding. Here each statement
of a triaged finding also gets the decision's author, time and responses, and the formats'
required fields get defaults taken from the SBOM:

- author: the option, else the SBOM subject's supplier, its author, or the first SBOM author;
- timestamp: the option, else the current time (the time the VEX is issued);
- CSAF tracking id: `<product>-<version>-vex-<date>` from the SBOM subject and the timestamp.

The CSAF publisher namespace (the publisher's web address) has no SBOM field to come from, so
it must be given. A missing value raises InputError naming the command-line option to set.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace
from enum import StrEnum

from nemecys.errors import InputError
from nemecys.sbom.model import SbomDocument
from nemecys.vex._common import normalize_timestamp
from nemecys.vex.convert import document_from_scan, now_timestamp
from nemecys.vex.model import Response, VexDocument
from nemecys.vulns.workflow import TriagedScan

_RESPONSE_VALUES = frozenset(r.value for r in Response)


class VexFormat(StrEnum):
    """The VEX output formats of `nemecys sbom scan`."""

    CYCLONEDX_VEX = "cyclonedx-vex"
    CYCLONEDX_VDR = "cyclonedx-vdr"
    OPENVEX = "openvex"
    CSAF = "csaf"


@dataclass(frozen=True, slots=True)
class VexOptions:
    """Values for the document fields that a VEX format requires."""

    author: str | None = None
    publisher_namespace: str | None = None  # CSAF document.publisher.namespace
    tracking_id: str | None = None  # CSAF document.tracking.id
    timestamp: str | None = None  # ISO 8601


def default_author(sbom: SbomDocument | None) -> str | None:
    """Return the party the SBOM names for its product: supplier, author, else SBOM author."""
    if sbom is None:
        return None
    subject = sbom.subject
    candidates = [subject.supplier, subject.author] if subject else []
    candidates += list(sbom.authors)
    return next((c.strip() for c in candidates if c and c.strip()), None)


def default_tracking_id(sbom: SbomDocument | None, timestamp: str) -> str:
    """Return `<product>-<version>-vex-<YYYY-MM-DD>`, or `vex-<YYYY-MM-DD>` without a subject."""
    day = timestamp[:10]
    subject = sbom.subject if sbom else None
    if subject is None:
        return f"vex-{day}"
    name = f"{subject.name}-{subject.version}" if subject.version else subject.name
    slug = re.sub(r"[^A-Za-z0-9.+-]+", "-", name).strip("-").lower() or "product"
    return f"{slug}-vex-{day}"


def build_document(
    scan: TriagedScan, sbom: SbomDocument | None, fmt: VexFormat, options: VexOptions
) -> VexDocument:
    """Return the VEX document of a scan, with each triaged statement's own author and time."""
    author = options.author or default_author(sbom)
    if not author:
        raise InputError(
            f"--format {fmt.value} needs a document author, and the SBOM names no supplier "
            "or author to use; pass --author NAME"
        )
    timestamp = _timestamp(options.timestamp)
    document = document_from_scan(scan.result, sbom, author=author, timestamp=timestamp)
    statements = []
    for finding, statement in zip(scan.result.findings, document.statements, strict=True):
        origin = scan.origin(finding)
        if origin is None:
            statements.append(statement)
            continue
        responses = tuple(Response(r) for r in origin.responses if r in _RESPONSE_VALUES)
        statements.append(
            replace(
                statement,
                author=origin.author or author,
                first_issued=origin.timestamp or statement.first_issued,
                responses=responses,
            )
        )
    return replace(document, statements=tuple(statements))


def write_document(
    scan: TriagedScan, sbom: SbomDocument | None, fmt: VexFormat, options: VexOptions
) -> str:
    """Write the scan in a VEX format; raise InputError for a missing required value."""
    from nemecys.vex import write_csaf_vex, write_cyclonedx_vdr, write_cyclonedx_vex, write_openvex

    if fmt is VexFormat.CSAF and not options.publisher_namespace:
        raise InputError(
            "--format csaf needs the publisher's web address for document.publisher.namespace; "
            "pass --publisher-namespace URL, e.g. https://psirt.example.com"
        )
    if fmt is VexFormat.OPENVEX and not scan.result.findings:
        raise InputError(
            "the scan found no vulnerabilities, and an OpenVEX document needs at least one "
            "statement; use --format cyclonedx-vex to publish an empty VEX"
        )
    document = build_document(scan, sbom, fmt, options)
    if fmt is VexFormat.CYCLONEDX_VEX:
        return write_cyclonedx_vex(document, sbom=sbom)
    if fmt is VexFormat.CYCLONEDX_VDR:
        # cyclonedx-python-lib warns that the VDR's metadata component lists no dependencies.
        # A VDR lists components to refer to them, not to describe the dependency graph.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*no defined dependencies.*")
            return write_cyclonedx_vdr(document, sbom=sbom)
    if fmt is VexFormat.OPENVEX:
        return write_openvex(document)
    namespace = options.publisher_namespace or ""
    if not re.match(r"^https?://[^\s/]+", namespace):
        raise InputError(
            f"invalid --publisher-namespace {namespace!r}: expected an http or https URL, "
            "e.g. https://psirt.example.com"
        )
    tracking_id = options.tracking_id or default_tracking_id(sbom, document.timestamp or "")
    return write_csaf_vex(document, publisher_namespace=namespace, tracking_id=tracking_id)


def _timestamp(value: str | None) -> str:
    if value is None:
        return now_timestamp()
    try:
        return normalize_timestamp(value)
    except ValueError:
        raise InputError(
            f"invalid --timestamp {value!r}: expected ISO 8601, e.g. 2025-01-31T12:00:00Z"
        ) from None


__all__ = [
    "VexFormat",
    "VexOptions",
    "build_document",
    "default_author",
    "default_tracking_id",
    "write_document",
]
