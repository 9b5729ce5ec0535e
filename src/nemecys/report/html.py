"""`report.html`: the self-contained, printable assessment report.

The page inlines its CSS and SVG figures and loads nothing from elsewhere, so it can be
archived as one file in a design history file. It is rendered from the Jinja2 template
`templates/report.html.j2` with autoescaping on. The only markup passed in unescaped is the
SVG that `diagram` and `heatmap` build, and they escape model text themselves. Control and
bidirectional formatting characters in any other output become visible escapes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from nemecys.controls import load_catalog
from nemecys.fileio import write_atomic
from nemecys.model import LoadedModel
from nemecys.report._common import (
    STRIDE_NAMES,
    applicable,
    display_path,
    level_colors,
    sorted_threats,
    visible_controls,
    words,
)
from nemecys.report._layout import DiagramLayout
from nemecys.report.diagram import flow_rows, render_dfd
from nemecys.report.heatmap import render_heatmap
from nemecys.report.vulnerabilities import (
    component_counts,
    coverage_lines,
    decision_text,
    ranked_rows,
    rating_of,
    sources_text,
)
from nemecys.results import Assessment, SbomSummary
from nemecys.risk.policy import default_rubric, load_matrix


@dataclass(frozen=True)
class LevelCount:
    level: str
    initial: int
    residual: int
    projected: int


@dataclass(frozen=True)
class SbomView:
    """An SBOM summary with the figures the report shows above its component list."""

    summary: SbomSummary
    component_name: str
    path: str
    without_version: int
    without_purl: int
    without_license: int
    licenses: int


def _visible(value: object) -> object:
    """Show control and bidirectional formatting characters in template output as escapes."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_controls(value)
    return value


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("nemecys.report", "templates"),
        autoescape=True,
        finalize=_visible,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["words"] = words
    return env


def _sbom_views(assessment: Assessment, loaded: LoadedModel) -> list[SbomView]:
    names = {c.id: c.name or c.id for c in loaded.model.components}
    views = []
    for sbom in assessment.sboms:
        components = sbom.components
        views.append(
            SbomView(
                summary=sbom,
                component_name=names.get(sbom.component, sbom.component),
                path=display_path(sbom.path, loaded.base_dir),
                without_version=sum(1 for c in components if not c.version),
                without_purl=sum(1 for c in components if not c.purl),
                without_license=sum(1 for c in components if not c.licenses),
                licenses=len({license for c in components for license in c.licenses}),
            )
        )
    return views


def render_html(
    assessment: Assessment, loaded: LoadedModel, layout: DiagramLayout | None = None
) -> str:
    """Return the HTML document of the report, drawing the diagram from `layout` if given."""
    model = loaded.model
    threats = sorted_threats(assessment)
    counted = applicable(threats)
    levels = list(reversed(assessment.risk_levels))
    counts = [
        LevelCount(
            level=level,
            initial=sum(1 for t in counted if t.initial.level == level),
            residual=sum(1 for t in counted if t.residual.level == level),
            projected=sum(1 for t in counted if t.projected.level == level),
        )
        for level in levels
    ]
    matrix_path = loaded.base_dir / model.risk.matrix if model.risk.matrix else None
    matrix = load_matrix(matrix_path)
    catalog = load_catalog().by_id()

    context = {
        "a": assessment,
        "system": assessment.system,
        "threats": threats,
        "threat_by_id": {t.id: t for t in assessment.threats},
        "anchors": {t.id: f"threat-{n}" for n, t in enumerate(threats, start=1)},
        "applicable_count": len(counted),
        "counts": counts,
        "statuses": sorted(Counter(t.status for t in threats).items()),
        "colors": level_colors(assessment.risk_levels),
        "stride_names": STRIDE_NAMES,
        "function_names": {f.id: f.name for f in assessment.system.functions},
        "catalog": catalog,
        "dfd": Markup(
            render_dfd(assessment, model, flow_table=False, id_prefix="dfd", layout=layout)
        ),
        "flows": flow_rows(assessment, model),
        "heatmap_initial": Markup(render_heatmap(assessment, "initial", "Initial risk")),
        "heatmap_residual": Markup(
            render_heatmap(assessment, "residual", "Residual risk (implemented controls)")
        ),
        "sboms": _sbom_views(assessment, loaded),
        "rubric": default_rubric(),
        "matrix": matrix,
        "model_path": display_path(assessment.model_path, loaded.base_dir.parent),
        "model_files": [display_path(f, loaded.base_dir) for f in assessment.model_files],
        "base_dir": loaded.base_dir,
        "display_path": lambda path: display_path(path, loaded.base_dir),
        "component_names": {c.id: c.name or c.id for c in model.components},
        "zone_count": len({c.zone for c in model.components}),
    }
    component_names = {c.id: c.name or c.id for c in model.components}
    context.update(_vulnerability_context(assessment, component_names))
    return _environment().get_template("report.html.j2").render(**context)


def _vulnerability_context(
    assessment: Assessment, component_names: dict[str, str]
) -> dict[str, object]:
    section = assessment.vulnerabilities
    rows = ranked_rows(section, component_names) if section else []
    return {
        "vulns": section,
        "vuln_counts": component_counts(section, component_names) if section else [],
        "vuln_open": [r for r in rows if not r.closed],
        "vuln_unchecked": coverage_lines(section) if section else [],
        "vuln_closed": [r for r in rows if r.closed],
        "vuln_show_support": any(
            r.finding.level_of_support or r.finding.end_of_support for r in rows
        ),
        "vuln_sources": sources_text(section) if section else "",
        "decision_text": decision_text,
        "rating_of": rating_of,
    }


def write_html(
    assessment: Assessment,
    loaded: LoadedModel,
    out_dir: Path,
    layout: DiagramLayout | None = None,
) -> Path:
    """Write `report.html` into `out_dir`."""
    return write_atomic(out_dir / "report.html", render_html(assessment, loaded, layout))
