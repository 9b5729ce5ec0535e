"""SBOM quality: NTIA minimum elements, FDA support fields, the score and `nemecys sbom quality`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nemecys.cli import app
from nemecys.sbom.fda import (
    SupportState,
    classify_end_of_support,
    classify_level_of_support,
    parse_support_date,
    support_field,
)
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.sbom.quality import Element, QualityReport, check_quality
from nemecys.sbom.readers import read_sbom_file

from .conftest import shared

runner = CliRunner()
TODAY = date(2026, 12, 4)


def _coverage(report: QualityReport) -> dict[Element, tuple[int, int]]:
    return {item.element: (item.present, item.total) for item in report.elements}


def _fix(report: QualityReport, code: str) -> tuple[int, str]:
    (item,) = [fix for fix in report.fixes if fix.code == code]
    return item.count, item.action


def _quality(path: str) -> QualityReport:
    reading = read_sbom_file(shared(path))
    return check_quality(reading.document, today=TODAY, reader_warnings=reading.warnings)


# --- the two real device SBOMs ------------------------------------------------------------------


def test_extended_device_sbom_report() -> None:
    report = _quality("sbom/medical-device/extended.sbom.json")
    coverage = _coverage(report)
    assert report.component_count == 65
    assert coverage[Element.SUPPLIER] == (65, 65)
    assert coverage[Element.VERSION] == (59, 65)  # six hardware components have no version
    assert coverage[Element.UNIQUE_IDENTIFIER] == (65, 65)
    assert coverage[Element.DEPENDENCY_RELATIONSHIP] == (0, 65)
    assert coverage[Element.AUTHOR] == (1, 1)
    assert coverage[Element.TIMESTAMP] == (1, 1)
    assert coverage[Element.LEVEL_OF_SUPPORT] == (64, 65)
    assert coverage[Element.END_OF_SUPPORT_DATE] == (0, 65)
    assert report.score == 73.4
    assert not report.ntia_complete
    assert not report.fda_complete

    count, action = _fix(report, "end-of-support-not-a-date")
    assert count == 58
    assert "'Open source' ×48, 'Until hardware support ends' ×9, 'No longer supported' ×1" in action
    assert _fix(report, "end-of-support-unknown")[0] == 7
    assert _fix(report, "purl-without-version")[0] == 10
    assert _fix(report, "cpe-version-mismatch")[0] == 1  # fatFS 0.13c against CPE r0.13
    assert report.fixes[0].code == "dependency-missing"

    concerns = {concern.name: concern.reason for concern in report.support_concerns}
    assert len(concerns) == 9
    assert concerns["FluentValidationNA"] == (
        "end of support reads 'No longer supported'; level of support reads 'Deprecated'"
    )
    assert concerns["NLog.Config"] == "level of support reads 'Deprecated'"


def test_narrow_device_sbom_report() -> None:
    report = _quality("sbom/medical-device/narrow.sbom.json")
    coverage = _coverage(report)
    assert report.component_count == 55
    assert coverage[Element.VERSION] == (54, 55)
    assert coverage[Element.DEPENDENCY_RELATIONSHIP] == (0, 55)
    assert coverage[Element.LEVEL_OF_SUPPORT] == (54, 55)
    assert coverage[Element.END_OF_SUPPORT_DATE] == (0, 55)
    assert report.score == 74.5
    assert _fix(report, "end-of-support-not-a-date")[0] == 48
    assert _fix(report, "purl-without-version")[0] == 4


def test_nightscout_report_names_missing_author() -> None:
    report = _quality("sbom/nightscout-14.2.6.cdx.json")
    coverage = _coverage(report)
    assert coverage[Element.DEPENDENCY_RELATIONSHIP] == (1627, 1627)
    assert coverage[Element.AUTHOR] == (0, 1)
    (author,) = [fix for fix in report.fixes if fix.code == "author-missing"]
    assert "cyclonedx-npm 4.2.1" in author.examples[0]


# --- synthetic components -----------------------------------------------------------------------


def _document(*components: SoftwareComponent, **fields: object) -> SbomDocument:
    defaults: dict[str, object] = {
        "path": "synthetic.json",
        "format": "CycloneDX",
        "encoding": "json",
        "spec_version": "1.6",
        "timestamp": "2025-01-31T12:00:00Z",
        "authors": ("Maker",),
        "components": components,
    }
    defaults.update(fields)
    return SbomDocument(**defaults)  # type: ignore[arg-type]


def _complete(key: str = "c", **fields: object) -> SoftwareComponent:
    values: dict[str, object] = {
        "key": key,
        "name": "zlib",
        "version": "1.3.1",
        "purl": "pkg:generic/zlib@1.3.1",
        "supplier": "zlib project",
        "level_of_support": "Actively maintained",
        "end_of_support": "2030-12-31",
        "nested_in": "parent",
    }
    values.update(fields)
    return SoftwareComponent(**values)  # type: ignore[arg-type]


def test_complete_component_scores_100() -> None:
    report = check_quality(_document(_complete()), today=TODAY)
    assert report.score == 100.0
    assert report.ntia_complete
    assert report.fda_complete
    assert report.components[0].missing == []
    assert report.components[0].end_of_support_date == date(2030, 12, 31)


def test_version_embedded_in_name() -> None:
    report = check_quality(_document(_complete(name="WolfSSL 4.8.1", version="")), today=TODAY)
    (finding,) = [f for f in report.components[0].findings if f.element is Element.VERSION]
    assert finding.code == "version-in-name"
    assert "'4.8.1'" in finding.message
    assert "Move the version out of the name" in _fix(report, "version-in-name")[1]


def test_placeholder_version_counts_as_missing() -> None:
    report = check_quality(
        _document(_complete(version="unknown", purl="pkg:generic/zlib")), today=TODAY
    )
    assert Element.VERSION in report.components[0].missing
    assert "'unknown' ×1" in _fix(report, "version-placeholder")[1]


def test_purl_checks() -> None:
    report = check_quality(
        _document(
            _complete("a", purl="pkg:github/wolfssl/wolfssl"),
            _complete("b", purl="pkg:generic/zlib@1.2.0"),
            _complete("c", purl="not a purl"),
        ),
        today=TODAY,
    )
    codes = [[f.code for f in component.findings] for component in report.components]
    assert codes == [["purl-without-version"], ["purl-version-mismatch"], ["purl-invalid"]]
    assert report.score == 100.0, "identifier warnings do not remove the identifier element"


def test_past_end_of_support_is_a_concern() -> None:
    report = check_quality(
        _document(
            _complete("old", end_of_support="2024-06"),
            _complete("new", end_of_support="2027-01-01"),
        ),
        today=TODAY,
    )
    assert [(c.key, c.reason) for c in report.support_concerns] == [
        ("old", "end of support 2024-06-30 has passed")
    ]
    later = check_quality(
        _document(_complete("new", end_of_support="2027-01-01")), today=date(2027, 1, 2)
    )
    assert [c.key for c in later.support_concerns] == ["new"]


def test_dependency_relationship_from_graph() -> None:
    root = _complete("root", nested_in=None, depends_on=("leaf",))
    leaf = _complete("leaf", nested_in=None)
    orphan = _complete("orphan", nested_in=None)
    report = check_quality(_document(root, leaf, orphan), today=TODAY)
    assert _coverage(report)[Element.DEPENDENCY_RELATIONSHIP] == (2, 3)
    assert report.fixes[0].components == ["orphan"]


def test_subject_dependencies_count_for_components() -> None:
    subject = SoftwareComponent(key="device", name="Pump", depends_on=("lib",))
    report = check_quality(
        _document(_complete("lib", nested_in=None), subject=subject), today=TODAY
    )
    assert _coverage(report)[Element.DEPENDENCY_RELATIONSHIP] == (1, 1)


def test_document_elements() -> None:
    report = check_quality(
        _document(_complete(), authors=(), timestamp=None, tools=("syft",)), today=TODAY
    )
    coverage = _coverage(report)
    assert coverage[Element.AUTHOR] == (0, 1)
    assert coverage[Element.TIMESTAMP] == (0, 1)
    assert report.score == 90.0
    codes = {fix.code for fix in report.fixes}
    assert {"author-missing", "timestamp-missing", "subject-missing"} <= codes


def test_empty_sbom_scores_only_document_elements() -> None:
    report = check_quality(_document(), today=TODAY)
    assert report.score == 10.0
    assert "no-components" in {fix.code for fix in report.fixes}


# --- FDA field parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-06-30", date(2027, 6, 30)),
        ("2027-06-30T00:00:00Z", date(2027, 6, 30)),
        ("2028-02", date(2028, 2, 29)),
        ("2029", date(2029, 12, 31)),
        ("12/31/2027", None),
        ("2027-13", None),
        ("Open source", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_support_date(value: str | None, expected: date | None) -> None:
    assert parse_support_date(value) == expected


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (None, SupportState.MISSING),
        ("  ", SupportState.MISSING),
        ("Unknown", SupportState.UNKNOWN),
        ("N/A", SupportState.UNKNOWN),
        ("2030-01-01", SupportState.DATE),
        ("No longer supported", SupportState.ENDED),
        ("EOL", SupportState.ENDED),
        ("Until hardware support ends", SupportState.TEXT),
        ("Open source", SupportState.TEXT),
    ],
)
def test_classify_end_of_support(value: str | None, state: SupportState) -> None:
    assert classify_end_of_support(value) is state


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("Actively maintained", SupportState.TEXT),
        ("Inactive", SupportState.ENDED),
        ("Deprecated", SupportState.ENDED),
        ("endOfSupport", SupportState.ENDED),
        ("noAssertion", SupportState.UNKNOWN),
        ("limitedSupport", SupportState.TEXT),
    ],
)
def test_classify_level_of_support(value: str, state: SupportState) -> None:
    assert classify_level_of_support(value) is state


def test_support_field_names() -> None:
    assert support_field("Level of Support") == "level_of_support"
    assert support_field("urn:acme:fda:End_Of_Support_Date") == "end_of_support"
    assert support_field("cdx:npm:package:development") is None


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_table_output() -> None:
    path = shared("sbom/medical-device/extended.sbom.json")
    result = runner.invoke(app, ["sbom", "quality", str(path), "--today", "2026-12-04"])
    assert result.exit_code == 0, result.output
    assert "Score: 73.4 / 100" in result.output
    assert "What to fix" in result.output
    assert "FluentValidationNA" in result.output


def test_cli_json_to_file(tmp_path: Path) -> None:
    path = shared("sbom/medical-device/narrow.sbom.json")
    out = tmp_path / "reports" / "narrow.quality.json"
    result = runner.invoke(
        app, ["sbom", "quality", str(path), "-f", "json", "-o", str(out), "--today", "2026-12-04"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["score"] == 74.5
    assert report["checked_on"] == "2026-12-04"
    assert len(report["components"]) == 55
    assert [p.name for p in out.parent.iterdir()] == ["narrow.quality.json"], (
        "no temporary file left"
    )


def test_cli_table_to_file_and_details(tmp_path: Path) -> None:
    path = shared("sbom/medical-device/narrow.sbom.json")
    out = tmp_path / "narrow.txt"
    result = runner.invoke(app, ["sbom", "quality", str(path), "--details", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "Components" in text
    assert "Qualcomm Atheros QCA9563" in text
    assert "\x1b[" not in text, "a file gets no terminal colour codes"


def test_cli_lists_defects_as_reader_warnings(tmp_path: Path) -> None:
    path = tmp_path / "nameless.json"
    path.write_text(
        '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library"}]}',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["sbom", "quality", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["reader_warnings"] == ["components[0]: component has no name"]
    assert "name" in report["components"][0]["missing"]


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["sbom", "quality", str(path)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.output
    assert "bad.json:1:2" in result.output


def test_cli_size_limit_and_bad_date(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b'{"bomFormat": "CycloneDX"}' + b" " * (1024 * 1024 + 1))
    result = runner.invoke(app, ["sbom", "quality", str(path), "--max-size", "1"])
    assert result.exit_code == 2
    assert "above the limit of 1,048,576 bytes" in result.output
    result = runner.invoke(app, ["sbom", "quality", str(path), "--today", "31.12.2026"])
    assert result.exit_code == 2
    assert "invalid --today '31.12.2026'" in result.output


def test_cli_validate_cyclonedx() -> None:
    path = shared("sbom/medical-device/narrow.sbom.json")
    result = runner.invoke(app, ["sbom", "quality", str(path), "-f", "json", "--validate"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["schema_errors"] is not None


def test_cli_validate_reports_schema_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad-type.json"
    path.write_text(
        json.dumps(
            {
                "bomFormat": "CycloneDX",
                "specVersion": "1.6",
                "version": 1,
                "components": [{"type": "nonsense", "name": "x"}],
            }
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["sbom", "quality", str(path), "-f", "json", "--validate"])
    assert result.exit_code == 0, result.output
    errors = json.loads(result.output)["schema_errors"]
    assert any("nonsense" in error for error in errors)


def test_validate_spdx_with_spdx_tools() -> None:
    pytest.importorskip("spdx_tools", reason="spdx-tools is the optional SPDX 2 validator")
    from nemecys.sbom.validation import validate_sbom

    path = shared("sbom/containers/syft-spdx-eclipse-mosquitto.json")
    reading = read_sbom_file(path)
    messages = validate_sbom(path.read_bytes(), reading.document)
    # spdx-tools rejects Syft's fractional-second timestamps, which the reader accepts.
    assert any("does not match format" in message for message in messages)
    assert len(messages) <= 51

    clean = shared("sbom/spdx-examples/software/example1/spdx2.2/example1.spdx")
    assert validate_sbom(clean.read_bytes(), read_sbom_file(clean).document) == []


def test_validate_spdx3_says_not_validated() -> None:
    from nemecys.sbom.validation import validate_sbom

    path = shared("sbom/spdx-examples/software/example11/spdx3.0/sbom.spdx3.json")
    (message,) = validate_sbom(path.read_bytes(), read_sbom_file(path).document)
    assert "no offline validator exists for SPDX 3" in message
