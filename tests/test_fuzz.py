"""Fuzzing the model reader: any text yields a model or a ModelError, never a crash."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemecys.errors import ModelError
from nemecys.model import load_model

from .conftest import MINIMAL_MODEL

_FRAGMENTS = [
    "system:",
    "components:",
    "flows:",
    "  - id: x",
    "    kind: device",
    "    zone: internet",
    "includes: [other.yaml]",
    "<<: *a",
    "&a",
    "*a",
    "!!python/object:os.system",
    "{",
    "[",
    "]",
    "}",
    ": ",
    "- ",
    "'",
    '"',
    "\t",
    "---",
    "...",
    "%YAML 1.1",
    "? ",
    "|",
    ">",
    "#",
    "\x00",
    "é",
]


def _check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_model(path)
    except ModelError as exc:
        assert exc.problems, "a ModelError must carry at least one problem"
        for problem in exc.problems:
            assert problem.message


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=400))
def test_random_text(tmp_path: Path, text: str) -> None:
    _check(tmp_path, text)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.sampled_from(_FRAGMENTS), max_size=30))
def test_yaml_like_fragments(tmp_path: Path, lines: list[str]) -> None:
    _check(tmp_path, "\n".join(lines))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_valid_model(tmp_path: Path, data: st.DataObject) -> None:
    text = MINIMAL_MODEL
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    replacement = data.draw(st.text(max_size=5), label="replacement")
    length = data.draw(st.integers(0, 5), label="deleted")
    _check(tmp_path, text[:position] + replacement + text[position + length :])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_random_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        load_model(path)
    except ModelError as exc:
        assert exc.problems


def test_invalid_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("system:\n  name: Pompe à insuline\n".encode("latin-1"))
    try:
        load_model(path)
    except ModelError as exc:
        (problem,) = exc.problems
        assert problem.message == "file is not valid UTF-8 (byte 0xe0)"
        assert str(problem.location).endswith("latin1.yaml:2:15")
    else:
        raise AssertionError("a Latin-1 file must be rejected")
