"""The matcher: the components of an SBOM against an advisory store, giving typed findings.

Identity comes first. A component with a package URL is looked up by purl type and name,
normalised the way its ecosystem compares names (PEP 503 for PyPI, so `Django`,
`zope.interface` and `zope-interface` meet), and its version is tested with that ecosystem's
rules against each affected entry's enumerated versions and OSV ranges. Distribution packages
(deb, rpm, apk) only meet advisories of the same distribution and release, because a
distribution's own advisories know its backported fixes. CPE matching is used only for
components without an ecosystem identity; its guards live in `nemecys.vulns.cpe`. Nothing is
matched by a guessed name: a component with neither purl nor CPE is listed as unidentified.

After matching, `scan_document` attaches KEV and EPSS data, scores the rubric, applies triage
(VEX) decisions and ranks the findings.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vulns.cpe import Cpe, identity_matches, parse_cpe, version_of
from nemecys.vulns.findings import IN_TRIAGE, Finding, MatchedBy, ScanResult
from nemecys.vulns.model import Advisory, AffectedPackage, Range
from nemecys.vulns.scoring import attach_exploitation, attach_rubric, cvss_scores, prioritise
from nemecys.vulns.store import (
    CPE_COVERAGE,
    AdvisoryStore,
    TriageDecision,
    normalize_name,
    purl_type_of,
)
from nemecys.vulns.versions import (
    ECOSYSTEM_PURL_TYPES,
    Comparable,
    InvalidVersionError,
    ParsedRange,
    RangeError,
    VersionSet,
    VersRange,
    describe_range,
    fixed_versions,
    parse_range,
    parse_vers,
    scheme_for_purl_type,
    scheme_for_range,
    try_parse_version,
)

logger = logging.getLogger(__name__)

DISTRO_PURL_TYPES = frozenset({"deb", "rpm", "apk"})

# OSV distribution ecosystems (lower-cased, before the release) to the purl namespaces that
# name the same distribution.
_DISTRO_NAMESPACES: dict[str, frozenset[str]] = {
    "debian": frozenset({"debian"}),
    "ubuntu": frozenset({"ubuntu"}),
    "alpine": frozenset({"alpine", "alpinelinux"}),
    "red hat": frozenset({"redhat", "rhel"}),
    "rocky linux": frozenset({"rocky", "rockylinux"}),
    "almalinux": frozenset({"almalinux", "alma"}),
    "suse": frozenset({"suse", "sles", "sle"}),
    "opensuse": frozenset({"opensuse"}),
    "mageia": frozenset({"mageia"}),
    "wolfi": frozenset({"wolfi"}),
    "chainguard": frozenset({"chainguard"}),
}
_CODENAMES = {
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "focal": "20.04",
    "jammy": "22.04",
    "noble": "24.04",
}


# --- package URLs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Purl:
    """The parts of a package URL that matching uses, percent-decoded."""

    type: str
    namespace: str | None
    name: str
    version: str | None
    qualifiers: tuple[tuple[str, str], ...] = ()

    def qualifier(self, key: str) -> str | None:
        return next((v for k, v in self.qualifiers if k == key), None)

    @property
    def package_name(self) -> str:
        """The name as OSV ecosystems spell it: `@scope/name`, `group:artifact`, `path/name`."""
        if not self.namespace or self.type in DISTRO_PURL_TYPES or self.type == "pypi":
            return self.name
        if self.type == "maven":
            return f"{self.namespace}:{self.name}"
        return f"{self.namespace}/{self.name}"


@functools.lru_cache(maxsize=65_536)
def parse_purl(text: str) -> Purl | None:
    """Parse a package URL; None when it is not one.

    Written for speed: `packageurl.PackageURL.from_string` validates more than matching needs.
    """
    if not text.startswith("pkg:"):
        return None
    rest = text[4:].lstrip("/")
    rest, _, _subpath = rest.partition("#")
    rest, _, query = rest.partition("?")
    path, slash, last = rest.rpartition("/")
    version: str | None = None
    if "@" in last:
        last, _, version = last.rpartition("@")
        version = unquote(version) or None
    segments = [*path.split("/"), last] if slash else [last]
    if len(segments) < 2 or not segments[0] or not segments[-1]:
        return None
    purl_type = segments[0].lower()
    namespace = "/".join(unquote(s) for s in segments[1:-1] if s) or None
    qualifiers: list[tuple[str, str]] = []
    for pair in query.split("&") if query else ():
        key, _, value = pair.partition("=")
        if key and value:
            qualifiers.append((key.lower(), unquote(value)))
    return Purl(purl_type, namespace, unquote(segments[-1]), version, tuple(qualifiers))


def purl_identity(text: str) -> str | None:
    """Return `type/name` of a purl, the name as its ecosystem spells it and normalised.

    Version, qualifiers and subpath are dropped. None when `text` is not a purl.

    Two purls that differ only in version, qualifiers (`?arch=…`, `?distro=…`) or subpath
    name the same package, so VEX statements and findings are compared on this.
    """
    purl = parse_purl(text)
    if purl is None:
        return None
    return f"{purl.type}/{normalize_name(purl.type, purl.package_name)}"


# --- distributions ------------------------------------------------------------------------------


def _release_parts(text: str) -> tuple[str, ...]:
    value = text.strip().lower().removeprefix("v")
    value = _CODENAMES.get(value, value)
    return tuple(p for p in value.replace("-", ".").split(".") if p)


def _distro_agrees(ecosystem: str, purl: Purl) -> bool:
    """Return whether an OSV distribution ecosystem is the component's distribution and release.

    A purl without a namespace or without a `distro` qualifier gives no distribution or
    release to compare, so the entry is accepted.
    """
    base, _, release = ecosystem.partition(":")
    namespaces = _DISTRO_NAMESPACES.get(base.strip().lower())
    if namespaces is not None and purl.namespace and purl.namespace.lower() not in namespaces:
        return False
    distro = purl.qualifier("distro")
    release = release.split(":", 1)[0]
    if not release or not distro or base.strip().lower() in ("red hat", "suse", "opensuse"):
        # Red Hat and SUSE ecosystems name products and streams, not plain releases.
        return True
    component_release = distro
    for namespace in namespaces or ():
        component_release = component_release.removeprefix(f"{namespace}-")
    wanted = _release_parts(release)
    have = _release_parts(component_release)
    return have[: len(wanted)] == wanted


# --- matching -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """Choices that change what counts as a match."""

    include_withdrawn: bool = False
    # Also match distribution packages that carry a CPE against CPE advisories (NVD), for
    # vulnerabilities the distribution's own advisories do not mention. Off by default,
    # because upstream version ranges ignore backported fixes.
    distro_cpe_fallback: bool = False


@dataclass(frozen=True, slots=True)
class _Hit:
    advisory: Advisory
    affected: AffectedPackage
    range_text: str
    matched_by: MatchedBy
    state: str | None = None
    matched_cpe: str | None = None


@dataclass
class _Stats:
    unversioned: list[str] = field(default_factory=list)
    unidentified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # purl type (or "cpe" for a component with a CPE only) to the keys of components that
    # no advisory source in the store covers
    uncovered: dict[str, list[str]] = field(default_factory=dict)


class Matcher:
    """Match components against one store; caches parsed ranges and per-package results."""

    def __init__(self, store: AdvisoryStore, options: MatchOptions | None = None) -> None:
        self.store = store
        self.options = options or MatchOptions()
        self._version_sets: dict[tuple[str, int, str], VersionSet] = {}
        self._ranges: dict[tuple[int, str], tuple[Range, ParsedRange | VersRange | None]] = {}
        self._package_hits: dict[tuple[str, str, str, str | None, str | None], list[_Hit]] = {}
        self._cpes: dict[str, Cpe | None] = {}
        self._packages: dict[
            tuple[str, str | None], list[tuple[int, AffectedPackage, str, str]]
        ] = {}
        self._notes: list[str] = []
        self._covered: set[str] | None = None

    @property
    def covered_types(self) -> set[str]:
        """The store's covered purl types (and "cpe"), queried once per matcher."""
        if self._covered is None:
            self._covered = set(self.store.covered_types())
        return self._covered

    # -- public --

    def match_document(self, document: SbomDocument) -> ScanResult:
        """Match every component of an SBOM; findings are not scored or ranked yet."""
        stats = _Stats()
        findings: list[Finding] = []
        for component in document.components:
            findings.extend(self.match_component(component, stats))
        return ScanResult(
            source=document.path,
            findings=tuple(findings),
            components=len(document.components),
            unversioned=tuple(stats.unversioned),
            unidentified=tuple(stats.unidentified),
            notes=tuple(dict.fromkeys(self._notes)),
            uncovered={t: tuple(keys) for t, keys in sorted(stats.uncovered.items())},
        )

    def match_component(
        self, component: SoftwareComponent, stats: _Stats | None = None
    ) -> list[Finding]:
        """Return the findings of one component, one per vulnerability."""
        stats = stats if stats is not None else _Stats()
        purl = parse_purl(component.purl) if component.purl else None
        hits: list[_Hit] = []
        version: str | None = None
        if purl is not None:
            version = purl.version or component.version
            if not version:
                stats.unversioned.append(component.key)
                return []
            hits = self._purl_hits(purl, version)
            if (
                purl.type in DISTRO_PURL_TYPES
                and self.options.distro_cpe_fallback
                and component.cpe
            ):
                hits += self._distro_cpe_hits(component, purl, version, hits)
        cpe_checked = False
        if purl is None or purl.type not in ECOSYSTEM_PURL_TYPES:
            if component.cpe:
                cpe_checked = True
                cpe_hits, version = self._cpe_component_hits(component, stats)
                hits += cpe_hits
            else:
                stats.unidentified.append(component.key)
        elif purl.type in DISTRO_PURL_TYPES and self.options.distro_cpe_fallback:
            cpe_checked = bool(component.cpe)
        if cpe_checked or (purl is not None and purl.type in ECOSYSTEM_PURL_TYPES):
            self._record_coverage(component, purl, cpe_checked, stats)
        if not hits:
            return []
        return _findings_for(component, purl, version, hits)

    def _record_coverage(
        self, component: SoftwareComponent, purl: Purl | None, cpe_checked: bool, stats: _Stats
    ) -> None:
        covered = self.covered_types
        if purl is not None and purl.type in covered:
            return
        if cpe_checked and CPE_COVERAGE in covered:
            return
        kind = purl.type if purl is not None else CPE_COVERAGE
        stats.uncovered.setdefault(kind, []).append(component.key)

    # -- purl --

    def _purl_hits(self, purl: Purl, version: str) -> list[_Hit]:
        upstream = purl.qualifier("upstream") if purl.type in DISTRO_PURL_TYPES else None
        cache_key = (
            purl.type,
            purl.package_name,
            version,
            purl.namespace,
            purl.qualifier("distro"),
        )
        cached = self._package_hits.get(cache_key)
        if cached is not None:
            return cached
        names = [purl.package_name]
        if upstream:
            # A binary package (libssl3) is covered by its source package's advisories (openssl).
            names.append(upstream.split("@", 1)[0])
        seen: set[str] = set()
        hits: list[_Hit] = []
        for name in names:
            expected_name = normalize_name(purl.type, name)
            for advisory in self.store.advisories_for_package(purl.type, name):
                if advisory.id in seen or (
                    advisory.withdrawn and not self.options.include_withdrawn
                ):
                    continue
                for index, affected, purl_type, normalized in self._packages_of(advisory):
                    if purl_type != purl.type or normalized != expected_name:
                        continue
                    if purl.type in DISTRO_PURL_TYPES and not _distro_agrees(
                        affected.ecosystem or "", purl
                    ):
                        continue
                    range_text = self._affected_text(advisory, index, affected, purl.type, version)
                    if range_text is not None:
                        seen.add(advisory.id)
                        hits.append(_Hit(advisory, affected, range_text, MatchedBy.PURL))
                        break
        self._package_hits[cache_key] = hits
        return hits

    def _packages_of(self, advisory: Advisory) -> list[tuple[int, AffectedPackage, str, str]]:
        """Return an advisory's package entries with their purl type and normalised name."""
        key = (advisory.id, advisory.modified)
        found = self._packages.get(key)
        if found is None:
            found = []
            for index, affected in enumerate(advisory.affected):
                if affected.ecosystem and affected.name:
                    purl_type = purl_type_of(affected.ecosystem)
                    normalized = normalize_name(purl_type, affected.name)
                    found.append((index, affected, purl_type, normalized))
            self._packages[key] = found
        return found

    def _affected_text(
        self,
        advisory: Advisory,
        index: int,
        affected: AffectedPackage,
        purl_type: str,
        version: str,
    ) -> str | None:
        """Return the text of what made `version` affected, or None when it is not."""
        scheme = scheme_for_purl_type(purl_type)
        for range_ in affected.ranges:
            if range_.type.upper() == "GIT":
                continue
            range_scheme = scheme_for_range(range_.type, purl_type)
            if self._in_range(advisory, range_, range_scheme, version):
                return describe_range(range_)
        if affected.versions:
            key = (advisory.id, index, scheme)
            version_set = self._version_sets.get(key)
            if version_set is None:
                version_set = VersionSet.build(affected.versions, scheme)
                self._version_sets[key] = version_set
            if version_set.contains(version, try_parse_version(scheme, version)):
                return f"listed version {version}"
        return None

    def _in_range(self, advisory: Advisory, range_: Range, scheme: str, version: str) -> bool:
        # Keyed by identity: hashing a Range hashes all of its events. The cached entry keeps
        # the Range alive, so its id cannot be reused while the Matcher lives.
        key = (id(range_), scheme)
        if key not in self._ranges:
            parsed: ParsedRange | VersRange | None
            try:
                parsed = (
                    parse_vers(range_.vers) if range_.vers else parse_range(range_.events, scheme)
                )
            except (RangeError, ValueError) as exc:
                self._notes.append(f"{advisory.id}: range not evaluated: {exc}")
                parsed = None
            self._ranges[key] = (range_, parsed)
        parsed = self._ranges[key][1]
        if parsed is None:
            return False
        parsed_scheme = parsed.scheme if isinstance(parsed, VersRange) else scheme
        component_version = try_parse_version(parsed_scheme, version)
        if component_version is None:
            self._notes.append(
                f"{advisory.id}: version {version!r} is not a valid {parsed_scheme} version"
            )
            return False
        return parsed.contains(component_version)

    # -- CPE --

    def _cpe(self, text: str) -> Cpe | None:
        if text not in self._cpes:
            try:
                self._cpes[text] = parse_cpe(text)
            except ValueError as exc:
                self._notes.append(str(exc))
                self._cpes[text] = None
        return self._cpes[text]

    def _cpe_component_hits(
        self, component: SoftwareComponent, stats: _Stats
    ) -> tuple[list[_Hit], str | None]:
        assert component.cpe is not None
        cpe = self._cpe(component.cpe)
        if cpe is None:
            stats.unidentified.append(component.key)
            return [], None
        version = version_of(cpe) or component.version
        if not version:
            stats.unversioned.append(component.key)
            return [], None
        return self._cpe_hits(cpe, version), version

    def _cpe_hits(self, cpe: Cpe, version: str) -> list[_Hit]:
        hits: list[_Hit] = []
        for advisory in self.store.advisories_for_cpe(cpe.vendor, cpe.product):
            if advisory.withdrawn and not self.options.include_withdrawn:
                continue
            for affected in advisory.affected:
                if not affected.cpe or not affected.vulnerable:
                    continue
                advisory_cpe = self._cpe(affected.cpe)
                if advisory_cpe is None or not identity_matches(cpe, advisory_cpe):
                    continue
                range_text = self._cpe_version_text(advisory, affected, advisory_cpe, version)
                if range_text is not None:
                    hits.append(
                        _Hit(
                            advisory, affected, range_text, MatchedBy.CPE, matched_cpe=affected.cpe
                        )
                    )
                    break
        return hits

    def _cpe_version_text(
        self, advisory: Advisory, affected: AffectedPackage, advisory_cpe: Cpe, version: str
    ) -> str | None:
        named = version_of(advisory_cpe)
        if named is not None:
            wanted = try_parse_version("generic", named)
            have = try_parse_version("generic", version)
            if wanted is not None and have is not None and wanted == have:
                return f"version {named}"
            return None
        if advisory_cpe.version == "-":
            return None
        evaluated = [r for r in affected.ranges if r.type.upper() != "GIT"]
        if not evaluated and not affected.versions:
            return "all versions"
        for range_ in evaluated:
            if self._in_range(advisory, range_, "generic", version):
                return describe_range(range_)
        if affected.versions:
            key: Comparable | None = try_parse_version("generic", version)
            listed = VersionSet.build(affected.versions, "generic")
            if listed.contains(version, key):
                return f"listed version {version}"
        return None

    def _distro_cpe_hits(
        self, component: SoftwareComponent, purl: Purl, version: str, distro_hits: list[_Hit]
    ) -> list[_Hit]:
        """CPE hits for a distribution package, minus what its distribution's advisories cover."""
        assert component.cpe is not None
        cpe = self._cpe(component.cpe)
        if cpe is None:
            return []
        covered: set[str] = set()
        for advisory in self.store.advisories_for_package(purl.type, purl.package_name):
            if any(a.ecosystem and _distro_agrees(a.ecosystem, purl) for a in advisory.affected):
                covered.update((advisory.id, *advisory.aliases))
        for hit in distro_hits:
            covered.update((hit.advisory.id, *hit.advisory.aliases))
        upstream = version_of(cpe) or version
        return [
            replace(hit, state=IN_TRIAGE)
            for hit in self._cpe_hits(cpe, upstream)
            if not covered & {hit.advisory.id, *hit.advisory.aliases}
        ]


# --- findings -----------------------------------------------------------------------------------


def _primary_id(ids: Iterable[str]) -> str:
    ordered = sorted(set(ids))
    return next((i for i in ordered if i.startswith("CVE-")), ordered[0])


def _summary(advisory: Advisory) -> str | None:
    text = advisory.summary or (advisory.details or "").strip().split("\n", 1)[0]
    if not text:
        return None
    return text if len(text) <= 240 else text[:237] + "..."


def _group_hits(hits: Sequence[_Hit]) -> list[list[_Hit]]:
    """Group hits whose advisories share an id or alias: they are one vulnerability."""
    groups: list[tuple[set[str], list[_Hit]]] = []
    for hit in hits:
        ids = {hit.advisory.id, *hit.advisory.aliases}
        joined = [g for g in groups if g[0] & ids]
        merged_ids, merged_hits = set(ids), [hit]
        for group in joined:
            merged_ids |= group[0]
            merged_hits = group[1] + merged_hits
            groups.remove(group)
        groups.append((merged_ids, merged_hits))
    return [g[1] for g in groups]


def _findings_for(
    component: SoftwareComponent, purl: Purl | None, version: str | None, hits: Sequence[_Hit]
) -> list[Finding]:
    findings: list[Finding] = []
    for group in _group_hits(hits):
        ids = {i for h in group for i in (h.advisory.id, *h.advisory.aliases)}
        primary = _primary_id(ids)
        severities = tuple(
            dict.fromkeys(s for h in group for s in cvss_scores(h.advisory.severities))
        )
        fixed = tuple(dict.fromkeys(v for h in group for v in fixed_versions(h.affected.ranges)))
        references = tuple(dict.fromkeys(r for h in group for r in h.advisory.references))
        first = group[0]
        findings.append(
            Finding(
                component_key=component.key,
                component_name=purl.package_name if purl else component.name,
                component_version=version,
                component_purl=component.purl,
                vulnerability_id=primary,
                aliases=tuple(sorted(ids - {primary})),
                advisory_ids=tuple(dict.fromkeys(h.advisory.id for h in group)),
                matched_by=first.matched_by,
                affected_range="; ".join(dict.fromkeys(h.range_text for h in group)),
                summary=next((s for s in (_summary(h.advisory) for h in group) if s), None),
                fixed_versions=fixed,
                severities=severities,
                state=first.state or "affected",
                matched_cpe=first.matched_cpe,
                references=references,
            )
        )
    return findings


# --- triage decisions (VEX) ---------------------------------------------------------------------


def _decision_subject(text: str) -> str:
    identity = purl_identity(text)
    return identity if identity is not None else text.strip().lower()


def apply_decisions(
    findings: Sequence[Finding],
    decisions: Iterable[TriageDecision],
    product: str | None = None,
) -> list[Finding]:
    """Set the state of each finding that a triage decision names.

    A decision names its component by purl without version (or by name); purls are compared
    on type, namespace and normalised name only, so qualifiers such as `?arch=` or
    `?repository_url=` and the subpath never stop a statement from applying. The
    vulnerability may be named by any of the finding's ids. When `product` is given, decisions
    recorded for another product are ignored.
    """
    table: dict[tuple[str, str], TriageDecision] = {}
    for decision in decisions:
        if product is not None and decision.product and decision.product != product:
            continue
        table[(_decision_subject(decision.component), decision.vulnerability)] = decision
    if not table:
        return list(findings)
    updated: list[Finding] = []
    for finding in findings:
        subjects = {finding.component_name.lower()}
        if finding.component_purl:
            subjects.add(_decision_subject(finding.component_purl))
        found = next(
            (table[(s, i)] for s in subjects for i in finding.ids if (s, i) in table), None
        )
        if found is None:
            updated.append(finding)
            continue
        updated.append(
            replace(
                finding,
                state=found.state,
                justification=found.justification,
                detail=found.detail,
            )
        )
    return updated


# --- the whole scan -----------------------------------------------------------------------------


def finish_findings(
    findings: Sequence[Finding],
    store: AdvisoryStore,
    *,
    decisions: Iterable[TriageDecision] = (),
    product: str | None = None,
    model_answers: Mapping[str, str] | None = None,
    user_answers: Mapping[str, str] | None = None,
) -> tuple[Finding, ...]:
    """Attach KEV, EPSS and the rubric score, apply triage decisions, and rank the findings."""
    ids = {i for f in findings for i in f.ids}
    scored = attach_exploitation(findings, store.kev(ids), store.epss(ids))
    scored = attach_rubric(scored, model_answers=model_answers, user_answers=user_answers)
    scored = apply_decisions(scored, decisions, product)
    return tuple(prioritise(scored))


def scan_document(
    document: SbomDocument,
    store: AdvisoryStore,
    *,
    options: MatchOptions | None = None,
    decisions: Iterable[TriageDecision] = (),
    product: str | None = None,
    model_answers: Mapping[str, str] | None = None,
    user_answers: Mapping[str, str] | None = None,
) -> ScanResult:
    """Match an SBOM, then score, triage and rank its findings."""
    result = Matcher(store, options).match_document(document)
    findings = finish_findings(
        result.findings,
        store,
        decisions=decisions,
        product=product,
        model_answers=model_answers,
        user_answers=user_answers,
    )
    return replace(result, findings=findings)


__all__ = [
    "InvalidVersionError",
    "MatchOptions",
    "Matcher",
    "Purl",
    "apply_decisions",
    "finish_findings",
    "parse_purl",
    "purl_identity",
    "scan_document",
]
