"""SARIF 2.1.0 log of the threats whose residual risk is not acceptable, for code scanning tools.

One run with the tool driver `nemecys` lists every rule that derived at least one threat. A
result is written for each threat whose residual risk is not acceptable and that is not
marked not applicable: level `error` when the risk is unacceptable, `warning` when it needs
a decision. Threats accepted or transferred by a decision carry an external suppression with
the decision's rationale, so that tools show them as reviewed. Each result points at the
model element in the model file. Its URI is relative to the output folder's parent when the
file lies below it, the usual case when nemecys runs at a repository root. Otherwise it is a
file URI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nemecys.fileio import write_atomic
from nemecys.report._common import STRIDE_NAMES, sorted_threats, words
from nemecys.results import Assessment, ThreatResult

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
ROOT_ID = "MODELROOT"
FINGERPRINT_KEY = "nemecysThreatId/v1"

_LEVELS = {"unacceptable": "error", "decision_required": "warning"}
_SUPPRESSED_STATUSES = ("accepted", "transferred")


def _rule_name(title: str) -> str:
    """Turn a rule title into the PascalCase name SARIF viewers show next to the id."""
    return (
        "".join(part[:1].upper() + part[1:] for part in re.findall(r"[A-Za-z0-9]+", title))
        or "Rule"
    )


def _rule(
    rule_id: str, threats: list[ThreatResult], catalog_names: dict[str, str]
) -> dict[str, Any]:
    first = threats[0]
    controls: set[str] = set()
    for threat in threats:
        controls.update(threat.missing_controls)
        controls.update(c.catalog for c in threat.controls if c.catalog)

    control_lines = [f"{c}: {catalog_names.get(c, c)}" for c in sorted(controls)]
    help_text = first.description
    help_markdown = first.description
    if control_lines:
        help_text += "\n\nControls that close this threat:\n" + "\n".join(
            f"- {line}" for line in control_lines
        )
        help_markdown += "\n\n**Controls that close this threat:**\n\n" + "\n".join(
            f"- `{c}` {catalog_names.get(c, c)}" for c in sorted(controls)
        )

    stride = [STRIDE_NAMES.get(letter, letter) for letter in first.stride]
    tags = ["security", "threat-model"]
    tags += [f"stride/{name.lower().replace(' ', '-')}" for name in stride]
    tags += [f"external/capec/capec-{number}" for number in first.capec]
    tags += [f"external/cwe/cwe-{number}" for number in first.cwe]
    return {
        "id": rule_id,
        "name": _rule_name(first.title),
        "shortDescription": {"text": first.title},
        "fullDescription": {"text": first.description},
        "help": {"text": help_text, "markdown": help_markdown},
        "properties": {
            "tags": tags,
            "library": first.library,
            "stride": stride,
            "capec": [f"CAPEC-{n}" for n in first.capec],
            "cwe": [f"CWE-{n}" for n in first.cwe],
            "objectives": first.objectives,
            "controls": sorted(controls),
        },
    }


def _artifact(path: str, root: Path) -> dict[str, str]:
    file_path = Path(path).resolve()
    try:
        return {"uri": file_path.relative_to(root).as_posix(), "uriBaseId": ROOT_ID}
    except ValueError:
        return {"uri": file_path.as_uri()}


def _message(threat: ThreatResult) -> str:
    residual, initial = threat.residual, threat.initial
    text = (
        f"{threat.why} Residual risk {residual.level} ({words(residual.acceptance)}): "
        f"exploitability {words(residual.exploitability)}, severity {residual.severity}. "
        f"Initial risk {initial.level}; with planned controls {threat.projected.level}. "
        f"Status {words(threat.status)}."
    )
    if threat.missing_controls:
        text += f" Missing controls: {', '.join(threat.missing_controls)}."
    return text


def _result(
    threat: ThreatResult, rule_index: int, assessment: Assessment, root: Path
) -> dict[str, Any]:
    if threat.location is not None:
        artifact = _artifact(threat.location.file, root)
        region = {
            "startLine": max(threat.location.line, 1),
            "startColumn": max(threat.location.column, 1),
        }
    else:
        artifact = _artifact(assessment.model_path, root)
        region = {"startLine": 1, "startColumn": 1}
    result: dict[str, Any] = {
        "ruleId": threat.rule,
        "ruleIndex": rule_index,
        "level": _LEVELS[threat.residual.acceptance],
        "message": {"text": _message(threat)},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": artifact, "region": region},
                "logicalLocations": [
                    {
                        "name": threat.target.name,
                        "fullyQualifiedName": f"{threat.target.kind}:{threat.target.id}",
                        "kind": threat.target.kind,
                    }
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: threat.id},
        "properties": {
            "threatId": threat.id,
            "target": {"kind": threat.target.kind, "id": threat.target.id},
            "status": threat.status,
            "statusSource": threat.status_source,
            "initialRisk": threat.initial.model_dump(),
            "residualRisk": threat.residual.model_dump(),
            "projectedRisk": threat.projected.model_dump(),
            "exploitability": {
                "level": threat.exploitability.level,
                "cvssVector": threat.exploitability.cvss_vector,
                "score": threat.exploitability.score,
            },
            "severity": {
                "level": threat.severity.level,
                "functions": threat.severity.functions,
                "harm": threat.severity.harm,
                "multiPatient": threat.severity.multi_patient,
            },
            "gate": threat.gate,
        },
    }
    if threat.status in _SUPPRESSED_STATUSES:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": threat.rationale
                or f"threat {words(threat.status)} by a recorded decision",
            }
        ]
    return result


def build_sarif(
    assessment: Assessment, out_dir: Path, catalog_names: dict[str, str] | None = None
) -> dict[str, Any]:
    """Build the SARIF log as a JSON-ready dictionary."""
    names = catalog_names or {}
    root = out_dir.resolve().parent
    by_rule: dict[str, list[ThreatResult]] = {}
    for threat in sorted(assessment.threats, key=lambda t: t.id):
        by_rule.setdefault(threat.rule, []).append(threat)
    rule_ids = sorted(by_rule)
    rule_index = {rule_id: i for i, rule_id in enumerate(rule_ids)}

    results = [
        _result(threat, rule_index[threat.rule], assessment, root)
        for threat in sorted_threats(assessment)
        if threat.residual.acceptance in _LEVELS and threat.status != "not_applicable"
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": assessment.tool,
                        "version": assessment.tool_version,
                        "semanticVersion": assessment.tool_version,
                        "rules": [_rule(rule_id, by_rule[rule_id], names) for rule_id in rule_ids],
                    }
                },
                "originalUriBaseIds": {ROOT_ID: {"uri": root.as_uri() + "/"}},
                "automationDetails": {"id": f"nemecys/{assessment.system.name}/"},
                "results": results,
                "properties": {
                    "system": assessment.system.name,
                    "matrix": assessment.matrix.model_dump(),
                    "rubric": assessment.rubric.model_dump(),
                    "libraries": [library.model_dump() for library in assessment.libraries],
                    "gatePassed": assessment.gate.passed,
                },
            }
        ],
    }


def write_sarif(
    assessment: Assessment, out_dir: Path, catalog_names: dict[str, str] | None = None
) -> Path:
    """Write `results.sarif` into `out_dir`."""
    log = build_sarif(assessment, out_dir, catalog_names)
    return write_atomic(
        out_dir / "results.sarif", json.dumps(log, indent=2, ensure_ascii=False) + "\n"
    )
