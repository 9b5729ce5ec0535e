"""Threat derivation: every rule against every element of its target kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nemecys.errors import LibraryError, Problem
from nemecys.threats.facts import Element, ModelIndex, build_elements
from nemecys.threats.library import Rule, ThreatLibrary


@dataclass(frozen=True)
class DerivedThreat:
    """A rule that fired on an element, with the explanation filled from the model."""

    id: str
    rule: Rule
    element: Element
    why: str


def _render(value: Any) -> str:
    if isinstance(value, set | frozenset):
        return ", ".join(sorted(str(v) for v in value)) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def derive_threats(index: ModelIndex, library: ThreatLibrary) -> list[DerivedThreat]:
    """Return the threats the library raises on the model, in rule then element order."""
    elements = build_elements(index)
    threats: list[DerivedThreat] = []
    for target, rules in library.by_target().items():
        candidates = elements[target]
        for rule in sorted(rules, key=lambda r: r.id):
            for element in candidates:
                try:
                    fired = rule.predicate(element.facts)
                except (KeyError, TypeError) as exc:
                    # Conditions are checked at load, so this means an engine bug; it must
                    # surface rather than read as "not applicable".
                    raise LibraryError(
                        "a threat rule could not be evaluated",
                        [
                            Problem(
                                f"rule {rule.id} failed on {target.value} '{element.id}': {exc!r}",
                                rule.location,
                            )
                        ],
                    ) from exc
                if fired:
                    threats.append(
                        DerivedThreat(
                            f"{rule.id}@{element.id}",
                            rule,
                            element,
                            rule.explain(_placeholder_values(element, rule.placeholders)),
                        )
                    )
    return threats


def _placeholder_values(element: Element, names: frozenset[str]) -> dict[str, str]:
    """Render the facts a rule's "why" text names; rendering every fact cost more than matching."""
    values: dict[str, str] = {}
    for name in names:
        if name == "name":
            values[name] = element.name
        elif name == "id":
            values[name] = element.id
        elif name in element.text:
            values[name] = element.text[name]
        elif name in element.facts:
            values[name] = _render(element.facts[name])
    return values
