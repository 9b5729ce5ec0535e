"""`threats.csv`: one row per threat with its rating before and after controls, for spreadsheets.

Rows follow the report's order (residual risk, then initial risk, highest first). Lists are
joined with "; ". Text cells that a spreadsheet would read as a formula (starting with =, +,
-, @, tab or carriage return) get a leading apostrophe, because model text is untrusted.
Control characters other than tab and newline, and the bidirectional embedding, override and
isolate characters, are written as visible escapes such as `\\u202e`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from nemecys.fileio import write_atomic
from nemecys.report._common import display_path, sorted_threats, visible_controls
from nemecys.results import Assessment, ThreatResult

COLUMNS = (
    "id",
    "rule",
    "title",
    "target_kind",
    "target_id",
    "target_name",
    "stride",
    "capec",
    "cwe",
    "why",
    "attack_vector",
    "cvss_exploitability_vector",
    "exploitability_score",
    "exploitability",
    "severity",
    "functions",
    "harm",
    "multi_patient",
    "initial_risk",
    "residual_risk",
    "projected_risk",
    "residual_acceptance",
    "status",
    "status_source",
    "rationale",
    "gate",
    "controls",
    "missing_controls",
    "file",
    "line",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return visible_controls(value)


def _row(threat: ThreatResult, base: Path) -> list[str]:
    location = threat.location
    return [
        threat.id,
        threat.rule,
        threat.title,
        threat.target.kind,
        threat.target.id,
        threat.target.name,
        "; ".join(threat.stride),
        "; ".join(f"CAPEC-{n}" for n in threat.capec),
        "; ".join(f"CWE-{n}" for n in threat.cwe),
        threat.why,
        threat.exploitability.attack_vector,
        threat.exploitability.cvss_vector,
        f"{threat.exploitability.score:.2f}",
        threat.exploitability.level,
        threat.severity.level,
        "; ".join(threat.severity.functions),
        (threat.severity.harm or "").strip(),
        "yes" if threat.severity.multi_patient else "no",
        threat.initial.level,
        threat.residual.level,
        threat.projected.level,
        threat.residual.acceptance,
        threat.status,
        threat.status_source,
        (threat.rationale or "").strip(),
        threat.gate,
        "; ".join(f"{c.id} ({c.status})" for c in threat.controls),
        "; ".join(threat.missing_controls),
        display_path(location.file, base) if location else "",
        str(location.line) if location else "",
    ]


def render_csv(assessment: Assessment) -> str:
    """Return the CSV text: a header line, then one line per threat."""
    base = Path(assessment.model_path).parent
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for threat in sorted_threats(assessment):
        writer.writerow([_cell(value) for value in _row(threat, base)])
    return buffer.getvalue()


def write_csv(assessment: Assessment, out_dir: Path) -> Path:
    """Write `threats.csv` into `out_dir`."""
    return write_atomic(out_dir / "threats.csv", render_csv(assessment))
