"""Report writers: results.json, HTML, Markdown, CSV and SARIF from one `Assessment`.

`write_reports` is the interface the CLI calls. Besides the requested formats it writes the
figures the HTML and Markdown reports show as standalone SVG files (`dfd.svg`,
`heatmap-initial.svg`, `heatmap-residual.svg`) whenever "html" or "md" is requested.
"""

from __future__ import annotations

from pathlib import Path

from nemecys.controls import load_catalog
from nemecys.fileio import write_atomic
from nemecys.model import LoadedModel
from nemecys.report._layout import DiagramLayout
from nemecys.report.csv import write_csv
from nemecys.report.diagram import layout_dfd, render_dfd
from nemecys.report.heatmap import render_heatmap
from nemecys.report.html import write_html
from nemecys.report.markdown import write_markdown
from nemecys.report.sarif import write_sarif
from nemecys.results import Assessment

FORMATS = ("json", "html", "md", "csv", "sarif")


def write_json(assessment: Assessment, out_dir: Path) -> Path:
    return write_atomic(out_dir / "results.json", assessment.model_dump_json(indent=2) + "\n")


def write_figures(
    assessment: Assessment,
    loaded: LoadedModel,
    out_dir: Path,
    layout: DiagramLayout | None = None,
) -> dict[str, Path]:
    """Write the data flow diagram (from `layout` if given) and both heatmaps as SVG files."""
    dfd = render_dfd(assessment, loaded.model, layout=layout)
    return {
        "dfd": write_atomic(out_dir / "dfd.svg", dfd),
        "heatmap-initial": write_atomic(
            out_dir / "heatmap-initial.svg", render_heatmap(assessment, "initial", "Initial risk")
        ),
        "heatmap-residual": write_atomic(
            out_dir / "heatmap-residual.svg",
            render_heatmap(assessment, "residual", "Residual risk (implemented controls)"),
        ),
    }


def write_reports(
    assessment: Assessment, loaded: LoadedModel, out_dir: Path, formats: tuple[str, ...] = FORMATS
) -> dict[str, Path]:
    """Write each requested format into `out_dir`; return the path of each file written."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown report format {', '.join(unknown)}: choose from {', '.join(FORMATS)}"
        )
    written: dict[str, Path] = {}
    # The diagram is placed and routed once, for report.html and dfd.svg.
    layout = layout_dfd(assessment, loaded.model) if "html" in formats or "md" in formats else None
    if "json" in formats:
        written["json"] = write_json(assessment, out_dir)
    if "html" in formats:
        written["html"] = write_html(assessment, loaded, out_dir, layout)
    if "md" in formats:
        written["md"] = write_markdown(assessment, out_dir, diagram="dfd.svg")
    if "csv" in formats:
        written["csv"] = write_csv(assessment, out_dir)
    if "sarif" in formats:
        names = {control.id: control.name for control in load_catalog().controls}
        written["sarif"] = write_sarif(assessment, out_dir, names)
    if "html" in formats or "md" in formats:
        written.update(write_figures(assessment, loaded, out_dir, layout))
    return written


__all__ = ["FORMATS", "write_json", "write_reports"]
