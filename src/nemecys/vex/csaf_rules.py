"""CSAF 2.0 mandatory tests (OASIS CSAF 2.0 §6.1) that decide whether VEX statements can be read.

The JSON schema cannot see these rules: a product status naming an undefined product, one
product both affected and not affected, a `known_not_affected` product without an impact
statement, a `known_affected` product without an action statement. The reader rejects a document
that breaks them, and the writer's tests run them on every document it produces.

Implemented: 6.1.1 to 6.1.9, the profile tests 6.1.27.4 to 6.1.27.11, and 6.1.33. Not
implemented: 6.1.10 to 6.1.26, 6.1.28 to 6.1.32 and 6.1.34 (CWE names, language tags, revision
history order, purl syntax, version ranges in product_version and others).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from cvss import CVSS2, CVSS3
from cvss.exceptions import CVSSError

# 6.1.6: a product may appear in only one of these groups of product_status categories.
_STATUS_GROUPS = {
    "first_affected": "affected",
    "known_affected": "affected",
    "last_affected": "affected",
    "known_not_affected": "not affected",
    "first_fixed": "fixed",
    "fixed": "fixed",
    "under_investigation": "under investigation",
}
_VEX_STATUSES = ("fixed", "known_affected", "known_not_affected", "under_investigation")
_CVSS3_REQUIRED = ("version", "vectorString", "baseScore", "baseSeverity")
_CVSS2_REQUIRED = ("version", "vectorString", "baseScore")


def check_csaf(document: Any) -> list[str]:
    """Return one message per failed mandatory test, each starting with the test number."""
    if not isinstance(document, dict):
        return ["the CSAF document must be a JSON object"]
    meta = _object(document.get("document"))
    category = meta.get("category")
    tree = _object(document.get("product_tree"))
    vulnerabilities = _objects(document.get("vulnerabilities"))

    problems: list[str] = []
    defined = _defined_products(tree)
    problems += _check_product_definitions(document, tree, defined)
    groups = _groups(tree)
    problems += _check_groups(document, tree, groups)
    for index, vulnerability in enumerate(vulnerabilities):
        where = f"vulnerabilities[{index}]"
        problems += _check_contradictions(vulnerability, where)
        problems += _check_scores(vulnerability, where)

    if category in ("csaf_security_advisory", "csaf_vex"):
        problems += _check_advisory_profile(document, category, vulnerabilities)
    if category == "csaf_vex":
        for index, vulnerability in enumerate(vulnerabilities):
            problems += _check_vex_vulnerability(vulnerability, f"vulnerabilities[{index}]", groups)
    return problems


def iter_branch_products(branches: Any) -> Iterator[dict[str, Any]]:
    """Yield the `product` objects of a branch tree, depth first."""
    for branch in _objects(branches):
        product = branch.get("product")
        if isinstance(product, dict):
            yield product
        yield from iter_branch_products(branch.get("branches"))


def _defined_products(tree: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    products = [
        *iter_branch_products(tree.get("branches")),
        *_objects(tree.get("full_product_names")),
        *(_object(r.get("full_product_name")) for r in _objects(tree.get("relationships"))),
    ]
    for product in products:
        product_id = product.get("product_id")
        if isinstance(product_id, str):
            ids.append(product_id)
    return ids


def _product_references(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (JSON path, product id) for every place that refers to a product."""
    tree = _object(document.get("product_tree"))
    for index, group in enumerate(_objects(tree.get("product_groups"))):
        for product_id in _strings(group.get("product_ids")):
            yield f"product_tree.product_groups[{index}].product_ids", product_id
    for index, relationship in enumerate(_objects(tree.get("relationships"))):
        for key in ("product_reference", "relates_to_product_reference"):
            value = relationship.get(key)
            if isinstance(value, str):
                yield f"product_tree.relationships[{index}].{key}", value
    for v_index, vulnerability in enumerate(_objects(document.get("vulnerabilities"))):
        where = f"vulnerabilities[{v_index}]"
        status = _object(vulnerability.get("product_status"))
        for category, ids in status.items():
            for product_id in _strings(ids):
                yield f"{where}.product_status.{category}", product_id
        for key in ("remediations", "flags", "threats"):
            for index, item in enumerate(_objects(vulnerability.get(key))):
                for product_id in _strings(item.get("product_ids")):
                    yield f"{where}.{key}[{index}].product_ids", product_id
        for index, score in enumerate(_objects(vulnerability.get("scores"))):
            for product_id in _strings(score.get("products")):
                yield f"{where}.scores[{index}].products", product_id


def _check_product_definitions(
    document: dict[str, Any], tree: dict[str, Any], defined: list[str]
) -> list[str]:
    problems: list[str] = []
    known = set(defined)
    for path, product_id in _product_references(document):
        if product_id not in known:
            problems.append(f"6.1.1 {path}: product id {product_id} is not defined")
    seen: set[str] = set()
    for product_id in defined:
        if product_id in seen:
            problems.append(
                f"6.1.2 product_tree: product id {product_id} is defined more than once"
            )
        seen.add(product_id)

    # 6.1.3: a relationship must not define a product in terms of itself, directly or through
    # a chain of other relationships.
    parts: dict[str, set[str]] = defaultdict(set)
    for relationship in _objects(tree.get("relationships")):
        new_id = _object(relationship.get("full_product_name")).get("product_id")
        if isinstance(new_id, str):
            for key in ("product_reference", "relates_to_product_reference"):
                value = relationship.get(key)
                if isinstance(value, str):
                    parts[new_id].add(value)
    problems.extend(
        f"6.1.3 product_tree.relationships: product id {product_id} is defined in terms of itself"
        for product_id in sorted(parts)
        if _reaches(parts, product_id, product_id)
    )
    return problems


def _reaches(parts: dict[str, set[str]], start: str, goal: str) -> bool:
    stack = list(parts.get(start, ()))
    visited: set[str] = set()
    while stack:
        current = stack.pop()
        if current == goal:
            return True
        if current in visited:
            continue
        visited.add(current)
        stack.extend(parts.get(current, ()))
    return False


def _groups(tree: dict[str, Any]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for group in _objects(tree.get("product_groups")):
        group_id = group.get("group_id")
        if isinstance(group_id, str):
            groups.setdefault(group_id, set()).update(_strings(group.get("product_ids")))
    return groups


def _check_groups(
    document: dict[str, Any], tree: dict[str, Any], groups: dict[str, set[str]]
) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for group in _objects(tree.get("product_groups")):
        group_id = group.get("group_id")
        if isinstance(group_id, str):
            if group_id in seen:
                problems.append(
                    f"6.1.5 product_tree: product group id {group_id} is defined more than once"
                )
            seen.add(group_id)
    for v_index, vulnerability in enumerate(_objects(document.get("vulnerabilities"))):
        for key in ("remediations", "flags", "threats"):
            for index, item in enumerate(_objects(vulnerability.get(key))):
                problems.extend(
                    f"6.1.4 vulnerabilities[{v_index}].{key}[{index}].group_ids: "
                    f"product group id {group_id} is not defined"
                    for group_id in _strings(item.get("group_ids"))
                    if group_id not in groups
                )
    return problems


def _check_contradictions(vulnerability: dict[str, Any], where: str) -> list[str]:
    status = _object(vulnerability.get("product_status"))
    groups_of: dict[str, set[str]] = defaultdict(set)
    for category, ids in status.items():
        group = _STATUS_GROUPS.get(category)
        if group:
            for product_id in _strings(ids):
                groups_of[product_id].add(group)
    return [
        f"6.1.6 {where}.product_status: product {product_id} is both "
        + " and ".join(sorted(groups))
        for product_id, groups in sorted(groups_of.items())
        if len(groups) > 1
    ]


def _check_scores(vulnerability: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    versions_by_product: dict[str, list[str]] = defaultdict(list)
    for index, score in enumerate(_objects(vulnerability.get("scores"))):
        path = f"{where}.scores[{index}]"
        for key, required in (("cvss_v3", _CVSS3_REQUIRED), ("cvss_v2", _CVSS2_REQUIRED)):
            cvss = score.get(key)
            if not isinstance(cvss, dict):
                continue
            for product_id in _strings(score.get("products")):
                versions_by_product[product_id].append(str(cvss.get("version")))
            missing = [field for field in required if field not in cvss]
            if missing:
                problems.append(f"6.1.8 {path}.{key}: missing {', '.join(missing)}")
                continue
            problems += _check_cvss_computation(key, cvss, f"{path}.{key}")
    for product_id, versions in sorted(versions_by_product.items()):
        repeated = sorted({v for v in versions if versions.count(v) > 1})
        if repeated:
            problems.append(
                f"6.1.7 {where}.scores: product {product_id} has more than one CVSS "
                f"{', '.join(repeated)} score"
            )
    return problems


def _check_cvss_computation(key: str, cvss: dict[str, Any], path: str) -> list[str]:
    vector = cvss.get("vectorString")
    if not isinstance(vector, str):
        return [f"6.1.8 {path}.vectorString: must be a string"]
    try:
        computed = (CVSS3(vector) if key == "cvss_v3" else CVSS2(vector)).as_json()
    except CVSSError as exc:
        return [f"6.1.8 {path}.vectorString: invalid CVSS vector {vector!r}: {exc}"]
    fields = (
        "baseScore",
        "baseSeverity",
        "temporalScore",
        "temporalSeverity",
        "environmentalScore",
        "environmentalSeverity",
    )
    return [
        f"6.1.9 {path}.{field}: is {cvss[field]!r} but the vector gives {computed[field]!r}"
        for field in fields
        if field in cvss and field in computed and cvss[field] != computed[field]
    ]


def _check_advisory_profile(
    document: dict[str, Any], category: str, vulnerabilities: list[dict[str, Any]]
) -> list[str]:
    problems: list[str] = []
    if not isinstance(document.get("product_tree"), dict):
        problems.append(f"6.1.27.4 product_tree: is missing; category {category} requires it")
    if not vulnerabilities:
        problems.append(f"6.1.27.11 vulnerabilities: is missing; category {category} requires it")
    for index, vulnerability in enumerate(vulnerabilities):
        if not vulnerability.get("notes"):
            problems.append(
                f"6.1.27.5 vulnerabilities[{index}].notes: is missing; category {category} "
                "requires a description note"
            )
        if category == "csaf_security_advisory" and not vulnerability.get("product_status"):
            problems.append(f"6.1.27.6 vulnerabilities[{index}].product_status: is missing")
    return problems


def _check_vex_vulnerability(
    vulnerability: dict[str, Any], where: str, groups: dict[str, set[str]]
) -> list[str]:
    problems: list[str] = []
    status = _object(vulnerability.get("product_status"))
    if not any(status.get(key) for key in _VEX_STATUSES):
        problems.append(
            f"6.1.27.7 {where}.product_status: needs at least one of {', '.join(_VEX_STATUSES)}"
        )
    if not vulnerability.get("cve") and not vulnerability.get("ids"):
        problems.append(f"6.1.27.8 {where}: needs a cve or ids")

    with_flag = _covered(vulnerability.get("flags"), groups)
    impact_threats = [
        t for t in _objects(vulnerability.get("threats")) if t.get("category") == "impact"
    ]
    with_impact = with_flag | _covered(impact_threats, groups)
    problems.extend(
        f"6.1.27.9 {where}: known_not_affected product {product_id} has no impact statement "
        "(a flag, or a threat of category impact)"
        for product_id in _strings(status.get("known_not_affected"))
        if product_id not in with_impact
    )
    with_action = _covered(vulnerability.get("remediations"), groups)
    problems.extend(
        f"6.1.27.10 {where}: known_affected product {product_id} has no action statement "
        "(a remediation)"
        for product_id in _strings(status.get("known_affected"))
        if product_id not in with_action
    )

    flag_count: dict[str, int] = defaultdict(int)
    for flag in _objects(vulnerability.get("flags")):
        for product_id in _covered([flag], groups):
            flag_count[product_id] += 1
    for product_id, count in sorted(flag_count.items()):
        if count > 1:
            problems.append(f"6.1.33 {where}.flags: product {product_id} has {count} VEX flags")
    return problems


def _covered(items: Any, groups: dict[str, set[str]]) -> set[str]:
    """Return the product ids that `items` (flags, threats, remediations) name or group."""
    ids: set[str] = set()
    for item in _objects(items):
        ids.update(_strings(item.get("product_ids")))
        for group_id in _strings(item.get("group_ids")):
            ids.update(groups.get(group_id, ()))
    return ids


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
