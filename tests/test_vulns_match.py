"""The matcher on small inputs, one test per known false-positive or false-negative pattern."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vulns.findings import MatchedBy
from nemecys.vulns.match import (
    Matcher,
    MatchOptions,
    apply_decisions,
    parse_purl,
    purl_identity,
    scan_document,
)
from nemecys.vulns.model import Advisory, AffectedPackage, Range
from nemecys.vulns.store import MemoryStore, TriageDecision

from .vulns_support import osv_advisory


def osv(
    record_id: str,
    ecosystem: str,
    name: str,
    *ranges: list[dict[str, str]],
    versions: list[str] | None = None,
    aliases: list[str] | None = None,
    **extra: Any,
) -> Advisory:
    return osv_advisory(
        {
            "id": record_id,
            "aliases": aliases or [],
            "affected": [
                {
                    "package": {"ecosystem": ecosystem, "name": name},
                    "ranges": [{"type": "ECOSYSTEM", "events": events} for events in ranges],
                    "versions": versions or [],
                }
            ],
            **extra,
        }
    )


def component(
    purl: str | None = None,
    *,
    cpe: str | None = None,
    key: str = "c1",
    name: str = "x",
    version: str | None = None,
) -> SoftwareComponent:
    return SoftwareComponent(key=key, name=name, version=version, purl=purl, cpe=cpe)


def ids(store: MemoryStore, *components: SoftwareComponent, **options: Any) -> set[str]:
    matcher = Matcher(store, MatchOptions(**options))
    return {f.vulnerability_id for c in components for f in matcher.match_component(c)}


def test_npm_package_ignores_java_advisory() -> None:
    # The npm package "jackson" shares its name with FasterXML's Java library.
    maven = osv(
        "GHSA-java",
        "Maven",
        "com.fasterxml.jackson.core:jackson-databind",
        [{"introduced": "0"}, {"fixed": "9.0"}],
        aliases=["CVE-2020-0001"],
    )
    nvd = Advisory(
        id="CVE-2020-0002",
        source="nvd",
        affected=(AffectedPackage(cpe="cpe:2.3:a:fasterxml:jackson:*:*:*:*:*:java:*:*"),),
    )
    store = MemoryStore([maven, nvd])
    npm = component("pkg:npm/jackson@1.2.0", cpe="cpe:2.3:a:fasterxml:jackson:1.2.0:*:*:*:*:*:*:*")
    assert ids(store, npm) == set()


def test_cpe_target_software_must_agree() -> None:
    nvd = Advisory(
        id="CVE-2020-0003",
        source="nvd",
        affected=(AffectedPackage(cpe="cpe:2.3:a:acme:widget:*:*:*:*:*:java:*:*"),),
    )
    store = MemoryStore([nvd])
    node = component(cpe="cpe:2.3:a:acme:widget:1.0:*:*:*:*:node.js:*:*")
    java = component(cpe="cpe:2.3:a:acme:widget:1.0:*:*:*:*:java:*:*")
    assert ids(store, node) == set()
    assert ids(store, java) == {"CVE-2020-0003"}


def test_running_on_platform_not_matched() -> None:
    # NVD lists the OS an application runs on with vulnerable=false.
    nvd = Advisory(
        id="CVE-2021-0001",
        source="nvd",
        affected=(
            AffectedPackage(cpe="cpe:2.3:a:acme:viewer:2.0:*:*:*:*:*:*:*", versions=("2.0",)),
            AffectedPackage(cpe="cpe:2.3:o:microsoft:windows_10:-:*:*:*:*:*:*:*", vulnerable=False),
        ),
    )
    store = MemoryStore([nvd])
    windows = component(cpe="cpe:2.3:o:microsoft:windows_10:-:*:*:*:*:*:*:*")
    viewer = component(cpe="cpe:2.3:a:acme:viewer:2.0:*:*:*:*:*:*:*")
    assert ids(store, windows) == set()
    assert ids(store, viewer) == {"CVE-2021-0001"}


def test_cpe_version_range_from_vers() -> None:
    nvd = Advisory(
        id="CVE-2021-0002",
        source="nvd",
        affected=(
            AffectedPackage(
                cpe="cpe:2.3:a:acme:firmware:*:*:*:*:*:*:*:*",
                ranges=(Range("VERS", vers="vers:generic/>=1.0|<1.4.2"),),
            ),
        ),
    )
    store = MemoryStore([nvd])
    assert ids(store, component(cpe="cpe:2.3:a:acme:firmware:1.4.1:*:*:*:*:*:*:*")) == {
        "CVE-2021-0002"
    }
    assert ids(store, component(cpe="cpe:2.3:a:acme:firmware:1.4.2:*:*:*:*:*:*:*")) == set()
    found = Matcher(store).match_component(
        component(cpe="cpe:2.3:a:acme:firmware:1.2:*:*:*:*:*:*:*")
    )
    assert found[0].matched_by is MatchedBy.CPE


def test_component_without_identity_not_guessed() -> None:
    nvd = Advisory(
        id="CVE-2021-0003",
        source="nvd",
        affected=(AffectedPackage(cpe="cpe:2.3:a:lodash:lodash:*:*:*:*:*:*:*:*"),),
    )
    store = MemoryStore([nvd])
    result = Matcher(store).match_document(
        SbomDocument(
            "x", "CycloneDX", "json", "1.6", components=(component(name="lodash", version="4.0.0"),)
        )
    )
    assert result.findings == ()
    assert result.unidentified == ("c1",)


PRERELEASE_CASES = [
    # (ecosystem, purl, fixed, version, affected)
    ("npm", "pkg:npm/left-pad@2.0.0-rc.1", "2.0.0", True),
    ("npm", "pkg:npm/left-pad@2.0.0", "2.0.0", False),
    ("npm", "pkg:npm/left-pad@2.0.0%2Bbuild.7", "2.0.0", False),
    ("Maven", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.0.pr1", "2.9.0", False),
    ("Maven", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.0-rc1", "2.9.0", True),
    ("Maven", "pkg:maven/com.google.guava/guava@32.0.0-jre", "32.0.0-android", False),
    ("Maven", "pkg:maven/com.google.guava/guava@31.1-android", "32.0.0-android", True),
    (
        "Alpine:v3.18",
        "pkg:apk/alpine/busybox@1.36.1_rc1-r0?distro=alpine-3.18.4",
        "1.36.1-r0",
        True,
    ),
    ("PyPI", "pkg:pypi/example@1.0_rc1", "1.0", True),
]


def test_prerelease_and_build_suffix_ordering() -> None:
    for ecosystem, purl, fixed, expected in PRERELEASE_CASES:
        parsed = parse_purl(purl)
        assert parsed is not None
        advisory = osv(
            "ADV-1", ecosystem, parsed.package_name, [{"introduced": "0"}, {"fixed": fixed}]
        )
        found = ids(MemoryStore([advisory]), component(purl))
        assert (found == {"ADV-1"}) is expected, purl


def test_debian_epoch_and_tilde() -> None:
    advisory = osv(
        "DSA-1", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}]
    )
    store = MemoryStore([advisory])
    assert ids(store, component("pkg:deb/debian/openssl@3.0.10-1?distro=debian-12")) == {"DSA-1"}
    assert (
        ids(store, component("pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-12")) == set()
    )
    assert ids(store, component("pkg:deb/debian/openssl@3.0.11-1~deb12u0?distro=debian-12")) == {
        "DSA-1"
    }
    assert ids(store, component("pkg:deb/debian/openssl@1:1.0-1?distro=debian-12")) == set()


def test_distro_release_and_vendor_must_agree() -> None:
    advisory = osv(
        "DSA-2", "Debian:11", "curl", [{"introduced": "0"}, {"fixed": "7.74.0-1.3+deb11u9"}]
    )
    store = MemoryStore([advisory])
    assert ids(store, component("pkg:deb/debian/curl@7.74.0-1.3?distro=debian-11")) == {"DSA-2"}
    assert ids(store, component("pkg:deb/debian/curl@7.74.0-1.3?distro=bullseye")) == {"DSA-2"}
    assert ids(store, component("pkg:deb/debian/curl@7.74.0-1.3?distro=debian-12")) == set()
    assert ids(store, component("pkg:deb/ubuntu/curl@7.74.0-1.3?distro=ubuntu-22.04")) == set()


def test_debian_binary_package_uses_source_name() -> None:
    advisory = osv("DSA-3", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1"}])
    store = MemoryStore([advisory])
    libssl = component("pkg:deb/debian/libssl3@3.0.9-1?upstream=openssl&distro=debian-12")
    assert ids(store, libssl) == {"DSA-3"}


def test_distro_backport_beats_nvd() -> None:
    # Debian fixed CVE-2023-1 by a backport in 1.1.1n-0+deb11u5; NVD's upstream range still
    # covers 1.1.1n. CVE-2023-2 is unknown to Debian, so the NVD fallback may report it.
    debian = osv(
        "DSA-4",
        "Debian:11",
        "openssl",
        [{"introduced": "0"}, {"fixed": "1.1.1n-0+deb11u5"}],
        aliases=["CVE-2023-1"],
    )
    nvd_range = (Range("VERS", vers="vers:generic/<1.1.1t"),)
    nvd = [
        Advisory(
            id=cve,
            source="nvd",
            affected=(
                AffectedPackage(cpe="cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", ranges=nvd_range),
            ),
        )
        for cve in ("CVE-2023-1", "CVE-2023-2")
    ]
    store = MemoryStore([debian, *nvd])
    package = component(
        "pkg:deb/debian/openssl@1.1.1n-0+deb11u5?distro=debian-11",
        cpe="cpe:2.3:a:openssl:openssl:1.1.1n:*:*:*:*:*:*:*",
    )
    assert ids(store, package) == set()
    found = Matcher(store, MatchOptions(distro_cpe_fallback=True)).match_component(package)
    assert [f.vulnerability_id for f in found] == ["CVE-2023-2"]
    assert found[0].state == "in_triage"


def test_several_ranges_in_one_advisory() -> None:
    advisory = osv(
        "PYSEC-1",
        "PyPI",
        "django",
        [{"introduced": "2.2"}, {"fixed": "2.2.13"}],
        [{"introduced": "3.0"}, {"fixed": "3.0.7"}],
    )
    store = MemoryStore([advisory])
    for version, expected in [
        ("2.2.12", True),
        ("2.2.13", False),
        ("2.9", False),
        ("3.0.2", True),
        ("3.0.7", False),
        ("3.1", False),
    ]:
        assert (ids(store, component(f"pkg:pypi/django@{version}")) == {"PYSEC-1"}) is expected, (
            version
        )


def test_last_affected_versus_fixed() -> None:
    last = osv("ADV-LAST", "npm", "pkg-a", [{"introduced": "0"}, {"last_affected": "1.4.0"}])
    fixed = osv("ADV-FIXED", "npm", "pkg-b", [{"introduced": "0"}, {"fixed": "1.4.0"}])
    store = MemoryStore([last, fixed])
    assert ids(store, component("pkg:npm/pkg-a@1.4.0")) == {"ADV-LAST"}
    assert ids(store, component("pkg:npm/pkg-b@1.4.0")) == set()
    assert ids(store, component("pkg:npm/pkg-a@1.4.1")) == set()


def test_pypi_name_normalisation() -> None:
    django = osv("PYSEC-DJ", "PyPI", "Django", [{"introduced": "0"}, {"fixed": "3.0.7"}])
    zope = osv("PYSEC-Z", "PyPI", "zope.interface", [{"introduced": "0"}, {"fixed": "5.0"}])
    store = MemoryStore([django, zope])
    assert ids(store, component("pkg:pypi/django@3.0.2")) == {"PYSEC-DJ"}
    assert ids(store, component("pkg:pypi/Django@3.0.2")) == {"PYSEC-DJ"}
    assert ids(store, component("pkg:pypi/zope-interface@4.7")) == {"PYSEC-Z"}
    assert ids(store, component("pkg:pypi/zope_interface@4.7")) == {"PYSEC-Z"}
    assert ids(store, component("pkg:pypi/Zope.Interface@4.7")) == {"PYSEC-Z"}


def test_npm_scoped_and_maven_names() -> None:
    scoped = osv("GHSA-s", "npm", "@babel/traverse", [{"introduced": "0"}, {"fixed": "7.23.2"}])
    maven = osv(
        "GHSA-m",
        "Maven",
        "org.apache.logging.log4j:log4j-core",
        [{"introduced": "2.0"}, {"fixed": "2.15.0"}],
    )
    store = MemoryStore([scoped, maven])
    assert ids(store, component("pkg:npm/%40babel/traverse@7.1.0")) == {"GHSA-s"}
    assert ids(store, component("pkg:npm/traverse@7.1.0")) == set()
    assert ids(store, component("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")) == {
        "GHSA-m"
    }


def test_enumerated_versions_only() -> None:
    advisory = osv("PYSEC-E", "PyPI", "pkg", versions=["1.0", "1.1", "2.0rc1"])
    store = MemoryStore([advisory])
    assert ids(store, component("pkg:pypi/pkg@1.1")) == {"PYSEC-E"}
    assert ids(store, component("pkg:pypi/pkg@1.0.0")) == {"PYSEC-E"}
    assert ids(store, component("pkg:pypi/pkg@2.0-rc1")) == {"PYSEC-E"}
    assert ids(store, component("pkg:pypi/pkg@1.2")) == set()


def test_withdrawn_advisory_skipped() -> None:
    advisory = osv(
        "PYSEC-W", "PyPI", "pkg", [{"introduced": "0"}], withdrawn="2024-01-01T00:00:00Z"
    )
    store = MemoryStore([advisory])
    assert ids(store, component("pkg:pypi/pkg@1.0")) == set()
    assert ids(store, component("pkg:pypi/pkg@1.0"), include_withdrawn=True) == {"PYSEC-W"}


def test_aliases_merge_into_one_finding() -> None:
    pysec = osv(
        "PYSEC-A",
        "PyPI",
        "pkg",
        [{"introduced": "0"}, {"fixed": "2.0"}],
        aliases=["CVE-2022-1", "GHSA-aaaa"],
    )
    ghsa = osv(
        "GHSA-aaaa", "PyPI", "pkg", [{"introduced": "0"}, {"fixed": "2.1"}], aliases=["CVE-2022-1"]
    )
    found = Matcher(MemoryStore([pysec, ghsa])).match_component(component("pkg:pypi/pkg@1.0"))
    assert len(found) == 1
    assert found[0].vulnerability_id == "CVE-2022-1"
    assert set(found[0].aliases) == {"PYSEC-A", "GHSA-aaaa"}
    assert set(found[0].fixed_versions) == {"2.0", "2.1"}


def test_unversioned_component_listed() -> None:
    store = MemoryStore([osv("PYSEC-U", "PyPI", "django", [{"introduced": "0"}])])
    document = SbomDocument(
        "x", "CycloneDX", "json", "1.6", components=(component("pkg:pypi/django"),)
    )
    result = Matcher(store).match_document(document)
    assert result.findings == ()
    assert result.unversioned == ("c1",)


def test_invalid_range_noted_not_raised() -> None:
    advisory = osv("ADV-BAD", "npm", "pkg", [{"introduced": "not-a-version"}])
    document = SbomDocument(
        "x", "CycloneDX", "json", "1.6", components=(component("pkg:npm/pkg@1.0.0"),)
    )
    result = Matcher(MemoryStore([advisory])).match_document(document)
    assert result.findings == ()
    assert any("ADV-BAD" in note for note in result.notes)


def test_purl_parsing() -> None:
    purl = parse_purl("pkg:npm/%40angular/core@16.0.0?arch=x64#sub/path")
    assert purl is not None
    assert purl.package_name == "@angular/core"
    assert purl.version == "16.0.0"
    assert purl.qualifier("arch") == "x64"
    assert parse_purl("not a purl") is None
    assert parse_purl("pkg:npm") is None
    assert purl_identity("pkg:pypi/Zope.Interface@1.0?foo=bar") == "pypi/zope-interface"


def test_vex_applies_across_qualifiers() -> None:
    advisory = osv(
        "GHSA-q",
        "Maven",
        "org.example:lib",
        [{"introduced": "0"}, {"fixed": "2.0"}],
        aliases=["CVE-2024-9"],
    )
    store = MemoryStore([advisory])
    sbom_purl = "pkg:maven/org.example/lib@1.0?type=jar&repository_url=https%3A%2F%2Frepo.example"
    document = SbomDocument("x", "CycloneDX", "json", "1.6", components=(component(sbom_purl),))
    decision = TriageDecision(
        product="device",
        component="pkg:maven/org.example/lib?classifier=sources",
        vulnerability="CVE-2024-9",
        state="not_affected",
        justification="code_not_reachable",
    )
    result = scan_document(document, store, decisions=[decision], product="device")
    assert len(result.findings) == 1
    assert result.findings[0].state == "not_affected"
    assert result.findings[0].justification == "code_not_reachable"
    fresh = scan_document(document, store, decisions=[decision], product="another-device")
    assert fresh.findings[0].state == "affected"


def test_vex_by_alias_id() -> None:
    advisory = osv("GHSA-r", "npm", "pkg", [{"introduced": "0"}], aliases=["CVE-2024-10"])
    findings = Matcher(MemoryStore([advisory])).match_component(component("pkg:npm/pkg@1.0.0"))
    decision = TriageDecision(
        product="p", component="pkg:npm/pkg", vulnerability="GHSA-r", state="false_positive"
    )
    assert apply_decisions(findings, [decision])[0].state == "false_positive"


def test_scan_ranks_kev_first() -> None:
    from nemecys.vulns.model import EpssScore, KevEntry, Severity

    low = osv("ADV-LOW", "npm", "a", [{"introduced": "0"}], aliases=["CVE-1"])
    kev = osv("ADV-KEV", "npm", "b", [{"introduced": "0"}], aliases=["CVE-2"])
    low = replace(
        low, severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),)
    )
    store = MemoryStore(
        [low, kev],
        kev=[KevEntry("CVE-2", "v", "p", "n", "2024-01-01", None, "Apply updates.", None)],
        epss=[EpssScore("CVE-1", 0.9, 0.99, None)],
    )
    document = SbomDocument(
        "x",
        "CycloneDX",
        "json",
        "1.6",
        components=(component("pkg:npm/a@1.0.0", key="a"), component("pkg:npm/b@1.0.0", key="b")),
    )
    result = scan_document(document, store)
    assert [f.vulnerability_id for f in result.findings] == ["CVE-2", "CVE-1"]
    assert result.findings[0].kev
    assert result.findings[0].priority == 1
    assert result.findings[1].epss == 0.9
    assert result.findings[1].max_cvss == 9.8
