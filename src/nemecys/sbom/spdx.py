"""Read SPDX 2.2/2.3 SBOMs, JSON and tag-value, into the normalised `SbomDocument`.

spdx-tools (0.8) parses both encodings but validates strictly while it parses: it rejects real
Syft SPDX 2.2 files (fractional-second timestamps, files without checksums), so it cannot be the
ingest path. These readers take only what the normalised model needs and
tolerate the rest; spdx-tools remains available as the validator (`nemecys.sbom.validation`).

Mapping:

- each package becomes a component keyed by its SPDXID; files and snippets are not components;
- purl, CPE (2.3 preferred over 2.2) and SWID come from `externalRefs`;
- `supplier` and `originator` ("Organization: Name (email)") give supplier and author names;
- `checksums`, `licenseConcluded` and `licenseDeclared` are copied; NOASSERTION and NONE are
  dropped;
- `validUntilDate`, defined by SPDX 2.3 as the end of the supplier's support period, gives the
  end-of-support date; a package annotation whose comment has a line such as
  "Level of Support: Actively maintained" gives the FDA fields, because SPDX 2 has no field for the
  level of support;
- dependency relationships (DEPENDS_ON, CONTAINS, the *_DEPENDENCY_OF family, links and
  prerequisites) between packages give `depends_on`, in the dependent-to-dependency direction;
- the one package the document DESCRIBES is the subject; with several, there is no subject.

Tag-value is first turned into the object shape of the JSON encoding, so both share one reader.
Its syntax is checked strictly (every line is "Tag: value", `<text>` blocks are closed), because a
broken line there usually means a truncated or hand-edited file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nemecys.sbom._common import SWID_PROPERTY, ReadContext, support_values, unique
from nemecys.sbom.model import SbomDocument, SoftwareComponent

SUPPORTED_VERSIONS = ("SPDX-2.2", "SPDX-2.3")

_NO_VALUE = frozenset({"NOASSERTION", "NONE"})

# Relationship types read as "A depends on B" (forward) or "B depends on A" (reverse).
_FORWARD = frozenset({"DEPENDS_ON", "CONTAINS", "DYNAMIC_LINK", "STATIC_LINK", "HAS_PREREQUISITE"})
_REVERSE = frozenset(
    {
        "DEPENDENCY_OF",
        "CONTAINED_BY",
        "RUNTIME_DEPENDENCY_OF",
        "BUILD_DEPENDENCY_OF",
        "DEV_DEPENDENCY_OF",
        "OPTIONAL_DEPENDENCY_OF",
        "PROVIDED_DEPENDENCY_OF",
        "TEST_DEPENDENCY_OF",
        "PREREQUISITE_FOR",
    }
)

# Anchored at the start and free of nested quantifiers, so matching stays linear on long values.
_AGENT = re.compile(r"^\s*(Person|Organization|Tool)\s*:(.*)$", re.IGNORECASE | re.DOTALL)
_CLOSING_BRACKETS = {")": "(", ">": "<"}


# --- JSON-shaped reading ------------------------------------------------------------------------


def read_spdx2(
    data: Mapping[str, Any],
    ctx: ReadContext,
    *,
    encoding: str,
    package_locations: list[str] | None = None,
) -> SbomDocument:
    """Build the normalised document from an SPDX 2 object (JSON, or tag-value converted to it).

    `package_locations` names where each package starts (for tag-value, its line); without it,
    warnings point at `packages[i]`.
    """
    spec_version = ctx.text(data.get("spdxVersion"), "spdxVersion")
    if spec_version not in SUPPORTED_VERSIONS:
        ctx.warn(f"spdxVersion {spec_version!r} is not SPDX-2.2 or SPDX-2.3; read as SPDX-2.3")
    document_id = ctx.text(data.get("SPDXID"), "SPDXID")
    creation = ctx.mapping(data.get("creationInfo"), "creationInfo")
    if document_id is None or creation is None:
        missing = "SPDXID" if document_id is None else "creationInfo"
        raise ctx.error(
            f"SPDX document has no {missing}",
            where=missing,
            hint="every SPDX 2 document names itself (SPDXID: SPDXRef-DOCUMENT) and its creation "
            "(creators, created); the file may be truncated or not an SPDX SBOM",
        )
    authors, tools = _creators(creation.get("creators"), ctx)

    packages: list[tuple[Mapping[str, Any], str, str]] = []
    for index, item in enumerate(ctx.items(data.get("packages"), "packages", components=True)):
        where = (
            package_locations[index]
            if package_locations and index < len(package_locations)
            else f"packages[{index}]"
        )
        raw = ctx.mapping(item, where, component=True)
        if raw is None:
            continue
        spdx_id = ctx.text(raw.get("SPDXID"), f"{where}.SPDXID")
        if spdx_id is None:
            ctx.warn(f"{where}: package has no SPDXID; it cannot take part in relationships")
        packages.append((raw, ctx.claim_key(spdx_id, where), where))

    known = {key for _, key, _ in packages}
    described, graph = _relationships(data, document_id, known, ctx)
    subject_key = described[0] if len(described) == 1 else None
    if len(described) > 1:
        ctx.warn(
            f"the document describes {len(described)} packages; none is taken as the primary "
            "component"
        )

    subject: SoftwareComponent | None = None
    components: list[SoftwareComponent] = []
    for raw, key, where in packages:
        component = _package(raw, key, graph.get(key, ()), ctx, where)
        if key == subject_key:
            subject = component
        else:
            components.append(component)
    return SbomDocument(
        path=ctx.source,
        format="SPDX",
        encoding=encoding,
        spec_version=spec_version,
        serial_number=ctx.text(data.get("documentNamespace"), "documentNamespace"),
        timestamp=ctx.text(creation.get("created"), "creationInfo.created"),
        authors=authors,
        tools=tools,
        subject=subject,
        components=tuple(components),
    )


def _creators(raw: object, ctx: ReadContext) -> tuple[tuple[str, ...], tuple[str, ...]]:
    authors: list[str] = []
    tools: list[str] = []
    for index, item in enumerate(ctx.items(raw, "creationInfo.creators")):
        text = ctx.text(item, f"creationInfo.creators[{index}]")
        match = _AGENT.match(text or "")
        if match is None:
            if text:
                ctx.warn(
                    f"creationInfo.creators[{index}]: {text!r} lacks a Person:, Organization: or Tool: prefix"
                )
            continue
        kind, name = match[1].lower(), _agent_name(match[2])
        if not name:
            continue
        (tools if kind == "tool" else authors).append(name)
    return unique(authors), unique(tools)


def _agent_name(value: str) -> str:
    """Return the name of an SPDX agent value, without a trailing e-mail in brackets."""
    stripped = value.strip()
    opening = _CLOSING_BRACKETS.get(stripped[-1:])
    if opening is None:
        return stripped
    start = stripped.rfind(opening)
    name = stripped[:start].strip() if start >= 0 else stripped
    return name or stripped.strip("()<>").strip()


def _agent(raw: object, where: str, ctx: ReadContext) -> str | None:
    text = ctx.text(raw, where)
    if text is None or text.upper() in _NO_VALUE:
        return None
    match = _AGENT.match(text)
    return (_agent_name(match[2]) if match else _agent_name(text)) or None


def _relationships(
    data: Mapping[str, Any], document_id: str, known: set[str], ctx: ReadContext
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Return the described package keys and the dependency graph between packages."""
    described: list[str] = [
        value
        for index, item in enumerate(ctx.items(data.get("documentDescribes"), "documentDescribes"))
        if (value := ctx.text(item, f"documentDescribes[{index}]")) in known and value is not None
    ]
    graph: dict[str, list[str]] = {}
    external = 0
    for index, item in enumerate(ctx.items(data.get("relationships"), "relationships")):
        where = f"relationships[{index}]"
        entry = ctx.mapping(item, where)
        if entry is None:
            continue
        source = ctx.text(entry.get("spdxElementId"), f"{where}.spdxElementId")
        kind = (ctx.text(entry.get("relationshipType"), f"{where}.relationshipType") or "").upper()
        target = ctx.text(entry.get("relatedSpdxElement"), f"{where}.relatedSpdxElement")
        if source is None or target is None:
            continue
        if kind == "DESCRIBES" and source == document_id and target in known:
            described.append(target)
        elif kind == "DESCRIBED_BY" and target == document_id and source in known:
            described.append(source)
        elif kind in _FORWARD or kind in _REVERSE:
            dependent, dependency = (source, target) if kind in _FORWARD else (target, source)
            if dependent in known and dependency in known:
                graph.setdefault(dependent, []).append(dependency)
            elif dependent.startswith("DocumentRef-") or dependency.startswith("DocumentRef-"):
                external += 1
    if external:
        ctx.warn(
            f"relationships: dependency relationships into other SPDX documents ({external}, "
            "DocumentRef-…) are left out of the dependency graph"
        )
    return list(unique(described)), {key: unique(targets) for key, targets in graph.items()}


def _package(
    raw: Mapping[str, Any],
    key: str,
    depends_on: tuple[str, ...],
    ctx: ReadContext,
    where: str,
) -> SoftwareComponent:
    name = ctx.text(raw.get("name"), f"{where}.name")
    if name is None:
        ctx.defect(f"{where}: package has no name")
    version = ctx.text(raw.get("versionInfo"), f"{where}.versionInfo")
    purpose = ctx.text(raw.get("primaryPackagePurpose"), f"{where}.primaryPackagePurpose")

    purl, cpe23, cpe22, swid = None, None, None, None
    for index, item in enumerate(ctx.items(raw.get("externalRefs"), f"{where}.externalRefs")):
        reference = ctx.mapping(item, f"{where}.externalRefs[{index}]")
        if reference is None:
            continue
        kind = (
            ctx.text(reference.get("referenceType"), f"{where}.externalRefs[{index}]") or ""
        ).lower()
        locator = ctx.text(reference.get("referenceLocator"), f"{where}.externalRefs[{index}]")
        if locator is None:
            continue
        if kind == "purl" and purl is None:
            purl = locator
        elif kind == "cpe23type" and cpe23 is None:
            cpe23 = locator
        elif kind == "cpe22type" and cpe22 is None:
            cpe22 = locator
        elif kind == "swid" and swid is None:
            swid = locator

    annotations = _annotation_properties(raw.get("annotations"), f"{where}.annotations", ctx)
    level, end = support_values(annotations)
    valid_until = ctx.text(raw.get("validUntilDate"), f"{where}.validUntilDate")
    properties = annotations + (((SWID_PROPERTY, swid),) if swid else ())

    return SoftwareComponent(
        key=key,
        name=name or "",
        version=version if version and version.upper() not in _NO_VALUE else None,
        purl=purl,
        cpe=cpe23 or cpe22,
        type=purpose.lower().replace("_", "-") if purpose else "library",
        supplier=_agent(raw.get("supplier"), f"{where}.supplier", ctx),
        author=_agent(raw.get("originator"), f"{where}.originator", ctx),
        hashes=_checksums(raw.get("checksums"), f"{where}.checksums", ctx),
        licenses=_licenses(raw, where, ctx),
        level_of_support=level,
        end_of_support=valid_until or end,
        properties=properties,
        depends_on=depends_on,
    )


def _checksums(raw: object, where: str, ctx: ReadContext) -> tuple[tuple[str, str], ...]:
    checksums: list[tuple[str, str]] = []
    for index, item in enumerate(ctx.items(raw, where)):
        entry = ctx.mapping(item, f"{where}[{index}]")
        if entry is None:
            continue
        algorithm = ctx.text(entry.get("algorithm"), f"{where}[{index}].algorithm")
        value = ctx.text(entry.get("checksumValue"), f"{where}[{index}].checksumValue")
        if algorithm and value:
            checksums.append((algorithm, value.lower()))
    return tuple(checksums)


def _licenses(raw: Mapping[str, Any], where: str, ctx: ReadContext) -> tuple[str, ...]:
    values = [
        ctx.text(raw.get(field), f"{where}.{field}")
        for field in ("licenseConcluded", "licenseDeclared")
    ]
    return unique(value for value in values if value and value.upper() not in _NO_VALUE)


def _annotation_properties(
    raw: object, where: str, ctx: ReadContext
) -> tuple[tuple[str, str], ...]:
    """Return "Name: value" lines of annotation comments as properties."""
    properties: list[tuple[str, str]] = []
    for index, item in enumerate(ctx.items(raw, where)):
        entry = ctx.mapping(item, f"{where}[{index}]")
        if entry is None:
            continue
        comment = ctx.text(entry.get("comment"), f"{where}[{index}].comment") or ""
        for line in comment.splitlines():
            name, separator, value = line.partition(":")
            if separator and name.strip() and value.strip():
                properties.append((name.strip(), value.strip()))
    return tuple(properties)


# --- tag-value ----------------------------------------------------------------------------------

_TAG_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*:\s?(.*)$")

# Tags that open a section whose own SPDXID and fields do not belong to a package.
_NON_PACKAGE_SECTIONS = frozenset({"FileName", "SnippetSPDXID", "LicenseID"})

_PACKAGE_FIELDS = {
    "PackageVersion": "versionInfo",
    "PackageSupplier": "supplier",
    "PackageOriginator": "originator",
    "PackageLicenseConcluded": "licenseConcluded",
    "PackageLicenseDeclared": "licenseDeclared",
    "PrimaryPackagePurpose": "primaryPackagePurpose",
    "ValidUntilDate": "validUntilDate",
}


def spdx_tag_value_to_object(text: str, ctx: ReadContext) -> tuple[dict[str, Any], list[str]]:
    """Convert SPDX 2 tag-value text into the JSON object shape, plus each package's line.

    Raises InputError on a line that is not "Tag: value" and on an unclosed `<text>` block.
    """
    document: dict[str, Any] = {
        "creationInfo": {"creators": []},
        "packages": [],
        "relationships": [],
    }
    locations: list[str] = []
    annotations: list[tuple[str | None, str]] = []  # (annotated SPDXID, comment)
    section = "document"
    package: dict[str, Any] | None = None
    annotation: dict[str, str] | None = None

    for line_number, tag, value in _tag_value_lines(text, ctx):
        if tag == "PackageName":
            section = "package"
            package = {"name": value, "externalRefs": [], "checksums": []}
            document["packages"].append(package)
            locations.append(f"line {line_number}")
            continue
        if tag in _NON_PACKAGE_SECTIONS:
            section = tag
            continue
        if tag == "Relationship":
            _add_relationship(document, value, line_number, ctx)
            continue
        if tag == "Annotator":
            annotation = {}
            continue
        if tag in {"SPDXREF", "AnnotationComment"} and annotation is not None:
            annotation[tag] = value
            if "AnnotationComment" in annotation:
                annotations.append((annotation.get("SPDXREF"), annotation["AnnotationComment"]))
                annotation = None
            continue
        if section == "document":
            _document_tag(document, tag, value)
        elif section == "package" and package is not None:
            _package_tag(package, tag, value, line_number, ctx)

    for spdx_id, comment in annotations:
        for candidate in document["packages"]:
            if spdx_id is not None and candidate.get("SPDXID") == spdx_id:
                candidate.setdefault("annotations", []).append({"comment": comment})
    return document, locations


def _tag_value_lines(text: str, ctx: ReadContext) -> list[tuple[int, str, str]]:
    lines = text.splitlines()
    result: list[tuple[int, str, str]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _TAG_LINE.match(stripped)
        if match is None:
            raise ctx.error(
                f"line is not 'Tag: value': {_shorten(stripped)!r}",
                line=index,
                hint="SPDX tag-value puts one 'Tag: value' per line; multi-line values go "
                "between <text> and </text>",
            )
        tag, value = match[1], match[2].strip()
        start = index
        if value.startswith("<text>"):
            body = [value[len("<text>") :]]
            while "</text>" not in body[-1]:
                if index >= len(lines):
                    raise ctx.error(
                        f"<text> block of tag {tag} is not closed",
                        line=start,
                        hint="end the value with </text>; the file may be truncated",
                    )
                body.append(lines[index])
                index += 1
            value = "\n".join(body).split("</text>", 1)[0].strip()
        result.append((start, tag, value))
    return result


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _document_tag(document: dict[str, Any], tag: str, value: str) -> None:
    if tag == "SPDXVersion":
        document["spdxVersion"] = value
    elif tag == "SPDXID":
        document["SPDXID"] = value
    elif tag == "DocumentName":
        document["name"] = value
    elif tag == "DocumentNamespace":
        document["documentNamespace"] = value
    elif tag == "Creator":
        document["creationInfo"]["creators"].append(value)
    elif tag == "Created":
        document["creationInfo"]["created"] = value


def _package_tag(
    package: dict[str, Any], tag: str, value: str, line_number: int, ctx: ReadContext
) -> None:
    if tag == "SPDXID":
        package["SPDXID"] = value
    elif tag in _PACKAGE_FIELDS:
        package[_PACKAGE_FIELDS[tag]] = value
    elif tag == "PackageChecksum":
        algorithm, _, checksum = value.partition(":")
        package["checksums"].append(
            {"algorithm": algorithm.strip(), "checksumValue": checksum.strip()}
        )
    elif tag == "ExternalRef":
        parts = value.split(None, 2)
        if len(parts) != 3:
            ctx.warn(f"line {line_number}: ExternalRef needs 'CATEGORY TYPE LOCATOR'; ignored")
            return
        package["externalRefs"].append(
            {"referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]}
        )


def _add_relationship(
    document: dict[str, Any], value: str, line_number: int, ctx: ReadContext
) -> None:
    parts = value.split()
    if len(parts) != 3:
        ctx.warn(f"line {line_number}: Relationship needs 'ELEMENT TYPE ELEMENT'; ignored")
        return
    document["relationships"].append(
        {"spdxElementId": parts[0], "relationshipType": parts[1], "relatedSpdxElement": parts[2]}
    )
