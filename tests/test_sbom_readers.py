"""SBOM readers on real files and on small documents written for one feature each."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import pytest

from nemecys.errors import InputError
from nemecys.sbom import read_sbom
from nemecys.sbom._common import SWID_PROPERTY
from nemecys.sbom.model import SoftwareComponent
from nemecys.sbom.readers import parse_sbom_bytes, read_sbom_document, read_sbom_file

from .conftest import shared


def _by_name(components: tuple[SoftwareComponent, ...], name: str) -> SoftwareComponent:
    matches = [c for c in components if c.name == name]
    assert len(matches) == 1, f"expected one component named {name!r}, found {len(matches)}"
    return matches[0]


# --- CycloneDX JSON, real files -----------------------------------------------------------------


def test_nightscout_counts_nested_components() -> None:
    document = read_sbom_document(shared("sbom/nightscout-14.2.6.cdx.json"))
    assert document.format == "CycloneDX"
    assert document.encoding == "json"
    assert document.spec_version == "1.6"
    assert len(document.components) == 1627
    top_level = [c for c in document.components if c.nested_in is None]
    assert len(top_level) == 870
    assert document.subject is not None
    assert document.subject.key == "nightscout@14.2.6"
    assert len(document.subject.depends_on) == 87


def test_nightscout_keeps_repeated_purls_distinct() -> None:
    document = read_sbom_document(shared("sbom/nightscout-14.2.6.cdx.json"))
    debug = [c for c in document.components if c.purl == "pkg:npm/debug@4.1.1"]
    assert len(debug) == 7
    assert len({c.key for c in debug}) == 7
    keys = [c.key for c in document.components]
    assert len(set(keys)) == len(keys)


def test_nightscout_nested_parent_and_graph() -> None:
    document = read_sbom_document(shared("sbom/nightscout-14.2.6.cdx.json"))
    nested = next(
        c
        for c in document.components
        if c.key == "nightscout@14.2.6|@babel/core@7.11.4|debug@4.1.1"
    )
    assert nested.nested_in == "nightscout@14.2.6|@babel/core@7.11.4"
    babel = next(c for c in document.components if c.key == "nightscout@14.2.6|@babel/core@7.11.4")
    assert babel.group == "@babel"
    assert babel.purl == "pkg:npm/%40babel/core@7.11.4"
    assert "nightscout@14.2.6|@babel/core@7.11.4|debug@4.1.1" in babel.depends_on
    assert any(c.purl == "pkg:npm/express@4.17.1" for c in document.components)
    development = [
        c for c in document.components if ("cdx:npm:package:development", "true") in c.properties
    ]
    assert len(development) == 528


def test_medical_device_fda_properties() -> None:
    document = read_sbom_document(shared("sbom/medical-device/extended.sbom.json"))
    assert len(document.components) == 65
    wolfssl = _by_name(document.components, "WolfSSL")
    assert wolfssl.level_of_support == "Actively maintained"
    assert wolfssl.end_of_support == "Open source"
    assert wolfssl.supplier == "wolfSSL"  # taken from publisher
    assert wolfssl.cpe == "cpe:2.3:a:wolfssl:wolfssl:4.8.1:*:*:*:*:*:*:*"
    deprecated = _by_name(document.components, "FluentValidationNA")
    assert deprecated.level_of_support == "Deprecated"
    assert deprecated.end_of_support == "No longer supported"
    assert all(c.level_of_support for c in document.components)
    assert all(c.end_of_support for c in document.components)
    assert document.authors == ("REDACTED",)
    assert document.timestamp == "2025-07-23T20:23:25.191246+00:00"


def test_narrow_device_sbom_has_55_components() -> None:
    document = read_sbom_document(shared("sbom/medical-device/narrow.sbom.json"))
    assert len(document.components) == 55
    hardware = _by_name(document.components, "Qualcomm Atheros QCA9563")
    assert hardware.version is None  # written as "" in the file
    assert hardware.type == "device"


def test_dropwizard_cyclonedx_1_2() -> None:
    document = read_sbom_document(shared("sbom/cyclonedx-examples/SBOM/dropwizard-1.3.15/bom.json"))
    assert document.spec_version == "1.2"
    assert len(document.components) == 167
    assert document.subject is not None
    assert (document.subject.name, document.subject.version) == ("dropwizard-parent", "1.3.15")
    databind = next(c for c in document.components if c.name == "jackson-databind")
    assert databind.purl == "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10?type=jar"
    assert ("SHA-1", "e201bb70b7469ba18dd58ed8268aa44e702fa2f0") in databind.hashes
    assert databind.licenses == ("Apache-2.0",)
    assert document.tools == ("CycloneDX CycloneDX Maven plugin 2.0.2",)


@pytest.mark.parametrize(
    ("name", "count"),
    [("openrem-1.0.0b2.cdx.json", 24), ("aphp-sphere.cdx.json", 17)],
)
def test_python_sboms(name: str, count: int) -> None:
    document = read_sbom_document(shared(f"sbom/python/{name}"))
    assert len(document.components) == count
    assert all(c.purl and c.purl.startswith("pkg:pypi/") for c in document.components)


def test_openrem_django_has_no_version() -> None:
    document = read_sbom_document(shared("sbom/python/openrem-1.0.0b2.cdx.json"))
    django = next(c for c in document.components if c.name.lower() == "django")
    assert django.version is None


@pytest.mark.parametrize(
    ("name", "count"),
    [("alpine", 15), ("debian", 97), ("ubuntu", 102), ("nginx", 144), ("vault", 384)],
)
def test_syft_cyclonedx_counts(name: str, count: int) -> None:
    document = read_sbom_document(shared(f"sbom/containers/syft-cyclonedx-{name}.json"))
    assert len(document.components) == count


# --- CycloneDX XML ------------------------------------------------------------------------------


def _as_xml(source: Path, version: str) -> bytes:
    from cyclonedx.model.bom import Bom
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bom = Bom.from_json(json.loads(source.read_bytes()))
        schema = SchemaVersion.from_version(version)
        text: str = make_outputter(bom, OutputFormat.XML, schema).output_as_string()
    return text.encode("utf-8")


@pytest.mark.parametrize("version", ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"])
def test_xml_matches_json_reading(version: str) -> None:
    source = shared("sbom/medical-device/extended.sbom.json")
    from_json = read_sbom_document(source)
    reading = parse_sbom_bytes(_as_xml(source, version), source="extended.xml")
    from_xml = reading.document
    assert from_xml.encoding == "xml"
    assert from_xml.spec_version == version
    assert reading.warnings == ()

    def identity(component: object) -> tuple[object, ...]:
        fields = ("key", "name", "version", "purl", "cpe", "supplier", "licenses", "type")
        return tuple(getattr(component, field) for field in fields)

    assert sorted(map(identity, from_xml.components)) == sorted(map(identity, from_json.components))
    wolfssl = next(c for c in from_xml.components if c.name == "WolfSSL")
    if version == "1.2":  # properties arrived in CycloneDX 1.3
        assert wolfssl.level_of_support is None
    else:
        assert wolfssl.level_of_support == "Actively maintained"
        assert wolfssl.end_of_support == "Open source"


def test_xml_nested_nightscout(tmp_path: Path) -> None:
    source = shared("sbom/nightscout-14.2.6.cdx.json")
    path = tmp_path / "nightscout.xml"
    path.write_bytes(_as_xml(source, "1.6"))
    from_xml = read_sbom_document(path)
    from_json = read_sbom_document(source)
    assert len(from_xml.components) == 1627
    graph_xml = {c.key: (c.nested_in, frozenset(c.depends_on)) for c in from_xml.components}
    graph_json = {c.key: (c.nested_in, frozenset(c.depends_on)) for c in from_json.components}
    assert graph_xml == graph_json


XML_1_6 = b"""<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" xmlns:x="urn:example:ext"
     serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" version="1">
  <metadata>
    <timestamp>2025-01-31T12:00:00Z</timestamp>
    <tools><components><component type="application"><name>builder</name><version>2.0</version></component></components></tools>
    <authors><author><name>Device Maker Inc.</name></author></authors>
    <component type="device" bom-ref="pump"><name>Infusion pump</name><version>3.1</version></component>
  </metadata>
  <components>
    <component type="firmware" bom-ref="rtos">
      <supplier><name>Amazon</name></supplier>
      <name>FreeRTOS</name>
      <version>10.0.1</version>
      <hashes><hash alg="SHA-256">ABCDEF</hash></hashes>
      <licenses><expression>MIT OR Apache-2.0</expression></licenses>
      <cpe>cpe:2.3:o:amazon:freertos:10.0.1:*:*:*:*:*:*:*</cpe>
      <properties>
        <property name="fda:levelOfSupport">Vendor LTS</property>
        <property name="cdx:fda:end_of_support_date">2027-06-30</property>
      </properties>
      <components>
        <component type="library" bom-ref="tcp"><name>FreeRTOS-Plus-TCP</name><version>2.3.2</version></component>
      </components>
    </component>
    <component type="library" bom-ref="tls">
      <name>wolfSSL</name><version>4.8.1</version>
      <swid tagId="swid:wolfssl-4.8.1" name="wolfSSL"/>
    </component>
    <x:component><x:name>extension, not a component</x:name></x:component>
  </components>
  <dependencies>
    <dependency ref="pump"><dependency ref="rtos"/><dependency ref="tls"/></dependency>
    <dependency ref="rtos"><dependency ref="tcp"/></dependency>
  </dependencies>
</bom>
"""


def test_xml_fields_and_graph() -> None:
    reading = parse_sbom_bytes(XML_1_6, source="pump.cdx.xml")
    document = reading.document
    assert reading.warnings == ()
    assert [c.key for c in document.components] == ["rtos", "tcp", "tls"]
    rtos, tcp, tls = document.components
    assert rtos.supplier == "Amazon"
    assert rtos.hashes == (("SHA-256", "abcdef"),)
    assert rtos.licenses == ("MIT OR Apache-2.0",)
    assert rtos.level_of_support == "Vendor LTS"
    assert rtos.end_of_support == "2027-06-30"
    assert rtos.depends_on == ("tcp",)
    assert tcp.nested_in == "rtos"
    assert (SWID_PROPERTY, "swid:wolfssl-4.8.1") in tls.properties
    assert document.subject is not None
    assert document.subject.depends_on == ("rtos", "tls")
    assert document.authors == ("Device Maker Inc.",)
    assert document.tools == ("builder 2.0",)
    assert document.serial_number == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"


# --- CycloneDX JSON, tolerated defects ----------------------------------------------------------


def _cyclonedx(components: list[object], **extra: object) -> bytes:
    document: dict[str, object] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": components,
    }
    document.update(extra)
    return json.dumps(document).encode()


def test_duplicates_without_bom_ref_stay_distinct() -> None:
    twin = {"type": "library", "name": "zlib", "version": "1.2.13"}
    document = parse_sbom_bytes(_cyclonedx([twin, twin]), source="twins.json").document
    assert len(document.components) == 2
    assert document.components[0].key != document.components[1].key


def test_duplicate_bom_ref_is_renamed_with_warning() -> None:
    components = [
        {"type": "library", "name": "a", "bom-ref": "x"},
        {"type": "library", "name": "b", "bom-ref": "x"},
    ]
    reading = parse_sbom_bytes(_cyclonedx(components), source="dup.json")
    assert [c.key for c in reading.document.components] == ["x", "x#2"]
    assert any("duplicate identifier 'x'" in warning for warning in reading.warnings)


def test_bad_entries_are_warnings_not_errors() -> None:
    components = [
        {"type": "nonsense", "name": "odd-type"},
        {"type": "library"},
        "not an object",
        {"type": "library", "name": "num", "version": 3, "purl": "not a purl"},
        {"type": "library", "name": "props", "properties": [{"value": "no name"}, 5]},
    ]
    reading = parse_sbom_bytes(
        _cyclonedx(components, dependencies=[{"ref": "ghost", "dependsOn": ["nobody"]}]),
        source="messy.json",
    )
    names = [c.name for c in reading.document.components]
    assert names == ["odd-type", "", "num", "props"]
    assert reading.document.components[0].type == "nonsense"
    assert reading.document.components[2].version == "3"
    assert reading.document.components[2].purl == "not a purl"
    text = "\n".join(reading.warnings)
    assert "unknown component type 'nonsense'" in text
    assert "property has no name" in text
    assert "references to components not in this SBOM (1, first 'ghost')" in text
    assert sorted(reading.defects) == [
        "components[1]: component has no name",
        "components[2]: expected an object, found str; ignored",
    ]


def test_strict_reading_rejects_defects(tmp_path: Path) -> None:
    path = tmp_path / "nameless.json"
    path.write_bytes(_cyclonedx([{"type": "library", "name": "ok"}, {"type": "library"}]))
    assert len(read_sbom_document(path).components) == 2
    with pytest.raises(InputError) as caught:
        read_sbom_document(path, strict=True)
    message = caught.value.diagnostics()
    assert "SBOM has 1 invalid component entries" in message
    assert "components[1]: component has no name" in message
    assert "nemecys sbom quality" in message


def test_strict_reading_rejects_wrong_list_type(tmp_path: Path) -> None:
    path = tmp_path / "string.json"
    path.write_text(
        '{"bomFormat": "CycloneDX", "packages": [], "components": "none"}', encoding="utf-8"
    )
    with pytest.raises(InputError, match="components: expected a list, found str"):
        read_sbom_document(path, strict=True)


@pytest.mark.parametrize(
    "name",
    [
        "Level of Support",
        "level of support",
        "fda:levelOfSupport",
        "cdx:fda:level-of-support",
        "FDA Level_of_Support",
    ],
)
def test_level_of_support_name_variants(name: str) -> None:
    component = {
        "type": "library",
        "name": "a",
        "properties": [{"name": name, "value": "Community"}],
    }
    document = parse_sbom_bytes(_cyclonedx([component]), source="v.json").document
    assert document.components[0].level_of_support == "Community"


@pytest.mark.parametrize(
    "name", ["End-of-Support", "end of support date", "fda:endOfSupportDate", "nemecys:eos-date"]
)
def test_end_of_support_name_variants(name: str) -> None:
    component = {"type": "library", "name": "a", "properties": [{"name": name, "value": "2030-01"}]}
    document = parse_sbom_bytes(_cyclonedx([component]), source="v.json").document
    assert document.components[0].end_of_support == "2030-01"


def test_unrelated_property_is_not_fda() -> None:
    component = {
        "type": "library",
        "name": "a",
        "properties": [{"name": "support-email", "value": "x@y"}],
    }
    document = parse_sbom_bytes(_cyclonedx([component]), source="v.json").document
    assert document.components[0].level_of_support is None
    assert document.components[0].end_of_support is None


def test_detection_ignores_file_extension(tmp_path: Path) -> None:
    path = tmp_path / "sbom.txt"
    path.write_bytes(XML_1_6)
    assert read_sbom_document(path).format == "CycloneDX"
    spdx = tmp_path / "bom.xml"
    spdx.write_text(
        "SPDXVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\nCreator: Tool: x\n"
        "Created: 2025-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    assert read_sbom_document(spdx).encoding == "tag-value"


def test_utf8_bom_is_accepted() -> None:
    document = parse_sbom_bytes(b"\xef\xbb\xbf" + _cyclonedx([]), source="bom.json").document
    assert document.components == ()


# --- SPDX 2 -------------------------------------------------------------------------------------


def test_syft_spdx_ubuntu() -> None:
    reading = read_sbom_file(shared("sbom/containers/syft-spdx-ubuntu.json"))
    document = reading.document
    assert (document.format, document.encoding, document.spec_version) == (
        "SPDX",
        "json",
        "SPDX-2.2",
    )
    assert len(document.components) == 101
    adduser = _by_name(document.components, "adduser")
    assert adduser.purl == "pkg:deb/ubuntu/adduser@3.118ubuntu5?arch=all&distro=ubuntu-22.04"
    assert adduser.cpe == "cpe:2.3:a:adduser:adduser:3.118ubuntu5:*:*:*:*:*:*:*"
    assert adduser.author == "Ubuntu Developers"
    assert adduser.licenses == ("GPL-2.0-only",)
    assert document.authors == ("Anchore, Inc",)
    assert document.tools == ("syft-0.57.0",)
    assert document.timestamp == "2022-10-05T17:43:17.625958Z"


@pytest.mark.parametrize(("name", "count"), [("eclipse-mosquitto", 20), ("openjdk", 112)])
def test_syft_spdx_counts(name: str, count: int) -> None:
    assert (
        len(read_sbom_document(shared(f"sbom/containers/syft-spdx-{name}.json")).components)
        == count
    )


def test_spdx23_dependency_and_subject() -> None:
    path = "sbom/spdx-examples/presentations/OSS-NA-2023/SPDXVersion2.3/03-SBOMwDependency.json"
    document = read_sbom_document(shared(path))
    assert document.subject is not None
    assert document.subject.name == "tools-java"
    assert document.subject.depends_on == ("SPDXRef-xlsx",)
    (xlsx,) = document.components
    assert xlsx.supplier == "Webjar"
    assert xlsx.purl == "pkg:maven/org.webjars.npm/xlsx@0.16.6"
    assert xlsx.hashes == (("SHA1", "8f2715fa4ea3619b08615aa8f57828a80e6eb703"),)


def test_spdx22_reverse_relationships() -> None:
    path = "sbom/spdx-examples/software/example9/spdx2.2/appbomination.spdx.json"
    document = read_sbom_document(shared(path))
    assert document.subject is not None
    # DEPENDENCY_OF, TEST_DEPENDENCY_OF and CONTAINED_BY point at the subject.
    assert len(document.subject.depends_on) >= 3


def test_tag_value_example1() -> None:
    document = read_sbom_document(
        shared("sbom/spdx-examples/software/example1/spdx2.2/example1.spdx")
    )
    assert (document.format, document.encoding, document.spec_version) == (
        "SPDX",
        "tag-value",
        "SPDX-2.2",
    )
    assert document.subject is not None
    assert document.subject.key == "SPDXRef-Package-hello"
    assert document.subject.licenses == ("GPL-3.0-or-later",)
    assert document.components == ()
    assert document.authors == ("Steve Winslow",)
    assert document.timestamp == "2021-08-26T01:46:00Z"


def test_tag_value_example6_lib_graph() -> None:
    document = read_sbom_document(
        shared("sbom/spdx-examples/software/example6/spdx2.2/example6-lib.spdx")
    )
    assert document.subject is not None
    assert document.subject.name == "go-1.15"
    assert document.subject.supplier == "Canonical Ltd."
    assert document.subject.author == "Google LLC"
    assert len(document.components) == 4
    assert set(document.subject.depends_on) == {c.key for c in document.components}


def test_tag_value_external_document_refs_warn() -> None:
    reading = read_sbom_file(
        shared("sbom/spdx-examples/software/example6/spdx2.2/example6-bin.spdx")
    )
    assert any("DocumentRef-" in warning for warning in reading.warnings)


TAG_VALUE = """\
SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: pump-firmware
DocumentNamespace: https://example.com/spdx/pump-firmware-1
Creator: Organization: Device Maker Inc. (sbom@example.com)
Creator: Tool: handmade
Created: 2025-01-31T12:00:00Z

PackageName: pump-firmware
SPDXID: SPDXRef-fw
PackageVersion: 3.1
PackageDownloadLocation: NOASSERTION

PackageName: wolfSSL
SPDXID: SPDXRef-wolfssl
PackageVersion: 4.8.1
PackageSupplier: Organization: wolfSSL Inc.
PackageChecksum: SHA256: ABC123
PackageLicenseConcluded: GPL-3.0-or-later
PackageLicenseDeclared: NOASSERTION
ExternalRef: PACKAGE-MANAGER purl pkg:github/wolfssl/wolfssl@v4.8.1
ExternalRef: SECURITY cpe23Type cpe:2.3:a:wolfssl:wolfssl:4.8.1:*:*:*:*:*:*:*
PrimaryPackagePurpose: FIRMWARE
ValidUntilDate: 2026-12-31T00:00:00Z
PackageComment: <text>Two lines
of comment</text>

FileName: ./lib/libwolfssl.a
SPDXID: SPDXRef-file
FileChecksum: SHA1: 0000000000000000000000000000000000000000

Annotator: Person: Reviewer
AnnotationDate: 2025-02-01T00:00:00Z
AnnotationType: REVIEW
SPDXREF: SPDXRef-wolfssl
AnnotationComment: <text>Level of Support: Vendor supported until 2026</text>

Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-fw
Relationship: SPDXRef-fw DEPENDS_ON SPDXRef-wolfssl
Relationship: SPDXRef-wolfssl CONTAINS SPDXRef-file
"""


def test_tag_value_fields() -> None:
    reading = parse_sbom_bytes(TAG_VALUE.encode(), source="fw.spdx")
    document = reading.document
    assert reading.warnings == ()
    assert document.subject is not None
    assert document.subject.depends_on == ("SPDXRef-wolfssl",)
    (wolfssl,) = document.components
    assert wolfssl.supplier == "wolfSSL Inc."
    assert wolfssl.hashes == (("SHA256", "abc123"),)
    assert wolfssl.licenses == ("GPL-3.0-or-later",)
    assert wolfssl.purl == "pkg:github/wolfssl/wolfssl@v4.8.1"
    assert wolfssl.type == "firmware"
    assert wolfssl.end_of_support == "2026-12-31T00:00:00Z"
    assert wolfssl.level_of_support == "Vendor supported until 2026"
    assert document.authors == ("Device Maker Inc.",)
    assert document.tools == ("handmade",)
    assert document.serial_number == "https://example.com/spdx/pump-firmware-1"


# --- SPDX 3 -------------------------------------------------------------------------------------


def test_spdx3_maven_example() -> None:
    path = "sbom/spdx-examples/software/example14/spdx3.0/examplemaven-0.0.1-enriched.spdx3.json"
    document = read_sbom_document(shared(path))
    assert (document.format, document.encoding, document.spec_version) == (
        "SPDX",
        "json-ld",
        "3.0.1",
    )
    assert document.subject is not None
    assert document.subject.name == "examplemaven"
    assert document.subject.supplier == "SPDX"
    assert document.subject.licenses == ("Apache-2.0",)
    assert len(document.components) == 5
    junit = _by_name(document.components, "JUnit")
    assert junit.version == "3.8.1"
    assert junit.key in document.subject.depends_on
    assert document.authors == ("Gary O'Neall",)
    assert document.tools == ("spdx-maven-plugin", "Parlay")


def test_spdx3_ai_packages_are_components() -> None:
    document = read_sbom_document(
        shared("sbom/spdx-examples/ai/example01/spdx3.0/simplehtr-example.json")
    )
    types = Counter(c.type for c in document.components)
    assert len(document.components) == 12
    assert types["machine-learning-model"] == 2  # ai_AIPackage
    assert types["data"] == 1  # dataset_DatasetPackage
    assert document.subject is not None
    assert document.subject.name == "SimpleHTR"


def test_spdx3_native_support_fields() -> None:
    graph = {
        "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
        "@graph": [
            {
                "@id": "_:c",
                "type": "CreationInfo",
                "specVersion": "3.0.1",
                "created": "2025-01-01T00:00:00Z",
                "createdBy": ["urn:maker"],
            },
            {"spdxId": "urn:maker", "type": "Organization", "name": "Maker", "creationInfo": "_:c"},
            {
                "spdxId": "urn:pkg",
                "type": "software_Package",
                "name": "openssl",
                "software_packageVersion": "1.1.1w",
                "supportLevel": ["endOfSupport"],
                "validUntilTime": "2023-09-11T00:00:00Z",
                "externalIdentifier": [
                    {
                        "type": "ExternalIdentifier",
                        "externalIdentifierType": "cpe23",
                        "identifier": "cpe:2.3:a:openssl:openssl:1.1.1w:*:*:*:*:*:*:*",
                    }
                ],
                "verifiedUsing": [{"type": "Hash", "algorithm": "sha256", "hashValue": "AB"}],
                "creationInfo": "_:c",
            },
        ],
    }
    document = parse_sbom_bytes(json.dumps(graph).encode(), source="x.spdx3.json").document
    (openssl,) = document.components
    assert openssl.level_of_support == "endOfSupport"
    assert openssl.end_of_support == "2023-09-11T00:00:00Z"
    assert openssl.cpe == "cpe:2.3:a:openssl:openssl:1.1.1w:*:*:*:*:*:*:*"
    assert openssl.hashes == (("sha256", "ab"),)
    assert document.authors == ("Maker",)


# --- the assess summary -------------------------------------------------------------------------


def test_read_sbom_summary_accepts_spdx() -> None:
    summary = read_sbom(shared("sbom/containers/syft-spdx-eclipse-mosquitto.json"), "broker")
    assert summary.format == "SPDX JSON"
    assert summary.spec_version == "2.2"
    assert len(summary.components) == 20


def test_read_sbom_summary_nightscout() -> None:
    summary = read_sbom(shared("sbom/nightscout-14.2.6.cdx.json"), "nightscout-server")
    assert summary.format == "CycloneDX JSON"
    assert summary.spec_version == "1.6"
    assert len(summary.components) == 1627
    assert any(c.name == "@babel/core" and c.version == "7.11.4" for c in summary.components)
