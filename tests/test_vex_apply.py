"""Applying VEX statements: purl comparison across qualifiers, encoding and case, version ranges,
BOM-Links, product-level and subcomponent statements, conflicts, and matcher findings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nemecys.sbom import read_sbom_document
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex import (
    AnalysisState,
    Justification,
    Product,
    VersionConstraint,
    VexIndex,
    VexStatement,
    apply_to_findings,
    canonical_purl,
    purls_match,
    read_vex,
)
from nemecys.vex.apply import version_satisfies
from nemecys.vulns.findings import Finding, MatchedBy

from .conftest import shared

CDX_VEX = "sbom/cyclonedx-examples/VEX"


# --- purls -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vex_purl", "sbom_purl"),
    [
        # qualifiers present on one side only
        (
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0",
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
        ),
        (
            "pkg:oci/nginx@sha256%3A13d2?repository_url=docker.io/library",
            "pkg:oci/nginx@sha256%3A13d2",
        ),
        (
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12",
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5",
        ),
        # percent-encoding
        ("pkg:oci/nginx@sha256%3A13d22ec6", "pkg:oci/nginx@sha256:13d22ec6"),
        ("pkg:npm/%40angular/core@16.2.0", "pkg:npm/@angular/core@16.2.0"),
        # case and PEP 503 names
        ("pkg:PyPI/Django_REST.framework@3.14.0", "pkg:pypi/django-rest-framework@3.14.0"),
        ("pkg:npm/@Angular/Core@16.2.0", "pkg:npm/@angular/core@16.2.0"),
        ("pkg:github/Package-URL/purl-spec@v1.0", "pkg:github/package-url/purl-spec@v1.0"),
        # versions equal under the ecosystem's rules
        ("pkg:pypi/requests@2.31", "pkg:pypi/requests@2.31.0"),
        # a VEX purl without version names every version
        ("pkg:apk/wolfi/git", "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"),
    ],
)
def test_purls_match_despite_spelling(vex_purl: str, sbom_purl: str) -> None:
    assert purls_match(vex_purl, sbom_purl)


@pytest.mark.parametrize(
    ("vex_purl", "sbom_purl"),
    [
        # different binaries: both sides set arch (or epoch) and disagree
        ("pkg:apk/wolfi/git@2.39.0-r1?arch=armv7", "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"),
        ("pkg:rpm/redhat/openssl@3.0.7?epoch=1", "pkg:rpm/redhat/openssl@3.0.7?epoch=2"),
        # other versions, names, namespaces and types
        ("pkg:pypi/requests@2.31.0", "pkg:pypi/requests@2.32.0"),
        ("pkg:maven/org.example/lib@1.0", "pkg:maven/org.Example/lib@1.0"),
        (
            "pkg:golang/github.com/Sirupsen/logrus@v1.9.0",
            "pkg:golang/github.com/sirupsen/logrus@v1.9.0",
        ),
        ("pkg:npm/lodash@4.17.21", "pkg:pypi/lodash@4.17.21"),
        ("pkg:generic/openssl@1.2.3.4", "pkg:generic/openssl@1.2.3.5"),
        # a versioned VEX purl never matches a component without version
        ("pkg:npm/lodash@4.17.21", "pkg:npm/lodash"),
        ("not a purl", "pkg:npm/lodash@4.17.21"),
    ],
)
def test_purls_differ(vex_purl: str, sbom_purl: str) -> None:
    assert not purls_match(vex_purl, sbom_purl)


def test_component_version_stands_in() -> None:
    assert purls_match("pkg:npm/lodash@4.17.21", "pkg:npm/lodash", component_version="4.17.21")


def test_canonical_purl() -> None:
    purl = "pkg:Maven/org.apache/Log4j-Core@2.14.1?type=jar&classifier=sources#src/main"
    assert canonical_purl(purl) == "pkg:maven/org.apache/Log4j-Core@2.14.1#src/main"
    assert canonical_purl(purl, with_version=False) == "pkg:maven/org.apache/Log4j-Core#src/main"
    assert canonical_purl("pkg:pypi/Foo.Bar_baz@1.0?x=y") == "pkg:pypi/foo-bar-baz@1.0"
    assert canonical_purl("definitely not a purl") is None


# --- versions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "version", "scheme", "expected"),
    [
        (VersionConstraint(range="vers:semver/>=2.2.0|<=2.4.0"), "2.3.9", None, True),
        (VersionConstraint(range="vers:semver/>=2.2.0|<=2.4.0"), "2.4.1", None, False),
        # constraints out of order, as in the CycloneDX VEX examples, Case-5
        (VersionConstraint(range="vers:semver/<7.0.0|>=1.5.0"), "3.0.0", None, True),
        (VersionConstraint(range="vers:generic/>=2.9|<=4.1"), "4.0", None, True),
        (VersionConstraint(range="vers:generic/>=1.2.3.0|<1.2.3.5"), "1.2.3.4", None, True),
        (VersionConstraint(range="vers:generic/>=1.2.3.0|<1.2.3.5"), "1.2.3.6", None, False),
        (VersionConstraint(range="vers:maven/>=2.0-beta9|<2.15.0"), "2.14.1", "maven", True),
        (VersionConstraint(range="vers:deb/<1:3.0.0"), "3.5.0", "deb", True),
        (VersionConstraint(range="vers:pypi/<2.31.0"), "2.31.0", "pypi", False),
        (VersionConstraint(range="vers:all/*"), "anything", None, True),
        # plain comparators, as CSAF product_version_range branches hold them
        (VersionConstraint(range="<=1.14.0"), "1.13.2", "npm", True),
        (VersionConstraint(range="<=1.14.0"), "1.15.0", None, False),
        (VersionConstraint(range="all versions"), "9", None, True),
        # free text and unknown schemes cannot be evaluated
        (VersionConstraint(range="0 < 8.0.1"), "1.0", None, None),
        (VersionConstraint(range="vers:nosuch/>=1"), "1.0", None, None),
        (VersionConstraint(version="2.4"), "2.4", None, True),
        (VersionConstraint(version="1.0"), "1.0.0", "pypi", True),
    ],
)
def test_version_satisfies(
    constraint: VersionConstraint, version: str, scheme: str | None, expected: bool | None
) -> None:
    assert version_satisfies(constraint, version, scheme) is expected


# --- statements against an SBOM --------------------------------------------------------------

JACKSON = SoftwareComponent(
    key="jackson",
    name="jackson-databind",
    group="com.fasterxml.jackson.core",
    version="2.10.0",
    purl="pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
)


def acme_sbom(
    version: str, *, key: str = "acme-product", serial: str | None = None
) -> SbomDocument:
    return SbomDocument(
        path="acme.cdx.json",
        format="CycloneDX",
        encoding="json",
        spec_version="1.4",
        serial_number=serial,
        subject=SoftwareComponent(
            key=key, name="Acme Product", version=version, type="application"
        ),
        components=(JACKSON,),
    )


@pytest.mark.parametrize(
    ("case", "product_version", "state"),
    [
        ("Case-1", "2.4.0", AnalysisState.NOT_AFFECTED),
        ("Case-2", "2.4.0", AnalysisState.EXPLOITABLE),
        ("Case-3", "2.4.0", AnalysisState.IN_TRIAGE),
        ("Case-4", "2.3.0", AnalysisState.NOT_AFFECTED),
        ("Case-4", "2.5.0", None),
        ("Case-5", "1.0.0", AnalysisState.NOT_AFFECTED),
        ("Case-5", "3.0.0", AnalysisState.EXPLOITABLE),
        ("Case-7", "9.9.9", AnalysisState.NOT_AFFECTED),
        ("Case-8", "5.9.0", AnalysisState.NOT_AFFECTED),
        ("Case-8", "3.5.0", None),
        ("Case-10", "2.3.1", AnalysisState.NOT_AFFECTED),
    ],
)
def test_product_statement_covers_components(
    case: str, product_version: str, state: AnalysisState | None
) -> None:
    document = read_vex(shared(f"{CDX_VEX}/Use-Cases/{case}/vex.json"))
    index = VexIndex(document.statements, sbom=acme_sbom(product_version))
    decided = index.decide(JACKSON, ["CVE-2020-25649"])
    assert (decided.state if decided else None) is state


def test_unrelated_vulnerability_not_decided() -> None:
    document = read_vex(shared(f"{CDX_VEX}/Use-Cases/Case-1/vex.json"))
    index = VexIndex(document.statements, sbom=acme_sbom("2.4.0"))
    assert index.decide(JACKSON, ["CVE-2099-0001"]) is None


def test_alias_decides_finding() -> None:
    document = read_vex(shared(f"{CDX_VEX}/vex.json"))
    index = VexIndex(document.statements, sbom=acme_sbom("1.0"))
    decided = index.decide(
        JACKSON, ["GHSA-0000-0000-0000", "snyk-java-comfasterxmljacksoncore-1048302"]
    )
    assert decided is not None
    assert decided.state is AnalysisState.NOT_AFFECTED


def test_bom_link_needs_matching_serial() -> None:
    document = read_vex(shared(f"{CDX_VEX}/Use-Cases/Case-6/vex.json"))
    serial = "urn:uuid:2c385cf7-e1ee-46e9-a51c-13de1ecb380a"
    matching = acme_sbom("1.0", key="acme-product-1", serial=serial)
    other = acme_sbom(
        "1.0", key="acme-product-1", serial="urn:uuid:00000000-0000-0000-0000-000000000000"
    )
    assert VexIndex(document.statements, sbom=matching).decide(JACKSON, ["CVE-2020-25649"])
    assert VexIndex(document.statements, sbom=other).decide(JACKSON, ["CVE-2020-25649"]) is None
    wrong_version = VexIndex(document.statements, sbom=matching, bom_version=2)
    assert wrong_version.decide(JACKSON, ["CVE-2020-25649"]) is None


def test_cisa_case7_versions_per_product() -> None:
    folder = f"{CDX_VEX}/CISA-Use-Cases/Case-7"
    bom = read_sbom_document(shared(f"{folder}/bom-1.json"))
    document = read_vex(shared(f"{folder}/vex.json"))
    expected = {
        "2.4": AnalysisState.EXPLOITABLE,
        "3.0": AnalysisState.EXPLOITABLE,
        "2.5": AnalysisState.NOT_AFFECTED,
        "1.7": AnalysisState.NOT_AFFECTED,
        "4.3": None,
    }
    library = SoftwareComponent(key="log4j", name="log4j-core", version="2.14.1")
    for version, state in expected.items():
        assert bom.subject is not None
        sbom = replace(bom, subject=replace(bom.subject, version=version), components=(library,))
        decided = VexIndex(document.statements, sbom=sbom).decide(library, ["CVE-2021-44228"])
        assert (decided.state if decided else None) is state, version


def test_latest_statement_wins() -> None:
    document = read_vex(shared("vulndb/openvex-examples/vexctl/sarif-sample-history.openvex.json"))
    nginx = SoftwareComponent(
        key="nginx",
        name="nginx",
        purl="pkg:oci/nginx@sha256:13d22ec63300e16014d4a42aed735207a8b33c223cff19627dd3042e5a10a3a0?tag=latest",
    )
    index = VexIndex(document.statements)
    matching = index.matching(nginx, ["CVE-2023-27103"])
    assert len(matching) == 2
    assert matching[-1].first_issued == "2023-08-17T01:55:22.076684Z"


def test_later_in_time_beats_later_in_file() -> None:
    library = SoftwareComponent(key="lib", name="lib", version="1.0", purl="pkg:npm/lib@1.0")
    newer = VexStatement(
        vulnerability="CVE-2024-0001",
        state=AnalysisState.NOT_AFFECTED,
        product=Product(purl="pkg:npm/lib"),
        justification=Justification.COMPONENT_NOT_PRESENT,
        first_issued="2024-06-01T00:00:00Z",
    )
    older = replace(newer, state=AnalysisState.IN_TRIAGE, first_issued="2024-01-01T00:00:00.5Z")
    assert VexIndex([newer, older]).decide(library, ["CVE-2024-0001"]) == newer


def test_subcomponent_needs_product() -> None:
    statement = VexStatement(
        vulnerability="CVE-2021-44228",
        state=AnalysisState.NOT_AFFECTED,
        product=Product(purl="pkg:oci/pump-gateway"),
        subcomponent=Product(purl="pkg:maven/org.apache.logging.log4j/log4j-core"),
    )
    log4j = SoftwareComponent(
        key="log4j",
        name="log4j-core",
        version="2.14.1",
        purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
    )

    def sbom(subject_purl: str | None) -> SbomDocument:
        subject = (
            SoftwareComponent(key="gw", name="gateway", purl=subject_purl) if subject_purl else None
        )
        return SbomDocument("x", "CycloneDX", "json", "1.6", subject=subject, components=(log4j,))

    assert VexIndex([statement], sbom=sbom("pkg:oci/pump-gateway@sha256%3Aabc")).decide(
        log4j, ["CVE-2021-44228"]
    )
    assert (
        VexIndex([statement], sbom=sbom("pkg:oci/other@sha256%3Aabc")).decide(
            log4j, ["CVE-2021-44228"]
        )
        is None
    )
    assert VexIndex([statement], sbom=sbom(None)).decide(log4j, ["CVE-2021-44228"]) is None


def test_names_match_only_on_request() -> None:
    statement = VexStatement(
        vulnerability="CVE-2023-0001",
        state=AnalysisState.NOT_AFFECTED,
        product=Product(name="Treck TCP/IP", version="6.0.1.66"),
    )
    stack = SoftwareComponent(key="treck", name="treck tcp/ip", version="6.0.1.66")
    assert VexIndex([statement]).decide(stack, ["CVE-2023-0001"]) is None
    assert VexIndex([statement], match_names=True).decide(stack, ["CVE-2023-0001"]) == statement
    older = replace(stack, version="6.0.1.41")
    assert VexIndex([statement], match_names=True).decide(older, ["CVE-2023-0001"]) is None


# --- findings --------------------------------------------------------------------------------


def make_finding(**changes: object) -> Finding:
    finding = Finding(
        component_key="jackson",
        component_name="jackson-databind",
        component_version="2.10.0",
        component_purl="pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0",
        vulnerability_id="CVE-2020-25649",
        aliases=("GHSA-288c-cq4h-88gq",),
        advisory_ids=("GHSA-288c-cq4h-88gq",),
        matched_by=MatchedBy.PURL,
        affected_range="vers:maven/>=2.10.0|<2.10.5.1",
        fixed_versions=("2.10.5.1",),
    )
    return replace(finding, **changes)  # type: ignore[arg-type]


def test_apply_to_findings_sets_state() -> None:
    document = read_vex(shared(f"{CDX_VEX}/vex.json"))
    untouched = make_finding(vulnerability_id="CVE-2099-0001", aliases=())
    first, second = apply_to_findings([make_finding(), untouched], document.statements)
    assert first.state == "not_affected"
    assert first.justification == "code_not_reachable"
    assert first.detail is not None
    assert first.detail.startswith("Automated dataflow analysis")
    assert first.remediation is not None
    assert second == untouched


def test_apply_to_findings_maps_openvex_justification() -> None:
    statement = VexStatement(
        vulnerability="CVE-2020-25649",
        state=AnalysisState.NOT_AFFECTED,
        product=Product(purl="pkg:maven/com.fasterxml.jackson.core/jackson-databind"),
        justification=Justification.INLINE_MITIGATIONS_ALREADY_EXIST,
    )
    [finding] = apply_to_findings([make_finding()], [statement], acme_sbom("1.0"))
    assert finding.state == "not_affected"
    assert finding.justification == "protected_by_mitigating_control"
