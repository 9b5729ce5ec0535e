"""Declarative rule conditions, compiled to Python closures once at library load.

A condition is YAML data, never a string of code:

    all:
      - protocol: ble_gatt                    # shorthand for {is: ble_gatt}
      - data: {has_any: [therapy_commands]}
      - authentication: {in: [none, unknown]}
      - not: {crosses_boundary: true}

`all`, `any` and `not` combine; every other key is a fact of the rule's target (see
`nemecys.threats.facts.FACTS`) with one operator. Unknown facts, operators that do not fit
the fact's type, and values outside the fact's domain are load errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nemecys.model.loader import suggest
from nemecys.threats.facts import FACTS, FactSpec, FactType, Target

Predicate = Callable[[dict[str, Any]], bool]


class ConditionError(ValueError):
    """A condition is malformed; the message says where inside the condition."""


_SCALAR_OPS = {"is", "is_not", "in", "not_in"}
_SET_OPS = {"has", "has_any", "has_all", "has_none", "is_empty"}
_INT_OPS = {"is", "is_not", "at_least", "at_most", "in", "not_in"}
_OPS_BY_TYPE: dict[FactType, set[str]] = {
    FactType.STR: _SCALAR_OPS,
    FactType.BOOL: {"is", "is_not"},
    FactType.INT: _INT_OPS,
    FactType.SET: _SET_OPS,
}


def compile_condition(raw: Any, target: Target, where: str = "when") -> Predicate:
    """Compile `raw` for `target`; raise ConditionError naming the faulty part."""
    facts = FACTS[target]
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ConditionError(
            f"{where}: expected a mapping with exactly one key (all, any, not, or a fact), got {raw!r}"
        )
    ((key, value),) = raw.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{where}.{key}: expected a non-empty list of conditions")
        parts = [
            compile_condition(item, target, f"{where}.{key}[{i}]") for i, item in enumerate(value)
        ]
        if key == "all":
            return lambda facts_: all(p(facts_) for p in parts)
        return lambda facts_: any(p(facts_) for p in parts)
    if key == "not":
        inner = compile_condition(value, target, f"{where}.not")
        return lambda facts_: not inner(facts_)
    if key not in facts:
        guess = suggest(str(key), facts)
        hint = f"; did you mean '{guess}'?" if guess else ""
        raise ConditionError(
            f"{where}: unknown fact '{key}' for target '{target.value}'{hint} "
            f"(known: {', '.join(sorted(facts))})"
        )
    return _compile_leaf(str(key), facts[key], value, f"{where}.{key}")


def _compile_leaf(name: str, spec: FactSpec, raw: Any, where: str) -> Predicate:
    if not isinstance(raw, dict):
        raw = {"is" if spec.type is not FactType.SET else "has": raw}
    if len(raw) != 1:
        raise ConditionError(f"{where}: expected one operator, got {sorted(raw)}")
    ((op, operand),) = raw.items()
    allowed = _OPS_BY_TYPE[spec.type]
    if op not in allowed:
        raise ConditionError(
            f"{where}: operator '{op}' does not apply to a {spec.type.value} fact (use one of {', '.join(sorted(allowed))})"
        )
    values = _check_operand(name, spec, op, operand, where)

    match op:
        case "is":
            expected = values[0]
            return lambda f: bool(f[name] == expected)
        case "is_not":
            expected = values[0]
            return lambda f: bool(f[name] != expected)
        case "in":
            options = frozenset(values)
            return lambda f: f[name] in options
        case "not_in":
            options = frozenset(values)
            return lambda f: f[name] not in options
        case "at_least":
            bound = values[0]
            return lambda f: bool(f[name] >= bound)
        case "at_most":
            bound = values[0]
            return lambda f: bool(f[name] <= bound)
        case "has":
            member = values[0]
            return lambda f: member in f[name]
        case "has_any":
            members = frozenset(values)
            return lambda f: not members.isdisjoint(f[name])
        case "has_all":
            members = frozenset(values)
            return lambda f: members <= f[name]
        case "has_none":
            members = frozenset(values)
            return lambda f: members.isdisjoint(f[name])
        case "is_empty":
            wanted = bool(values[0])
            return lambda f: (len(f[name]) == 0) is wanted
    raise ConditionError(f"{where}: unsupported operator '{op}'")  # pragma: no cover


def _check_operand(name: str, spec: FactSpec, op: str, operand: Any, where: str) -> list[Any]:
    is_list_op = op in ("in", "not_in", "has_any", "has_all", "has_none")
    if is_list_op:
        if not isinstance(operand, list) or not operand:
            raise ConditionError(f"{where}.{op}: expected a non-empty list")
        values = list(operand)
    else:
        if isinstance(operand, list | dict):
            raise ConditionError(f"{where}.{op}: expected a single value, got {operand!r}")
        values = [operand]

    if op == "is_empty":
        if not isinstance(operand, bool):
            raise ConditionError(f"{where}.is_empty: expected true or false")
        return values
    for value in values:
        if spec.type is FactType.BOOL and not isinstance(value, bool):
            raise ConditionError(f"{where}.{op}: '{name}' is true or false, got {value!r}")
        if spec.type is FactType.INT and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConditionError(f"{where}.{op}: '{name}' is an integer, got {value!r}")
        if spec.type in (FactType.STR, FactType.SET):
            if not isinstance(value, str):
                raise ConditionError(f"{where}.{op}: expected a string, got {value!r}")
            if spec.values is not None and value not in spec.values:
                guess = suggest(value, spec.values)
                hint = f"; did you mean '{guess}'?" if guess else ""
                raise ConditionError(
                    f"{where}.{op}: '{value}' is not a possible value of '{name}'{hint} "
                    f"(possible: {', '.join(spec.values)})"
                )
    return values
