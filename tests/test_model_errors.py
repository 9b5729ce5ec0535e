"""Invalid models: every problem is reported with its location, and the CLI exits with 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nemecys.cli import app
from nemecys.errors import ModelError
from nemecys.model import load_model

from .conftest import MINIMAL_MODEL

runner = CliRunner()


def _write(tmp_path: Path, text: str, name: str = "nemecys.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line(text: str, fragment: str) -> int:
    """Return the 1-based line number of the first line containing `fragment`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def _problems(path: Path) -> list[str]:
    with pytest.raises(ModelError) as caught:
        load_model(path)
    return [p.render() for p in caught.value.problems]


def test_minimal_model_is_valid(minimal_model: Path) -> None:
    loaded = load_model(minimal_model)
    assert [c.id for c in loaded.model.components] == ["pump", "app", "cloud"]
    result = runner.invoke(app, ["validate", str(minimal_model)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_misspelt_key_suggests_the_field(tmp_path: Path) -> None:
    text = MINIMAL_MODEL.replace(
        "    functions: [insulin-delivery]\n    interfaces",
        "    functons: [insulin-delivery]\n    interfaces",
    )
    path = _write(tmp_path, text)
    problems = _problems(path)
    assert len(problems) == 1
    assert f"{path}:{_line(text, 'functons')}:5: unknown key 'functons'" in problems[0]
    assert "did you mean 'functions'?" in problems[0]


def test_wrong_type_names_value_and_place(tmp_path: Path) -> None:
    text = MINIMAL_MODEL.replace("    integrity: high\n", "    integrity: [high]\n")
    path = _write(tmp_path, text)
    problems = _problems(path)
    assert len(problems) == 1
    assert "invalid value for 'integrity'" in problems[0]
    assert "assets[0].integrity" in problems[0]
    assert f":{_line(text, 'integrity: [high]')}:16:" in problems[0]


def test_invalid_enum_value_suggests_member(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL_MODEL.replace("protocol: ble_gatt", "protocol: ble-gatt"))
    (problem,) = _problems(path)
    assert "value: 'ble-gatt'" in problem
    assert "did you mean 'ble_gatt'?" in problem
    assert "one of https" in problem


def test_unknown_reference_suggests_id(tmp_path: Path) -> None:
    text = MINIMAL_MODEL.replace("    destination: pump\n", "    destination: pmup\n")
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert "unknown component or actor 'pmup'" in problem
    assert "did you mean 'pump'?" in problem
    assert f"{path}:{_line(text, 'pmup')}:18" in problem


def test_schema_and_reference_problems_reported_together(tmp_path: Path) -> None:
    text = MINIMAL_MODEL.replace("    zone: vendor-cloud\n", "    zone: vendor-clod\n")
    text = text.replace("    kind: mobile_app\n", "    kind: mobile-app\n")
    text = text.replace("    data: [history]\n", "    data: [histroy]\n")
    problems = _problems(_write(tmp_path, text))
    assert len(problems) == 3
    joined = "\n".join(problems)
    assert "did you mean 'mobile_app'?" in joined
    assert "did you mean 'vendor-cloud'?" in joined
    assert "did you mean 'history'?" in joined
    # Sorted by position in the file.
    lines = [int(p.split(":")[1]) for p in problems]
    assert lines == sorted(lines)


def test_duplicate_ids_are_errors(tmp_path: Path) -> None:
    text = MINIMAL_MODEL.replace("  - id: cloud\n", "  - id: app\n")
    text = text.replace("destination: cloud", "destination: app")
    problems = _problems(_write(tmp_path, text))
    assert any("duplicate id 'app' in components" in p for p in problems)


def test_control_naming_unknown_rule_is_error(tmp_path: Path) -> None:
    text = MINIMAL_MODEL + (
        "controls:\n"
        "  - id: custom-check\n"
        "    name: Dose plausibility check\n"
        "    status: implemented\n"
        "    mitigates: [NMC-NO-SUCH-RULE]\n"
    )
    result = runner.invoke(app, ["validate", str(_write(tmp_path, text))])
    assert result.exit_code == 2
    assert "unknown rule 'NMC-NO-SUCH-RULE'" in result.output


def test_decision_naming_unknown_threat_is_error(tmp_path: Path) -> None:
    text = MINIMAL_MODEL + (
        "decisions:\n"
        "  - threat: NMC-STRIDE-I-001@no-such-flow\n"
        "    status: accepted\n"
        "    rationale: test\n"
    )
    result = runner.invoke(app, ["validate", str(_write(tmp_path, text))])
    assert result.exit_code == 2
    assert "unknown threat 'NMC-STRIDE-I-001@no-such-flow'" in result.output


def test_yaml_syntax_error_has_location(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        MINIMAL_MODEL.replace("    kind: sensor\n", "").replace(
            "  - id: cloud\n", "  - id: cloud\n   bad: [unclosed\n"
        ),
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "YAML syntax error" in result.output
    assert f"{path}:" in result.output


def test_empty_file_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "# only a comment\n\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "file is empty" in result.output


def test_top_level_list_is_rejected(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, "- a\n- b\n"))
    assert "top level is a list, expected a mapping" in problems[0]


def test_ten_megabyte_file_rejected_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(MINIMAL_MODEL)
        handle.write("# " + "x" * 1000 + "\n" * 1)
        for _ in range(10_500):
            handle.write("# " + "x" * 1000 + "\n")
    assert path.stat().st_size > 10 * 1024 * 1024
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "above the limit" in result.output
    assert "split the model" in result.output


def test_alias_bomb_stops_at_node_limit(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "too many aliases" in result.output


def test_python_tag_is_not_constructed(tmp_path: Path) -> None:
    path = _write(tmp_path, "system: !!python/object/apply:os.system ['echo pwned']\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'" in result.output
    assert f"{path}:1:9" in result.output


def test_duplicate_key_is_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        MINIMAL_MODEL.replace("    kind: device\n", "    kind: device\n    kind: sensor\n"),
    )
    problems = _problems(path)
    assert "duplicate key 'kind'" in problems[0]


def test_missing_project_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "folder has no nemecys.yaml" in result.output


def test_includes_merge_and_keep_locations(tmp_path: Path) -> None:
    main, rest = MINIMAL_MODEL.split("assets:\n", 1)
    _write(tmp_path, "includes: [data.yaml]\n" + main)
    _write(
        tmp_path, "assets:\n" + rest.replace("destination: pump", "destination: pumpp"), "data.yaml"
    )
    problems = _problems(tmp_path / "nemecys.yaml")
    assert len(problems) == 1
    assert f"{tmp_path / 'data.yaml'}:" in problems[0]
    assert "did you mean 'pump'?" in problems[0]


def test_include_cycle_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "includes: [b.yaml]\n" + MINIMAL_MODEL)
    _write(tmp_path, "includes: [nemecys.yaml]\nactors: []\n", "b.yaml")
    problems = _problems(tmp_path / "nemecys.yaml")
    assert any("include cycle" in p for p in problems)


def test_section_in_two_files_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "includes: [b.yaml]\n" + MINIMAL_MODEL)
    _write(tmp_path, "system: {name: x, intended_use: y, clinical_functions: []}\n", "b.yaml")
    problems = _problems(tmp_path / "nemecys.yaml")
    assert any("section 'system' is defined in more than one file" in p for p in problems)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_max_model_bytes_must_be_positive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    path = _write(tmp_path, MINIMAL_MODEL)
    monkeypatch.setenv("NEMECYS_MAX_MODEL_BYTES", value)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "NEMECYS_MAX_MODEL_BYTES must be a positive byte count" in result.output
    assert f"value: {value}" in result.output


def test_control_characters_rejected(tmp_path: Path) -> None:
    text = MINIMAL_MODEL.replace("name: Bolus pump test system", "name: Bolus\u202e pump system")
    problems = _problems(_write(tmp_path, text))
    assert len(problems) == 1
    assert "control character U+202E at position 6" in problems[0]
    assert "system.name" in problems[0]


def test_nul_character_located(tmp_path: Path) -> None:
    text = MINIMAL_MODEL.replace("name: Bolus pump test system", "name: Bolus\x00 system")
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert "YAML does not allow the character U+0000 here" in problem
    assert f"{path}:{_line(text, 'Bolus')}:14" in problem
