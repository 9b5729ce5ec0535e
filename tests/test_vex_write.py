"""VEX writers: round trips through each format, every output validated against its official
schema (CycloneDX 1.6 from cyclonedx-python-lib, the OpenVEX 0.2.0 and CSAF 2.0 JSON schemas
from ../shared/data), the CSAF VEX profile rules, and the errors for what a format cannot express."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7

from nemecys.errors import InputError
from nemecys.sbom import read_sbom_document
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex import (
    AnalysisState,
    Justification,
    Product,
    Response,
    VersionConstraint,
    VexDocument,
    VexStatement,
    VexStatus,
    csaf_filename,
    parse_vex,
    read_vex,
    write_csaf_vex,
    write_cyclonedx_vdr,
    write_cyclonedx_vex,
    write_openvex,
)
from nemecys.vex.csaf_rules import check_csaf
from nemecys.vex.model import Rating

from .conftest import shared

CDX_VEX = "sbom/cyclonedx-examples/VEX"
OPENVEX = "vulndb/openvex-examples"
CSAF = "vulndb/csaf-examples"
NAMESPACE = "https://psirt.example.com"


# --- schema validators -----------------------------------------------------------------------


def cached_format_checker() -> FormatChecker:
    """Return the 2020-12 format checker with IRI checks cached.

    The IRI check runs a full grammar parser (rfc3987-syntax) on each value, and the examples
    repeat the same few IRIs hundreds of times.
    """
    base = Draft202012Validator.FORMAT_CHECKER
    checker = FormatChecker()
    checker.checkers = dict(base.checkers)
    for name in ("iri", "iri-reference", "uri", "uri-reference"):
        function, raises = base.checkers[name]
        checker.checkers[name] = (functools.cache(function), raises)
    return checker


@pytest.fixture(scope="module")
def openvex_schema() -> Draft202012Validator:
    schema = json.loads(shared(f"{OPENVEX}/spec/openvex_json_schema.json").read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=cached_format_checker())


@pytest.fixture(scope="module")
def csaf_schema() -> Draft202012Validator:
    folder = shared(f"{CSAF}/schema")

    def load(name: str) -> Any:
        return json.loads((folder / name).read_text("utf-8"))

    # The CSAF schema refers to the FIRST CVSS schemas by URL; serve the local copies instead.
    registry: Registry[Any] = Registry().with_resources(
        [
            (
                "https://www.first.org/cvss/cvss-v2.0.json",
                Resource.from_contents(load("cvss-v2.0.json"), default_specification=DRAFT4),
            ),
            (
                "https://www.first.org/cvss/cvss-v3.0.json",
                Resource.from_contents(load("cvss-v3.0.json"), default_specification=DRAFT7),
            ),
            (
                "https://www.first.org/cvss/cvss-v3.1.json",
                Resource.from_contents(load("cvss-v3.1.json"), default_specification=DRAFT7),
            ),
        ]
    )
    return Draft202012Validator(
        load("csaf_json_schema.json"),
        registry=registry,
        format_checker=cached_format_checker(),
    )


def schema_errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def assert_cyclonedx_valid(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)


def assert_csaf_vex_profile(document: dict[str, Any]) -> None:
    """Check the two VEX profile rules directly: impact statements and action statements."""
    groups = {
        g["group_id"]: set(g["product_ids"])
        for g in document["product_tree"].get("product_groups", [])
    }

    def covered(items: list[dict[str, Any]]) -> set[str]:
        ids: set[str] = set()
        for item in items:
            ids.update(item.get("product_ids", []))
            for group in item.get("group_ids", []):
                ids.update(groups[group])
        return ids

    for vulnerability in document["vulnerabilities"]:
        status = vulnerability["product_status"]
        impact = covered(vulnerability.get("flags", [])) | covered(
            [t for t in vulnerability.get("threats", []) if t["category"] == "impact"]
        )
        for product_id in status.get("known_not_affected", []):
            assert product_id in impact, f"{product_id} has no impact statement"
        actions = covered(vulnerability.get("remediations", []))
        for product_id in status.get("known_affected", []):
            assert product_id in actions, f"{product_id} has no remediation"
        assert vulnerability.get("notes")
        assert vulnerability.get("cve") or vulnerability.get("ids")


def statements(document: VexDocument) -> list[str]:
    return sorted(repr(s) for s in document.statements)


def example_files(*patterns: str) -> Iterator[Path]:
    """Yield the files under ../shared/data matching each pattern, such as "a/*/vex.json"."""
    for pattern in patterns:
        parts = pattern.split("/")
        first_glob = next(i for i, part in enumerate(parts) if "*" in part)
        folder = shared("/".join(parts[:first_glob]))
        yield from sorted(folder.glob("/".join(parts[first_glob:])))


def with_defaults(document: VexDocument) -> VexDocument:
    """Fill what OpenVEX and CSAF require and some examples leave out."""
    return replace(
        document,
        author=document.author or "Example PSIRT",
        timestamp=document.timestamp or "2024-01-01T00:00:00Z",
        id=document.id or "example-vex-1",
    )


# --- round trips -----------------------------------------------------------------------------


CDX_EXAMPLES = [f"{CDX_VEX}/Use-Cases/*/vex.json", f"{CDX_VEX}/CISA-Use-Cases/*/vex*.json"]


def test_cyclonedx_round_trip_of_examples() -> None:
    paths = [*example_files(*CDX_EXAMPLES), shared(f"{CDX_VEX}/vex.json")]
    assert len(paths) >= 22
    for path in paths:
        original = read_vex(path)
        text = write_cyclonedx_vex(original)
        assert_cyclonedx_valid(text)
        again = parse_vex(json.loads(text))
        assert statements(again) == statements(original), path


def test_openvex_round_trip_of_examples(openvex_schema: Draft202012Validator) -> None:
    paths = [
        *example_files(f"{OPENVEX}/vexctl/*.json"),
        shared(f"{OPENVEX}/spec/minimal.json"),
        shared(f"{OPENVEX}/spec/inheritance-v1.json"),
    ]
    # v0.0.1 allowed bare product names; v0.2.0 needs an IRI (tested below).
    paths = [p for p in paths if p.name != "testdata-images.vex.json"]
    assert len(paths) >= 14
    for path in paths:
        original = with_defaults(read_vex(path))
        text = write_openvex(original)
        output = json.loads(text)
        assert schema_errors(openvex_schema, output) == [], path
        assert output["@context"] == "https://openvex.dev/ns/v0.2.0"
        again = parse_vex(output)
        assert statements(again) == statements(original), path


def test_csaf_round_trip_of_examples(csaf_schema: Draft202012Validator) -> None:
    paths = list(example_files(f"{CSAF}/vex/*.json", f"{CSAF}/cisa-real-vex/*.json"))
    assert len(paths) >= 17
    for path in paths:
        original = read_vex(path)
        text = write_csaf_vex(original, tracking_id=original.id)
        output = json.loads(text)
        assert schema_errors(csaf_schema, output) == [], path
        assert check_csaf(output) == [], path
        assert_csaf_vex_profile(output)
        again = parse_vex(output)
        assert statements(again) == statements(original), path


def test_csaf_round_trip_keeps_product_ids() -> None:
    original = read_vex(shared(f"{CSAF}/cisa-real-vex/va-24-201-01.json"))
    output = json.loads(write_csaf_vex(original))
    status = output["vulnerabilities"][0]["product_status"]
    assert status["known_affected"] == ["CSAFPID-0006", "CSAFPID-0007", "CSAFPID-0077"]
    assert status["fixed"] == ["CSAFPID-0009"]
    assert output["document"]["tracking"]["id"] == "VA-24-201-01"
    assert output["document"]["tracking"]["version"] == "1.0.1"


# --- conversions between formats -------------------------------------------------------------


def test_cyclonedx_to_openvex_and_csaf(
    openvex_schema: Draft202012Validator, csaf_schema: Draft202012Validator
) -> None:
    for path in example_files(f"{CDX_VEX}/Use-Cases/*/vex.json"):
        original = with_defaults(read_vex(path))
        if any(s.versions for s in original.statements):
            continue  # OpenVEX needs a purl to name versions; covered by tests of their own
        if any(s.target is None for s in original.statements):
            continue  # CSAF needs a product for every status
        openvex = json.loads(write_openvex(original))
        assert schema_errors(openvex_schema, openvex) == [], path
        csaf = json.loads(write_csaf_vex(original, publisher_namespace=NAMESPACE))
        assert schema_errors(csaf_schema, csaf) == [], path
        assert check_csaf(csaf) == [], path
        for converted in (parse_vex(openvex), parse_vex(csaf)):
            assert sorted((s.vulnerability, s.status) for s in converted.statements) == sorted(
                (s.vulnerability, s.status) for s in original.statements
            ), path


def test_justification_mapped_per_format() -> None:
    document = with_defaults(read_vex(shared(f"{CDX_VEX}/Use-Cases/Case-1/vex.json")))
    openvex = json.loads(write_openvex(document))
    assert openvex["statements"][0]["justification"] == "vulnerable_code_not_in_execute_path"
    csaf = json.loads(write_csaf_vex(document, publisher_namespace=NAMESPACE))
    assert csaf["vulnerabilities"][0]["flags"][0]["label"] == "vulnerable_code_not_in_execute_path"
    cdx_from_openvex = json.loads(write_cyclonedx_vex(parse_vex(openvex)))
    assert cdx_from_openvex["vulnerabilities"][0]["analysis"]["justification"] == (
        "code_not_reachable"
    )


def test_csaf_responses_become_cyclonedx_responses() -> None:
    document = read_vex(shared(f"{CSAF}/vex/2022-evd-uc-03-ms-001.json"))
    output = json.loads(write_cyclonedx_vex(document))
    responses = {
        v["id"]: v["analysis"].get("response") for v in output["vulnerabilities"] if "analysis" in v
    }
    # CSAF "none_available" is the CycloneDX "can_not_fix".
    assert responses["CVE-2020-11898"] == ["can_not_fix"]


# --- CycloneDX specifics ---------------------------------------------------------------------


def pump_sbom() -> SbomDocument:
    return SbomDocument(
        path="pump.cdx.json",
        format="CycloneDX",
        encoding="json",
        spec_version="1.6",
        serial_number="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        subject=SoftwareComponent(key="pump", name="Infusion pump", version="4.2", type="device"),
        components=(
            SoftwareComponent(
                key="log4j",
                name="log4j-core",
                group="org.apache.logging.log4j",
                version="2.14.1",
                purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
            ),
        ),
    )


def log4j_statement(**changes: Any) -> VexStatement:
    statement = VexStatement(
        vulnerability="CVE-2021-44228",
        state=AnalysisState.NOT_AFFECTED,
        aliases=("GHSA-jfh8-c2jp-5v3q",),
        product=Product(purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
        justification=Justification.CODE_NOT_REACHABLE,
        detail="The JNDI lookup class is removed from the shipped jar.",
        first_issued="2024-05-01T12:00:00Z",
        author="Pump PSIRT",
        ratings=(
            Rating(
                method="CVSSv31",
                score=10.0,
                severity="critical",
                vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                source="NVD",
            ),
        ),
    )
    return replace(statement, **changes)


def test_cyclonedx_vex_uses_bom_links() -> None:
    sbom = pump_sbom()
    document = VexDocument(
        statements=(log4j_statement(),), author="Pump PSIRT", timestamp="2024-05-01T12:00:00Z"
    )
    text = write_cyclonedx_vex(document, sbom=sbom, bom_version=2)
    assert_cyclonedx_valid(text)
    output = json.loads(text)
    ref = output["vulnerabilities"][0]["affects"][0]["ref"]
    assert ref == "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/2#log4j"
    assert "components" not in output
    again = parse_vex(output, sboms=[sbom])
    [statement] = again.statements
    assert statement.product is not None
    assert statement.product.name == "org.apache.logging.log4j/log4j-core"
    assert statement.product.ref == ref


def test_cyclonedx_vex_needs_sbom_serial() -> None:
    sbom = replace(pump_sbom(), serial_number=None)
    document = VexDocument(statements=(log4j_statement(),))
    with pytest.raises(InputError, match="has no serialNumber, so a VEX cannot refer to it"):
        write_cyclonedx_vex(document, sbom=sbom)


def test_cyclonedx_vdr_embeds_components() -> None:
    sbom = pump_sbom()
    document = VexDocument(
        statements=(log4j_statement(fixed_versions=("2.17.1",), author="Analyst A"),),
        author="Pump PSIRT",
        timestamp="2024-05-01T12:00:00Z",
    )
    text = write_cyclonedx_vdr(document, sbom=sbom)
    assert_cyclonedx_valid(text)
    output = json.loads(text)
    assert [c["bom-ref"] for c in output["components"]] == ["log4j"]
    assert output["metadata"]["component"]["bom-ref"] == "pump"
    vulnerability = output["vulnerabilities"][0]
    assert vulnerability["affects"] == [{"ref": "log4j"}]
    assert vulnerability["ratings"][0]["method"] == "CVSSv31"
    properties = {p["name"]: p["value"] for p in vulnerability["properties"]}
    assert properties == {"nemecys:vex:author": "Analyst A", "nemecys:vex:fixed_version": "2.17.1"}
    [statement] = parse_vex(output).statements
    assert statement.author == "Analyst A"
    assert statement.fixed_versions == ("2.17.1",)


def test_cyclonedx_spec_15_and_unknown() -> None:
    document = VexDocument(statements=(log4j_statement(),))
    text = write_cyclonedx_vex(document, spec_version="1.5")
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
    with pytest.raises(InputError, match="CycloneDX spec version 1.2 is not written; use 1.5"):
        write_cyclonedx_vex(document, spec_version="1.2")


def test_output_is_deterministic() -> None:
    document = VexDocument(statements=(log4j_statement(),), author="Pump PSIRT")
    assert write_cyclonedx_vex(document) == write_cyclonedx_vex(document)
    assert write_openvex(document) == write_openvex(document)
    namespace = {"publisher_namespace": NAMESPACE, "tracking_id": "PUMP-VEX-1"}
    assert write_csaf_vex(document, **namespace) == write_csaf_vex(document, **namespace)


# --- OpenVEX specifics -----------------------------------------------------------------------


def test_openvex_subcomponent_and_exact_versions(openvex_schema: Draft202012Validator) -> None:
    statement = log4j_statement(
        product=Product(
            ref="pkg:oci/pump-gateway@sha256%3Aabc", purl="pkg:oci/pump-gateway@sha256%3Aabc"
        ),
        subcomponent=Product(purl="pkg:maven/org.apache.logging.log4j/log4j-core"),
        versions=(VersionConstraint(version="2.14.0"), VersionConstraint(version="2.14.1")),
    )
    document = VexDocument(statements=(statement,), author="Pump PSIRT")
    output = json.loads(write_openvex(document))
    assert schema_errors(openvex_schema, output) == []
    products = [s["products"][0] for s in output["statements"]]
    assert [p["subcomponents"][0]["@id"] for p in products] == [
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.0",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
    ]
    assert {p["@id"] for p in products} == {"pkg:oci/pump-gateway@sha256%3Aabc"}


def test_openvex_affected_gets_action(openvex_schema: Draft202012Validator) -> None:
    statement = log4j_statement(
        state=AnalysisState.EXPLOITABLE,
        justification=None,
        detail=None,
        fixed_versions=("2.17.1",),
    )
    output = json.loads(write_openvex(VexDocument(statements=(statement,), author="PSIRT")))
    assert schema_errors(openvex_schema, output) == []
    assert output["statements"][0]["action_statement"] == "Update to a fixed version: 2.17.1."


def test_openvex_name_only_product_gets_generic_purl(
    openvex_schema: Draft202012Validator,
) -> None:
    statement = log4j_statement(product=Product(ref="CSAFPID-0001", name="ABC", version="4.2"))
    output = json.loads(write_openvex(VexDocument(statements=(statement,), author="PSIRT")))
    assert schema_errors(openvex_schema, output) == []
    assert output["statements"][0]["products"][0]["@id"] == "pkg:generic/ABC@4.2"


def test_openvex_rejects_bare_name_of_v001() -> None:
    document = read_vex(shared(f"{OPENVEX}/vexctl/testdata-images.vex.json"))
    with pytest.raises(InputError, match="product nginx has no IRI, purl, CPE or name"):
        write_openvex(with_defaults(document))


def test_openvex_rejects_version_range() -> None:
    statement = log4j_statement(versions=(VersionConstraint(range="vers:maven/>=2.0|<2.15.0"),))
    with pytest.raises(InputError, match="limited to a version range; OpenVEX has no ranges"):
        write_openvex(VexDocument(statements=(statement,), author="PSIRT"))


def test_openvex_rejects_unjustified_not_affected() -> None:
    statement = log4j_statement(justification=None, detail=None)
    with pytest.raises(InputError, match="not_affected without justification or detail"):
        write_openvex(VexDocument(statements=(statement,), author="PSIRT"))


def test_openvex_requires_author() -> None:
    with pytest.raises(InputError, match="OpenVEX requires a document author"):
        write_openvex(VexDocument(statements=(log4j_statement(),)))


def test_false_positive_gets_impact_statement(openvex_schema: Draft202012Validator) -> None:
    statement = log4j_statement(state=AnalysisState.FALSE_POSITIVE, justification=None, detail=None)
    document = VexDocument(statements=(statement,), author="PSIRT")
    output = json.loads(write_openvex(document))
    assert schema_errors(openvex_schema, output) == []
    assert output["statements"][0]["status"] == "not_affected"
    assert "false positive" in output["statements"][0]["impact_statement"]


# --- CSAF specifics --------------------------------------------------------------------------


def csaf_of(document: VexDocument, **options: Any) -> dict[str, Any]:
    output: dict[str, Any] = json.loads(
        write_csaf_vex(document, publisher_namespace=NAMESPACE, tracking_id="PUMP-VEX-1", **options)
    )
    return output


def test_csaf_every_status_meets_profile(csaf_schema: Draft202012Validator) -> None:
    base = log4j_statement()
    document = VexDocument(
        statements=(
            base,
            replace(
                base,
                vulnerability="CVE-2021-45046",
                aliases=(),
                state=AnalysisState.EXPLOITABLE,
                justification=None,
                detail=None,
                responses=(Response.UPDATE, Response.WORKAROUND_AVAILABLE),
            ),
            replace(
                base,
                vulnerability="CVE-2021-45105",
                aliases=(),
                state=AnalysisState.EXPLOITABLE,
                justification=None,
                detail=None,
            ),
            replace(base, vulnerability="CVE-2021-44832", aliases=(), state=AnalysisState.RESOLVED),
            replace(
                base, vulnerability="GHSA-xxxx-yyyy-zzzz", aliases=(), state=AnalysisState.IN_TRIAGE
            ),
        ),
        author="Pump PSIRT",
    )

    output = csaf_of(document)
    assert schema_errors(csaf_schema, output) == []
    assert check_csaf(output) == []
    assert_csaf_vex_profile(output)

    by_id = {v.get("cve") or v["ids"][0]["text"]: v for v in output["vulnerabilities"]}
    assert by_id["CVE-2021-44228"]["ids"] == [
        {"system_name": "GitHub Advisories", "text": "GHSA-jfh8-c2jp-5v3q"}
    ]
    assert by_id["CVE-2021-44228"]["scores"][0]["cvss_v3"]["baseScore"] == 10.0
    assert [r["category"] for r in by_id["CVE-2021-45046"]["remediations"]] == [
        "vendor_fix",
        "workaround",
    ]
    assert by_id["CVE-2021-45105"]["remediations"][0]["category"] == "none_available"
    assert "under_investigation" in by_id["GHSA-xxxx-yyyy-zzzz"]["product_status"]


def test_csaf_range_is_product_version_range(csaf_schema: Draft202012Validator) -> None:
    statement = log4j_statement(
        product=Product(
            name="log4j-core", vendor="Apache", purl="pkg:maven/org.apache.logging.log4j/log4j-core"
        ),
        versions=(VersionConstraint(range="vers:maven/>=2.0|<2.15.0"),),
    )
    output = csaf_of(VexDocument(statements=(statement,), author="Pump PSIRT"))
    assert schema_errors(csaf_schema, output) == []
    vendor = output["product_tree"]["branches"][0]
    leaf = vendor["branches"][0]["branches"][0]
    assert leaf["category"] == "product_version_range"
    assert leaf["name"] == "vers:maven/>=2.0|<2.15.0"
    assert "product_identification_helper" not in leaf["product"]


def test_csaf_subcomponent_is_relationship(csaf_schema: Draft202012Validator) -> None:
    statement = log4j_statement(
        product=Product(name="Infusion pump", version="4.2", vendor="Pump Maker"),
        subcomponent=Product(purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
    )
    output = csaf_of(VexDocument(statements=(statement,), author="Pump PSIRT"))
    assert schema_errors(csaf_schema, output) == []
    [relationship] = output["product_tree"]["relationships"]
    assert relationship["category"] == "default_component_of"
    status = output["vulnerabilities"][0]["product_status"]["known_not_affected"]
    assert status == [relationship["full_product_name"]["product_id"]]
    [again] = parse_vex(output).statements
    assert again.subcomponent is not None
    assert again.subcomponent.purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert again.product is not None
    assert again.product.name == "Infusion pump"


def test_csaf_latest_statement_wins_per_product(caplog: pytest.LogCaptureFixture) -> None:
    older = log4j_statement(state=AnalysisState.IN_TRIAGE, first_issued="2024-01-01T00:00:00Z")
    newer = log4j_statement(first_issued="2024-06-01T00:00:00Z")
    output = csaf_of(VexDocument(statements=(newer, older), author="Pump PSIRT"))
    assert list(output["vulnerabilities"][0]["product_status"]) == ["known_not_affected"]
    assert check_csaf(output) == []


def test_csaf_rejects_unjustified_not_affected() -> None:
    statement = log4j_statement(justification=None, detail=None)
    with pytest.raises(InputError, match="CSAF VEX requires an impact statement"):
        csaf_of(VexDocument(statements=(statement,), author="Pump PSIRT"))


@pytest.mark.parametrize(
    ("document", "options", "message"),
    [
        (VexDocument(statements=()), {}, "CSAF requires a publisher name and namespace URL"),
        (
            VexDocument(statements=(), author="A", author_url=NAMESPACE),
            {"publisher_category": "company"},
            "invalid CSAF publisher category 'company'",
        ),
        (
            VexDocument(statements=(), author="A", author_url=NAMESPACE),
            {"status": "published"},
            "invalid CSAF tracking status 'published'",
        ),
        (
            VexDocument(statements=(), author="A", author_url=NAMESPACE),
            {},
            "CSAF requires a tracking id",
        ),
        (
            VexDocument(
                statements=(log4j_statement(product=None),),
                author="A",
                author_url=NAMESPACE,
                id="X-1",
            ),
            {},
            "names no product; CSAF VEX needs every status to name a product",
        ),
    ],
)
def test_csaf_writer_errors(document: VexDocument, options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        write_csaf_vex(document, **options)


def test_csaf_filename() -> None:
    assert csaf_filename("Example Company - 2019-YH3234") == "example_company_-_2019-yh3234.json"
    assert csaf_filename("RHBA-2019:0024") == "rhba-2019_0024.json"


# --- a real SBOM through every writer --------------------------------------------------------


def test_bom_link_sbom_through_writers(csaf_schema: Draft202012Validator) -> None:
    folder = f"{CDX_VEX}/CISA-Use-Cases/Case-8"
    sboms = [read_sbom_document(shared(f"{folder}/bom-{n}.json")) for n in (1, 2)]
    document = read_vex(shared(f"{folder}/vex.json"), sboms=sboms)

    text = write_cyclonedx_vex(document)
    assert_cyclonedx_valid(text)
    again = parse_vex(json.loads(text), sboms=sboms)
    assert statements(again) == statements(document)

    output = json.loads(write_csaf_vex(with_defaults(document), publisher_namespace=NAMESPACE))
    assert schema_errors(csaf_schema, output) == []
    assert check_csaf(output) == []
    links = [
        product["product_identification_helper"]["x_generic_uris"][0]["uri"]
        for product in output["product_tree"].get("full_product_names", [])
    ]
    assert links
    assert all(link.startswith("urn:cdx:") for link in links)
    statuses = {s.status for s in parse_vex(output).statements}
    assert statuses == {VexStatus.AFFECTED, VexStatus.NOT_AFFECTED, VexStatus.FIXED}


def test_schemas_reject_broken_output(
    openvex_schema: Draft202012Validator, csaf_schema: Draft202012Validator
) -> None:
    document = VexDocument(statements=(log4j_statement(),), author="Pump PSIRT")
    openvex = json.loads(write_openvex(document))
    openvex["statements"][0]["products"][0]["@id"] = "CSAFPID-0001"
    assert any("is not a 'iri'" in e for e in schema_errors(openvex_schema, openvex))
    csaf = csaf_of(document)
    del csaf["document"]["publisher"]["namespace"]
    csaf["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseSeverity"] = "SEVERE"
    errors = schema_errors(csaf_schema, csaf)
    assert any("'namespace' is a required property" in e for e in errors)
    # cvss_v3 is a oneOf of the FIRST 3.0 and 3.1 schemas, so the error names the object.
    assert any(e.startswith("vulnerabilities/0/scores/0/cvss_v3: ") for e in errors)
