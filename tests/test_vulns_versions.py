"""Version ordering per ecosystem, OSV event evaluation, enumerations and vers ranges."""

from __future__ import annotations

import pytest

from nemecys.vulns.model import Event, Range
from nemecys.vulns.versions import (
    InvalidVersionError,
    RangeError,
    VersionSet,
    affected_by_events,
    describe_range,
    fixed_versions,
    parse_vers,
    parse_version,
    vers_contains,
)

# (scheme, lower, higher): each pair must order strictly.
ORDERED = [
    # npm / SemVer: pre-releases before the release, numeric identifiers compared as numbers.
    ("semver", "1.0.0-rc.1", "1.0.0"),
    ("semver", "1.0.0-rc.2", "1.0.0-rc.10"),
    ("semver", "1.0.0-alpha", "1.0.0-alpha.1"),
    ("semver", "1.0.0-alpha.beta", "1.0.0-beta"),
    ("semver", "1.0.0-beta.11", "1.0.0-rc.1"),
    ("semver", "1.2.3", "1.10.0"),
    ("semver", "v0.0.0-20210101000000-abcdef123456", "v0.0.1"),
    # PyPI / PEP 440.
    ("pypi", "1.0rc1", "1.0"),
    ("pypi", "1.0_rc1", "1.0"),
    ("pypi", "1.0.dev1", "1.0a1"),
    ("pypi", "1.0", "1.0.post1"),
    ("pypi", "2.0.0b4", "2.0.0rc1"),
    # Maven: unknown qualifiers such as .pr1, -jre and -android sort after the release.
    ("maven", "2.9.0", "2.9.0.pr1"),
    ("maven", "2.9.0.pr1", "2.9.1"),
    ("maven", "1.0-rc1", "1.0"),
    ("maven", "1.0-SNAPSHOT", "1.0"),
    ("maven", "32.0.0", "32.0.0-jre"),
    ("maven", "32.0.0-android", "32.0.0-jre"),
    ("maven", "31.1-jre", "32.0.0-android"),
    # NuGet.
    ("nuget", "1.0.0-rc1", "1.0.0"),
    # Debian: epochs dominate, `~` sorts before everything.
    ("deb", "2.0", "1:1.0"),
    ("deb", "1.0~rc1", "1.0"),
    ("deb", "1.0-1~deb11u1", "1.0-1"),
    ("deb", "2.4.52-1ubuntu4", "2.4.52-1ubuntu4.3"),
    # RPM.
    ("rpm", "2.0-1", "1:1.0-1"),
    ("rpm", "1.0~rc1-1", "1.0-1"),
    ("rpm", "1.0-1.el8", "1.0-2.el8"),
    # Alpine: _rc before the release, _p after it, -rN revisions as numbers.
    ("apk", "1.0_rc1", "1.0"),
    ("apk", "1.2.3", "1.2.3_p1"),
    ("apk", "1.36.1-r2", "1.36.1-r10"),
    ("apk", "1.9", "1.10"),
    # Generic (device firmware, CPE versions).
    ("generic", "1.4.1", "1.4.2"),
    ("generic", "BT02", "BT06"),
    ("generic", "B.02", "C.03"),
    ("generic", "1.0a", "1.0.1"),
]


@pytest.mark.parametrize(("scheme", "lower", "higher"), ORDERED)
def test_version_order(scheme: str, lower: str, higher: str) -> None:
    low, high = parse_version(scheme, lower), parse_version(scheme, higher)
    assert low < high
    assert low <= high
    assert not high < low
    assert not high <= low
    assert low != high


EQUAL = [
    ("semver", "1.0.0+build.1", "1.0.0"),
    ("semver", "v1.2.3", "1.2.3"),
    ("pypi", "1.0", "1.0.0"),
    ("pypi", "1.0RC1", "1.0rc1"),
    ("maven", "1.0", "1.0.0"),
    ("nuget", "1.0.0-RC1", "1.0.0-rc1"),
    ("deb", "0:1.0", "1.0"),
    ("generic", "1.0", "1.0.0"),
]


@pytest.mark.parametrize(("scheme", "left", "right"), EQUAL)
def test_version_equal(scheme: str, left: str, right: str) -> None:
    assert parse_version(scheme, left) == parse_version(scheme, right)
    assert VersionSet.build([left], scheme).contains(right, parse_version(scheme, right))


def test_semver_build_metadata_ignored() -> None:
    assert parse_version("semver", "1.0.0+b2") == parse_version("semver", "1.0.0+b1")
    assert not parse_version("semver", "1.0.0+b2") > parse_version("semver", "1.0.0+b1")


def test_invalid_version_raises() -> None:
    with pytest.raises(InvalidVersionError):
        parse_version("pypi", "not a version")
    with pytest.raises(InvalidVersionError):
        parse_version("semver", "banana")


def events(*pairs: tuple[str, str]) -> tuple[Event, ...]:
    return tuple(Event(**{kind: value}) for kind, value in pairs)


def test_events_introduced_fixed() -> None:
    evts = events(("introduced", "1.0.0"), ("fixed", "1.2.0"))
    assert affected_by_events("1.0.0", evts, "semver")
    assert affected_by_events("1.1.9", evts, "semver")
    assert not affected_by_events("1.2.0", evts, "semver")
    assert not affected_by_events("0.9.9", evts, "semver")


def test_events_last_affected_vs_fixed() -> None:
    last = events(("introduced", "0"), ("last_affected", "2.0.0"))
    fixed = events(("introduced", "0"), ("fixed", "2.0.0"))
    assert affected_by_events("2.0.0", last, "semver")
    assert not affected_by_events("2.0.1", last, "semver")
    assert not affected_by_events("2.0.0", fixed, "semver")
    assert affected_by_events("1.9.9", fixed, "semver")


def test_events_several_intervals_unsorted() -> None:
    # Events out of order: the evaluation sorts them by version first.
    evts = events(
        ("fixed", "1.4.3"),
        ("introduced", "2.0.0"),
        ("introduced", "1.0.0"),
        ("fixed", "2.1.5"),
    )
    assert affected_by_events("1.2.0", evts, "semver")
    assert not affected_by_events("1.4.3", evts, "semver")
    assert not affected_by_events("1.9.0", evts, "semver")
    assert affected_by_events("2.1.0", evts, "semver")
    assert not affected_by_events("2.2.0", evts, "semver")


def test_events_limit() -> None:
    evts = events(("introduced", "0"), ("limit", "3.0.0"))
    assert affected_by_events("2.9.9", evts, "semver")
    assert not affected_by_events("3.0.0", evts, "semver")
    assert affected_by_events("9.0.0", events(("introduced", "0"), ("limit", "*")), "semver")


def test_events_prerelease_of_fix_is_affected() -> None:
    evts = events(("introduced", "0"), ("fixed", "2.0.0"))
    assert affected_by_events("2.0.0-rc.1", evts, "semver")
    assert affected_by_events("2.0.0rc1", evts, "pypi")
    assert affected_by_events("2.0.0_rc1", evts, "apk")
    assert affected_by_events("2.0.0~rc1", evts, "deb")


def test_events_guava_flavours() -> None:
    # Fixed in 32.0.0-android: the -jre build of the same release is not affected.
    evts = events(("introduced", "0"), ("fixed", "32.0.0-android"))
    assert not affected_by_events("32.0.0-jre", evts, "maven")
    assert affected_by_events("31.1-jre", evts, "maven")


def test_events_debian_epoch() -> None:
    evts = events(("introduced", "0"), ("fixed", "2.0-1"))
    assert not affected_by_events("1:1.0-1", evts, "deb")
    assert affected_by_events("1.9-1", evts, "deb")


def test_events_invalid_range() -> None:
    with pytest.raises(RangeError):
        affected_by_events("1.0.0", events(("introduced", "x.y.z"), ("fixed", "!!")), "semver")
    with pytest.raises(RangeError):
        affected_by_events("1.0.0", (Event(),), "semver")


def test_describe_and_fixed_versions() -> None:
    ranges = (
        Range("GIT", events(("introduced", "0"), ("fixed", "abc123"))),
        Range(
            "ECOSYSTEM", events(("introduced", "1.0"), ("fixed", "1.2"), ("last_affected", "0.9"))
        ),
    )
    assert describe_range(ranges[1]) == ">=1.0, <1.2, <=0.9"
    assert fixed_versions(ranges) == ("1.2",)


def test_vers_intervals_and_lists() -> None:
    assert vers_contains("vers:npm/>=1.0.0|<2.0.0", "1.5.0")
    assert not vers_contains("vers:npm/>=1.0.0|<2.0.0", "2.0.0")
    assert vers_contains("vers:pypi/1.0|2.0", "2.0.0")
    assert not vers_contains("vers:pypi/1.0|2.0", "1.5")
    assert vers_contains("vers:semver/<1.0.0|>=2.0.0|<3.0.0", "0.5.0")
    assert vers_contains("vers:semver/<1.0.0|>=2.0.0|<3.0.0", "2.5.0")
    assert not vers_contains("vers:semver/<1.0.0|>=2.0.0|<3.0.0", "1.5.0")
    assert vers_contains("vers:deb/>=1:1.0", "1:2.0")
    assert vers_contains("vers:generic/*", "anything1")
    assert not vers_contains("vers:generic/>=1.0|!=1.5|<2.0", "1.5")


def test_vers_invalid() -> None:
    with pytest.raises(ValueError, match="expected 'vers:"):
        parse_vers("npm/>=1.0")
    with pytest.raises(ValueError, match="no constraints"):
        parse_vers("vers:npm/")
