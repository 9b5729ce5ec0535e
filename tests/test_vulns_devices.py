"""CPE parsing and guards, CSAF product version texts, and reading operator device lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nemecys.errors import InputError
from nemecys.vulns.cpe import identity_matches, parse_cpe, version_of
from nemecys.vulns.devices import Device, Verdict, match_devices, read_device_list, version_verdict
from nemecys.vulns.model import Advisory, AffectedPackage
from nemecys.vulns.store import MemoryStore


def test_cpe_parse_quoting_and_uri() -> None:
    cpe = parse_cpe(r"cpe:2.3:a:acme:big\:widget:1.0:rc1:*:*:*:node.js:*:*")
    assert cpe.product == "big:widget"
    assert cpe.target_sw == "node.js"
    assert version_of(cpe) == "1.0-rc1"
    old = parse_cpe("cpe:/a:Apache:HTTP_Server:2.4.1")
    assert (old.vendor, old.product, old.version) == ("apache", "http_server", "2.4.1")
    assert (
        str(parse_cpe("cpe:2.3:a:acme:w:1.0:*:*:*:*:*:*:*")) == "cpe:2.3:a:acme:w:1.0:*:*:*:*:*:*:*"
    )
    with pytest.raises(ValueError, match="11 attributes"):
        parse_cpe("cpe:2.3:a:acme")
    with pytest.raises(ValueError, match="vendor and product"):
        parse_cpe("cpe:2.3:a:*:widget:*:*:*:*:*:*:*:*")


def test_cpe_identity_guards() -> None:
    component = parse_cpe("cpe:2.3:a:acme:widget:1.0:*:*:*:*:*:*:*")
    assert identity_matches(component, parse_cpe("cpe:2.3:a:acme:widget:*:*:*:*:*:*:*:*"))
    assert not identity_matches(component, parse_cpe("cpe:2.3:a:other:widget:*:*:*:*:*:*:*:*"))
    assert not identity_matches(component, parse_cpe("cpe:2.3:o:acme:widget:*:*:*:*:*:*:*:*"))
    node = parse_cpe("cpe:2.3:a:acme:widget:1.0:*:*:*:*:node.js:*:*")
    assert not identity_matches(node, parse_cpe("cpe:2.3:a:acme:widget:*:*:*:*:*:java:*:*"))
    assert identity_matches(node, parse_cpe("cpe:2.3:a:acme:widget:*:*:*:*:*:node.js:*:*"))


@pytest.mark.parametrize(
    ("text", "version", "model", "expected"),
    [
        ("vers:all/*", "1.0", None, Verdict.YES),
        (None, "1.0", None, Verdict.YES),
        ("<= 1.4.1", "1.4.0", None, Verdict.YES),
        ("<= 1.4.1", "1.4.2", None, Verdict.NO),
        ("<=1.4.1", "1.4.1", None, Verdict.YES),
        ("< 8.2.2", "8.2.2", None, Verdict.NO),
        (">= 1.0.0 | <= 1.3.1", "1.2", None, Verdict.YES),
        (">= 1.0.0 | <= 1.3.1", "1.4", None, Verdict.NO),
        (">=BT02 | <= BT06", "BT04", None, Verdict.YES),
        ("9.13 | 9.19 | 9.33 | 12.1", "9.19", None, Verdict.YES),
        ("9.13 | 9.19 | 9.33 | 12.1", "9.20", None, Verdict.NO),
        ("2.X", "2.7.1", None, Verdict.YES),
        ("14.1.x", "14.2.0", None, Verdict.NO),
        ("2.3.6 and  below", "2.3.5", None, Verdict.YES),
        ("MMT-1715 | MMT-1754 | MMT-1755", None, "MMT-1754", Verdict.YES),
        ("MMT-1715 | MMT-1754 | MMT-1755", "1.0", "MMT-1710", Verdict.NO),
        ("with wireless option (shipped between 2016-August 2018)", "1.0", None, Verdict.UNKNOWN),
        ("< august 28", "1.0", None, Verdict.UNKNOWN),
        ("<= 1.4.1", None, None, Verdict.UNKNOWN),
        ("vers:generic/>=1.0|<2.0", "1.5", None, Verdict.YES),
        ("vers:generic/>=1.0|<2.0", "2.5", None, Verdict.NO),
    ],
)
def test_csaf_version_text(
    text: str | None, version: str | None, model: str | None, expected: Verdict
) -> None:
    assert version_verdict(text, version, model) is expected


def csaf(
    vendor: str,
    product: str,
    version: str | None,
    status: str = "known_affected",
    remediation: str = "Update.",
) -> AffectedPackage:
    return AffectedPackage(
        vendor=vendor,
        product=product,
        product_version=version,
        status=status,
        remediation=remediation,
    )


def test_vendor_alias_and_product_words() -> None:
    advisory = Advisory(
        id="ICSMA-X/CVE-1",
        source="csaf",
        aliases=("CVE-1",),
        affected=(csaf("Becton, Dickinson and Company (BD)", "Alaris PC Unit", "<= 9.33"),),
    )
    store = MemoryStore([advisory])
    devices = [
        Device("a", "BD", "Alaris 8015 PC Unit", "9.19"),
        Device("b", "Becton Dickinson", "Alaris PC Unit", "9.33"),
        Device("c", "BD", "Alaris PC Unit", "9.34"),
        Device("d", "Baxter", "Alaris PC Unit", "9.19"),
        Device("e", "BD", "Alaris", "9.19"),
    ]
    found = {f.component_key for f in match_devices(devices, store).findings}
    assert found == {"a", "b"}


def test_fixed_entry_overrides_vague_affected() -> None:
    advisory = Advisory(
        id="ICSMA-Y/CVE-2",
        source="csaf",
        aliases=("CVE-2",),
        affected=(
            csaf("Acme", "Pump", "vers:all/*"),
            csaf("Acme", "Pump", "3.1", status="fixed"),
        ),
    )
    store = MemoryStore([advisory])
    result = match_devices(
        [Device("old", "Acme", "Pump", "2.0"), Device("new", "Acme", "Pump", "3.1")], store
    )
    assert {f.component_key for f in result.findings} == {"old"}
    assert result.findings[0].remediation == "Update."


def test_unevaluated_version_text_is_in_triage() -> None:
    advisory = Advisory(
        id="ICSMA-Z/CVE-3",
        source="csaf",
        aliases=("CVE-3",),
        affected=(csaf("Acme", "Monitor", "distributed < april 1, 2018"),),
    )
    result = match_devices([Device("m", "Acme", "Monitor", "5.0")], MemoryStore([advisory]))
    assert [f.state for f in result.findings] == ["in_triage"]
    assert "april" in result.findings[0].affected_range


def test_read_device_list_csv_and_yaml(tmp_path: Path) -> None:
    csv_file = tmp_path / "devices.csv"
    csv_file.write_text(
        "Asset ID,Manufacturer,Product,Firmware Version\nx1,Acme,Pump,1.0\n", encoding="utf-8"
    )
    assert read_device_list(csv_file) == [Device("x1", "Acme", "Pump", "1.0")]
    yaml_file = tmp_path / "devices.yaml"
    yaml_file.write_text(
        "devices:\n  - {vendor: Acme, product: Pump, version: '1.10', model: P-1}\n",
        encoding="utf-8",
    )
    assert read_device_list(yaml_file) == [Device("device-1", "Acme", "Pump", "1.10", "P-1")]


def test_read_device_list_errors(tmp_path: Path) -> None:
    missing = tmp_path / "devices.csv"
    missing.write_text("vendor,version\nAcme,1.0\n", encoding="utf-8")
    with pytest.raises(InputError, match="the header has no 'product' column"):
        read_device_list(missing)
    with pytest.raises(InputError, match="not found"):
        read_device_list(tmp_path / "absent.csv")
    text = tmp_path / "devices.txt"
    text.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="unknown format"):
        read_device_list(text)
    bad = tmp_path / "devices.yaml"
    bad.write_text("just: text\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected a list of devices"):
        read_device_list(bad)


def test_csv_unclosed_quote_located(tmp_path: Path) -> None:
    path = tmp_path / "devices.csv"
    path.write_text('vendor,product,version\nAcme,Pump,1.0\nAcme,"Monitor,2.0\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_device_list(path)
    message = str(caught.value)
    assert f"{path}:3: the device list is not valid CSV" in message
    assert "quoted field starting on this line is never closed" in message
    assert 'value: Acme,"Monitor,2.0' in message
    assert "hint: close the quote" in message


def test_csv_missing_version_column(tmp_path: Path) -> None:
    path = tmp_path / "devices.csv"
    path.write_text("Manufacturer,Product,Serial\nAcme,Pump,123\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_device_list(path)
    message = str(caught.value)
    assert f"{path}:1: the header has no 'version' column" in message
    assert "columns found: Manufacturer, Product, Serial" in message
    assert "expected: vendor (or manufacturer), product (or model_name), version" in message


def test_csv_extra_fields_rejected(tmp_path: Path) -> None:
    path = tmp_path / "devices.csv"
    path.write_text("vendor,product,version\nAcme,Pump,1,0\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"devices.csv:2: the row has 4 fields, the header 3"):
        read_device_list(path)


def test_missing_vendor_located(tmp_path: Path) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text(
        "devices:\n  - {vendor: Acme, product: Pump, version: '1'}\n  - product: Monitor\n"
        "    version: '2'\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        read_device_list(path)
    message = str(caught.value)
    assert f"{path}:3: device 2: 'vendor' is missing" in message
    assert "value: product: Monitor, version: 2" in message


def test_yaml_error_has_position(tmp_path: Path) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text(
        "devices:\n  - vendor: Acme\n    product: [Pump\n    version: '1'\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        read_device_list(path)
    message = str(caught.value)
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: the device list is not valid YAML", message)
    assert "hint: check the indentation and quoting" in message
    assert "line " not in message.splitlines()[0]  # no raw PyYAML position text


def test_unversioned_device_matched_as_worst_case(tmp_path: Path) -> None:
    path = tmp_path / "devices.csv"
    path.write_text(
        "id,vendor,product,version\np1,Acme,Pump,\np2,Acme,Pump,2.0\n", encoding="utf-8"
    )
    devices = read_device_list(path)
    assert devices[0] == Device("p1", "Acme", "Pump", None)
    advisory = Advisory(
        id="ICSMA-V/CVE-9",
        source="csaf",
        aliases=("CVE-9",),
        affected=(csaf("Acme", "Pump", "vers:all/*"),),
    )
    result = match_devices(devices, MemoryStore([advisory]))
    # An unknown version resolves to the worse case: possibly affected, and listed so the
    # operator can supply the version.
    assert result.unversioned == ("p1",)
    assert sorted(f.component_key for f in result.findings) == ["p1", "p2"]
