"""Fuzzing the SBOM readers: any bytes give a document or an InputError, never another exception.

Three sources of input: random bytes, real SBOMs with random edits, and well-formed JSON whose
SBOM fields hold random JSON values (which reaches the field handling that random bytes rarely
get past the JSON parser to). Every document that reads is also put through the quality check.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemecys.errors import InputError
from nemecys.sbom.quality import check_quality
from nemecys.sbom.readers import parse_sbom_bytes

from .conftest import SHARED_DATA

_SEEDS = [
    "sbom/medical-device/narrow.sbom.json",
    "sbom/cyclonedx-examples/VEX/bom.json",
    "sbom/spdx-examples/software/example1/spdx2.2/example1.spdx",
    "sbom/spdx-examples/software/example6/spdx2.2/example6-lib.spdx",
    "sbom/spdx-examples/presentations/OSS-NA-2023/SPDXVersion2.3/03-SBOMwDependency.json",
    "sbom/spdx-examples/software/example11/spdx3.0/sbom.spdx3.json",
]

_XML_SEED = b"""<?xml version="1.0"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1">
  <metadata><timestamp>2025-01-01T00:00:00Z</timestamp>
    <component type="device" bom-ref="d"><name>pump</name></component></metadata>
  <components>
    <component type="firmware" bom-ref="f"><name>rtos</name><version>1</version>
      <properties><property name="Level of Support">LTS</property></properties>
      <components><component type="library" bom-ref="n"><name>tcp</name></component></components>
    </component>
  </components>
  <dependencies><dependency ref="d"><dependency ref="f"/></dependency></dependencies>
</bom>
"""

_FRAGMENTS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b",",
    b":",
    b"null",
    b"<",
    b">",
    b"</",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"&a;",
    b"<text>",
    b"</text>",
    b"\n",
    b"SPDXID: ",
    b"PackageName: x\n",
    b"Relationship: A DEPENDS_ON B\n",
    b'"components": ',
    b'"bom-ref": 1',
    b'"dependsOn": {}',
    b'"@graph": 5',
    b"\xff",
    b"9" * 4400,
    b"1e999",
    b"NaN",
    b"\x00",
    "é".encode(),
]


def _seeds() -> list[bytes]:
    seeds = [_XML_SEED]
    seeds.extend(
        (SHARED_DATA / relative).read_bytes()
        for relative in _SEEDS
        if (SHARED_DATA / relative).exists()
    )
    return seeds


def _check(data: bytes) -> None:
    try:
        reading = parse_sbom_bytes(data, source="fuzz")
    except InputError as exc:
        assert exc.diagnostics().startswith("fuzz"), "the message must name the input"
        return
    report = check_quality(
        reading.document, today=date(2026, 1, 1), reader_warnings=reading.warnings
    )
    assert 0.0 <= report.score <= 100.0
    keys = [component.key for component in reading.document.components]
    assert len(keys) == len(set(keys)), "component keys must be unique"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map(b"".join))
def test_random_fragments(data: bytes) -> None:
    _check(data)


@st.composite
def _mutated_seed(draw: st.DrawFn) -> bytes:
    seeds = _seeds()
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
        if operation == "delete":
            length = draw(st.integers(min_value=1, max_value=64))
            del data[position : position + length]
        elif operation == "insert":
            data[position:position] = draw(st.sampled_from(_FRAGMENTS))
        elif operation == "replace" and data:
            data[position] = draw(st.integers(min_value=0, max_value=255))
        else:
            del data[position:]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_seed())
def test_mutated_real_files(data: bytes) -> None:
    _check(data)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_COMPONENT = st.fixed_dictionaries(
    {},
    optional={
        key: _JSON | st.text(max_size=20)
        for key in ("name", "version", "bom-ref", "purl", "cpe", "type", "publisher", "group")
    }
    | {
        "properties": st.lists(st.fixed_dictionaries({"name": _JSON, "value": _JSON}), max_size=3)
        | _JSON,
        "supplier": st.fixed_dictionaries({"name": _JSON}) | _JSON,
        "licenses": st.lists(st.fixed_dictionaries({"license": _JSON}) | _JSON, max_size=3),
        "hashes": st.lists(st.fixed_dictionaries({"alg": _JSON, "content": _JSON}), max_size=2),
        "components": st.lists(_JSON, max_size=2),
        "swid": _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(
    components=st.lists(_COMPONENT | _JSON, max_size=6) | _JSON,
    dependencies=st.lists(st.fixed_dictionaries({"ref": _JSON, "dependsOn": _JSON}), max_size=4)
    | _JSON,
    metadata=_JSON,
)
def test_cyclonedx_fields_hold_any_json(components: Any, dependencies: Any, metadata: Any) -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": metadata,
        "components": components,
        "dependencies": dependencies,
    }
    _check(json.dumps(document).encode())


@settings(max_examples=300, deadline=None)
@given(packages=_JSON, relationships=_JSON, creators=_JSON, described=_JSON)
def test_spdx2_fields_hold_any_json(
    packages: Any, relationships: Any, creators: Any, described: Any
) -> None:
    document = {
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "creationInfo": {"creators": creators, "created": "2025-01-01T00:00:00Z"},
        "packages": packages,
        "relationships": relationships,
        "documentDescribes": described,
    }
    _check(json.dumps(document).encode())


@settings(max_examples=300, deadline=None)
@given(
    graph=st.lists(
        _JSON
        | st.fixed_dictionaries(
            {
                "type": st.sampled_from(
                    ["software_Package", "Relationship", "SpdxDocument", "CreationInfo"]
                )
            },
            optional={
                "spdxId": _JSON,
                "name": _JSON,
                "from": _JSON,
                "to": _JSON,
                "relationshipType": st.sampled_from(
                    ["dependsOn", "contains", "hasDeclaredLicense"]
                ),
                "rootElement": _JSON,
                "suppliedBy": _JSON,
                "verifiedUsing": _JSON,
                "supportLevel": _JSON,
            },
        ),
        max_size=8,
    )
)
def test_spdx3_graph_holds_any_json(graph: list[Any]) -> None:
    document = {"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": graph}
    _check(json.dumps(document).encode())


def test_seeds_read_cleanly() -> None:
    seeds = _seeds()
    if len(seeds) == 1:
        pytest.skip(f"{SHARED_DATA} not found: only the built-in XML seed is fuzzed")
    for seed in seeds:
        parse_sbom_bytes(seed, source="seed")


def test_fuzz_seed_paths_exist_together() -> None:
    present = [relative for relative in _SEEDS if (SHARED_DATA / relative).exists()]
    if not present:
        pytest.skip(f"{SHARED_DATA} not found")
    assert present == _SEEDS, "a seed file moved; update _SEEDS"
