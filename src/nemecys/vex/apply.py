"""Apply VEX statements to the components of an SBOM: which statement decides each finding.

Scanners often fail to apply VEX because the purl in the VEX and the purl in the SBOM differ
only in qualifiers (`?type=jar`, `?repository_url=…`), in percent-encoding (`sha256%3A…`) or
in case. Here two purls match when their canonical forms (see `canonical_purl`) are equal,
qualifiers ignored, with two exceptions: `arch` and `epoch` values that both purls set and that
differ name different binaries, so they never match.

A statement applies to a finding (a vulnerability id with aliases, in one component) when an id
is shared and its target matches:

- a statement about a subcomponent needs the subcomponent to match the component and its
  product to match the SBOM's subject (its metadata component or described package);
- a statement about a product matches that component, or matches the SBOM's subject and so
  covers every component of the product;
- a statement without a product applies to every component of any SBOM it is applied to.

Targets match by purl, then CPE, then bom-ref or BOM-Link. Names match only when the caller
asks (`match_names`), or for a statement's product against the SBOM subject, because CSAF
product trees often name a vendor product without any identifier. Version constraints
(CycloneDX `affects[].versions`, CSAF `product_version_range`) are checked against the version
of whichever entity matched. When several statements apply, the latest one wins. On equal times
the more specific target wins, then the statement later in the input.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from packageurl import PackageURL
from univers.version_range import RANGE_CLASS_BY_SCHEMES, VersionRange
from univers.versions import InvalidVersion, Version

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex._common import parse_timestamp
from nemecys.vex.model import Product, VersionConstraint, VexStatement
from nemecys.vulns.store import normalize_name

log = logging.getLogger(__name__)

CONFLICTING_QUALIFIERS = ("arch", "epoch")

# Types whose namespaces compare without case although packageurl-python keeps their case.
# Names go through normalize_name, the function the matcher uses (PEP 503 for PyPI).
_NAMESPACE_CASE_INSENSITIVE = {"npm", "composer", "github", "bitbucket", "gitlab", "deb", "apk"}

# Version schemes whose univers class defines equality (pypi "1.0" == "1.0.0"). The generic and
# GitHub schemes fall back to semver, which would equate "1.2.3.4" with "1.2.3+4".
_EQUALITY_SCHEMES = frozenset(RANGE_CLASS_BY_SCHEMES) - {"generic", "github", "all", "none"}

_BOM_LINK = re.compile(r"^urn:cdx:([0-9a-fA-F-]{36})/([1-9][0-9]*)#(.+)$")
_SIMPLE_RANGE = re.compile(
    r"^\s*(?:[<>]=?|=|!=)\s*[^\s|<>=!]+(?:\s*\|\s*(?:[<>]=?|=|!=)\s*[^\s|<>=!]+)*\s*$"
)
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ParsedPurl:
    """A purl split into its canonical identity, version and qualifiers."""

    identity: str  # pkg:type/namespace/name#subpath, canonical, without version and qualifiers
    type: str
    version: str | None
    qualifiers: dict[str, str]


def parse_purl(purl: str) -> ParsedPurl | None:
    """Parse and canonicalise a purl, or return None when it is not a valid purl."""
    try:
        parsed = PackageURL.from_string(purl.strip())
    except ValueError:
        return None
    purl_type = parsed.type.lower()
    namespace = unquote(parsed.namespace) if parsed.namespace else None
    if namespace and purl_type in _NAMESPACE_CASE_INSENSITIVE:
        namespace = namespace.lower()
    name = normalize_name(purl_type, unquote(parsed.name))
    identity = f"pkg:{purl_type}/" + (f"{namespace}/" if namespace else "") + name
    if parsed.subpath:
        identity += "#" + unquote(parsed.subpath).strip("/")
    qualifiers = parsed.qualifiers if isinstance(parsed.qualifiers, dict) else {}
    version = unquote(parsed.version) if parsed.version else None
    return ParsedPurl(
        identity=identity,
        type=purl_type,
        version=version,
        qualifiers={k.lower(): unquote(v) for k, v in qualifiers.items()},
    )


def canonical_purl(purl: str, *, with_version: bool = True) -> str | None:
    """Return the purl without qualifiers, decoded and with case folded as its type requires."""
    parsed = parse_purl(purl)
    if parsed is None:
        return None
    if not with_version or not parsed.version:
        return parsed.identity
    base, _, subpath = parsed.identity.partition("#")
    return f"{base}@{parsed.version}" + (f"#{subpath}" if subpath else "")


def purls_match(
    statement_purl: str,
    component_purl: str,
    *,
    component_version: str | None = None,
    conflicting_qualifiers: Sequence[str] = CONFLICTING_QUALIFIERS,
) -> bool:
    """Decide whether a VEX purl names the component's purl.

    A VEX purl without a version matches every version. `component_version` replaces the
    version when the component's purl has none.
    """
    wanted = parse_purl(statement_purl)
    actual = parse_purl(component_purl)
    if wanted is None or actual is None or wanted.identity != actual.identity:
        return False
    for key in conflicting_qualifiers:
        mine, theirs = wanted.qualifiers.get(key), actual.qualifiers.get(key)
        if mine is not None and theirs is not None and mine != theirs:
            return False
    if wanted.version is None:
        return True
    have = actual.version or component_version
    return have is not None and versions_equal(wanted.type, wanted.version, have)


def versions_equal(scheme: str, left: str, right: str) -> bool:
    """Compare two versions as text, then with the version class of the purl type."""
    if left == right:
        return True
    if scheme not in _EQUALITY_SCHEMES:
        return False
    version_class: Any = RANGE_CLASS_BY_SCHEMES[scheme].version_class
    try:
        return bool(version_class(left) == version_class(right))
    except (InvalidVersion, ValueError, TypeError):
        return False


def version_satisfies(
    constraint: VersionConstraint, version: str, scheme: str | None
) -> bool | None:
    """Decide whether `version` is the constraint's version or lies in its range.

    Returns None when the range cannot be evaluated: an unknown vers scheme, a version the scheme
    cannot parse, or free text such as "all versions of the 4.x line". Ranges that are not vers
    strings but plain comparators ("<=1.14.0", ">=2.0|<3.0", as CSAF product_version_range
    branches often hold) are read with the scheme of the component's purl type.
    """
    if constraint.version is not None:
        return versions_equal(scheme or "generic", constraint.version, version)
    text = (constraint.range or "").strip()
    if not text:
        return None
    if not text.startswith("vers:"):
        if text.lower() in ("*", "all versions", "all"):
            return True
        if not _SIMPLE_RANGE.match(text):
            return None
        text = f"vers:{scheme if scheme in RANGE_CLASS_BY_SCHEMES else 'generic'}/{text.replace(' ', '')}"
    return _in_vers_range(text, version)


def _in_vers_range(vers: str, version: str) -> bool | None:
    scheme, _, constraints = vers[len("vers:") :].partition("/")
    if constraints.strip() == "*":
        return True
    # univers 32 has no "semver" scheme, which the CycloneDX examples use, and its "generic" is
    # semver. Dotted integers with more than three parts compare as integers, not as build data.
    if scheme in ("semver", "generic"):
        dotted = re.fullmatch(r"v?\d+(\.\d+){3,}", version) is not None
        scheme = "intdot" if dotted else "generic"
    try:
        parser: Any = VersionRange  # univers leaves from_string unannotated
        version_range = parser.from_string(f"vers:{scheme}/{constraints}")
        candidate: Version = version_range.version_class(version.removeprefix("v"))
        return bool(candidate in version_range)
    except (InvalidVersion, ValueError, TypeError, KeyError) as exc:
        log.debug("cannot evaluate %s for version %s: %s", vers, version, exc)
        return None


@dataclass(frozen=True, slots=True)
class _Entity:
    """A component or the SBOM subject, with what matching needs of it."""

    component: SoftwareComponent

    @property
    def version(self) -> str | None:
        if self.component.purl:
            parsed = parse_purl(self.component.purl)
            if parsed and parsed.version:
                return parsed.version
        return self.component.version

    @property
    def scheme(self) -> str | None:
        return self.component.ecosystem

    @property
    def names(self) -> set[str]:
        component = self.component
        found = {component.name.lower()}
        if component.group:
            found.add(f"{component.group}/{component.name}".lower())
        return found


class VexIndex:
    """Statements indexed by vulnerability id, ready to decide findings of one SBOM."""

    def __init__(
        self,
        statements: Iterable[VexStatement],
        *,
        sbom: SbomDocument | None = None,
        bom_version: int | None = None,
        match_names: bool = False,
        conflicting_qualifiers: Sequence[str] = CONFLICTING_QUALIFIERS,
    ) -> None:
        self._by_id: dict[str, list[tuple[int, VexStatement]]] = defaultdict(list)
        for position, statement in enumerate(statements):
            for vuln_id in {_id_key(i) for i in statement.ids}:
                self._by_id[vuln_id].append((position, statement))
        self.sbom = sbom
        self.serial = (sbom.serial_number or "").lower().removeprefix("urn:uuid:") if sbom else ""
        self.bom_version = bom_version
        self.match_names = match_names
        self.conflicting_qualifiers = tuple(conflicting_qualifiers)

    def decide(
        self, component: SoftwareComponent, vulnerability_ids: Iterable[str]
    ) -> VexStatement | None:
        """Return the statement that decides this vulnerability in this component, if any."""
        matches = self.matching(component, vulnerability_ids)
        return matches[-1] if matches else None

    def matching(
        self, component: SoftwareComponent, vulnerability_ids: Iterable[str]
    ) -> list[VexStatement]:
        """Return every applicable statement, the deciding one last."""
        candidates = {
            position: statement
            for vuln_id in vulnerability_ids
            for position, statement in self._by_id.get(_id_key(vuln_id), ())
        }
        ranked: list[tuple[datetime, int, int, VexStatement]] = []
        for position, statement in candidates.items():
            specificity = self._specificity(statement, _Entity(component))
            if specificity:
                ranked.append((_moment(statement), specificity, position, statement))
        ranked.sort(key=lambda item: item[:3])
        return [item[3] for item in ranked]

    def _specificity(self, statement: VexStatement, entity: _Entity) -> int:
        """Return 0 when the statement does not apply, else a higher number for a narrower one."""
        subject = self.sbom.subject if self.sbom else None
        if statement.subcomponent is not None:
            if subject is None or statement.product is None:
                return 0
            inside = self._matches(statement.product, (), _Entity(subject), product=True)
            if inside and self._matches(statement.subcomponent, statement.versions, entity):
                return 4
            return 0
        if statement.product is None:
            return 1
        if self._matches(statement.product, statement.versions, entity):
            return 3
        covers_product = (
            subject is not None
            and subject.key != entity.component.key
            and self._matches(statement.product, statement.versions, _Entity(subject), product=True)
        )
        return 2 if covers_product else 0

    def _matches(
        self,
        target: Product,
        versions: Sequence[VersionConstraint],
        entity: _Entity,
        *,
        product: bool = False,
    ) -> bool:
        if not self._identifies(target, entity, allow_names=self.match_names or product):
            return False
        if not versions:
            return True
        version = entity.version
        if version is None:
            return False
        # NOTE: the statement's state applies to every listed version. An entry whose status
        # contradicts the state (an "affected" version in a not_affected statement) is not
        # treated differently.
        return any(version_satisfies(c, version, entity.scheme) is True for c in versions)

    def _identifies(self, target: Product, entity: _Entity, *, allow_names: bool) -> bool:
        component = entity.component
        if target.purl and component.purl:
            return purls_match(
                target.purl,
                component.purl,
                component_version=component.version,
                conflicting_qualifiers=self.conflicting_qualifiers,
            )
        if target.cpe and component.cpe:
            return target.cpe.lower() == component.cpe.lower()
        if target.ref:
            link = _BOM_LINK.match(target.ref)
            if link is None:
                if target.ref == component.key:
                    return True
            elif (
                link.group(1).lower() == self.serial
                and (self.bom_version is None or int(link.group(2)) == self.bom_version)
                and unquote(link.group(3)) == component.key
            ):
                return True
        if allow_names and target.name and target.name.lower() in entity.names:
            version = entity.version
            return target.version is None or (
                version is not None
                and versions_equal(entity.scheme or "generic", target.version, version)
            )
        return False


def _id_key(vulnerability_id: str) -> str:
    return vulnerability_id.strip().upper()


def _moment(statement: VexStatement) -> datetime:
    timestamp = statement.timestamp
    if not timestamp:
        return _OLDEST
    try:
        return parse_timestamp(timestamp)
    except ValueError:
        return _OLDEST


def decide_all(
    sbom: SbomDocument,
    findings: Iterable[tuple[SoftwareComponent, Sequence[str]]],
    statements: Iterable[VexStatement],
    *,
    match_names: bool = False,
) -> list[tuple[SoftwareComponent, Sequence[str], VexStatement | None]]:
    """Decide each (component, vulnerability ids) pair of one SBOM, with None where none applies."""
    index = VexIndex(statements, sbom=sbom, match_names=match_names)
    return [(component, ids, index.decide(component, ids)) for component, ids in findings]
