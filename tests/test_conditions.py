"""Rule conditions: each operator, and the load errors that stop a broken rule."""

from __future__ import annotations

from typing import Any

import pytest

from nemecys.threats.conditions import ConditionError, compile_condition
from nemecys.threats.facts import FACTS, FactType, Target

FLOW_FACTS: dict[str, Any] = {
    "protocol": "ble_gatt",
    "authentication": "none",
    "data": {"therapy_commands", "phi"},
    "crosses_boundary": False,
    "data_integrity": 3,
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"protocol": "ble_gatt"}, True),
        ({"protocol": {"is_not": "ble_gatt"}}, False),
        ({"authentication": {"in": ["none", "unknown"]}}, True),
        ({"authentication": {"not_in": ["none", "unknown"]}}, False),
        ({"data": "phi"}, True),
        ({"data": {"has_any": ["alarms", "phi"]}}, True),
        ({"data": {"has_all": ["phi", "alarms"]}}, False),
        ({"data": {"has_none": ["alarms", "firmware"]}}, True),
        ({"data": {"is_empty": True}}, False),
        ({"crosses_boundary": False}, True),
        ({"data_integrity": {"at_least": 3}}, True),
        ({"data_integrity": {"at_most": 2}}, False),
        ({"all": [{"protocol": "ble_gatt"}, {"crosses_boundary": True}]}, False),
        ({"any": [{"protocol": "https"}, {"data": "phi"}]}, True),
        ({"not": {"protocol": "https"}}, True),
    ],
)
def test_operator(condition: dict[str, Any], expected: bool) -> None:
    facts = {name: FLOW_FACTS.get(name) for name in FACTS[Target.FLOW]}
    predicate = compile_condition(condition, Target.FLOW)
    assert predicate(facts) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"protocl": "https"},
            "unknown fact 'protocl' for target 'flow'; did you mean 'protocol'?",
        ),
        (
            {"protocol": "htps"},
            "'htps' is not a possible value of 'protocol'; did you mean 'https'?",
        ),
        ({"protocol": {"has": "https"}}, "operator 'has' does not apply to a str fact"),
        ({"data": {"at_least": 2}}, "operator 'at_least' does not apply to a set fact"),
        ({"crosses_boundary": "yes"}, "'crosses_boundary' is true or false"),
        ({"data_integrity": {"at_least": "high"}}, "'data_integrity' is an integer"),
        ({"all": []}, "expected a non-empty list of conditions"),
        ({"protocol": "https", "encryption": "tls"}, "exactly one key"),
        ({"protocol": {"in": "https"}}, "expected a non-empty list"),
        ({"protocol": {"is": "https", "in": ["http"]}}, "expected one operator"),
        ("protocol == 'https'", "expected a mapping"),
    ],
)
def test_invalid_condition_rejected(condition: Any, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(condition, Target.FLOW)
    assert message in str(caught.value)


def test_every_fact_has_a_type_and_description() -> None:
    for target, facts in FACTS.items():
        for name, spec in facts.items():
            assert spec.description, (target, name)
            if spec.type is FactType.STR:
                assert spec.values, f"{target.value}.{name} needs its allowed values"
