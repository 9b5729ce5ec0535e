"""Monotonicity of risk: controls never raise it, and higher harm never lowers it.

The checks run on the bundled Nightscout example and on generated models, because the
property must hold for every rule in the library, not for a hand-picked case.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemecys.assess import assess_prepared, prepare_document
from nemecys.controls import load_catalog
from nemecys.model import read_document
from nemecys.model.schema import (
    AssetKind,
    Authentication,
    ComponentKind,
    Encryption,
    Level,
    Protocol,
    Reach,
)
from nemecys.results import Assessment

from .conftest import EXAMPLES

SEVERITIES = ["negligible", "minor", "serious", "critical", "catastrophic"]
NIGHTSCOUT = EXAMPLES / "nightscout" / "nemecys.yaml"
_DOCUMENT, _SOURCE, _FILES = read_document(NIGHTSCOUT)
CATALOG_IDS = sorted(c.id for c in load_catalog().controls)


def _assess(document: dict[str, Any]) -> Assessment:
    return assess_prepared(prepare_document(NIGHTSCOUT, document))


def _ranks(assessment: Assessment, attribute: str) -> dict[str, int]:
    levels = assessment.risk_levels
    return {t.id: levels.index(getattr(t, attribute).level) for t in assessment.threats}


BASELINE = _assess(copy.deepcopy(_DOCUMENT))
ELEMENT_IDS = sorted(
    [c["id"] for c in _DOCUMENT["components"]] + [f["id"] for f in _DOCUMENT.get("flows", [])]
)


def test_example_raises_threats() -> None:
    # Without threats the properties below would hold vacuously.
    assert len(BASELINE.threats) >= 10


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    catalog_id=st.sampled_from(CATALOG_IDS),
    applies_to=st.lists(st.sampled_from(ELEMENT_IDS), max_size=3, unique=True),
)
def test_implemented_control_never_raises_residual_risk(
    catalog_id: str, applies_to: list[str]
) -> None:
    document = copy.deepcopy(_DOCUMENT)
    document.setdefault("controls", []).append(
        {
            "id": "property-test-control",
            "catalog": catalog_id,
            "status": "implemented",
            "applies_to": applies_to,
        }
    )
    after = _assess(document)
    before_ranks, after_ranks = _ranks(BASELINE, "residual"), _ranks(after, "residual")
    assert set(before_ranks) == set(after_ranks)
    for threat_id, rank in after_ranks.items():
        assert rank <= before_ranks[threat_id], threat_id
    # Initial risk ignores controls altogether.
    assert _ranks(after, "initial") == _ranks(BASELINE, "initial")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_raising_harm_severity_never_lowers_risk(data: st.DataObject) -> None:
    document = copy.deepcopy(_DOCUMENT)
    functions = document["system"]["clinical_functions"]
    index = data.draw(st.integers(0, len(functions) - 1), label="function")
    current = SEVERITIES.index(functions[index]["severity"])
    raised = data.draw(st.integers(current, len(SEVERITIES) - 1), label="new severity")
    functions[index]["severity"] = SEVERITIES[raised]
    after = _assess(document)
    for attribute in ("initial", "residual", "projected"):
        before_ranks, after_ranks = _ranks(BASELINE, attribute), _ranks(after, attribute)
        assert set(before_ranks) == set(after_ranks)
        for threat_id, rank in after_ranks.items():
            assert rank >= before_ranks[threat_id], (attribute, threat_id)


# --- generated models -------------------------------------------------------------------------

_ZONES = [
    "patient-body",
    "patient-home",
    "hospital-network",
    "internet",
    "vendor-cloud",
    "manufacturer",
]


@st.composite
def generated_models(draw: st.DrawFn) -> dict[str, Any]:
    n_components = draw(st.integers(2, 8))
    components = [
        {
            "id": f"c{i}",
            "kind": draw(st.sampled_from([k.value for k in ComponentKind])),
            "zone": draw(st.sampled_from(_ZONES)),
            "functions": draw(st.lists(st.just("f0"), max_size=1)),
            "interfaces": [
                {
                    "id": "i0",
                    "kind": draw(st.sampled_from(["ble", "usb", "wifi", "serial_debug", "ui"])),
                }
            ],
        }
        for i in range(n_components)
    ]
    assets = [
        {
            "id": f"a{i}",
            "kind": draw(st.sampled_from([k.value for k in AssetKind])),
            "confidentiality": draw(st.sampled_from([v.value for v in Level])),
            "integrity": draw(st.sampled_from([v.value for v in Level])),
            "functions": draw(st.lists(st.just("f0"), max_size=1)),
        }
        for i in range(draw(st.integers(1, 4)))
    ]
    flows = []
    for i in range(draw(st.integers(1, 10))):
        source, destination = draw(
            st.lists(st.integers(0, n_components - 1), min_size=2, max_size=2, unique=True)
        )
        flows.append(
            {
                "id": f"fl{i}",
                "source": f"c{source}",
                "destination": f"c{destination}",
                "protocol": draw(st.sampled_from([p.value for p in Protocol])),
                "authentication": draw(st.sampled_from([a.value for a in Authentication])),
                "encryption": draw(st.sampled_from([e.value for e in Encryption])),
                "data": draw(
                    st.lists(st.sampled_from([a["id"] for a in assets]), max_size=2, unique=True)
                ),
            }
        )
    return {
        "system": {
            "name": "generated",
            "intended_use": "property test",
            "clinical_functions": [
                {
                    "id": "f0",
                    "harm": "generated harm",
                    "severity": draw(st.sampled_from(SEVERITIES)),
                    "reach": draw(st.sampled_from([r.value for r in Reach])),
                }
            ],
        },
        "components": components,
        "assets": assets,
        "flows": flows,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=generated_models(), catalog_id=st.sampled_from(CATALOG_IDS))
def test_generated_models_score_and_stay_monotonic(
    document: dict[str, Any], catalog_id: str
) -> None:
    path = Path("generated.yaml")
    before = assess_prepared(prepare_document(path, copy.deepcopy(document)))
    for threat in before.threats:
        assert threat.id.startswith(f"{threat.rule}@")
        assert "{" not in threat.why
        assert 1 <= threat.severity.value <= 5
    with_control = copy.deepcopy(document)
    with_control["controls"] = [{"id": "x", "catalog": catalog_id, "status": "implemented"}]
    after = assess_prepared(prepare_document(path, with_control))
    before_ranks, after_ranks = _ranks(before, "residual"), _ranks(after, "residual")
    for threat_id, rank in after_ranks.items():
        assert rank <= before_ranks[threat_id]
