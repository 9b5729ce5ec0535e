"""Scans of real SBOMs against the real PyPI advisory database and the CISA medical CSAF advisories.

The expected findings of the Python clinical applications are computed here independently of
the matcher: a component is affected by a PYSEC record exactly when its version appears in
the record's enumerated `versions` list under the PEP 503 normalised package name.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from packaging.version import InvalidVersion, Version

from nemecys.feeds.csaf import parse_csaf
from nemecys.feeds.osv import parse_osv
from nemecys.sbom import read_sbom_document
from nemecys.vulns.devices import match_devices, read_device_list
from nemecys.vulns.findings import MatchedBy
from nemecys.vulns.match import scan_document
from nemecys.vulns.store import MemoryStore

from .conftest import shared
from .vulns_support import load_osv_records

pytestmark = pytest.mark.shared_data


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=1)
def _pypi_records(folder: Path) -> tuple[dict[str, Any], ...]:
    return tuple(load_osv_records(folder))


def _pypi_store(folder: Path) -> MemoryStore:
    return MemoryStore(parse_osv(record, record["id"]) for record in _pypi_records(folder))


def _expected(sbom: Path, folder: Path) -> set[tuple[str, str]]:
    expected: set[tuple[str, str]] = set()
    document = read_sbom_document(sbom)
    for record in _pypi_records(folder):
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected", []):
            package = affected.get("package", {})
            if package.get("ecosystem") != "PyPI":
                continue
            listed = {str(v) for v in affected.get("versions", [])}
            for component in document.components:
                if not component.version or _pep503(component.name) != _pep503(package["name"]):
                    continue
                if component.version in listed:
                    expected.add((component.key, record["id"]))
    return expected


def _in_record_ranges(version: str, record: dict[str, Any]) -> bool:
    """Evaluate a record's ECOSYSTEM ranges with PEP 440, independently of the matcher."""
    try:
        have = Version(version)
    except InvalidVersion:
        return False
    for affected in record.get("affected", []):
        for range_ in affected.get("ranges", []):
            if range_["type"] != "ECOSYSTEM":
                continue
            inside = False
            points: list[tuple[Version, str]] = []
            for event in range_["events"]:
                ((kind, value),) = event.items()
                if kind == "introduced" and str(value) == "0":
                    inside = True
                    continue
                points.append((Version(str(value)), kind))
            for point, kind in sorted(points, key=lambda p: p[0]):
                if kind == "introduced" and point <= have:
                    inside = True
                elif kind == "fixed" and point <= have or kind == "last_affected" and point < have:
                    inside = False
            if inside:
                return True
    return False


@pytest.mark.parametrize("name", ["openrem-1.0.0b2.cdx.json", "aphp-sphere.cdx.json"])
def test_python_sbom_matches_enumerations(name: str) -> None:
    sbom = shared(f"sbom/python/{name}")
    folder = shared("vulndb/osv-pypi/vulns")
    expected = _expected(sbom, folder)
    result = scan_document(read_sbom_document(sbom), _pypi_store(folder))
    found = {(f.component_key, advisory) for f in result.findings for advisory in f.advisory_ids}
    assert found == expected
    assert all(f.matched_by is MatchedBy.PURL for f in result.findings)


@pytest.mark.parametrize("name", ["openrem-1.0.0b2.cdx.json", "aphp-sphere.cdx.json"])
def test_python_sbom_findings_inside_ranges(name: str) -> None:
    sbom = shared(f"sbom/python/{name}")
    folder = shared("vulndb/osv-pypi/vulns")
    records = {r["id"]: r for r in _pypi_records(folder)}
    result = scan_document(read_sbom_document(sbom), _pypi_store(folder))
    assert result.findings
    for finding in result.findings:
        assert finding.component_version is not None
        for advisory in finding.advisory_ids:
            assert _in_record_ranges(finding.component_version, records[advisory]), (
                f"{advisory} reported for {finding.component_name} {finding.component_version}"
            )


def test_openrem_unversioned_django_listed() -> None:
    sbom = shared("sbom/python/openrem-1.0.0b2.cdx.json")
    result = scan_document(read_sbom_document(sbom), _pypi_store(shared("vulndb/osv-pypi/vulns")))
    assert result.unversioned == ("requirements-L1",)


def test_nightscout_scans_cleanly() -> None:
    sbom = shared("sbom/nightscout-14.2.6.cdx.json")
    document = read_sbom_document(sbom)
    assert len(document.components) == 1627
    npm_malware = parse_osv(
        {
            "id": "TEST-NPM-1",
            "modified": "2024-01-01T00:00:00Z",
            "aliases": ["CVE-2099-1"],
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": "minimist"},
                    "ranges": [
                        {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.6"}]}
                    ],
                }
            ],
        },
        "test",
    )
    folder = shared("vulndb/osv-pypi/vulns")
    store = MemoryStore([*(parse_osv(r, r["id"]) for r in _pypi_records(folder)), npm_malware])
    result = scan_document(document, store)
    assert result.findings
    assert {f.matched_by for f in result.findings} == {MatchedBy.PURL}
    assert all(f.matched_cpe is None for f in result.findings)
    assert all((f.component_purl or "").startswith("pkg:npm/") for f in result.findings)
    assert {f.vulnerability_id for f in result.findings} == {"CVE-2099-1"}
    versions = {f.component_version for f in result.findings}
    assert all(Version(v) < Version("1.2.6") for v in versions if v)
    assert result.unidentified == ()


DEVICES_CSV = """\
id,vendor,product,version,model,location
pump-7,Medtronic,MiniMed 630G,,MMT-1715,ward 3
fft-ws,Santesoft,Sante FFT Imaging,1.4.0,,radiology
fft-new,Santesoft,Sante FFT Imaging,1.4.2,,radiology
app-1,Medtronic plc,Micro Clinician,A51200,,clinic
infusion-9,Unrelated Medical,Alaris 8015 PC Unit,9.33,,ward 1
"""


def _csaf_store() -> MemoryStore:
    folder = shared("vulndb/csaf-medical/icsma")
    advisories = []
    for path in sorted(folder.rglob("*.json")):
        advisories.extend(parse_csaf(json.loads(path.read_bytes()), str(path)))
    return MemoryStore(advisories)


def test_device_list_against_icsma(tmp_path: Path) -> None:
    devices_file = tmp_path / "devices.csv"
    devices_file.write_text(DEVICES_CSV, encoding="utf-8")
    result = match_devices(read_device_list(devices_file), _csaf_store(), source=str(devices_file))
    by_device: dict[str, list[Any]] = {}
    for finding in result.findings:
        by_device.setdefault(finding.component_key, []).append(finding)

    pump = {f.vulnerability_id: f for f in by_device["pump-7"]}
    assert "CVE-2022-32537" in pump
    assert any(a.startswith("ICSMA-22-263-01") for a in pump["CVE-2022-32537"].advisory_ids)
    assert "remote bolus" in (pump["CVE-2022-32537"].remediation or "")
    assert pump["CVE-2022-32537"].state == "affected"

    fft = {f.vulnerability_id: f for f in by_device["fft-ws"]}
    assert "CVE-2024-1696" in fft
    assert any(a.startswith("ICSMA-24-065-01") for a in fft["CVE-2024-1696"].advisory_ids)
    assert "v1.4.2 or later" in (fft["CVE-2024-1696"].remediation or "")
    assert "fft-new" not in by_device

    app = {f.vulnerability_id: f for f in by_device["app-1"]}
    assert "CVE-2023-25931" in app
    assert "app update is available" in (app["CVE-2023-25931"].remediation or "")

    assert "infusion-9" not in by_device
    assert all(f.matched_by is MatchedBy.CSAF for f in result.findings)
