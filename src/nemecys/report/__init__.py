"""Report writers: results.json, HTML, Markdown, CSV and SARIF from one `Assessment`."""

from __future__ import annotations

from pathlib import Path

from nemecys.fileio import write_atomic
from nemecys.model import LoadedModel
from nemecys.results import Assessment

FORMATS = ("json",)


def write_json(assessment: Assessment, out_dir: Path) -> Path:
    return write_atomic(out_dir / "results.json", assessment.model_dump_json(indent=2) + "\n")


def write_reports(
    assessment: Assessment, loaded: LoadedModel, out_dir: Path, formats: tuple[str, ...] = FORMATS
) -> dict[str, Path]:
    """Write each requested format into `out_dir`; return the path of each."""
    written: dict[str, Path] = {}
    if "json" in formats:
        written["json"] = write_json(assessment, out_dir)
    return written
