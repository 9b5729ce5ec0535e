"""Risk matrix and scoring rubric: package data, replaceable by the manufacturer's policy."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nemecys.errors import LibraryError, ModelError
from nemecys.model.loader import LocatedValueError, pydantic_problems
from nemecys.model.schema import Severity
from nemecys.model.yamlsource import load_yaml


class Exploitability(IntEnum):
    VERY_LOW = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    VERY_HIGH = 5

    @property
    def label(self) -> str:
        return self.name.lower()


class Acceptance(StrEnum):
    ACCEPTABLE = "acceptable"
    DECISION_REQUIRED = "decision_required"
    UNACCEPTABLE = "unacceptable"


_EXPLOITABILITY_NAMES = [e.label for e in Exploitability]
_SEVERITY_NAMES = [s.label for s in Severity]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyInfo(_Frozen):
    id: str
    version: str
    source: str | None = None


class RiskMatrix(_Frozen):
    """Risk level for each (severity, exploitability) pair and the acceptance of each level."""

    matrix: PolicyInfo
    exploitability_levels: list[str]
    severity_levels: list[str]
    risk_levels: list[str] = Field(min_length=2, description="Ordered from lowest to highest.")
    cells: dict[str, list[str]]
    acceptance: dict[str, Acceptance]

    @model_validator(mode="after")
    def _check(self) -> RiskMatrix:
        # (1) The axes are fixed: the scoring engine produces exactly these levels.
        if self.exploitability_levels != _EXPLOITABILITY_NAMES:
            raise LocatedValueError(
                f"exploitability_levels must be {_EXPLOITABILITY_NAMES}", ("exploitability_levels",)
            )
        if self.severity_levels != _SEVERITY_NAMES:
            raise LocatedValueError(
                f"severity_levels must be {_SEVERITY_NAMES}", ("severity_levels",)
            )
        if sorted(self.cells) != sorted(_SEVERITY_NAMES):
            raise LocatedValueError(
                f"cells needs one row per severity level: {_SEVERITY_NAMES}", ("cells",)
            )

        # (2) Every cell names a declared risk level.
        rank = {level: i for i, level in enumerate(self.risk_levels)}
        for severity, row in self.cells.items():
            if len(row) != len(_EXPLOITABILITY_NAMES):
                raise LocatedValueError(
                    f"cells.{severity} needs {len(_EXPLOITABILITY_NAMES)} entries",
                    ("cells", severity),
                )
            for ci, cell in enumerate(row):
                if cell not in rank:
                    raise LocatedValueError(
                        f"cells.{severity}: '{cell}' is not one of risk_levels {self.risk_levels}",
                        ("cells", severity, ci),
                    )

        # (3) Acceptance covers every risk level.
        if set(self.acceptance) != set(self.risk_levels):
            raise LocatedValueError(
                "acceptance needs exactly one entry per risk level", ("acceptance",)
            )

        # (4) Risk must never fall when severity or exploitability rises. Otherwise adding a
        # control or correcting a severity upwards could hide a risk.
        ranks = [[rank[v] for v in self.cells[s]] for s in _SEVERITY_NAMES]
        for si, ranked in enumerate(ranks):
            for ei, value in enumerate(ranked):
                if ei and value < ranked[ei - 1]:
                    raise LocatedValueError(
                        f"cells.{_SEVERITY_NAMES[si]} decreases as exploitability rises: "
                        "risk must never fall when exploitability rises",
                        ("cells", _SEVERITY_NAMES[si], ei),
                    )
                if si and value < ranks[si - 1][ei]:
                    raise LocatedValueError(
                        f"cells column '{_EXPLOITABILITY_NAMES[ei]}' decreases as severity rises: "
                        "risk must never fall when severity rises",
                        ("cells", _SEVERITY_NAMES[si], ei),
                    )

        # (5) A higher risk level is never accepted more easily than a lower one.
        accept_rank = {
            Acceptance.ACCEPTABLE: 0,
            Acceptance.DECISION_REQUIRED: 1,
            Acceptance.UNACCEPTABLE: 2,
        }
        previous = -1
        for level in self.risk_levels:
            current = accept_rank[self.acceptance[level]]
            if current < previous:
                raise LocatedValueError(
                    f"acceptance of '{level}' is laxer than a lower risk level's",
                    ("acceptance", level),
                )
            previous = current
        return self

    def level(self, severity: Severity, exploitability: Exploitability) -> str:
        return self.cells[severity.label][int(exploitability) - 1]

    def rank(self, risk_level: str) -> int:
        return self.risk_levels.index(risk_level)


class ExploitabilityBound(_Frozen):
    level: str
    below: float


Vector = Literal["network", "adjacent", "local", "physical"]
Privileges = Literal["none", "low", "high"]
SeverityName = Literal["negligible", "minor", "serious", "critical", "catastrophic"]


class Rubric(_Frozen):
    """Tables that turn model facts into CVSS exploitability metrics and severities."""

    rubric: PolicyInfo
    exploitability_levels: list[ExploitabilityBound]
    network_vector: dict[str, Vector]
    interface_vector: dict[str, Vector]
    authentication_privileges: dict[str, Privileges]
    data_severity: dict[str, SeverityName]
    multi_patient_increase: int = Field(ge=0, le=4)

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        names = [b.level for b in self.exploitability_levels]
        if names != _EXPLOITABILITY_NAMES:
            raise ValueError(f"exploitability_levels must list {_EXPLOITABILITY_NAMES} in order")
        bounds = [b.below for b in self.exploitability_levels]
        if bounds != sorted(bounds):
            raise ValueError("exploitability_levels bounds must rise")
        return self

    def exploitability_level(self, score: float) -> Exploitability:
        for index, bound in enumerate(self.exploitability_levels):
            if score < bound.below:
                return Exploitability(index + 1)
        return Exploitability.VERY_HIGH


def _policy_file(name: str) -> Path:
    return Path(str(resources.files("nemecys") / "data" / "risk" / name))


def _load(path: Path, cls: type[RiskMatrix] | type[Rubric], what: str) -> RiskMatrix | Rubric:
    try:
        data, source = load_yaml(path)
    except ModelError as exc:
        raise LibraryError(f"the {what} is invalid", exc.problems) from None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, source, cls)
        problems = [p.located_in(path) for p in problems]
        raise LibraryError(f"the {what} {path} is invalid", problems) from None


@cache
def default_matrix() -> RiskMatrix:
    matrix = _load(_policy_file("matrix.yaml"), RiskMatrix, "risk matrix")
    assert isinstance(matrix, RiskMatrix)
    return matrix


def load_matrix(path: Path | None) -> RiskMatrix:
    if path is None:
        return default_matrix()
    matrix = _load(path, RiskMatrix, "risk matrix")
    assert isinstance(matrix, RiskMatrix)
    return matrix


@cache
def default_rubric() -> Rubric:
    rubric = _load(_policy_file("rubric.yaml"), Rubric, "scoring rubric")
    assert isinstance(rubric, Rubric)
    return rubric
