"""Readers for CycloneDX VEX, OpenVEX and CSAF VEX documents, all producing `VexStatement`s.

Each reader keeps the terms of its format (see `nemecys.vex.model`), so a statement written back
to the same format comes out unchanged. Readers accept fields they do not use, because VEX tools
add their own: vexctl writes a `statement` field that the OpenVEX schema does not define. Wrong
types and unknown states or justifications raise InputError with the JSON path of the value.

CycloneDX: a standalone VEX BOM whose `affects[].ref` are BOM-Links
(`urn:cdx:<serial>/<version>#<bom-ref>`), or vulnerabilities embedded in an SBOM whose refs are
the SBOM's own bom-refs. Pass the SBOMs a standalone VEX refers to, and BOM-Link targets get the
purl, name and version of the component they point at. A BOM-Link whose bom-ref is itself a
purl (as in the CycloneDX examples) gives that purl even without the SBOM.

OpenVEX: v0.2.0, and the earlier v0.0.1 form (`@context` "https://openvex.dev/ns", vulnerability
and products as plain strings).

CSAF 2.0: any document with vulnerabilities and product_status; `csaf_vex` documents must also
pass the VEX profile tests in `nemecys.vex.csaf_rules`. Products are resolved through branches,
full_product_names, relationships (a component in a product) and product groups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from nemecys.errors import InputError
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex._common import Fields, load_json, read_bytes
from nemecys.vex.csaf_rules import check_csaf
from nemecys.vex.model import (
    CSAF_REMEDIATIONS,
    CSAF_STATUS_TO_STATE,
    CYCLONEDX_JUSTIFICATIONS,
    CYCLONEDX_RESPONSES,
    OPENVEX_JUSTIFICATIONS,
    AffectedStatus,
    AnalysisState,
    Justification,
    Product,
    Rating,
    Response,
    VersionConstraint,
    VexDocument,
    VexStatement,
    VexStatus,
    state_of,
)

# Properties nemecys writes on CycloneDX vulnerabilities for data CycloneDX has no field for.
PROPERTY_AUTHOR = "nemecys:vex:author"
PROPERTY_FIXED_VERSION = "nemecys:vex:fixed_version"

_BOM_LINK = re.compile(r"^urn:cdx:([0-9a-fA-F-]{36})/([1-9][0-9]*)#(.+)$")
_OPENVEX_CONTEXT = "https://openvex.dev/ns"


def read_vex(path: Path, *, sboms: Sequence[SbomDocument] = ()) -> VexDocument:
    """Read a CycloneDX, OpenVEX or CSAF VEX JSON file, detecting the format from its content."""
    data = read_bytes(path)
    if data.lstrip()[:1] == b"<":
        raise InputError(
            f"VEX file {path} looks like XML; only JSON is read (convert CycloneDX XML with "
            "cyclonedx-cli first)"
        )
    return parse_vex(load_json(data, str(path)), source=str(path), sboms=sboms)


def parse_vex(
    document: Any, *, source: str = "<input>", sboms: Sequence[SbomDocument] = ()
) -> VexDocument:
    """Turn a parsed JSON document of any of the three formats into a `VexDocument`."""
    if not isinstance(document, dict):
        raise InputError(f"VEX file {source} must contain a JSON object at the top level")
    if document.get("bomFormat") == "CycloneDX":
        return read_cyclonedx(document, source=source, sboms=sboms)
    context = document.get("@context")
    if isinstance(context, str) and context.startswith(_OPENVEX_CONTEXT):
        return read_openvex(document, source=source)
    meta = document.get("document")
    if isinstance(meta, dict) and "csaf_version" in meta:
        return read_csaf(document, source=source)
    raise InputError(
        f"VEX file {source} is not CycloneDX (no bomFormat), OpenVEX (no @context starting "
        f"with {_OPENVEX_CONTEXT}) or CSAF (no document.csaf_version)"
    )


# --- CycloneDX -------------------------------------------------------------------------------


def read_cyclonedx(
    document: Mapping[str, Any], *, source: str = "<input>", sboms: Sequence[SbomDocument] = ()
) -> VexDocument:
    """Read the vulnerabilities of a CycloneDX JSON BOM (spec 1.4 to 1.7) as VEX statements."""
    root = Fields(dict(document), source, "")
    if root.data.get("bomFormat") != "CycloneDX":
        raise root.error("bomFormat", 'must be "CycloneDX"')
    spec_version = root.text("specVersion")
    meta = root.child("metadata")
    subject = meta.child("component") if meta else None
    product = _cdx_component(subject) if subject else None
    local: dict[str, Product] = {}
    if product and product.ref:
        local[product.ref] = product
    for component in _cdx_components(root):
        if component.ref:
            local.setdefault(component.ref, component)

    timestamp = meta.timestamp("timestamp") if meta else None
    author = _cdx_author(meta) if meta else None
    statements: list[VexStatement] = []
    for vulnerability in root.children("vulnerabilities"):
        statements += _cdx_statements(vulnerability, local, sboms, author)

    version = root.data.get("version")
    return VexDocument(
        statements=tuple(statements),
        format="CycloneDX",
        id=root.text("serialNumber"),
        version=str(version) if isinstance(version, int) else None,
        author=author,
        timestamp=timestamp,
        product=product,
        spec_version=spec_version,
        source=source,
    )


def _cdx_components(root: Fields) -> Iterable[Product]:
    stack = root.children("components")
    while stack:
        component = stack.pop(0)
        yield _cdx_component(component)
        stack.extend(component.children("components"))


def _cdx_component(component: Fields) -> Product:
    name = component.text("name")
    group = component.text("group")
    supplier = component.child("supplier")
    return Product(
        ref=component.text("bom-ref"),
        purl=component.text("purl"),
        cpe=component.text("cpe"),
        name=f"{group}/{name}" if group and name else name,
        version=component.text("version"),
        vendor=supplier.text("name") if supplier else None,
    )


def _cdx_author(meta: Fields) -> str | None:
    names = [a.text("name") for a in meta.children("authors")]
    named = [n for n in names if n]
    if named:
        return ", ".join(named)
    # CycloneDX 1.6 deprecates metadata.manufacture, which older BOMs still use.
    for key in ("manufacturer", "manufacture", "supplier"):
        organisation = meta.child(key)
        if organisation and organisation.text("name"):
            return organisation.text("name")
    return None


def _cdx_statements(
    vulnerability: Fields,
    local: Mapping[str, Product],
    sboms: Sequence[SbomDocument],
    default_author: str | None,
) -> list[VexStatement]:
    vuln_id = vulnerability.text("id")
    if not vuln_id:
        raise vulnerability.error("id", "is missing; every vulnerability needs an id")
    aliases = tuple(
        dict.fromkeys(
            ref_id
            for reference in vulnerability.children("references")
            if (ref_id := reference.text("id")) and ref_id != vuln_id
        )
    )
    analysis = vulnerability.child("analysis")
    state = AnalysisState.IN_TRIAGE
    justification: Justification | None = None
    responses: tuple[Response, ...] = ()
    detail = first_issued = last_updated = None
    if analysis is not None:
        state = _enum(analysis, "state", AnalysisState, None) or AnalysisState.IN_TRIAGE
        justification = _justification(analysis, CYCLONEDX_JUSTIFICATIONS)
        responses = _responses(analysis, "response", CYCLONEDX_RESPONSES)
        detail = analysis.text("detail")
        first_issued = analysis.timestamp("firstIssued")
        last_updated = analysis.timestamp("lastUpdated")

    author = default_author
    fixed: list[str] = []
    for prop in vulnerability.children("properties"):
        if prop.text("name") == PROPERTY_AUTHOR:
            author = prop.text("value") or author
        elif prop.text("name") == PROPERTY_FIXED_VERSION and prop.text("value"):
            fixed.append(prop.required_text("value"))

    base = VexStatement(
        vulnerability=vuln_id,
        state=state,
        aliases=aliases,
        justification=justification,
        responses=responses,
        detail=detail,
        action=vulnerability.text("recommendation") or vulnerability.text("workaround"),
        first_issued=first_issued,
        last_updated=last_updated,
        author=author,
        ratings=tuple(_cdx_rating(r) for r in vulnerability.children("ratings")),
        fixed_versions=tuple(fixed),
        description=vulnerability.text("description"),
    )
    targets = vulnerability.children("affects")
    if not targets:
        return [base]
    statements = []
    for target in targets:
        ref = target.required_text("ref")
        # Order is not meaningful, and cyclonedx-python-lib sorts on output: sort on input too.
        versions = tuple(
            sorted(
                {_cdx_version(v) for v in target.children("versions")},
                key=lambda c: (c.version or "", c.range or "", c.status.value),
            )
        )
        product = _resolve_ref(ref, local, sboms)
        statements.append(replace(base, product=product, versions=versions))
    return statements


def _cdx_rating(rating: Fields) -> Rating:
    source = rating.child("source")
    return Rating(
        method=rating.text("method"),
        score=rating.number("score"),
        severity=rating.text("severity"),
        vector=rating.text("vector"),
        source=source.text("name") if source else None,
    )


def _cdx_version(entry: Fields) -> VersionConstraint:
    version = entry.text("version")
    version_range = entry.text("range")
    if (version is None) == (version_range is None):
        raise entry.error("version", "needs exactly one of version and range")
    status = _enum(entry, "status", AffectedStatus, None) or AffectedStatus.AFFECTED
    return VersionConstraint(version=version, range=version_range, status=status)


def _resolve_ref(ref: str, local: Mapping[str, Product], sboms: Sequence[SbomDocument]) -> Product:
    """Return the product a CycloneDX ref names, filled in from the BOM that defines it."""
    link = _BOM_LINK.match(ref)
    if link is None:
        found = local.get(ref)
        if found is not None:
            return found
        return Product(ref=ref, purl=ref if ref.startswith("pkg:") else None)

    serial, bom_ref = link.group(1).lower(), unquote(link.group(3))
    for sbom in sboms:
        if (sbom.serial_number or "").lower().removeprefix("urn:uuid:") != serial:
            continue
        for component in _sbom_components(sbom):
            if component.key == bom_ref:
                return _product_of(component, ref)
    return Product(ref=ref, purl=bom_ref if bom_ref.startswith("pkg:") else None)


def _sbom_components(sbom: SbomDocument) -> Iterable[SoftwareComponent]:
    if sbom.subject is not None:
        yield sbom.subject
    yield from sbom.components


def _product_of(component: SoftwareComponent, ref: str) -> Product:
    name = f"{component.group}/{component.name}" if component.group else component.name
    return Product(
        ref=ref,
        purl=component.purl,
        cpe=component.cpe,
        name=name,
        version=component.version,
        vendor=component.supplier,
    )


# --- OpenVEX ---------------------------------------------------------------------------------


def read_openvex(document: Mapping[str, Any], *, source: str = "<input>") -> VexDocument:
    """Read an OpenVEX v0.2.0 or v0.0.1 document."""
    root = Fields(dict(document), source, "")
    context = root.required_text("@context")
    if not context.startswith(_OPENVEX_CONTEXT):
        raise root.error("@context", f"must start with {_OPENVEX_CONTEXT}, not {context!r}")
    spec_version = context.rsplit("/v", 1)[1] if "/v" in context else "0.0.1"
    timestamp = root.timestamp("timestamp")
    author = root.text("author")
    if not root.has("statements"):
        raise root.error("statements", "is missing")

    statements: list[VexStatement] = []
    for statement in root.children("statements"):
        statements += _openvex_statements(statement, timestamp, author)

    version = root.data.get("version")
    return VexDocument(
        statements=tuple(statements),
        format="OpenVEX",
        id=root.text("@id"),
        version=str(version) if isinstance(version, int) else None,
        author=author,
        timestamp=timestamp,
        last_updated=root.timestamp("last_updated"),
        spec_version=spec_version,
        source=source,
    )


def _openvex_statements(
    statement: Fields, default_time: str | None, author: str | None
) -> list[VexStatement]:
    vulnerability_id, aliases, description = _openvex_vulnerability(statement)
    status = _enum(statement, "status", VexStatus, None)
    if status is None:
        raise statement.error("status", f"is missing; expected one of {_choices(VexStatus)}")
    justification = _justification(statement, OPENVEX_JUSTIFICATIONS)
    impact = statement.text("impact_statement")
    notes = statement.text("status_notes") or None
    base = VexStatement(
        vulnerability=vulnerability_id,
        state=state_of(status),
        aliases=aliases,
        justification=justification,
        detail=impact or notes,
        action=statement.text("action_statement"),
        first_issued=statement.timestamp("timestamp") or default_time,
        last_updated=statement.timestamp("last_updated"),
        author=author,
        description=description,
    )

    # v0.0.1 put subcomponents beside products, and v0.2.0 nests them in each product.
    shared_subcomponents = [
        _openvex_product(item, statement, f"subcomponents[{index}]")
        for index, item in enumerate(statement.array("subcomponents"))
    ]
    products = statement.array("products")
    if not products:
        if not shared_subcomponents:
            return [base]
        return [replace(base, subcomponent=sub) for sub in shared_subcomponents]
    statements = []
    for index, item in enumerate(products):
        product = _openvex_product(item, statement, f"products[{index}]")
        subcomponents = list(shared_subcomponents)
        if isinstance(item, dict):
            entry = Fields(item, statement.source, statement.at(f"products[{index}]"))
            subcomponents += [
                _openvex_product(sub, entry, f"subcomponents[{sub_index}]")
                for sub_index, sub in enumerate(entry.array("subcomponents"))
            ]
        if not subcomponents:
            statements.append(replace(base, product=product))
        statements += [replace(base, product=product, subcomponent=sub) for sub in subcomponents]
    return statements


def _openvex_vulnerability(statement: Fields) -> tuple[str, tuple[str, ...], str | None]:
    raw = statement.data.get("vulnerability")
    if isinstance(raw, str) and raw:
        return raw, (), None
    vulnerability = statement.child("vulnerability")
    if vulnerability is None:
        raise statement.error("vulnerability", "is missing")
    name = vulnerability.text("name")
    if not name:
        raise vulnerability.error(
            "name", "is missing; the vulnerability needs a name such as a CVE id"
        )
    aliases = tuple(a for a in dict.fromkeys(vulnerability.texts("aliases")) if a != name)
    return name, aliases, vulnerability.text("description")


def _openvex_product(value: Any, parent: Fields, key: str) -> Product:
    if isinstance(value, str) and value:
        return Product(ref=value, purl=value if value.startswith("pkg:") else None)
    entry = Fields(value, parent.source, parent.at(key))
    ref = entry.text("@id")
    identifiers = entry.child("identifiers")
    purl = identifiers.text("purl") if identifiers else None
    cpe = (identifiers.text("cpe23") or identifiers.text("cpe22")) if identifiers else None
    if purl is None and ref and ref.startswith("pkg:"):
        purl = ref
    if ref is None and purl is None and cpe is None:
        raise entry.error("@id", "is missing; a product needs an @id or identifiers")
    hashes = entry.child("hashes")
    return Product(
        ref=ref,
        purl=purl,
        cpe=cpe,
        hashes=tuple(sorted((k, v) for k, v in hashes.data.items() if isinstance(v, str)))
        if hashes
        else (),
    )


# --- CSAF ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CsafProduct:
    product: Product
    version_range: str | None = None  # product_version_range branch name
    within: Product | None = None  # set for relationships: the product that contains this one


def read_csaf(document: Mapping[str, Any], *, source: str = "<input>") -> VexDocument:
    """Read the product statuses of a CSAF 2.0 document, rejecting failed mandatory tests."""
    root = Fields(dict(document), source, "")
    meta = root.child("document")
    if meta is None:
        raise root.error("document", "is missing")
    csaf_version = meta.required_text("csaf_version")
    if csaf_version != "2.0":
        raise meta.error("csaf_version", f"is {csaf_version!r}; only CSAF 2.0 is read")
    problems = check_csaf(root.data)
    if problems:
        listing = "\n  ".join(problems)
        raise InputError(
            f"CSAF document {source} fails {len(problems)} mandatory test(s) of CSAF 2.0 §6.1:"
            f"\n  {listing}"
        )

    publisher = meta.child("publisher")
    tracking = meta.child("tracking")
    author = publisher.text("name") if publisher else None
    initial = tracking.timestamp("initial_release_date") if tracking else None
    current = tracking.timestamp("current_release_date") if tracking else None
    tree = root.child("product_tree")
    products = _csaf_products(tree) if tree else {}
    groups = _csaf_groups(tree) if tree else {}

    statements: list[VexStatement] = []
    for vulnerability in root.children("vulnerabilities"):
        statements += _csaf_statements(vulnerability, products, groups, author, initial, current)
    return VexDocument(
        statements=tuple(statements),
        format="CSAF",
        id=tracking.text("id") if tracking else None,
        version=tracking.text("version") if tracking else None,
        author=author,
        author_url=publisher.text("namespace") if publisher else None,
        timestamp=initial,
        last_updated=current,
        spec_version=csaf_version,
        source=source,
    )


def _csaf_products(tree: Fields) -> dict[str, _CsafProduct]:
    products: dict[str, _CsafProduct] = {}
    _walk_branches(tree, "branches", {}, products)
    for entry in tree.children("full_product_names"):
        products[entry.required_text("product_id")] = _CsafProduct(_csaf_full_name(entry, {}))
    for relationship in tree.children("relationships"):
        full_name = relationship.child("full_product_name")
        if full_name is None:
            raise relationship.error("full_product_name", "is missing")
        component = products.get(relationship.required_text("product_reference"))
        container = products.get(relationship.required_text("relates_to_product_reference"))
        if component is None or container is None:
            continue  # check_csaf reports undefined ids, and a circular chain ends here
        products[full_name.required_text("product_id")] = _CsafProduct(
            component.product, component.version_range, container.product
        )
    return products


def _walk_branches(
    parent: Fields, key: str, context: dict[str, str], products: dict[str, _CsafProduct]
) -> None:
    for branch in parent.children(key):
        category = branch.required_text("category")
        name = branch.required_text("name")
        here = dict(context)
        if category == "vendor":
            here["vendor"] = name
        elif category in ("product_name", "product_family") and (
            category == "product_name" or "name" not in here
        ):
            here["name"] = name
        elif category == "product_version":
            here["version"] = name
        elif category == "product_version_range":
            here["range"] = name
        entry = branch.child("product")
        if entry is not None:
            products[entry.required_text("product_id")] = _CsafProduct(
                _csaf_full_name(entry, here), here.get("range")
            )
        _walk_branches(branch, "branches", here, products)


def _csaf_full_name(entry: Fields, context: Mapping[str, str]) -> Product:
    helper = entry.child("product_identification_helper")
    purl = helper.text("purl") if helper else None
    cpe = helper.text("cpe") if helper else None
    ref = entry.required_text("product_id")
    if helper:
        for generic in helper.children("x_generic_uris"):
            if generic.text("namespace") == BOM_LINK_NAMESPACE and generic.text("uri"):
                ref = generic.required_text("uri")
    return Product(
        ref=ref,
        purl=purl,
        cpe=cpe,
        name=context.get("name") or entry.text("name"),
        version=context.get("version"),
        vendor=context.get("vendor"),
    )


# The x_generic_uris namespace under which the CSAF writer keeps a product's CycloneDX BOM-Link.
BOM_LINK_NAMESPACE = "https://cyclonedx.org/capabilities/bomlink/"


def _csaf_groups(tree: Fields) -> dict[str, tuple[str, ...]]:
    return {
        group.required_text("group_id"): group.texts("product_ids")
        for group in tree.children("product_groups")
    }


def _csaf_statements(
    vulnerability: Fields,
    products: Mapping[str, _CsafProduct],
    groups: Mapping[str, tuple[str, ...]],
    author: str | None,
    initial: str | None,
    current: str | None,
) -> list[VexStatement]:
    ids = [vulnerability.text("cve")] + [
        entry.text("text") for entry in vulnerability.children("ids")
    ]
    names = list(dict.fromkeys(i for i in ids if i))
    if not names:
        return []  # only csaf_vex requires an id, and check_csaf has enforced that
    description = next(
        (
            note.text("text")
            for note in vulnerability.children("notes")
            if note.text("category") == "description"
        ),
        None,
    )

    def covered(item: Fields) -> set[str]:
        found = set(item.texts("product_ids"))
        for group_id in item.texts("group_ids"):
            found.update(groups.get(group_id, ()))
        return found

    flags: dict[str, tuple[Justification, str | None]] = {}
    for flag in vulnerability.children("flags"):
        label = _justification(flag, OPENVEX_JUSTIFICATIONS, key="label")
        if label is not None:
            for product_id in covered(flag):
                flags[product_id] = (label, flag.timestamp("date"))
    impacts: dict[str, list[tuple[str, str | None]]] = {}
    for threat in vulnerability.children("threats"):
        if threat.text("category") == "impact":
            for product_id in covered(threat):
                impacts.setdefault(product_id, []).append(
                    (threat.required_text("details"), threat.timestamp("date"))
                )
    remediations: dict[str, list[tuple[Response, str | None]]] = {}
    for remediation in vulnerability.children("remediations"):
        remedy = _enum(remediation, "category", Response, None)
        if remedy is None or remedy not in CSAF_REMEDIATIONS:
            raise remediation.error(
                "category", f"must be one of {', '.join(sorted(CSAF_REMEDIATIONS))}"
            )
        for product_id in covered(remediation):
            remediations.setdefault(product_id, []).append((remedy, remediation.text("details")))
    ratings = _csaf_ratings(vulnerability)

    status = vulnerability.child("product_status")
    fixed_by_product = _fixed_versions(status, products) if status else {}
    statements = []
    seen: set[tuple[str, AnalysisState]] = set()
    for category, state in CSAF_STATUS_TO_STATE.items():
        for product_id in status.texts(category) if status else ():
            # "fixed" and "recommended" may both list a product, which makes one statement.
            if (product_id, state) in seen:
                continue
            seen.add((product_id, state))
            info = products[product_id]
            flagged = flags.get(product_id)
            impact = impacts.get(product_id, [])
            actions = remediations.get(product_id, [])
            dates = [d for d in (flagged[1] if flagged else None, *(t[1] for t in impact)) if d]
            target = info.product
            statements.append(
                VexStatement(
                    vulnerability=names[0],
                    state=state,
                    aliases=tuple(names[1:]),
                    product=info.within or target,
                    subcomponent=target if info.within else None,
                    justification=flagged[0] if flagged else None,
                    responses=tuple(sorted({a[0] for a in actions})),
                    detail="\n".join(t[0] for t in impact) or None,
                    action="\n".join(dict.fromkeys(a[1] for a in actions if a[1])) or None,
                    versions=(
                        VersionConstraint(range=info.version_range, status=_STATE_STATUS[state]),
                    )
                    if info.version_range
                    else (),
                    first_issued=min(dates) if dates else initial,
                    last_updated=current,
                    author=author,
                    ratings=ratings.get(product_id, ()),
                    fixed_versions=fixed_by_product.get(_product_key(target), ())
                    if state == AnalysisState.EXPLOITABLE
                    else (),
                    description=description,
                )
            )
    return statements


_STATE_STATUS = {
    AnalysisState.EXPLOITABLE: AffectedStatus.AFFECTED,
    AnalysisState.NOT_AFFECTED: AffectedStatus.UNAFFECTED,
    AnalysisState.RESOLVED: AffectedStatus.UNAFFECTED,
    AnalysisState.IN_TRIAGE: AffectedStatus.UNKNOWN,
}


def _fixed_versions(
    status: Fields, products: Mapping[str, _CsafProduct]
) -> dict[tuple[str | None, str | None], tuple[str, ...]]:
    """Return the fixed versions of each vendor and product name in this vulnerability."""
    fixed: dict[tuple[str | None, str | None], list[str]] = {}
    for category in ("fixed", "first_fixed"):
        for product_id in status.texts(category):
            product = products[product_id].product
            if product.version:
                fixed.setdefault(_product_key(product), []).append(product.version)
    return {key: tuple(dict.fromkeys(values)) for key, values in fixed.items()}


def _product_key(product: Product) -> tuple[str | None, str | None]:
    return product.vendor, product.name


def _csaf_ratings(vulnerability: Fields) -> dict[str, tuple[Rating, ...]]:
    ratings: dict[str, list[Rating]] = {}
    for score in vulnerability.children("scores"):
        for key in ("cvss_v3", "cvss_v2"):
            cvss = score.child(key)
            if cvss is None:
                continue
            version = cvss.text("version")
            method = {"3.1": "CVSSv31", "3.0": "CVSSv3", "2.0": "CVSSv2"}.get(version or "")
            severity = cvss.text("baseSeverity")
            rating = Rating(
                method=method,
                score=cvss.number("baseScore"),
                severity=severity.lower() if severity else None,
                vector=cvss.text("vectorString"),
            )
            for product_id in score.texts("products"):
                ratings.setdefault(product_id, []).append(rating)
    return {key: tuple(values) for key, values in ratings.items()}


# --- shared ----------------------------------------------------------------------------------


_E = TypeVar("_E", AnalysisState, VexStatus, AffectedStatus, Response)


def _enum(fields: Fields, key: str, kind: type[_E], default: _E | None) -> _E | None:
    value = fields.text(key)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise fields.error(
            key, f"invalid value {value!r}; expected one of {_choices(kind)}"
        ) from None


def _justification(
    fields: Fields, allowed: frozenset[Justification], key: str = "justification"
) -> Justification | None:
    value = fields.text(key)
    if value is None:
        return None
    if value not in {j.value for j in allowed}:
        raise fields.error(
            key, f"invalid value {value!r}; expected one of {', '.join(sorted(allowed))}"
        )
    return Justification(value)


def _responses(fields: Fields, key: str, allowed: frozenset[Response]) -> tuple[Response, ...]:
    values = fields.texts(key)
    for value in values:
        if value not in {r.value for r in allowed}:
            raise fields.error(
                key, f"invalid value {value!r}; expected one of {', '.join(sorted(allowed))}"
            )
    return tuple(sorted({Response(v) for v in values}))


def _choices(kind: Iterable[Any]) -> str:
    return ", ".join(str(member) for member in kind)


__all__ = [
    "BOM_LINK_NAMESPACE",
    "PROPERTY_AUTHOR",
    "PROPERTY_FIXED_VERSION",
    "parse_vex",
    "read_csaf",
    "read_cyclonedx",
    "read_openvex",
    "read_vex",
]
