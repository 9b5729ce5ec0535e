"""Read an SBOM file of any supported format into the normalised `SbomDocument`.

Supported: CycloneDX 1.2–1.7 JSON and XML, SPDX 2.2/2.3 JSON and tag-value, SPDX 3.0 JSON-LD
(compact form). The format is detected from the content, never from the file name: the first
non-blank character separates JSON, XML and text, then the JSON keys (`bomFormat`,
`spdxVersion`, the SPDX 3 `@context`) or the XML root element identify the format.

SBOMs come from suppliers and build tools, so every file is treated as untrusted:

- the file size is checked before reading, and at most `max_bytes` are read;
- JSON is parsed by the standard library, which runs no code and limits nesting depth;
- XML is parsed only by defusedxml with DTDs forbidden, so entity-expansion ("billion laughs") and
  external-entity documents are rejected before anything is expanded or fetched;
- anything that cannot be read raises `InputError` naming the file, the position where known,
  what is wrong and what to do. Smaller defects become warnings on the `SbomReading`.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import (  # type: ignore[import-untyped,unused-ignore]
    DefusedXmlException,
)
from defusedxml.ElementTree import (  # type: ignore[import-untyped,unused-ignore]
    fromstring as defused_fromstring,
)

from nemecys.errors import InputError
from nemecys.sbom._common import ReadContext, SbomReading
from nemecys.sbom.cyclonedx import cyclonedx_xml_to_object, is_cyclonedx_xml, read_cyclonedx
from nemecys.sbom.model import SbomDocument
from nemecys.sbom.spdx import read_spdx2, spdx_tag_value_to_object
from nemecys.sbom.spdx3 import is_spdx3, read_spdx3

# Default size limit, well above real SBOMs: an npm SBOM with 1,600 components is about 2 MB, and
# container SBOMs that list every file reach several MB.
MAX_SBOM_BYTES = 64 * 1024 * 1024

_DEFECTS_SHOWN = 10

SUPPORTED_FORMATS = (
    "CycloneDX 1.2–1.7 JSON or XML, SPDX 2.2/2.3 JSON or tag-value, SPDX 3.0 JSON-LD"
)

_RDF_ROOT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"
_TAG_VALUE_VERSION = re.compile(r"^[ \t]*SPDXVersion[ \t]*:", re.MULTILINE)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_sbom_document(
    path: Path, *, max_bytes: int = MAX_SBOM_BYTES, strict: bool = False
) -> SbomDocument:
    """Read the SBOM at `path`; raise InputError when it cannot be read.

    With `strict`, an SBOM whose component list is incomplete (see `SbomReading.defects`) is
    rejected too; without it, such entries are skipped or kept without a name.
    """
    reading = read_sbom_file(path, max_bytes=max_bytes)
    if strict and reading.defects:
        shown = "\n".join(f"    {defect}" for defect in reading.defects[:_DEFECTS_SHOWN])
        more = len(reading.defects) - _DEFECTS_SHOWN
        tail = f"\n    … and {more} more" if more > 0 else ""
        raise InputError(
            f"{path}: SBOM has {len(reading.defects)} invalid component entries:\n{shown}{tail}\n"
            f"    hint: fix these entries; 'nemecys sbom quality {path}' lists every problem"
        )
    return reading.document


def read_sbom_file(path: Path, *, max_bytes: int = MAX_SBOM_BYTES) -> SbomReading:
    """Read the SBOM at `path` together with the defects the reader tolerated."""
    return parse_sbom_bytes(read_sbom_bytes(path, max_bytes=max_bytes), source=str(path))


def parse_sbom_bytes(data: bytes, *, source: str) -> SbomReading:
    """Parse SBOM content; `source` names it in messages and becomes `SbomDocument.path`."""
    ctx = ReadContext(source)
    body = data.removeprefix(codecs.BOM_UTF8)
    for bom, codec in _WIDE_BOMS:
        if body.startswith(bom):
            text = _decode(body, codec, ctx)
            if text.lstrip().startswith("<"):
                return _finish(_read_xml(body, ctx), ctx)  # the XML parser reads the BOM itself
            body = text.encode("utf-8")
            break
    first = body.lstrip()[:1]
    if first in (b"{", b"["):
        document = _read_json(_decode(body, "utf-8", ctx), ctx)
    elif first == b"<":
        document = _read_xml(body, ctx)
    elif not first:
        raise ctx.error("file is empty", hint=f"pass an SBOM: {SUPPORTED_FORMATS}")
    else:
        text = _decode(body, "utf-8", ctx)
        if not _TAG_VALUE_VERSION.search(text):
            raise ctx.error(
                "content is not a recognised SBOM: it is not JSON or XML and has no SPDX "
                "tag-value 'SPDXVersion:' line",
                hint=f"pass an SBOM: {SUPPORTED_FORMATS}",
            )
        tag_value, locations = spdx_tag_value_to_object(text, ctx)
        document = read_spdx2(tag_value, ctx, encoding="tag-value", package_locations=locations)
    return _finish(document, ctx)


def _finish(document: SbomDocument, ctx: ReadContext) -> SbomReading:
    return SbomReading(document=document, warnings=ctx.final_warnings(), defects=tuple(ctx.defects))


def read_sbom_bytes(path: Path, *, max_bytes: int = MAX_SBOM_BYTES) -> bytes:
    """Return the content of the SBOM file at `path`, rejecting it above `max_bytes`."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(
            f"{path}: SBOM file not found; check the path and the working directory"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the SBOM ({exc.strerror})") from None
    if path.is_dir():
        raise InputError(f"{path}: path is a folder; pass the SBOM file itself")
    if size > max_bytes:
        raise InputError(
            f"{path}: SBOM is {size:,} bytes, above the limit of {max_bytes:,} bytes; "
            "raise the limit if the file is trusted, or split the SBOM"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the SBOM ({exc.strerror})") from None
    # The size can change between stat and read, and special files report no size at all.
    if len(data) > max_bytes:
        raise InputError(
            f"{path}: SBOM is larger than the limit of {max_bytes:,} bytes; "
            "raise the limit if the file is trusted, or split the SBOM"
        )
    return data


def _decode(data: bytes, codec: str, ctx: ReadContext) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ctx.error(
            f"content is not valid {codec.upper()} (byte offset {exc.start}: {exc.reason})",
            hint="save the SBOM as UTF-8",
        ) from None


# --- JSON ---------------------------------------------------------------------------------------


def _read_json(text: str, ctx: ReadContext) -> SbomDocument:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ctx.error(
            f"SBOM is not valid JSON: {exc.msg}",
            line=exc.lineno,
            column=exc.colno,
            hint="the file may be truncated or hand-edited; regenerate it or fix the syntax at "
            "this position",
        ) from None
    except ValueError as exc:  # Python refuses integers of more than 4,300 digits
        raise ctx.error(
            f"SBOM contains an invalid JSON number: {exc}",
            hint="no SBOM field needs such a number; the file is damaged or hostile",
        ) from None
    except RecursionError:
        raise ctx.error(
            "JSON is nested too deeply to read",
            hint="no SBOM format nests this deeply; the file is damaged or hostile",
        ) from None
    if not isinstance(data, dict):
        raise ctx.error(
            f"top-level JSON value is {_json_type(data)}, expected an object",
            hint=f"pass an SBOM document: {SUPPORTED_FORMATS}",
        )
    return _dispatch_json(data, ctx)


def _dispatch_json(data: dict[str, Any], ctx: ReadContext) -> SbomDocument:
    bom_format = data.get("bomFormat")
    if bom_format is not None:
        if isinstance(bom_format, str) and bom_format.strip().lower() == "cyclonedx":
            return read_cyclonedx(data, ctx, encoding="json")
        raise ctx.error(
            f"bomFormat is {bom_format!r}, expected 'CycloneDX'",
            where="bomFormat",
            hint="only CycloneDX documents carry bomFormat; fix the value or pass another SBOM",
        )
    spdx_version = data.get("spdxVersion")
    if isinstance(spdx_version, str):
        return read_spdx2(data, ctx, encoding="json")
    if is_spdx3(data):
        return read_spdx3(data, ctx)
    keys = ", ".join(sorted(str(key) for key in data)[:8]) or "none"
    raise ctx.error(
        "JSON object is not a recognised SBOM: it has no bomFormat (CycloneDX), spdxVersion "
        f"(SPDX 2) or SPDX 3 @context; top-level keys: {keys}",
        hint=f"pass an SBOM: {SUPPORTED_FORMATS}",
    )


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


# --- XML ----------------------------------------------------------------------------------------


def _read_xml(data: bytes, ctx: ReadContext) -> SbomDocument:
    root = _parse_xml(data, ctx)
    if is_cyclonedx_xml(root):
        return read_cyclonedx(cyclonedx_xml_to_object(root, ctx), ctx, encoding="xml")
    if root.tag == _RDF_ROOT:
        raise ctx.error(
            "SPDX RDF/XML is not supported",
            hint="convert it to SPDX JSON first, e.g. 'pyspdxtools -i FILE.rdf.xml -o FILE.spdx.json'",
        )
    raise ctx.error(
        f"XML root element is {root.tag!r}, not a CycloneDX bom",
        hint='CycloneDX XML has root <bom xmlns="http://cyclonedx.org/schema/bom/1.x">',
    )


def _parse_xml(data: bytes, ctx: ReadContext) -> Element:
    try:
        root = defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ctx.error(
            f"XML declares a DTD or entities ({type(exc).__name__}); rejected unread",
            hint="SBOM XML never needs a DTD or entities, and they allow entity-expansion and "
            "external-entity attacks; remove the <!DOCTYPE> declaration",
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise ctx.error(
            f"SBOM is not well-formed XML: {str(exc).split(': line ', 1)[0]}",
            line=line,
            column=column + 1,
            hint="the file may be truncated or hand-edited; regenerate it or fix the syntax at "
            "this position",
        ) from None
    if not isinstance(root, Element):
        raise ctx.error("XML has no root element", hint=f"pass an SBOM: {SUPPORTED_FORMATS}")
    return root
