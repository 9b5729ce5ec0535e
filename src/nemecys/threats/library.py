"""Threat rule libraries: the packaged rules plus the user's own files, merged by rule id.

A library file is YAML:

    library: {id: my-company, version: "3", source: "Internal threat catalogue"}
    disable: [NMC-STRIDE-R-001]           # switch packaged rules off by id
    rules:
      - id: ACME-PUMP-001                 # a new id adds a rule; an existing id replaces it
        title: ...
        target: flow
        ...

Every rule is checked when it loads: its condition compiles against the fact registry, its
"why" text names only known placeholders, and its control ids exist in the control catalog.
One broken rule makes the whole load fail with every problem listed, because a rule that
cannot be evaluated must never read as "no finding".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nemecys.errors import LibraryError, Location, Problem
from nemecys.model.loader import pydantic_problems, suggest
from nemecys.model.schema import Objective, SeverityName
from nemecys.model.yamlsource import SourceMap, format_path, load_yaml
from nemecys.threats.conditions import ConditionError, Predicate, compile_condition
from nemecys.threats.facts import FACTS, Target

Stride = Literal[
    "spoofing",
    "tampering",
    "repudiation",
    "information_disclosure",
    "denial_of_service",
    "elevation_of_privilege",
]
STRIDE_LETTERS = {
    "spoofing": "S",
    "tampering": "T",
    "repudiation": "R",
    "information_disclosure": "I",
    "denial_of_service": "D",
    "elevation_of_privilege": "E",
}

RuleId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")]


class ExploitabilityDefaults(BaseModel):
    """CVSS v3.1 exploitability metrics a rule assumes; 'auto' derives them from the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vector: Literal["auto", "network", "adjacent", "local", "physical"] = "auto"
    complexity: Literal["low", "high"] = "low"
    privileges: Literal["auto", "none", "low", "high"] = "auto"
    user_interaction: Literal["none", "required"] = "none"


class RuleSpec(BaseModel):
    """One threat rule as written in a library file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId
    title: str
    description: str
    target: Target
    stride: list[Stride] = Field(min_length=1)
    capec: list[int] = Field(default_factory=list)
    cwe: list[int] = Field(default_factory=list)
    objectives: list[Objective] = Field(min_length=1)
    when: dict[str, Any]
    why: str
    exploitability: ExploitabilityDefaults = ExploitabilityDefaults()
    default_severity: SeverityName = Field(
        "minor", description="Severity when the threat reaches no clinical function."
    )
    controls: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class LibraryInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: str
    source: str | None = None
    description: str | None = None


class LibraryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    library: LibraryInfo
    disable: list[str] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    """A loaded rule with its compiled condition and the library it came from."""

    spec: RuleSpec
    predicate: Predicate
    library: str
    location: Location | None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def placeholders(self) -> frozenset[str]:
        """Names of the placeholders its "why" text uses."""
        return _placeholder_names(self.spec.why)

    def explain(self, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), self.spec.why)


@dataclass(frozen=True)
class ThreatLibrary:
    rules: dict[str, Rule]
    sources: tuple[LibraryInfo, ...]

    def by_target(self) -> dict[Target, list[Rule]]:
        grouped: dict[Target, list[Rule]] = {t: [] for t in Target}
        for rule in self.rules.values():
            grouped[rule.spec.target].append(rule)
        return grouped


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@cache
def _placeholder_names(text: str) -> frozenset[str]:
    return frozenset(_PLACEHOLDER.findall(text))


_COMMON_PLACEHOLDERS = {"name", "id"}
_TARGET_PLACEHOLDERS: dict[Target, set[str]] = {
    Target.SYSTEM: set(),
    Target.COMPONENT: {"zone"},
    Target.INTERFACE: {"component"},
    Target.FLOW: {"source", "destination", "data_names"},
    Target.ASSET: {"stored_in"},
}


def placeholders(target: Target) -> set[str]:
    return _COMMON_PLACEHOLDERS | _TARGET_PLACEHOLDERS[target] | set(FACTS[target])


def packaged_library_files() -> list[Path]:
    folder = resources.files("nemecys") / "data" / "rules"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))


def load_library(
    extra_files: Iterable[Path] = (),
    *,
    disable: Iterable[str] = (),
    catalog_ids: set[str] | None = None,
) -> ThreatLibrary:
    """Load the packaged rules, then each extra file in order (later files override earlier)."""
    problems: list[Problem] = []
    rules: dict[str, Rule] = {}
    sources: list[LibraryInfo] = []
    disabled: set[str] = set()

    for path in [*packaged_library_files(), *extra_files]:
        loaded = _load_file(path, problems, catalog_ids)
        if loaded is None:
            continue
        info, file_rules, file_disable = loaded
        sources.append(info)
        disabled.update(file_disable)
        for rule in file_rules:
            rules[rule.id] = rule  # NOTE: a later library replaces a rule of the same id whole

    for rule_id in [*disabled, *disable]:
        if rule_id not in rules:
            guess = suggest(rule_id, rules)
            problems.append(
                Problem(
                    f"cannot disable unknown rule '{rule_id}'",
                    hint=f"did you mean '{guess}'?"
                    if guess
                    else "check the rule id with 'nemecys rules'",
                )
            )
        rules.pop(rule_id, None)

    if problems:
        raise LibraryError("the threat library is invalid", problems)
    return ThreatLibrary(rules=rules, sources=tuple(sources))


def _load_file(
    path: Path, problems: list[Problem], catalog_ids: set[str] | None
) -> tuple[LibraryInfo, list[Rule], list[str]] | None:
    try:
        data, source = load_yaml(path)
    except Exception as exc:  # ModelError from the YAML reader carries located problems
        inner = getattr(exc, "problems", None)
        problems.extend(inner or [Problem(str(exc), Location(path))])
        return None
    try:
        parsed = LibraryFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_relocate(pydantic_problems(exc, source, LibraryFile), path))
        return None

    rules: list[Rule] = []
    seen: set[str] = set()
    for index, spec in enumerate(parsed.rules):
        where = source.find(("rules", index))
        label = f"rule {spec.id}"
        if spec.id in seen:
            problems.append(Problem(f"duplicate rule id '{spec.id}' in one file", where))
            continue
        seen.add(spec.id)
        try:
            predicate = compile_condition(spec.when, spec.target)
        except ConditionError as exc:
            problems.append(
                Problem(
                    f"{label}: invalid condition: {exc}",
                    source.find(("rules", index, "when")) or where,
                )
            )
            continue
        allowed = placeholders(spec.target)
        for name in _PLACEHOLDER.findall(spec.why):
            if name not in allowed:
                guess = suggest(name, allowed)
                problems.append(
                    Problem(
                        f"{label}: unknown placeholder '{{{name}}}' in 'why'",
                        source.find(("rules", index, "why")) or where,
                        hint=f"did you mean '{{{guess}}}'?"
                        if guess
                        else f"known: {', '.join(sorted(allowed))}",
                    )
                )
        if catalog_ids is not None:
            for ci, control in enumerate(spec.controls):
                if control not in catalog_ids:
                    guess = suggest(control, catalog_ids)
                    problems.append(
                        Problem(
                            f"{label}: unknown control catalog id '{control}'",
                            source.find(("rules", index, "controls", ci)) or where,
                            hint=f"did you mean '{guess}'?"
                            if guess
                            else "add it to the control catalog",
                        )
                    )
        rules.append(
            Rule(spec=spec, predicate=predicate, library=parsed.library.id, location=where)
        )
    return parsed.library, rules, parsed.disable


def _relocate(problems: list[Problem], path: Path) -> list[Problem]:
    return [p.located_in(path) for p in problems]


def describe_path(path: tuple[str | int, ...]) -> str:
    return format_path(path)


__all__ = [
    "STRIDE_LETTERS",
    "ExploitabilityDefaults",
    "Rule",
    "RuleSpec",
    "SourceMap",
    "ThreatLibrary",
    "load_library",
    "packaged_library_files",
    "placeholders",
]
