"""Unreadable and hostile SBOMs: each gives an InputError that names the file, place and fix."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nemecys.errors import InputError
from nemecys.sbom.quality import check_quality
from nemecys.sbom.readers import parse_sbom_bytes, read_sbom_document, read_sbom_file

from .conftest import shared


def _error(content: bytes, source: str = "bad.json") -> str:
    with pytest.raises(InputError) as caught:
        parse_sbom_bytes(content, source=source)
    message = caught.value.diagnostics()
    assert source in message, "the message must name the file"
    assert "hint:" in message, "the message must say what to do"
    return message


def test_truncated_json_names_line_and_column() -> None:
    content = b'{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.6",\n  "components": [\n    {"name": "a"'
    message = _error(content)
    assert "not valid JSON" in message
    assert "bad.json:5:" in message


def test_truncated_real_sbom(tmp_path: Path) -> None:
    source = shared("sbom/medical-device/narrow.sbom.json")
    data = source.read_bytes()
    path = tmp_path / "narrow.json"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="not valid JSON"):
        read_sbom_document(path)


@pytest.mark.parametrize("content", [b"[1, 2]", b"  [ ]", b'[{"bomFormat": "CycloneDX"}]'])
def test_top_level_array_is_rejected(content: bytes) -> None:
    assert "top-level JSON value is an array, expected an object" in _error(content)


def test_bare_json_string_is_not_an_sbom() -> None:
    # Only content starting with { or [ is read as JSON; anything else must be tag-value.
    assert "not a recognised SBOM" in _error(b'"CycloneDX"')


def test_json_object_of_unknown_kind() -> None:
    message = _error(b'{"name": "x", "packages": []}')
    assert "no bomFormat (CycloneDX), spdxVersion (SPDX 2) or SPDX 3 @context" in message
    assert "top-level keys: name, packages" in message


def test_wrong_bom_format() -> None:
    message = _error(b'{"bomFormat": "SPDX", "specVersion": "1.6"}')
    assert "bomFormat is 'SPDX', expected 'CycloneDX'" in message


def test_spdx_without_creation_info() -> None:
    message = _error(b'{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}')
    assert "SPDX document has no creationInfo" in message


def test_deeply_nested_json_is_rejected() -> None:
    content = b'{"bomFormat": "CycloneDX", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    message = _error(content)
    assert "nested too deeply" in message


def test_deeply_nested_components_are_rejected() -> None:
    component: dict[str, object] = {"name": "leaf"}
    for depth in range(150):
        component = {"name": f"level-{depth}", "components": [component]}
    content = json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [component]}
    )
    message = _error(content.encode())
    assert "nested more than 100 levels" in message


def test_huge_json_number_is_rejected() -> None:
    message = _error(b'{"bomFormat": "CycloneDX", "version": ' + b"7" * 5000 + b"}")
    assert "invalid JSON number" in message


def test_infinite_number_is_not_a_name() -> None:
    content = b'{"bomFormat": "CycloneDX", "components": [{"name": 1e999}, {"name": NaN}]}'
    reading = parse_sbom_bytes(content, source="inf.json")
    assert [c.name for c in reading.document.components] == ["", ""]
    assert any("expected text, found float" in warning for warning in reading.warnings)


def test_empty_and_binary_content() -> None:
    assert "file is empty" in _error(b"  \n")
    assert "not valid UTF-8" in _error(b"{\xff\xfe}")
    assert "not a recognised SBOM" in _error(b"\x00\x01binary")


# --- XML ----------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE bom [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <components><component type="library"><name>&lol9;</name></component></components>
</bom>
"""


def test_billion_laughs_is_rejected_unexpanded() -> None:
    message = _error(BILLION_LAUGHS, source="laughs.xml")
    assert "XML declares a DTD or entities" in message
    assert "remove the <!DOCTYPE> declaration" in message


def test_external_entity_file_is_rejected(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    content = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6">'
        '<components><component type="library"><name>&xxe;</name></component></components></bom>'
    ).encode()
    message = _error(content, source="xxe.xml")
    assert "XML declares a DTD or entities" in message
    assert "TOP-SECRET-VALUE" not in message


@pytest.fixture
def loopback_listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that records whether anything connects to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    received: list[bytes] = []

    def accept() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            received.append(connection.recv(1024))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/bom.dtd", received
    thread.join(timeout=1)
    server.close()


def test_external_dtd_is_not_fetched(loopback_listener: tuple[str, list[bytes]]) -> None:
    url, received = loopback_listener
    content = (
        f'<?xml version="1.0"?>\n<!DOCTYPE bom SYSTEM "{url}">\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components/></bom>'
    ).encode()
    message = _error(content, source="dtd.xml")
    assert "XML declares a DTD or entities" in message
    assert received == [], "the reader must not fetch the DTD"


def test_malformed_xml_names_line() -> None:
    content = b'<?xml version="1.0"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.6">\n<components>\n</bom>'
    message = _error(content, source="broken.xml")
    assert "not well-formed XML: mismatched tag" in message
    assert "broken.xml:4:" in message


def test_xml_that_is_not_cyclonedx() -> None:
    message = _error(b'<?xml version="1.0"?><project><name>x</name></project>', source="pom.xml")
    assert "XML root element is 'project', not a CycloneDX bom" in message


def test_spdx_rdf_is_named_as_unsupported() -> None:
    content = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>'
    message = _error(content, source="doc.rdf.xml")
    assert "SPDX RDF/XML is not supported" in message
    assert "pyspdxtools" in message


# --- SPDX tag-value -----------------------------------------------------------------------------

TAG_VALUE_HEAD = "SPDXVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\nCreator: Tool: t\nCreated: 2025-01-01T00:00:00Z\n"


def test_tag_value_broken_line() -> None:
    content = TAG_VALUE_HEAD + "PackageName: a\nthis line has no tag\nSPDXID: SPDXRef-a\n"
    message = _error(content.encode(), source="broken.spdx")
    assert "broken.spdx:6" in message
    assert "line is not 'Tag: value': 'this line has no tag'" in message


def test_tag_value_unclosed_text_block() -> None:
    content = TAG_VALUE_HEAD + "PackageName: a\nPackageComment: <text>starts here\nand never ends\n"
    message = _error(content.encode(), source="open.spdx")
    assert "<text> block of tag PackageComment is not closed" in message
    assert "open.spdx:6:1" in message


def test_real_tag_value_with_a_broken_line(tmp_path: Path) -> None:
    lines = (
        shared("sbom/spdx-examples/software/example1/spdx2.2/example1.spdx")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    lines.insert(12, "PackageVersion 1.0")  # colon missing
    path = tmp_path / "example1.spdx"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match=r"example1\.spdx:13"):
        read_sbom_document(path)


# --- hostile sizes -----------------------------------------------------------------------------


def test_long_values_stay_linear() -> None:
    # Each input would take minutes if a regex or a string build were quadratic.
    started = time.perf_counter()
    name = "lib " + "1" + ".1" * 200_000 + "!"
    document = parse_sbom_bytes(
        json.dumps({"bomFormat": "CycloneDX", "components": [{"name": name}]}).encode(), source="n"
    ).document
    check_quality(document)
    creator = "Person: a" + " " * 2_000_000 + "b"
    spdx = {
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "creationInfo": {"creators": [creator]},
    }
    parse_sbom_bytes(json.dumps(spdx).encode(), source="c")
    with pytest.raises(InputError):
        parse_sbom_bytes(b"x" + b"\n " * 3_000_000, source="w")
    with pytest.raises(InputError):
        parse_sbom_bytes(
            b"SPDXVersion: SPDX-2.3\nPackageComment: <text>" + b"a\n" * 500_000, source="t"
        )
    assert time.perf_counter() - started < 20


# --- files --------------------------------------------------------------------------------------


def test_oversized_file_is_rejected_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b'{"bomFormat": "CycloneDX", "components": []}' + b" " * 5000)
    with pytest.raises(InputError, match="above the limit of 4,096 bytes"):
        read_sbom_file(path, max_bytes=4096)
    assert read_sbom_file(path, max_bytes=10_000).document.components == ()


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="SBOM file not found"):
        read_sbom_document(tmp_path / "absent.json")
    with pytest.raises(InputError, match="path is a folder"):
        read_sbom_document(tmp_path)
