"""Writer for CSAF 2.0 VEX documents (profile `csaf_vex`, OASIS CSAF 2.0 §4.5).

The document contains a product tree with every product a statement names, and one
vulnerability per vulnerability id with `product_status`. The VEX profile adds rules the schema cannot check,
and the writer meets them by construction:

- every `known_not_affected` product gets a flag (the OpenVEX justification label) or a threat
  of category `impact` with the statement detail, and a statement with neither raises
  InputError;
- every `known_affected` product gets a remediation: one per response, or one built from the
  fixed versions, or `none_available` when nothing is recorded;
- one product appears in one status and carries at most one flag, so when several statements
  give the same product a status, the latest one is written and the others are dropped with a
  warning in the log.

Version ranges become `product_version_range` branches holding the vers string, never
`product_version` (mandatory test 6.1.31), and such products get no purl, because a purl without
a version would claim every version. CSAF 2.0 scores hold only CVSS v2 and v3; CVSS v4 and other
ratings are left out. A product ref that is a CycloneDX BOM-Link is kept in
`product_identification_helper.x_generic_uris`. The output passes `check_csaf` before it is
returned.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cvss import CVSS2, CVSS3
from cvss.exceptions import CVSSError

from nemecys import __version__
from nemecys.errors import InputError
from nemecys.vex._common import parse_timestamp
from nemecys.vex.apply import parse_purl
from nemecys.vex.csaf_rules import check_csaf
from nemecys.vex.model import (
    Product,
    Rating,
    Response,
    VersionConstraint,
    VexDocument,
    VexStatement,
    csaf_remediations,
    csaf_status_of,
    openvex_justification,
)
from nemecys.vex.read import BOM_LINK_NAMESPACE
from nemecys.vex.write import TOOL_NAME, action_text, dump_json, impact_text, source_of

log = logging.getLogger(__name__)

_CVE = re.compile(r"^CVE-[0-9]{4}-[0-9]{4,}$")
_CSAF_VERSION = re.compile(r"^(0|[1-9][0-9]*)$|^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_CPE = re.compile(r"^(cpe:2\.3:[aho*\-]:|cpe:/[aho]:)")
_PUBLISHER_CATEGORIES = ("coordinator", "discoverer", "other", "translator", "user", "vendor")
_OLDEST = datetime.min.replace(tzinfo=UTC)
_STATUS_ORDER = ("known_affected", "known_not_affected", "fixed", "under_investigation")


def write_csaf_vex(
    document: VexDocument,
    *,
    publisher_namespace: str | None = None,
    publisher_category: str = "vendor",
    tracking_id: str | None = None,
    title: str | None = None,
    status: str = "final",
) -> str:
    """Write a CSAF 2.0 VEX document as JSON.

    The publisher is the document author; its namespace (a URL of the publisher) comes from
    `publisher_namespace` or the document's `author_url`. The tracking id defaults to the
    document id; `csaf_filename` gives the file name CSAF expects for it.
    """
    namespace = publisher_namespace or document.author_url
    if not document.author or not namespace:
        raise InputError(
            "CSAF requires a publisher name and namespace URL; set the VexDocument author and "
            "author_url, or pass publisher_namespace"
        )
    if publisher_category not in _PUBLISHER_CATEGORIES:
        raise InputError(
            f"invalid CSAF publisher category {publisher_category!r}; expected one of "
            + ", ".join(_PUBLISHER_CATEGORIES)
        )
    if status not in ("draft", "final", "interim"):
        raise InputError(
            f"invalid CSAF tracking status {status!r}; expected draft, final or interim"
        )
    tracking_id = (tracking_id or document.id or "").strip()
    if not tracking_id:
        raise InputError("CSAF requires a tracking id; pass tracking_id or set the VexDocument id")

    initial, current = _release_dates(document)
    version = (
        document.version if document.version and _CSAF_VERSION.match(document.version) else "1"
    )
    tree = _ProductTree()
    vulnerabilities = [
        _vulnerability(vuln_id, statements, tree, document.author)
        for vuln_id, statements in _by_vulnerability(document.statements).items()
    ]
    product_label = document.product.label() if document.product else None
    output: dict[str, Any] = {
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "publisher": {
                "category": publisher_category,
                "name": document.author,
                "namespace": namespace,
            },
            "title": title or (f"VEX for {product_label}" if product_label else "VEX statements"),
            "tracking": {
                "current_release_date": current,
                "generator": {"engine": {"name": TOOL_NAME, "version": __version__}},
                "id": tracking_id,
                "initial_release_date": initial,
                "revision_history": [
                    {"date": current, "number": version, "summary": "Current version."}
                ],
                "status": status,
                "version": version,
            },
        },
        "product_tree": tree.as_json(),
        "vulnerabilities": vulnerabilities,
    }
    problems = check_csaf(output)
    if problems:
        raise InputError("the CSAF output fails mandatory tests:\n  " + "\n  ".join(problems))
    return dump_json(output)


def csaf_filename(tracking_id: str) -> str:
    """Return the file name CSAF 2.0 §5.1 gives a document with this tracking id."""
    return re.sub(r"[^+\-a-z0-9]+", "_", tracking_id.lower()) + ".json"


def _release_dates(document: VexDocument) -> tuple[str, str]:
    moments = sorted(
        {t for s in document.statements for t in (s.first_issued, s.last_updated) if t},
        key=parse_timestamp,
    )
    initial = document.timestamp or (moments[0] if moments else None)
    current = document.last_updated or (moments[-1] if moments else None) or initial
    if initial is None or current is None:
        raise InputError(
            "CSAF requires release dates; set the VexDocument timestamp or statement timestamps"
        )
    if parse_timestamp(current) < parse_timestamp(initial):
        current = initial
    return initial, current


def _by_vulnerability(statements: Sequence[VexStatement]) -> dict[str, list[VexStatement]]:
    grouped: dict[str, list[VexStatement]] = defaultdict(list)
    for statement in statements:
        grouped[statement.vulnerability].append(statement)
    return grouped


@dataclass
class _Branch:
    category: str
    name: str
    children: dict[tuple[str, str], _Branch] = field(default_factory=dict)
    product: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"category": self.category, "name": self.name}
        if self.children:
            entry["branches"] = [child.as_json() for child in self.children.values()]
        if self.product is not None:
            entry["product"] = self.product
        return entry


class _ProductTree:
    """Collects products into CSAF branches and relationships, one product id per product."""

    def __init__(self) -> None:
        self.roots: dict[tuple[str, str], _Branch] = {}
        self.relationships: list[dict[str, Any]] = []
        self.full_product_names: list[dict[str, Any]] = []
        self._ids: dict[tuple[Any, ...], str] = {}
        self._used: set[str] = set()

    def product_id(self, product: Product, constraint: VersionConstraint | None) -> str:
        key = (product, constraint)
        if key in self._ids:
            return self._ids[key]
        product_id = self._new_id(product)
        self._ids[key] = product_id

        name, version = _name_and_version(product, constraint)
        version_range = constraint.range if constraint and constraint.range else None
        path: list[tuple[str, str]] = []
        if product.vendor:
            path.append(("vendor", product.vendor))
        path.append(("product_name", name))
        if version_range:
            path.append(("product_version_range", version_range))
        elif version:
            path.append(("product_version", version))
        full_name = " ".join(part for _, part in path)
        entry: dict[str, Any] = {"name": full_name, "product_id": product_id}
        helper = _identification_helper(product, version, ranged=version_range is not None)
        if helper:
            entry["product_identification_helper"] = helper

        branches = self.roots
        branch: _Branch | None = None
        for category, value in path:
            branch = branches.setdefault((category, value), _Branch(category, value))
            branches = branch.children
        assert branch is not None
        if branch.product is None and not branch.children:
            branch.product = entry
        else:
            # Another product has the same branch path because it differs only in purl
            # qualifiers or BOM-Link. A branch has room for one product, so list this one apart.
            self.full_product_names.append(entry)
        return product_id

    def component_of(self, component_id: str, product_id: str, label: str) -> str:
        key = ("relationship", component_id, product_id)
        if key in self._ids:
            return self._ids[key]
        relation_id = self._new_id(None)
        self._ids[key] = relation_id
        self.relationships.append(
            {
                "category": "default_component_of",
                "full_product_name": {"name": label, "product_id": relation_id},
                "product_reference": component_id,
                "relates_to_product_reference": product_id,
            }
        )
        return relation_id

    def as_json(self) -> dict[str, Any]:
        tree: dict[str, Any] = {"branches": [root.as_json() for root in self.roots.values()]}
        if self.full_product_names:
            tree["full_product_names"] = self.full_product_names
        if self.relationships:
            tree["relationships"] = self.relationships
        return tree

    def _new_id(self, product: Product | None) -> str:
        wanted = product.ref if product and product.ref else None
        usable = wanted and not wanted.startswith("urn:cdx:") and wanted.strip() == wanted
        if wanted and usable and wanted not in self._used:
            self._used.add(wanted)
            return wanted
        number = len(self._used) + 1
        while f"CSAFPID-{number:04d}" in self._used:
            number += 1
        product_id = f"CSAFPID-{number:04d}"
        self._used.add(product_id)
        return product_id


def _name_and_version(
    product: Product, constraint: VersionConstraint | None
) -> tuple[str, str | None]:
    parsed = parse_purl(product.purl) if product.purl else None
    name = product.name
    if name is None and parsed is not None:
        name = parsed.identity.split("/", 1)[1].split("#", 1)[0]
    version = constraint.version if constraint and constraint.version else product.version
    if version is None and parsed is not None and not (constraint and constraint.range):
        version = parsed.version
    return name or product.label(), version


def _identification_helper(
    product: Product, version: str | None, *, ranged: bool
) -> dict[str, Any]:
    helper: dict[str, Any] = {}
    if product.purl and not ranged:
        purl = product.purl
        parsed = parse_purl(purl)
        if parsed is not None and version and parsed.version != version:
            from packageurl import PackageURL

            purl = PackageURL.from_string(purl)._replace(version=version).to_string()
        helper["purl"] = purl
    if product.cpe and _CPE.match(product.cpe):
        helper["cpe"] = product.cpe
    if product.ref and product.ref.startswith("urn:cdx:"):
        helper["x_generic_uris"] = [{"namespace": BOM_LINK_NAMESPACE, "uri": product.ref}]
    return helper


def _vulnerability(
    vuln_id: str, statements: list[VexStatement], tree: _ProductTree, author: str
) -> dict[str, Any]:
    ids = list(dict.fromkeys([vuln_id, *(a for s in statements for a in s.aliases)]))
    cve = next((i for i in ids if _CVE.match(i)), None)
    entry: dict[str, Any] = {}
    if cve:
        entry["cve"] = cve
    others = [i for i in ids if i != cve]
    if others:
        entry["ids"] = [{"system_name": source_of(i)[0], "text": i} for i in others]

    description = next((s.description for s in statements if s.description), None)
    if description:
        entry["notes"] = [
            {"category": "description", "text": description, "title": "Vulnerability description"}
        ]
    else:
        entry["notes"] = [
            {
                "category": "summary",
                "text": f"Status of {vuln_id} in the products listed, as assessed by {author}.",
                "title": "Status summary",
            }
        ]

    latest = _latest_per_product(statements, tree)
    status: dict[str, list[str]] = defaultdict(list)
    flags: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    threats: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    remediations: dict[tuple[str, str], list[str]] = defaultdict(list)
    scores: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
    for product_id, statement in latest.items():
        category = csaf_status_of(statement.state)
        status[category].append(product_id)
        impact = impact_text(statement)
        if category == "known_not_affected":
            if statement.justification is None and impact is None:
                raise InputError(
                    f"statement for {vuln_id} on {statement.target.label() if statement.target else 'the product'} "
                    "is not_affected without justification or detail; CSAF VEX requires an "
                    "impact statement"
                )
            if statement.justification is not None:
                label = openvex_justification(statement.justification).value
                flags[(label, statement.first_issued)].append(product_id)
        if impact:
            threats[(impact, statement.first_issued)].append(product_id)
        if category != "known_not_affected":
            for remediation, details in _remediations(statement, category):
                remediations[(remediation, details)].append(product_id)
        for key, cvss in _scores(statement):
            scores.setdefault(dump_json(cvss), (key, cvss, []))[2].append(product_id)

    entry["product_status"] = {c: sorted(status[c]) for c in _STATUS_ORDER if status.get(c)}
    if flags:
        entry["flags"] = [
            {"label": label, "product_ids": sorted(ids)} | ({"date": date} if date else {})
            for (label, date), ids in flags.items()
        ]
    if threats:
        entry["threats"] = [
            {"category": "impact", "details": details, "product_ids": sorted(ids)}
            | ({"date": date} if date else {})
            for (details, date), ids in threats.items()
        ]
    if remediations:
        entry["remediations"] = [
            {"category": category, "details": details, "product_ids": sorted(ids)}
            for (category, details), ids in remediations.items()
        ]
    if scores:
        entry["scores"] = _score_entries(scores.values())
    return entry


def _latest_per_product(
    statements: list[VexStatement], tree: _ProductTree
) -> dict[str, VexStatement]:
    latest: dict[str, VexStatement] = {}
    for statement in statements:
        for product_id in _product_ids(statement, tree):
            previous = latest.get(product_id)
            if previous is None or _moment(statement) >= _moment(previous):
                if previous is not None and previous.state != statement.state:
                    log.warning(
                        "%s on product %s: %s replaces the earlier %s; CSAF allows one status "
                        "per product",
                        statement.vulnerability,
                        product_id,
                        statement.state.value,
                        previous.state.value,
                    )
                latest[product_id] = statement
    return latest


def _product_ids(statement: VexStatement, tree: _ProductTree) -> list[str]:
    target = statement.target
    if target is None:
        raise InputError(
            f"statement for {statement.vulnerability} names no product; CSAF VEX needs every "
            "status to name a product from the product tree"
        )
    constraints: list[VersionConstraint | None] = list(statement.versions) or [None]
    ids = [tree.product_id(target, constraint) for constraint in constraints]
    if statement.subcomponent is None or statement.product is None:
        return ids
    container = tree.product_id(statement.product, None)
    return [
        tree.component_of(
            component_id,
            container,
            f"{statement.subcomponent.label()} as a component of {statement.product.label()}",
        )
        for component_id in ids
    ]


def _remediations(statement: VexStatement, category: str) -> list[tuple[str, str]]:
    details = action_text(statement)
    responses = csaf_remediations(statement.responses)
    if responses:
        return [(r.value, details) for r in responses]
    if category == "known_affected":
        fallback = Response.VENDOR_FIX if statement.fixed_versions else Response.NONE_AVAILABLE
        return [(fallback.value, details)]
    return []


def _scores(statement: VexStatement) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for rating in statement.ratings:
        converted = _cvss_json(rating)
        if converted is not None:
            found.append(converted)
    return found


def _cvss_json(rating: Rating) -> tuple[str, dict[str, Any]] | None:
    if not rating.vector or rating.method not in ("CVSSv2", "CVSSv3", "CVSSv31"):
        return None
    vector = rating.vector
    try:
        if rating.method == "CVSSv2":
            return "cvss_v2", CVSS2(vector).as_json(minimal=True)
        if not vector.startswith("CVSS:3"):
            vector = ("CVSS:3.1/" if rating.method == "CVSSv31" else "CVSS:3.0/") + vector
        return "cvss_v3", CVSS3(vector).as_json(minimal=True)
    except CVSSError as exc:
        log.warning("left out the invalid CVSS vector %r: %s", rating.vector, exc)
        return None


def _score_entries(
    scores: Iterable[tuple[str, dict[str, Any], list[str]]],
) -> list[dict[str, Any]]:
    # Mandatory test 6.1.7: one score per CVSS version and product, the first one given.
    taken: set[tuple[str, str]] = set()
    entries = []
    for key, cvss, product_ids in scores:
        version = str(cvss.get("version"))
        products = sorted(p for p in set(product_ids) if (p, version) not in taken)
        taken.update((p, version) for p in products)
        if products:
            entries.append({"products": products, key: cvss})
    return entries


def _moment(statement: VexStatement) -> datetime:
    return parse_timestamp(statement.timestamp) if statement.timestamp else _OLDEST


__all__ = ["csaf_filename", "write_csaf_vex"]
