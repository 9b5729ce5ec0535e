"""Risk heatmaps as standalone SVG: severity (rows) against exploitability (columns).

Each of the 5 × 5 cells is coloured by the risk level the assessment's matrix gives it and shows
how many threats sit there. One map uses the initial rating, one the residual rating after
implemented controls. Threats marked not applicable are left out of the counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from nemecys.report._common import applicable, level_colors, text_width, xml_escape
from nemecys.results import Assessment

SEVERITY_LEVELS = ("negligible", "minor", "serious", "critical", "catastrophic")
EXPLOITABILITY_LEVELS = ("very_low", "low", "medium", "high", "very_high")

Stage = Literal["initial", "residual", "projected"]

_CELL_W = 78
_CELL_H = 48
_LEFT = 112
_TOP = 40
_FONT = "'Liberation Sans', Arial, Helvetica, sans-serif"


def _label(level: str) -> str:
    return level.replace("_", " ")


def cell_counts(assessment: Assessment, stage: Stage) -> Counter[tuple[str, str]]:
    """Count applicable threats per (severity, exploitability) of the chosen rating."""
    counts: Counter[tuple[str, str]] = Counter()
    for threat in applicable(assessment.threats):
        rating = getattr(threat, stage)
        counts[(rating.severity, rating.exploitability)] += 1
    return counts


def render_heatmap(assessment: Assessment, stage: Stage, title: str | None = None) -> str:
    """Return the SVG document of one heatmap."""
    counts = cell_counts(assessment, stage)
    colors = level_colors(assessment.risk_levels)
    heading = title or f"{stage.capitalize()} risk"
    width = _LEFT + _CELL_W * len(EXPLOITABILITY_LEVELS) + 16
    legend_y = _TOP + _CELL_H * len(SEVERITY_LEVELS) + 50
    height = legend_y + 30
    total = sum(counts.values())

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{xml_escape(heading)}" '
        f'font-family="{_FONT}" class="heatmap" id="heatmap-{stage}">',
        f"<title>{xml_escape(heading)}: {total} threats by severity and exploitability</title>",
        f'<text x="{_LEFT}" y="22" font-size="15" font-weight="bold" fill="#111827">'
        f"{xml_escape(heading)}</text>",
        f'<text x="{width - 16}" y="22" font-size="12" text-anchor="end" fill="#475569">'
        f"{total} threats</text>",
    ]

    for row, severity in enumerate(reversed(SEVERITY_LEVELS)):
        y = _TOP + row * _CELL_H
        out.append(
            f'<text x="{_LEFT - 8}" y="{y + _CELL_H / 2 + 4}" font-size="12" text-anchor="end" '
            f'fill="#1f2937">{xml_escape(_label(severity))}</text>'
        )
        levels = assessment.matrix_cells.get(severity, [])
        for column, exploitability in enumerate(EXPLOITABILITY_LEVELS):
            x = _LEFT + column * _CELL_W
            level = levels[column] if column < len(levels) else ""
            color = colors.get(level)
            fill = color.cell if color else "#e5e7eb"
            count = counts.get((severity, exploitability), 0)
            tip = f"{_label(severity)} × {_label(exploitability)}: {level or 'no level'}, {count} threats"
            out.append(
                f'<g class="cell" data-severity="{xml_escape(severity)}" '
                f'data-exploitability="{xml_escape(exploitability)}" data-level="{xml_escape(level)}" '
                f'data-count="{count}"><title>{xml_escape(tip)}</title>'
                f'<rect x="{x}" y="{y}" width="{_CELL_W}" height="{_CELL_H}" fill="{fill}" '
                f'stroke="#ffffff" stroke-width="2"/>'
            )
            weight = "bold" if count else "normal"
            shade = "#111827" if count else "#4b5563"
            out.append(
                f'<text x="{x + _CELL_W / 2}" y="{y + 24}" font-size="{18 if count else 14}" '
                f'font-weight="{weight}" text-anchor="middle" fill="{shade}">{count}</text>'
                f'<text x="{x + _CELL_W / 2}" y="{y + _CELL_H - 7}" font-size="9.5" '
                f'text-anchor="middle" fill="#374151">{xml_escape(_label(level))}</text></g>'
            )

    axis_y = _TOP + _CELL_H * len(SEVERITY_LEVELS)
    for column, exploitability in enumerate(EXPLOITABILITY_LEVELS):
        center = _LEFT + column * _CELL_W + _CELL_W / 2
        out.append(
            f'<text x="{center:g}" y="{axis_y + 16}" font-size="12" text-anchor="middle" '
            f'fill="#1f2937">{xml_escape(_label(exploitability))}</text>'
        )
    out.append(
        f'<text x="{_LEFT + _CELL_W * 2.5}" y="{axis_y + 34}" font-size="12" font-weight="bold" '
        f'text-anchor="middle" fill="#111827">Exploitability →</text>'
    )
    middle = _TOP + _CELL_H * 2.5
    out.append(
        f'<text x="14" y="{middle}" font-size="12" font-weight="bold" text-anchor="middle" '
        f'fill="#111827" transform="rotate(-90 14 {middle})">Severity of harm →</text>'
    )

    legend_x = float(_LEFT)
    for level in assessment.risk_levels:
        color = colors[level]
        out.append(
            f'<rect x="{legend_x:g}" y="{legend_y}" width="14" height="14" fill="{color.cell}"/>'
            f'<text x="{legend_x + 19:g}" y="{legend_y + 11.5}" font-size="11.5" fill="#1f2937">'
            f"{xml_escape(_label(level))}</text>"
        )
        legend_x += 34 + text_width(_label(level), 11.5)
    out.append("</svg>")
    return "\n".join(out) + "\n"
