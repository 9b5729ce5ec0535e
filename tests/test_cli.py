"""The command line as a user runs it: assess, check, validate, schema, rules, controls."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from nemecys.cli import app
from nemecys.model.schema import SystemModel
from nemecys.results import Assessment

from .conftest import EXAMPLES, MINIMAL_MODEL, ROOT, shared

runner = CliRunner()


def test_assess_writes_results_valid_against_published_schema(
    minimal_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["assess", str(minimal_model), "-o", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "docs" / "results.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    assert document["results_version"] == "1.1"
    assert document["system"]["name"] == "Bolus pump test system"
    assert {t["target"]["id"] for t in document["threats"]} >= {"bolus-command", "history-upload"}


def test_check_fails_then_passes_after_decisions(minimal_model: Path) -> None:
    failing = runner.invoke(app, ["check", str(minimal_model)])
    assert failing.exit_code == 1, failing.output
    assert "FAIL" in failing.output

    # Record a decision for every failing threat, and implement TLS on the upload.
    ids = [
        line.split(" FAIL ", 1)[1].split(":", 1)[0]
        for line in failing.output.splitlines()
        if " FAIL " in line
    ]
    assert ids
    decisions = "".join(
        f"  - threat: {threat_id}\n    status: accepted\n    rationale: benefit outweighs risk in test\n"
        for threat_id in ids
    )
    minimal_model.write_text(MINIMAL_MODEL + "decisions:\n" + decisions, encoding="utf-8")
    result = runner.invoke(app, ["check", str(minimal_model)])
    # Accepting an unacceptable risk does not pass the gate; a decision closes only high risks.
    unacceptable = [line for line in result.output.splitlines() if "unacceptable" in line]
    assert "needs a decision" not in result.output
    assert (result.exit_code == 1) == bool(unacceptable), result.output


def test_check_invalid_model_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "nemecys.yaml"
    path.write_text(MINIMAL_MODEL.replace("kind: device", "kind: devise"), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "did you mean 'device'?" in result.output


def test_committed_model_schema_matches_code() -> None:
    committed = json.loads((ROOT / "docs" / "model.schema.json").read_text(encoding="utf-8"))
    generated = SystemModel.model_json_schema()
    committed.pop("$schema", None)
    assert committed == generated, "run: nemecys schema -o docs/model.schema.json"


def test_committed_results_schema_matches_code() -> None:
    committed = json.loads((ROOT / "docs" / "results.schema.json").read_text(encoding="utf-8"))
    committed.pop("$schema", None)
    assert committed == Assessment.model_json_schema(), (
        "run: nemecys schema --kind results -o docs/results.schema.json"
    )


@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.iterdir() if (p / "nemecys.yaml").exists())
)
def test_examples_validate_against_exported_schema(example: str) -> None:
    from nemecys.model import read_document

    document, _, _ = read_document(EXAMPLES / example / "nemecys.yaml")
    schema = json.loads((ROOT / "docs" / "model.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    result = runner.invoke(app, ["validate", str(EXAMPLES / example)])
    assert result.exit_code == 0, result.output


def test_assess_attaches_real_nightscout_sbom(tmp_path: Path) -> None:
    sbom = shared("sbom/nightscout-14.2.6.cdx.json")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "assess",
            str(EXAMPLES / "nightscout"),
            "-o",
            str(out),
            "--format",
            "json",
            "--sbom",
            f"nightscout-server={sbom}",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (summary,) = document["sboms"]
    assert summary["component"] == "nightscout-server"
    assert summary["spec_version"] == "1.6"
    # 870 top-level components plus the nested node_modules copies.
    assert len(summary["components"]) == 1627
    purls = {c["purl"] for c in summary["components"]}
    assert "pkg:npm/express@4.17.1" in purls or any(
        p and p.startswith("pkg:npm/express@") for p in purls
    )


def test_sbom_option_unknown_component(tmp_path: Path, minimal_model: Path) -> None:
    sbom = tmp_path / "bom.json"
    sbom.write_text(
        '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}', encoding="utf-8"
    )
    result = runner.invoke(
        app, ["assess", str(minimal_model), "-o", str(tmp_path / "o"), "--sbom", f"pmp={sbom}"]
    )
    assert result.exit_code == 2
    assert "unknown component 'pmp'" in result.output
    assert "did you mean 'pump'?" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"spdxVersion": "SPDX-2.3"}', "SPDX document has no SPDXID"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "none"}', "components"),
        (
            '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library"}]}',
            "name",
        ),
    ],
)
def test_bad_sbom_exits_2(tmp_path: Path, minimal_model: Path, content: str, message: str) -> None:
    sbom = tmp_path / "bom.json"
    sbom.write_text(content, encoding="utf-8")
    out = tmp_path / "o"
    result = runner.invoke(
        app, ["assess", str(minimal_model), "-o", str(out), "--sbom", f"pump={sbom}"]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists(), "no report may be written when an input is invalid"


def test_sbom_option_needs_equals(minimal_model: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["assess", str(minimal_model), "-o", str(tmp_path), "--sbom", "bom.json"]
    )
    assert result.exit_code == 2
    assert "expected COMPONENT=PATH" in result.output


def test_rules_and_controls_list(tmp_path: Path) -> None:
    rules = runner.invoke(app, ["rules"])
    assert rules.exit_code == 0
    assert "NMC-" in rules.output
    controls = runner.invoke(app, ["controls"])
    assert controls.exit_code == 0
    assert "CTL-" in controls.output


def test_user_library_overrides_and_broken_rule(tmp_path: Path, minimal_model: Path) -> None:
    library = tmp_path / "mine.yaml"
    library.write_text(
        "library: {id: acme, version: '1'}\n"
        "rules:\n"
        "  - id: ACME-PUMP-001\n"
        "    title: Pump reachable over BLE\n"
        "    description: Test rule.\n"
        "    target: component\n"
        "    stride: [spoofing]\n"
        "    objectives: [integrity]\n"
        "    when: {interfaces: {has: ble}}\n"
        "    why: '{name} has a BLE interface.'\n",
        encoding="utf-8",
    )
    minimal_model.write_text(
        MINIMAL_MODEL + "threats:\n  libraries: [mine.yaml]\n", encoding="utf-8"
    )
    out = tmp_path / "o"
    result = runner.invoke(app, ["assess", str(minimal_model), "-o", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    threats = json.loads((out / "results.json").read_text(encoding="utf-8"))["threats"]
    mine = [t for t in threats if t["rule"] == "ACME-PUMP-001"]
    assert [t["id"] for t in mine] == ["ACME-PUMP-001@pump"]
    assert mine[0]["why"] == "pump has a BLE interface."

    # A misspelt fact is an error naming the rule, never a silent "no finding".
    library.write_text(
        library.read_text(encoding="utf-8").replace(
            "interfaces: {has: ble}", "interface: {has: ble}"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(minimal_model)])
    assert result.exit_code == 2
    assert "rule ACME-PUMP-001: invalid condition" in result.output
    assert "did you mean 'interfaces'?" in result.output


def test_custom_matrix_must_be_monotonic(tmp_path: Path, minimal_model: Path) -> None:
    from nemecys.risk.policy import _policy_file

    matrix = _policy_file("matrix.yaml").read_text(encoding="utf-8")
    # Make a critical harm with very high exploitability rank below its neighbour.
    broken = matrix.replace(
        "catastrophic:     [medium,   high,   high,   critical, critical]",
        "catastrophic:     [medium,   high,   high,   critical, low]",
    )
    assert broken != matrix
    (tmp_path / "policy.yaml").write_text(broken, encoding="utf-8")
    minimal_model.write_text(MINIMAL_MODEL + "risk:\n  matrix: policy.yaml\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(minimal_model)])
    assert result.exit_code == 2, result.output
    assert "decreases as exploitability rises" in result.output
    assert "policy.yaml" in result.output


def test_custom_matrix_changes_acceptance(tmp_path: Path, minimal_model: Path) -> None:
    from nemecys.risk.policy import _policy_file

    # A lenient policy accepting every level passes the gate for the same model.
    matrix = _policy_file("matrix.yaml").read_text(encoding="utf-8")
    lenient = matrix.replace("high: decision_required", "high: acceptable").replace(
        "critical: unacceptable", "critical: acceptable"
    )
    (tmp_path / "policy.yaml").write_text(lenient, encoding="utf-8")
    minimal_model.write_text(MINIMAL_MODEL + "risk:\n  matrix: policy.yaml\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(minimal_model)])
    assert result.exit_code == 0, result.output
    assert "none fails the gate" in result.output


def test_validate_reports_matrix_problems_with_location(
    tmp_path: Path, minimal_model: Path
) -> None:
    from nemecys.risk.policy import _policy_file

    matrix = _policy_file("matrix.yaml").read_text(encoding="utf-8")
    broken = matrix.replace(
        "catastrophic:     [medium,   high,   high,   critical, critical]",
        "catastrophic:     [medium,   high,   high,   critical, low]",
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(broken, encoding="utf-8")
    minimal_model.write_text(MINIMAL_MODEL + "risk:\n  matrix: policy.yaml\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(minimal_model)])
    assert result.exit_code == 2, result.output
    row = next(
        i
        for i, line in enumerate(broken.splitlines(), 1)
        if line.strip().startswith("catastrophic:")
    )
    assert f"{policy}:{row}:" in result.output
    assert "cells.catastrophic decreases as exploitability rises" in result.output

    minimal_model.write_text(MINIMAL_MODEL + "risk:\n  matrix: nowhere.yaml\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(minimal_model)])
    assert result.exit_code == 2, result.output
    assert "risk matrix file not found" in result.output
    assert "value: nowhere.yaml" in result.output


def test_misspelt_matrix_key_suggests_matrix_field(tmp_path: Path, minimal_model: Path) -> None:
    from nemecys.risk.policy import _policy_file

    matrix = (
        _policy_file("matrix.yaml")
        .read_text(encoding="utf-8")
        .replace("acceptance:", "acceptence:")
    )
    (tmp_path / "policy.yaml").write_text(matrix, encoding="utf-8")
    minimal_model.write_text(MINIMAL_MODEL + "risk:\n  matrix: policy.yaml\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(minimal_model)])
    assert result.exit_code == 2, result.output
    assert "did you mean 'acceptance'?" in result.output
    assert "components" not in result.output.split("expected:", 1)[-1].splitlines()[0]


def test_library_and_model_problems_reported_together(tmp_path: Path, minimal_model: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "library: {id: acme, version: '1'}\nrules:\n  - id: ACME-X-001\n    titel: x\n",
        encoding="utf-8",
    )
    text = (
        MINIMAL_MODEL.replace("kind: device", "kind: devise")
        + "threats:\n  libraries: [mine.yaml]\n"
    )
    minimal_model.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(minimal_model)])
    assert result.exit_code == 2, result.output
    assert "did you mean 'title'?" in result.output
    assert "did you mean 'device'?" in result.output


def test_output_path_problems_exit_2_without_partial_reports(
    tmp_path: Path, minimal_model: Path
) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["assess", str(minimal_model), "-o", str(a_file)])
    assert result.exit_code == 2, result.output
    assert "exists and is not a folder" in result.output
    assert a_file.read_text(encoding="utf-8") == "keep me"

    half = tmp_path / "half"
    (half / "report.md").mkdir(parents=True)
    result = runner.invoke(app, ["assess", str(minimal_model), "-o", str(half)])
    assert result.exit_code == 2, result.output
    assert "is a folder where a report file goes" in result.output
    # Nothing was moved into place, and the staging folder is gone.
    assert sorted(p.name for p in half.iterdir()) == ["report.md"]


def test_import_into_folder_rejected(tmp_path: Path) -> None:
    source = shared("threatmodels/threagile/stub/threagile.yaml")
    result = runner.invoke(app, ["import", str(source), "-o", str(tmp_path), "--force"])
    assert result.exit_code == 2, result.output
    assert "is a folder" in result.output
