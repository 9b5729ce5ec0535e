"""VEX readers: concrete statements from the published CycloneDX, OpenVEX and CSAF examples,
BOM-Link resolution, the OpenVEX v0.0.1 form, malformed input and the size limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nemecys.errors import InputError
from nemecys.sbom import read_sbom_document
from nemecys.vex import (
    AnalysisState,
    Justification,
    Response,
    VersionConstraint,
    VexStatus,
    _common,
    parse_vex,
    read_vex,
)
from nemecys.vex.model import AffectedStatus

from .conftest import shared

CDX_VEX = "sbom/cyclonedx-examples/VEX"
OPENVEX = "vulndb/openvex-examples"
CSAF = "vulndb/csaf-examples"


def write_json(tmp_path: Path, document: object, name: str = "vex.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# --- CycloneDX -------------------------------------------------------------------------------


def test_cyclonedx_case1_not_affected() -> None:
    document = read_vex(shared(f"{CDX_VEX}/Use-Cases/Case-1/vex.json"))
    assert document.format == "CycloneDX"
    assert document.spec_version == "1.4"
    [statement] = document.statements
    assert statement.vulnerability == "CVE-2020-25649"
    assert statement.state is AnalysisState.NOT_AFFECTED
    assert statement.status is VexStatus.NOT_AFFECTED
    assert statement.justification is Justification.CODE_NOT_REACHABLE
    assert statement.responses == (Response.UPDATE, Response.WILL_NOT_FIX)
    assert statement.product is not None
    assert statement.product.ref == "acme-product"
    assert statement.product.name == "Acme Product"
    assert statement.product.version == "2.4.0"


def test_cyclonedx_case3_in_triage() -> None:
    [statement] = read_vex(shared(f"{CDX_VEX}/Use-Cases/Case-3/vex.json")).statements
    assert statement.state is AnalysisState.IN_TRIAGE
    assert statement.status is VexStatus.UNDER_INVESTIGATION
    assert statement.justification is None


def test_cyclonedx_case4_semver_range() -> None:
    [statement] = read_vex(shared(f"{CDX_VEX}/Use-Cases/Case-4/vex.json")).statements
    assert statement.versions == (
        VersionConstraint(range="vers:semver/>=2.2.0|<=2.4.0", status=AffectedStatus.UNAFFECTED),
    )


def test_cyclonedx_case7_without_affects() -> None:
    document = read_vex(shared(f"{CDX_VEX}/Use-Cases/Case-7/vex.json"))
    [statement] = document.statements
    assert statement.product is None
    assert statement.target is None
    assert statement.author == "Acme, Inc."


def test_cyclonedx_cisa_case3_mixed_states() -> None:
    document = read_vex(shared(f"{CDX_VEX}/CISA-Use-Cases/Case-3/vex.json"))
    states = {s.vulnerability: s.state for s in document.statements}
    assert states["CVE-2020-11896"] is AnalysisState.IN_TRIAGE
    assert states["CVE-2020-11897"] is AnalysisState.NOT_AFFECTED
    assert states["CVE-2020-11898"] is AnalysisState.EXPLOITABLE
    assert states["CVE-2020-11901"] is AnalysisState.RESOLVED
    detail = {s.vulnerability: s.detail for s in document.statements}
    assert detail["CVE-2020-11897"] == "IPv6 is not supported and code is not present."


def test_cyclonedx_bom_link_with_purl_fragment() -> None:
    document = read_vex(shared(f"{CDX_VEX}/vex.json"))
    [statement] = document.statements
    assert statement.product is not None
    assert statement.product.ref == (
        "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#"
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar"
    )
    assert statement.product.purl == (
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar"
    )
    assert statement.aliases == ("SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302",)
    assert [r.score for r in statement.ratings] == [7.5, 8.2, 0.0]
    assert statement.action is not None
    assert statement.action.startswith("Upgrade com.fasterxml.jackson.core:jackson-databind")


def test_cyclonedx_bom_link_resolved_with_sboms() -> None:
    folder = f"{CDX_VEX}/CISA-Use-Cases/Case-7"
    sboms = [
        read_sbom_document(shared(f"{folder}/bom-1.json")),
        read_sbom_document(shared(f"{folder}/bom-2.json")),
    ]
    document = read_vex(shared(f"{folder}/vex.json"), sboms=sboms)
    names = {s.product.name for s in document.statements if s.product}
    assert names == {"ABC", "JKL"}
    abc_affected = [
        s
        for s in document.statements
        if s.product and s.product.name == "ABC" and s.state is AnalysisState.EXPLOITABLE
    ]
    assert len(abc_affected) == 1
    assert VersionConstraint(version="2.4") in abc_affected[0].versions
    assert VersionConstraint(range="vers:generic/>=2.9|<=4.1") in abc_affected[0].versions


def test_cyclonedx_bom_link_unresolved_without_sboms() -> None:
    document = read_vex(shared(f"{CDX_VEX}/CISA-Use-Cases/Case-7/vex.json"))
    products = {s.product for s in document.statements if s.product}
    assert all(p.name is None and p.purl is None for p in products)
    assert all(p.ref and p.ref.startswith("urn:cdx:") for p in products)


def test_cyclonedx_embedded_in_sbom(tmp_path: Path) -> None:
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:11111111-2222-3333-4444-555555555555",
        "version": 3,
        "metadata": {
            "timestamp": "2024-03-01T10:00:00+01:00",
            "component": {"type": "device", "name": "Infusion pump", "bom-ref": "pump"},
        },
        "components": [
            {
                "type": "library",
                "name": "openssl",
                "version": "3.0.7",
                "bom-ref": "openssl",
                "purl": "pkg:generic/openssl@3.0.7",
                "components": [
                    {"type": "library", "name": "libcrypto", "version": "3.0.7", "bom-ref": "c"}
                ],
            }
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2023-0286",
                "analysis": {
                    "state": "exploitable",
                    "response": ["update"],
                    "firstIssued": "2024-03-02T00:00:00Z",
                },
                "affects": [{"ref": "openssl"}, {"ref": "c"}],
            }
        ],
    }
    document = read_vex(write_json(tmp_path, sbom))
    assert document.id == "urn:uuid:11111111-2222-3333-4444-555555555555"
    assert document.version == "3"
    assert document.timestamp == "2024-03-01T09:00:00Z"
    first, nested = document.statements
    assert first.product is not None
    assert first.product.purl == "pkg:generic/openssl@3.0.7"
    assert first.first_issued == "2024-03-02T00:00:00Z"
    assert nested.product is not None
    assert nested.product.name == "libcrypto"


def test_cyclonedx_vdr_without_analysis_is_in_triage(tmp_path: Path) -> None:
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "vulnerabilities": [{"id": "GHSA-aaaa-bbbb-cccc", "affects": [{"ref": "pkg:npm/x@1"}]}],
    }
    [statement] = read_vex(write_json(tmp_path, bom)).statements
    assert statement.state is AnalysisState.IN_TRIAGE
    assert statement.product is not None
    assert statement.product.purl == "pkg:npm/x@1"


# --- OpenVEX ---------------------------------------------------------------------------------


def test_openvex_minimal_two_products() -> None:
    document = read_vex(shared(f"{OPENVEX}/spec/minimal.json"))
    assert document.format == "OpenVEX"
    assert document.spec_version == "0.2.0"
    assert document.author == "Wolfi J Inkinson"
    assert document.version == "1"
    purls = [s.product.purl for s in document.statements if s.product]
    assert purls == [
        "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7",
        "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64",
    ]
    assert {s.status for s in document.statements} == {VexStatus.FIXED}
    assert {s.state for s in document.statements} == {AnalysisState.RESOLVED}


def test_openvex_statement_inherits_document_time() -> None:
    [statement] = read_vex(shared(f"{OPENVEX}/spec/inheritance-v1.json")).statements
    # 2023-01-08T18:02:03-06:00 in UTC.
    assert statement.first_issued == "2023-01-09T00:02:03Z"
    assert statement.author == "Wolfi J Inkinson"


def test_openvex_not_affected_with_justification() -> None:
    path = shared(f"{OPENVEX}/vexctl/sarif-sample-1statement.openvex.json")
    [statement] = read_vex(path).statements
    assert statement.state is AnalysisState.NOT_AFFECTED
    assert statement.justification is Justification.COMPONENT_NOT_PRESENT
    assert statement.aliases == ("SNYK-DEBIAN12-LIBDE265-3361563",)
    assert statement.product is not None
    assert statement.product.purl is not None
    assert statement.product.purl.startswith("pkg:oci/nginx@sha256%3A13d22ec6")


def test_openvex_v001_plain_strings() -> None:
    document = read_vex(shared(f"{OPENVEX}/vexctl/testdata-images.vex.json"))
    assert document.spec_version == "0.0.1"
    refs = [s.product.ref for s in document.statements if s.product]
    assert refs[1] == "nginx"
    assert document.statements[1].product is not None
    assert document.statements[1].product.purl is None
    assert document.statements[0].product is not None
    assert document.statements[0].product.purl is not None


def test_openvex_v001_without_products() -> None:
    document = read_vex(shared(f"{OPENVEX}/vexctl/testdata-test.vex.json"))
    first, second = document.statements
    assert first.product is None
    assert first.justification is Justification.VULNERABLE_CODE_NOT_IN_EXECUTE_PATH
    assert first.action == "Affected library function not called"
    assert second.state is AnalysisState.EXPLOITABLE
    assert second.action == "Customers are advised to upgrade"


def test_openvex_subcomponents_nested() -> None:
    document = parse_vex(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.com/vex/1",
            "author": "Device Maker PSIRT",
            "timestamp": "2024-05-01T12:00:00Z",
            "version": 2,
            "statements": [
                {
                    "vulnerability": {"name": "CVE-2021-44228", "aliases": ["GHSA-jfh8-c2jp-5v3q"]},
                    "products": [
                        {
                            "@id": "pkg:oci/pump-gateway@sha256%3Aabc",
                            "subcomponents": [
                                {"@id": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}
                            ],
                        }
                    ],
                    "status": "not_affected",
                    "justification": "vulnerable_code_not_in_execute_path",
                    "impact_statement": "JNDI lookups are disabled at build time.",
                }
            ],
        }
    )
    [statement] = document.statements
    assert statement.product is not None
    assert statement.product.purl == "pkg:oci/pump-gateway@sha256%3Aabc"
    assert statement.subcomponent is not None
    assert statement.subcomponent.purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert statement.target == statement.subcomponent
    assert statement.detail == "JNDI lookups are disabled at build time."


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("inheritance-v2.json", "not valid JSON: Expecting value at line 16 column 7"),
        (
            "spring-boot-log4shell.json",
            "not valid JSON: Expecting property name enclosed in double quotes at line 23",
        ),
    ],
)
def test_openvex_malformed_spec_examples(name: str, message: str) -> None:
    path = shared(f"{OPENVEX}/spec/malformed/{name}")
    with pytest.raises(InputError) as raised:
        read_vex(path)
    assert message in str(raised.value)
    assert name in str(raised.value)


# --- CSAF ------------------------------------------------------------------------------------


def test_csaf_not_affected_with_impact_threat() -> None:
    document = read_vex(shared(f"{CSAF}/vex/2022-evd-uc-01-na-001.json"))
    assert document.format == "CSAF"
    assert document.id == "2022-EVD-UC-01-NA-001"
    assert document.author == "Example Company ProductCERT"
    assert document.author_url == "https://psirt.example.com"
    [statement] = document.statements
    assert statement.vulnerability == "CVE-2021-44228"
    assert statement.state is AnalysisState.NOT_AFFECTED
    assert statement.detail == "Class with vulnerable code was removed before shipping."
    assert statement.product is not None
    assert (statement.product.vendor, statement.product.name, statement.product.version) == (
        "Example Company",
        "ABC",
        "4.2",
    )


def test_csaf_flag_gives_justification() -> None:
    document = read_vex(shared(f"{CSAF}/vex/sec-vex-2022-0001.json"))
    first = document.statements[0]
    assert first.justification is Justification.COMPONENT_NOT_PRESENT
    assert first.first_issued == "2022-05-27T10:00:00Z"
    assert first.versions == (
        VersionConstraint(range="<=1.14.0", status=AffectedStatus.UNAFFECTED),
    )


def test_csaf_affected_with_remediation() -> None:
    [statement] = read_vex(shared(f"{CSAF}/vex/2022-evd-uc-01-a-001.json")).statements
    assert statement.state is AnalysisState.EXPLOITABLE
    assert statement.responses
    assert all(
        r.value in {"vendor_fix", "workaround", "mitigation", "no_fix_planned", "none_available"}
        for r in statement.responses
    )


def test_csaf_cisa_fixed_versions() -> None:
    document = read_vex(shared(f"{CSAF}/cisa-real-vex/va-24-201-01.json"))
    affected = [
        s
        for s in document.statements
        if s.vulnerability == "CVE-2023-45195"
        and s.state is AnalysisState.EXPLOITABLE
        and s.product is not None
        and s.product.version == "4.8.3"
    ]
    assert len(affected) == 1
    assert affected[0].fixed_versions == ("4.8.4",)
    assert Response.VENDOR_FIX in affected[0].responses
    assert affected[0].ratings[0].vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"


def test_csaf_group_ids_expand_to_products() -> None:
    path = shared(f"{CSAF}/validator-tests/mandatory/oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-12.json")
    document = read_vex(path)
    justified = {s.product.ref for s in document.statements if s.justification and s.product}
    assert justified == {"CSAFPID-9080700", "CSAFPID-9080701", "CSAFPID-9080702"}


def test_csaf_relationship_is_subcomponent(tmp_path: Path) -> None:
    csaf = json.loads(shared(f"{CSAF}/vex/2022-evd-uc-01-na-001.json").read_text("utf-8"))
    csaf["product_tree"]["full_product_names"] = [
        {
            "name": "log4j-core 2.14.1",
            "product_id": "LOG4J",
            "product_identification_helper": {
                "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
            },
        }
    ]
    csaf["product_tree"]["relationships"] = [
        {
            "category": "default_component_of",
            "full_product_name": {"name": "log4j-core in ABC 4.2", "product_id": "LOG4J-IN-ABC"},
            "product_reference": "LOG4J",
            "relates_to_product_reference": "CSAFPID-0001",
        }
    ]
    csaf["vulnerabilities"][0]["product_status"]["known_not_affected"].append("LOG4J-IN-ABC")
    csaf["vulnerabilities"][0]["threats"][0]["product_ids"].append("LOG4J-IN-ABC")
    document = read_vex(write_json(tmp_path, csaf))
    inside = [s for s in document.statements if s.subcomponent is not None]
    assert len(inside) == 1
    assert inside[0].subcomponent is not None
    assert inside[0].subcomponent.purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert inside[0].product is not None
    assert inside[0].product.name == "ABC"


@pytest.mark.parametrize(
    ("name", "test_id"),
    [
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-01.json", "6.1.27.9"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-27-10-01.json", "6.1.27.10"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-06-01.json", "6.1.6"),
    ],
)
def test_csaf_reader_rejects_failing_tests(name: str, test_id: str) -> None:
    with pytest.raises(InputError) as raised:
        read_vex(shared(f"{CSAF}/validator-tests/mandatory/{name}"))
    assert "fails" in str(raised.value)
    assert f"\n  {test_id} " in str(raised.value)


def test_csaf_version_21_rejected(tmp_path: Path) -> None:
    document = {"document": {"csaf_version": "2.1", "category": "csaf_vex"}}
    with pytest.raises(InputError, match=r"document\.csaf_version: is '2\.1'; only CSAF 2\.0"):
        read_vex(write_json(tmp_path, document))


# --- malformed input and limits --------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "must contain a JSON object at the top level"),
        ({"hello": "world"}, "is not CycloneDX (no bomFormat), OpenVEX"),
        (
            {
                "bomFormat": "CycloneDX",
                "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "fine"}}],
            },
            "vulnerabilities[0].analysis.state: invalid value 'fine'; expected one of resolved",
        ),
        (
            {
                "bomFormat": "CycloneDX",
                "vulnerabilities": [
                    {"id": "CVE-1", "analysis": {"justification": "vulnerable_code_not_present"}}
                ],
            },
            "analysis.justification: invalid value 'vulnerable_code_not_present'",
        ),
        (
            {"bomFormat": "CycloneDX", "vulnerabilities": [{"analysis": {"state": "in_triage"}}]},
            "vulnerabilities[0].id: is missing",
        ),
        (
            {"bomFormat": "CycloneDX", "vulnerabilities": {"id": "CVE-1"}},
            "vulnerabilities: must be a JSON array, not an object",
        ),
        (
            {
                "bomFormat": "CycloneDX",
                "vulnerabilities": [
                    {"id": "CVE-1", "affects": [{"ref": "x", "versions": [{"status": "affected"}]}]}
                ],
            },
            "needs exactly one of version and range",
        ),
        (
            {
                "bomFormat": "CycloneDX",
                "vulnerabilities": [
                    {
                        "id": "CVE-1",
                        "analysis": {"state": "exploitable", "firstIssued": "yesterday"},
                    }
                ],
            },
            "analysis.firstIssued: invalid date-time 'yesterday'",
        ),
        (
            {"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "fixed"}]},
            "statements[0].vulnerability: is missing",
        ),
        (
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "patched"}],
            },
            "statements[0].status: invalid value 'patched'; expected one of not_affected",
        ),
        (
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "statements": [{"vulnerability": {"name": "CVE-1"}}],
            },
            "statements[0].status: is missing",
        ),
        (
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-1"},
                        "status": "not_affected",
                        "justification": "code_not_reachable",
                    }
                ],
            },
            "statements[0].justification: invalid value 'code_not_reachable'",
        ),
        (
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "statements": [
                    {"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": [{}]}
                ],
            },
            "statements[0].products[0].@id: is missing; a product needs an @id or identifiers",
        ),
        ({"@context": "https://openvex.dev/ns/v0.2.0"}, "statements: is missing"),
    ],
)
def test_invalid_documents_name_the_field(tmp_path: Path, document: object, message: str) -> None:
    path = write_json(tmp_path, document)
    with pytest.raises(InputError) as raised:
        read_vex(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="VEX file not found: .*absent.json"):
        read_vex(tmp_path / "absent.json")


def test_xml_rejected(tmp_path: Path) -> None:
    path = tmp_path / "vex.xml"
    path.write_text('<?xml version="1.0"?><bom/>', encoding="utf-8")
    with pytest.raises(InputError, match="looks like XML; only JSON is read"):
        read_vex(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "vex.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(InputError, match="is not UTF-8 text"):
        read_vex(path)


def test_deep_nesting_rejected(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(InputError, match="nests JSON too deeply"):
        read_vex(path)


def test_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "MAX_VEX_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "pad": "x" * 2000}), encoding="utf-8")
    with pytest.raises(InputError, match=r"above the limit of 1,000 bytes"):
        read_vex(path)
    with pytest.raises(InputError, match=r"above the limit of 1,000 bytes"):
        _common.load_json("x" * 2000, "inline")


def test_every_published_example_reads() -> None:
    folders = [
        shared(f"{CDX_VEX}/Use-Cases"),
        shared(f"{CDX_VEX}/CISA-Use-Cases"),
        shared(f"{OPENVEX}/vexctl"),
        shared(f"{CSAF}/vex"),
        shared(f"{CSAF}/cisa-real-vex"),
    ]
    count = 0
    for folder in folders:
        for path in sorted(folder.rglob("*.json")):
            document = read_vex(path)
            count += len(document.statements)
    assert count > 250
