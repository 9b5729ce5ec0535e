"""Threat derivation: every rule against every element of its target kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nemecys.errors import LibraryError, Problem
from nemecys.threats.facts import Element, ModelIndex, Target, build_elements
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
                            rule.explain(_placeholder_values(element)),
                        )
                    )
    return threats


def _placeholder_values(element: Element) -> dict[str, str]:
    values = {name: _render(value) for name, value in element.facts.items()}
    values.update(element.text)
    values["name"] = element.name
    values["id"] = element.id
    return values


__all__ = ["DerivedThreat", "Target", "derive_threats"]
