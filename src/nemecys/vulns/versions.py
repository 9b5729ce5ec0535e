"""Version ordering per ecosystem, and the range checks of OSV records, enumerations and vers.

An advisory's ranges only mean something under the ordering rules of the package's own
ecosystem: `1.0~rc1` sorts before `1.0` in Debian, `1:1.0` after `2.0`, `32.0.0-jre` after
`32.0.0-android` in Maven, and npm build metadata (`+build.5`) takes no part in precedence.
This module maps an OSV ecosystem or purl type to a version scheme and parses version strings
into comparable keys:

- PyPI: PEP 440 through `packaging` (which univers uses too).
- npm, Go, crates.io, Hex, Pub and OSV `SEMVER` ranges: SemVer 2.0 precedence, implemented
  here because univers 32 has no `semver` scheme and its `SemverVersion` orders by build
  metadata and coerces four-part versions into build metadata.
- Maven, NuGet, Debian, RPM, Alpine, RubyGems: the univers version classes.
- Anything else (device firmware, CPE versions): a generic key of numeric and alphabetic runs.

`affected_by_events` follows the `IncludedInRanges` and `BeforeLimits` pseudocode of the OSV
schema specification (section "Evaluation"). OSV events are evaluated here because univers'
`from_osv_v1` is an empty stub in version 32. `vers_contains` implements the
containment algorithm of the `vers` specification (package-url/purl-spec, VERSION-RANGE-SPEC).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from packaging.version import InvalidVersion as PackagingInvalidVersion
from packaging.version import Version as PackagingVersion
from univers import versions as univers_versions

from nemecys.vulns.model import Event, Range


class Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...

    def __le__(self, other: Any, /) -> bool: ...

    def __eq__(self, other: object, /) -> bool: ...


# Purl types (and OSV ecosystems through `purl_type_of`) to version schemes.
SCHEME_BY_PURL_TYPE: dict[str, str] = {
    "pypi": "pypi",
    "npm": "semver",
    "golang": "semver",
    "cargo": "semver",
    "hex": "semver",
    "pub": "semver",
    "maven": "maven",
    "nuget": "nuget",
    "deb": "deb",
    "rpm": "rpm",
    "apk": "apk",
    "gem": "gem",
    "composer": "composer",
}

# Purl types whose identity, name and version rules decide matching; a component with one of
# these never falls back to CPE matching.
ECOSYSTEM_PURL_TYPES = frozenset(SCHEME_BY_PURL_TYPE) | {
    "github",
    "swift",
    "cran",
    "bioconductor",
    "conan",
    "cocoapods",
    "conda",
    "hackage",
}

_UNIVERS_CLASSES: dict[str, type[univers_versions.Version]] = {
    "maven": univers_versions.MavenVersion,
    "nuget": univers_versions.NugetVersion,
    "deb": univers_versions.DebianVersion,
    "rpm": univers_versions.RpmVersion,
    "apk": univers_versions.AlpineLinuxVersion,
    "gem": univers_versions.RubygemsVersion,
}


def scheme_for_purl_type(purl_type: str) -> str:
    """Return the version scheme of a purl type; `generic` for types without known rules."""
    return SCHEME_BY_PURL_TYPE.get(purl_type, "generic")


def scheme_for_range(range_type: str, purl_type: str) -> str:
    """Return the scheme for an OSV range: SEMVER ranges use SemVer whatever the ecosystem."""
    if range_type.upper() == "SEMVER":
        return "semver"
    return scheme_for_purl_type(purl_type)


# --- SemVer 2.0 ---------------------------------------------------------------------------------

_SEMVER = re.compile(
    r"^[vV=]?\s*(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
# Leading zeros and missing minor or patch parts occur in the wild ("1.2", "v01.2.3"). They
# are accepted and read as numbers, as npm's loose mode does.
_SEMVER_LOOSE = re.compile(
    r"^[vV=]?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-?([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


_SemVerKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


@functools.total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class SemVer:
    """A SemVer 2.0 version. Build metadata is kept but ignored for ordering and equality."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: str = ""
    key: _SemVerKey = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A release sorts after all of its pre-releases. Numeric identifiers sort before
        # alphanumeric ones and compare as numbers; alphanumeric ones compare in ASCII order.
        parts = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease)
        key = (self.major, self.minor, self.patch, 0 if self.prerelease else 1, parts)
        object.__setattr__(self, "key", key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.key == other.key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        if self.build:
            text += "+" + self.build
        return text


def parse_semver(text: str) -> SemVer:
    """Parse a SemVer 2.0 version, accepting a leading `v` or `=` and missing minor or patch."""
    value = text.strip()
    match = _SEMVER.match(value) or _SEMVER_LOOSE.match(value)
    if match is None:
        raise ValueError(f"invalid semantic version: {text!r}")
    major, minor, patch, pre, build = match.groups()
    prerelease: tuple[int | str, ...] = ()
    if pre:
        prerelease = tuple(int(p) if p.isdigit() else p for p in pre.split("."))
    return SemVer(int(major), int(minor or 0), int(patch or 0), prerelease, build or "")


# --- generic ------------------------------------------------------------------------------------

_GENERIC_TOKEN = re.compile(r"\d+|[A-Za-z]+")


@functools.total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class GenericVersion:
    """A version of no known scheme: runs of digits compare as numbers, letters case-blind.

    Trailing zero numbers are dropped, so `1.0` equals `1.0.0`. A number sorts after letters
    at the same position, so `1.0a` < `1.0.1` and `BT02` < `BT06`.
    """

    tokens: tuple[tuple[int, int, str], ...]
    text: str

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenericVersion):
            return NotImplemented
        return self.tokens == other.tokens

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, GenericVersion):
            return NotImplemented
        return self.tokens < other.tokens

    def __hash__(self) -> int:
        return hash(self.tokens)

    def __str__(self) -> str:
        return self.text


def parse_generic(text: str) -> GenericVersion:
    """Parse any version string that contains at least one digit or letter."""
    tokens: list[tuple[int, int, str]] = []
    for token in _GENERIC_TOKEN.findall(text):
        if token.isdigit():
            tokens.append((1, int(token), ""))
        else:
            tokens.append((0, 0, token.lower()))
    while tokens and tokens[-1] == (1, 0, ""):
        tokens.pop()
    if not tokens and not _GENERIC_TOKEN.search(text):
        raise ValueError(f"invalid version: {text!r}")
    return GenericVersion(tuple(tokens), text)


# --- dispatch -----------------------------------------------------------------------------------


class InvalidVersionError(ValueError):
    """A version string that its scheme cannot parse."""


def _parse_pypi(text: str) -> Comparable:
    return PackagingVersion(text)


@functools.total_ordering
class UniversKey:
    """A univers version with consistent comparisons and hashing.

    In univers 32, `AlpineLinuxVersion` defines `<` and `==` but inherits an attrs-generated
    `<=` that compares the raw strings, and is unhashable; `MavenVersion` hashes `1.0` and
    `1.0.0` differently although they compare equal. This wrapper derives every comparison
    from `<` and `==`, and gives all keys of one class the same hash, so sets stay correct
    (and fall back to equality tests).
    """

    __slots__ = ("version",)

    def __init__(self, version: univers_versions.Version) -> None:
        self.version = version

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, UniversKey):
            return NotImplemented
        return bool(self.version < other.version)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UniversKey):
            return NotImplemented
        return bool(self.version == other.version)

    def __hash__(self) -> int:
        return hash(type(self.version))

    def __str__(self) -> str:
        return str(self.version.string)


def _parse_with_univers(cls: type[univers_versions.Version]) -> Callable[[str], Comparable]:
    def parse(text: str) -> Comparable:
        return UniversKey(cls(text))

    return parse


def _parse_composer(text: str) -> Comparable:
    return parse_semver(text.lstrip("vV"))


_PARSERS: dict[str, Callable[[str], Comparable]] = {
    "pypi": _parse_pypi,
    "semver": parse_semver,
    "composer": _parse_composer,
    "generic": parse_generic,
    **{scheme: _parse_with_univers(cls) for scheme, cls in _UNIVERS_CLASSES.items()},
}


@functools.lru_cache(maxsize=262_144)
def parse_version(scheme: str, text: str) -> Comparable:
    """Parse `text` under `scheme` into a comparable key; cached, because SBOMs repeat versions.

    Raises InvalidVersionError when the scheme rejects the string.
    """
    parser = _PARSERS.get(scheme, parse_generic)
    try:
        return parser(text.strip())
    except (ValueError, TypeError, PackagingInvalidVersion, IndexError) as exc:
        # univers raises ValueError subclasses, and IndexError or TypeError on some odd input.
        raise InvalidVersionError(f"{text!r} is not a valid {scheme} version") from exc


def try_parse_version(scheme: str, text: str) -> Comparable | None:
    """Return `parse_version(scheme, text)`, or None when the string is invalid."""
    try:
        return parse_version(scheme, text)
    except InvalidVersionError:
        return None


# --- OSV ranges ---------------------------------------------------------------------------------


class RangeError(ValueError):
    """An OSV range whose event versions cannot be parsed under the ecosystem's scheme."""


@dataclass(frozen=True, slots=True)
class _ParsedEvent:
    kind: str  # introduced, fixed, last_affected
    version: Comparable | None  # None for introduced "0", which is below every version


@dataclass(frozen=True, slots=True)
class ParsedRange:
    """An OSV range with its events parsed and sorted, ready to test many versions."""

    events: tuple[_ParsedEvent, ...]
    limits: tuple[Comparable, ...]  # empty: no limit, as the OSV spec's implicit "*"

    def contains(self, version: Comparable) -> bool:
        """Apply the OSV `BeforeLimits` and `IncludedInRanges` rules to one range."""
        if self.limits and not any(version < limit for limit in self.limits):
            return False
        vulnerable = False
        for event in self.events:
            if event.kind == "introduced":
                if event.version is None or event.version <= version:
                    vulnerable = True
            elif event.kind == "fixed":
                if event.version is not None and event.version <= version:
                    vulnerable = False
            elif event.version is not None and version > event.version:
                vulnerable = False
        return vulnerable


_EVENT_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2}


def parse_range(events: Sequence[Event], scheme: str) -> ParsedRange:
    """Parse the events of one ECOSYSTEM or SEMVER range and sort them by version.

    Raises RangeError when an event version is invalid under `scheme`.
    """
    parsed: list[_ParsedEvent] = []
    limits: list[Comparable] = []
    for event in events:
        kind, value = _event_field(event)
        if kind is None or value is None:
            continue
        if kind == "limit":
            if value != "*":
                limits.append(_parse_event_version(scheme, value))
            continue
        if kind == "introduced" and value == "0":
            parsed.append(_ParsedEvent(kind, None))
            continue
        parsed.append(_ParsedEvent(kind, _parse_event_version(scheme, value)))
    if not parsed:
        raise RangeError("range has no introduced, fixed or last_affected event")
    return ParsedRange(tuple(_sort_events(parsed)), tuple(limits))


def _sort_events(events: list[_ParsedEvent]) -> list[_ParsedEvent]:
    zero = [e for e in events if e.version is None]
    rest = [e for e in events if e.version is not None]
    # At one version, introduced sorts before last_affected, and both before fixed.
    rest.sort(key=lambda e: (e.version, _EVENT_ORDER[e.kind]))
    return zero + rest


def _event_field(event: Event) -> tuple[str | None, str | None]:
    if event.introduced is not None:
        return "introduced", event.introduced
    if event.fixed is not None:
        return "fixed", event.fixed
    if event.last_affected is not None:
        return "last_affected", event.last_affected
    if event.limit is not None:
        return "limit", event.limit
    return None, None


def _parse_event_version(scheme: str, text: str) -> Comparable:
    try:
        return parse_version(scheme, text)
    except InvalidVersionError as exc:
        raise RangeError(str(exc)) from exc


def affected_by_events(version: str, events: Sequence[Event], scheme: str) -> bool:
    """Return whether `version` falls in one OSV range of `scheme`.

    Raises InvalidVersionError for an invalid version and RangeError for an invalid range.
    """
    return parse_range(events, scheme).contains(parse_version(scheme, version))


def describe_range(range_: Range) -> str:
    """Render a range as text for reports, e.g. `>=1.2.0, <1.2.5` or a vers string."""
    if range_.vers:
        return range_.vers
    parts: list[str] = []
    for event in range_.events:
        kind, value = _event_field(event)
        if kind == "introduced":
            parts.append(f">={value}" if value != "0" else ">=0")
        elif kind == "fixed":
            parts.append(f"<{value}")
        elif kind == "last_affected":
            parts.append(f"<={value}")
        elif kind == "limit" and value != "*":
            parts.append(f"limit {value}")
    return ", ".join(parts)


def fixed_versions(ranges: Iterable[Range]) -> tuple[str, ...]:
    """Return the `fixed` versions of ECOSYSTEM and SEMVER ranges, in record order."""
    found: list[str] = []
    for range_ in ranges:
        if range_.type.upper() == "GIT":
            continue
        for event in range_.events:
            if event.fixed is not None and event.fixed not in found:
                found.append(event.fixed)
    return tuple(found)


# --- enumerated versions ------------------------------------------------------------------------


class VersionSet:
    """An advisory's enumerated affected versions, for fast membership tests.

    An exact string match is tried first; then the parsed keys, so that PEP 440 spellings
    such as `1.0` and `1.0.0`, or `1.0rc1` and `1.0_rc1`, count as the same version. The
    keys are parsed on the first test that needs them.
    """

    __slots__ = ("_keys", "scheme", "strings")

    def __init__(self, versions: Iterable[str], scheme: str) -> None:
        self.strings = frozenset(versions)
        self.scheme = scheme
        self._keys: frozenset[Any] | None = None

    @classmethod
    def build(cls, versions: Iterable[str], scheme: str) -> VersionSet:
        return cls(versions, scheme)

    def contains(self, version: str, key: Comparable | None) -> bool:
        if version in self.strings:
            return True
        if key is None:
            return False
        if self._keys is None:
            self._keys = _version_keys(self.strings, self.scheme)
        return key in self._keys


@functools.lru_cache(maxsize=16_384)
def _version_keys(versions: frozenset[str], scheme: str) -> frozenset[Any]:
    # Cached across matchers and scans: stores return the same version lists every time.
    keys = {try_parse_version(scheme, v) for v in versions}
    keys.discard(None)
    return frozenset(keys)


def clear_caches() -> None:
    """Empty the parse caches, for cold-start measurements."""
    parse_version.cache_clear()
    _version_keys.cache_clear()


# --- vers ---------------------------------------------------------------------------------------

_VERS_COMPARATORS = ("<=", ">=", "!=", "<", ">", "=")
# vers schemes (lower-case purl types) that need another scheme name here.
_VERS_SCHEME_ALIASES = {"npm": "semver", "golang": "semver", "cargo": "semver", "semver": "semver"}


@dataclass(frozen=True, slots=True)
class VersConstraint:
    comparator: str  # one of <, <=, >, >=, =, != or "*"
    version: Comparable | None


@dataclass(frozen=True, slots=True)
class VersRange:
    """A parsed `vers:` range: its scheme and constraints sorted by version."""

    scheme: str
    constraints: tuple[VersConstraint, ...]
    text: str

    def contains(self, version: Comparable) -> bool:
        """Apply the containment algorithm of the vers specification."""
        if any(c.comparator == "*" for c in self.constraints):
            return True
        ordered: list[VersConstraint] = []
        for constraint in self.constraints:
            assert constraint.version is not None
            if constraint.comparator == "=" and version == constraint.version:
                return True
            if constraint.comparator == "!=":
                if version == constraint.version:
                    return False
                continue
            if constraint.comparator != "=":
                ordered.append(constraint)
        if not ordered:
            return False
        if len(ordered) == 1:
            return _satisfies(version, ordered[0])
        for index in range(len(ordered) - 1):
            current, following = ordered[index], ordered[index + 1]
            assert current.version is not None and following.version is not None
            if index == 0 and current.comparator in ("<", "<=") and _satisfies(version, current):
                return True
            if (
                index == len(ordered) - 2
                and following.comparator in (">", ">=")
                and _satisfies(version, following)
            ):
                return True
            if (
                current.comparator in (">", ">=")
                and following.comparator in ("<", "<=")
                and _satisfies(version, current)
                and _satisfies(version, following)
            ):
                return True
        return False


def _satisfies(version: Comparable, constraint: VersConstraint) -> bool:
    bound = constraint.version
    assert bound is not None
    comparator = constraint.comparator
    if comparator == "<":
        return version < bound
    if comparator == "<=":
        return version <= bound
    if comparator == ">":
        return bound < version
    if comparator == ">=":
        return bound <= version
    return version == bound


def parse_vers(text: str, default_scheme: str | None = None) -> VersRange:
    """Parse a `vers:<scheme>/<constraint>|…` string.

    The vers scheme picks the version rules (`vers:npm` and `vers:semver` read SemVer,
    `vers:pypi` PEP 440, `vers:deb` Debian, and so on); `default_scheme` replaces it when
    given. Raises ValueError on a malformed string or an invalid version.
    """
    value = "".join(text.split())
    prefix, _, rest = value.partition(":")
    if prefix.lower() != "vers" or "/" not in rest:
        raise ValueError(f"invalid vers range {text!r}: expected 'vers:<scheme>/<constraints>'")
    vers_scheme, _, body = rest.partition("/")
    vers_scheme = vers_scheme.lower()
    scheme = default_scheme or _VERS_SCHEME_ALIASES.get(
        vers_scheme, scheme_for_purl_type(vers_scheme)
    )
    if not body:
        raise ValueError(f"invalid vers range {text!r}: no constraints")
    if body == "*":
        return VersRange(scheme, (VersConstraint("*", None),), text)
    constraints: list[VersConstraint] = []
    for item in body.strip("|").split("|"):
        comparator = next((c for c in _VERS_COMPARATORS if item.startswith(c)), "=")
        raw = item[len(comparator) :] if item.startswith(comparator) else item
        if not raw or raw == "*":
            raise ValueError(f"invalid vers range {text!r}: bad constraint {item!r}")
        try:
            key = parse_version(scheme, raw)
        except InvalidVersionError as exc:
            raise ValueError(f"invalid vers range {text!r}: {exc}") from exc
        constraints.append(VersConstraint(comparator, key))
    return VersRange(scheme, tuple(_sort_constraints(constraints)), text)


def _sort_constraints(constraints: list[VersConstraint]) -> list[VersConstraint]:
    ordered: list[VersConstraint] = []
    for constraint in constraints:
        position = len(ordered)
        for i, placed in enumerate(ordered):
            assert constraint.version is not None and placed.version is not None
            if constraint.version < placed.version:
                position = i
                break
        ordered.insert(position, constraint)
    return ordered


def vers_contains(text: str, version: str, default_scheme: str | None = None) -> bool:
    """Return whether `version` is inside the vers range `text`.

    Raises ValueError for a malformed range and InvalidVersionError for an invalid version.
    """
    vers = parse_vers(text, default_scheme)
    return vers.contains(parse_version(vers.scheme, version))
