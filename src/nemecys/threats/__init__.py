"""Threat engine: rule libraries as data, facts computed from the model, derived threats."""

from nemecys.threats.engine import DerivedThreat, derive_threats
from nemecys.threats.facts import FACTS, Element, ModelIndex, Target, build_elements
from nemecys.threats.library import Rule, RuleSpec, ThreatLibrary, load_library

__all__ = [
    "FACTS",
    "DerivedThreat",
    "Element",
    "ModelIndex",
    "Rule",
    "RuleSpec",
    "Target",
    "ThreatLibrary",
    "build_elements",
    "derive_threats",
    "load_library",
]
