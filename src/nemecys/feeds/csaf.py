"""CSAF 2.0 advisories (OASIS Common Security Advisory Framework) as `Advisory` values.

Medical device makers and CISA (the ICSMA series) publish advisories about devices in CSAF.
A CSAF document covers several vulnerabilities and names products in a `product_tree`. Each
vulnerability becomes one `Advisory` with the id `<tracking id>/<CVE>`, or `<tracking id>/<n>`
(counting from 1) for a vulnerability without a CVE or other id. The CVE and the other `ids`
are its aliases. Each product that the vulnerability's `product_status` lists becomes an
`AffectedPackage` with:

- `name`: the product's full name as the tree gives it (`iScan Control Software: 4.0.0`),
- `vendor`, `product`, `product_version`: the `vendor`, `product_name` (or `product_family`)
  and `product_version` or `product_version_range` branch names above the product; a product
  listed in `full_product_names` without branches has its full name as `product`,
- `status`: the `product_status` category (`known_affected`, `fixed`, `known_not_affected`, ...),
- `remediation`: the text of every remediation that names the product or one of its groups,
- `purl`/`cpe` from its `product_identification_helper`, and a `VERS` range when the
  version range is a `vers:` string.

Products named through `relationships` (for example "A as a component of B") take vendor,
product and version from the referenced product. A product id that the tree does not define
is an error, as CSAF's mandatory test 6.1.1 requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nemecys.feeds._values import (
    invalid,
    mapping,
    required_text,
    sequence,
    strings,
    text,
    timestamp,
)
from nemecys.vulns.model import Advisory, AffectedPackage, Range, Severity

KIND = "CSAF document"
# Product status categories in the order CSAF 2.0 section 3.2.3.9 lists them.
STATUS_CATEGORIES = (
    "first_affected",
    "first_fixed",
    "fixed",
    "known_affected",
    "known_not_affected",
    "last_affected",
    "recommended",
    "under_investigation",
)


@dataclass(frozen=True, slots=True)
class Product:
    """A product of the product tree, with the branch names above it."""

    product_id: str
    full_name: str
    vendor: str | None = None
    product: str | None = None
    version: str | None = None
    purl: str | None = None
    cpe: str | None = None


def looks_like_csaf(document: Mapping[str, object]) -> bool:
    header = document.get("document")
    return isinstance(header, Mapping) and "csaf_version" in header


def parse_csaf(document: object, origin: str) -> list[Advisory]:
    """Convert every vulnerability of one CSAF 2.0 document."""
    data = mapping(document, origin, KIND, "the document")
    header = mapping(data.get("document"), origin, KIND, "document")
    version = text(header, "csaf_version", origin, KIND, "document.")
    if version != "2.0":
        raise invalid(origin, KIND, f"document.csaf_version is {version!r}; only 2.0 is supported")
    tracking = mapping(header.get("tracking"), origin, KIND, "document.tracking")
    tracking_id = required_text(tracking, "id", origin, KIND, "document.tracking.").strip()
    modified = timestamp(tracking, "current_release_date", origin, KIND, "document.tracking.")
    if modified is None:
        raise invalid(origin, KIND, "document.tracking.current_release_date is missing")
    initial = timestamp(tracking, "initial_release_date", origin, KIND, "document.tracking.")
    title = text(header, "title", origin, KIND, "document.")

    extra = {"document": tracking_id, "category": text(header, "category", origin, KIND) or ""}
    if title:
        extra["title"] = title
    publisher = header.get("publisher")
    if isinstance(publisher, Mapping) and isinstance(publisher.get("name"), str):
        extra["publisher"] = str(publisher["name"])

    tree = data.get("product_tree")
    products, groups = _product_tree(tree, origin) if tree is not None else ({}, {})

    context = _Context(
        tracking_id=tracking_id,
        title=title,
        initial_release=initial,
        current_release=modified,
        extra=extra,
        products=products,
        groups=groups,
    )
    advisories: list[Advisory] = []
    used_ids: set[str] = set()
    vulnerabilities = sequence(data.get("vulnerabilities"), origin, KIND, "vulnerabilities")
    for index, entry in enumerate(vulnerabilities):
        where = f"vulnerabilities[{index}]"
        advisory = _vulnerability(
            mapping(entry, origin, KIND, where), index, origin, where, context
        )
        if advisory.id in used_ids:
            raise invalid(origin, KIND, f"{where}: {advisory.id} appears twice in the document")
        used_ids.add(advisory.id)
        advisories.append(advisory)
    return advisories


@dataclass(frozen=True, slots=True)
class _Context:
    """Document-level values shared by every vulnerability of one CSAF document."""

    tracking_id: str
    title: str | None
    initial_release: str | None
    current_release: str
    extra: dict[str, str]
    products: Mapping[str, Product]
    groups: Mapping[str, tuple[str, ...]]


def _vulnerability(
    data: Mapping[str, object], index: int, origin: str, where: str, context: _Context
) -> Advisory:
    cve = text(data, "cve", origin, KIND, f"{where}.")
    aliases: list[str] = [cve.strip()] if cve else []
    for i, item in enumerate(sequence(data.get("ids"), origin, KIND, f"{where}.ids")):
        at = f"{where}.ids[{i}]"
        value = required_text(mapping(item, origin, KIND, at), "text", origin, KIND, f"{at}.")
        if value.strip() not in aliases:
            aliases.append(value.strip())
    suffix = aliases[0] if aliases else str(index + 1)

    remediations = _remediations(data, origin, where, context.products, context.groups)
    affected: list[AffectedPackage] = []
    status = mapping(data.get("product_status") or {}, origin, KIND, f"{where}.product_status")
    for category in STATUS_CATEGORIES:
        for product_id in strings(status, category, origin, KIND, f"{where}.product_status."):
            at = f"{where}.product_status.{category}"
            product = _product(product_id, context.products, origin, at)
            affected.append(_affected(product, category, remediations.get(product_id)))

    details: list[str] = []
    for note in sequence(data.get("notes"), origin, KIND, f"{where}.notes"):
        if not isinstance(note, Mapping) or note.get("category") not in ("description", "summary"):
            continue
        note_text = note.get("text")
        if isinstance(note_text, str):
            details.append(note_text)
    cwe = data.get("cwe")
    cwes = (str(cwe["id"]),) if isinstance(cwe, Mapping) and isinstance(cwe.get("id"), str) else ()
    release_date = timestamp(data, "release_date", origin, KIND, f"{where}.")
    return Advisory(
        id=f"{context.tracking_id}/{suffix}",
        source="csaf",
        aliases=tuple(aliases),
        summary=text(data, "title", origin, KIND, f"{where}.") or context.title,
        details="\n\n".join(details) or None,
        published=release_date or context.initial_release,
        modified=context.current_release,
        severities=_severities(data, origin, where),
        affected=tuple(affected),
        references=_references(data, origin, where),
        cwes=cwes,
        extra=dict(context.extra),
    )


def _affected(product: Product, status: str, remediation: str | None) -> AffectedPackage:
    ranges: tuple[Range, ...] = ()
    if product.version and product.version.startswith("vers:"):
        ranges = (Range(type="VERS", vers=product.version),)
    return AffectedPackage(
        name=product.full_name,
        purl=product.purl,
        cpe=product.cpe,
        ranges=ranges,
        vendor=product.vendor,
        product=product.product,
        product_version=product.version,
        status=status,
        remediation=remediation,
    )


def _product(product_id: str, products: Mapping[str, Product], origin: str, where: str) -> Product:
    product = products.get(product_id)
    if product is None:
        raise invalid(
            origin, KIND, f"{where}: product id {product_id!r} is not defined in the product_tree"
        )
    return product


def _remediations(
    data: Mapping[str, object],
    origin: str,
    where: str,
    products: Mapping[str, Product],
    groups: Mapping[str, tuple[str, ...]],
) -> dict[str, str]:
    """Return the remediation text for each product id, one line per remediation."""
    lines: dict[str, list[str]] = {}
    for index, item in enumerate(
        sequence(data.get("remediations"), origin, KIND, f"{where}.remediations")
    ):
        at = f"{where}.remediations[{index}]"
        remediation = mapping(item, origin, KIND, at)
        category = required_text(remediation, "category", origin, KIND, f"{at}.")
        details = required_text(remediation, "details", origin, KIND, f"{at}.")
        url = text(remediation, "url", origin, KIND, f"{at}.")
        line = f"{category}: {details.strip()}" + (f" ({url})" if url else "")
        product_ids = list(strings(remediation, "product_ids", origin, KIND, f"{at}."))
        for group_id in strings(remediation, "group_ids", origin, KIND, f"{at}."):
            if group_id not in groups:
                raise invalid(
                    origin,
                    KIND,
                    f"{at}.group_ids: group id {group_id!r} is not defined in the product_tree",
                )
            product_ids.extend(groups[group_id])
        for product_id in dict.fromkeys(product_ids):
            _product(product_id, products, origin, f"{at}.product_ids")
            lines.setdefault(product_id, []).append(line)
    return {product_id: "\n".join(text_lines) for product_id, text_lines in lines.items()}


def _severities(data: Mapping[str, object], origin: str, where: str) -> tuple[Severity, ...]:
    severities: list[Severity] = []
    for index, item in enumerate(sequence(data.get("scores"), origin, KIND, f"{where}.scores")):
        score = mapping(item, origin, KIND, f"{where}.scores[{index}]")
        for key, severity_type in (("cvss_v3", "CVSS_V3"), ("cvss_v2", "CVSS_V2")):
            cvss = score.get(key)
            if cvss is None:
                continue
            cvss_where = f"{where}.scores[{index}].{key}"
            vector = required_text(
                mapping(cvss, origin, KIND, cvss_where),
                "vectorString",
                origin,
                KIND,
                f"{cvss_where}.",
            )
            severity = Severity(type=severity_type, score=vector)
            if severity not in severities:
                severities.append(severity)
    return tuple(severities)


def _references(data: Mapping[str, object], origin: str, where: str) -> tuple[str, ...]:
    urls: list[str] = []
    for index, item in enumerate(
        sequence(data.get("references"), origin, KIND, f"{where}.references")
    ):
        url = required_text(
            mapping(item, origin, KIND, f"{where}.references[{index}]"),
            "url",
            origin,
            KIND,
            f"{where}.references[{index}].",
        )
        if url not in urls:
            urls.append(url)
    return tuple(urls)


def _product_tree(
    tree: object, origin: str
) -> tuple[dict[str, Product], dict[str, tuple[str, ...]]]:
    """Flatten the product tree into products by id, and product groups by group id."""
    data = mapping(tree, origin, KIND, "product_tree")
    products: dict[str, Product] = {}
    for index, branch in enumerate(
        sequence(data.get("branches"), origin, KIND, "product_tree.branches")
    ):
        _walk_branch(branch, {}, origin, f"product_tree.branches[{index}]", products)
    for index, item in enumerate(
        sequence(data.get("full_product_names"), origin, KIND, "product_tree.full_product_names")
    ):
        product = _full_product_name(item, {}, origin, f"product_tree.full_product_names[{index}]")
        products[product.product_id] = product

    for index, item in enumerate(
        sequence(data.get("relationships"), origin, KIND, "product_tree.relationships")
    ):
        where = f"product_tree.relationships[{index}]"
        relationship = mapping(item, origin, KIND, where)
        reference = required_text(relationship, "product_reference", origin, KIND, f"{where}.")
        component = _product(reference, products, origin, f"{where}.product_reference")
        combined = _full_product_name(
            relationship.get("full_product_name"), {}, origin, f"{where}.full_product_name"
        )
        products[combined.product_id] = Product(
            product_id=combined.product_id,
            full_name=combined.full_name,
            vendor=component.vendor,
            product=component.product,
            version=component.version,
            purl=combined.purl or component.purl,
            cpe=combined.cpe or component.cpe,
        )

    groups: dict[str, tuple[str, ...]] = {}
    for index, item in enumerate(
        sequence(data.get("product_groups"), origin, KIND, "product_tree.product_groups")
    ):
        where = f"product_tree.product_groups[{index}]"
        group = mapping(item, origin, KIND, where)
        group_id = required_text(group, "group_id", origin, KIND, f"{where}.")
        members = strings(group, "product_ids", origin, KIND, f"{where}.")
        for product_id in members:
            _product(product_id, products, origin, f"{where}.product_ids")
        groups[group_id] = members
    return products, groups


def _walk_branch(
    branch: object, path: dict[str, str], origin: str, where: str, products: dict[str, Product]
) -> None:
    data = mapping(branch, origin, KIND, where)
    category = required_text(data, "category", origin, KIND, f"{where}.")
    name = required_text(data, "name", origin, KIND, f"{where}.")
    below = {**path, category: name}
    if "product" in data:
        product = _full_product_name(data["product"], below, origin, f"{where}.product")
        products[product.product_id] = product
    for index, child in enumerate(
        sequence(data.get("branches"), origin, KIND, f"{where}.branches")
    ):
        _walk_branch(child, below, origin, f"{where}.branches[{index}]", products)


def _full_product_name(value: object, path: Mapping[str, str], origin: str, where: str) -> Product:
    data = mapping(value, origin, KIND, where)
    helper = data.get("product_identification_helper")
    purl = cpe = None
    if helper is not None:
        helper_data = mapping(helper, origin, KIND, f"{where}.product_identification_helper")
        purl = text(helper_data, "purl", origin, KIND, f"{where}.product_identification_helper.")
        cpe = text(helper_data, "cpe", origin, KIND, f"{where}.product_identification_helper.")
    full_name = required_text(data, "name", origin, KIND, f"{where}.")
    return Product(
        product_id=required_text(data, "product_id", origin, KIND, f"{where}."),
        full_name=full_name,
        vendor=path.get("vendor"),
        # Without a product_name branch (a flat full_product_names list) the full name is
        # the product name.
        product=path.get("product_name") or path.get("product_family") or full_name,
        version=path.get("product_version") or path.get("product_version_range"),
        purl=purl,
        cpe=cpe,
    )
