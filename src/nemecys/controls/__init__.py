"""The control catalog: reusable security controls that threat rules name as closing them.

Each catalog control states which FDA security control category it belongs to, which
objectives it supports, and how far it lowers exploitability and severity when implemented.
Models refer to catalog controls by id and say where they apply and whether they are
implemented or only planned.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nemecys.errors import LibraryError, Location, ModelError, Problem
from nemecys.model.loader import pydantic_problems
from nemecys.model.schema import Level, Objective
from nemecys.model.yamlsource import load_yaml

# The eight security control categories of the FDA premarket cybersecurity guidance, Appendix 1.
ControlCategory = Literal[
    "authentication",
    "authorization",
    "cryptography",
    "integrity",
    "confidentiality",
    "event_detection_and_logging",
    "resiliency_and_recovery",
    "updatability_and_patchability",
]

ControlId = Annotated[str, Field(pattern=r"^CTL-[A-Z0-9]+(-[A-Z0-9]+)*$")]


class CatalogControl(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ControlId
    name: str
    description: str
    category: ControlCategory
    objectives: list[Objective] = Field(min_length=1)
    exploitability_reduction: int = Field(ge=0, le=4)
    severity_reduction: int = Field(0, ge=0, le=4)
    references: list[str] = Field(default_factory=list)
    cost: Level | None = None
    clinical_burden: Level | None = None


class CatalogInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: str
    source: str | None = None


class ControlCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: CatalogInfo
    controls: list[CatalogControl]

    def by_id(self) -> dict[str, CatalogControl]:
        return {c.id: c for c in self.controls}


def catalog_path() -> Path:
    return Path(str(resources.files("nemecys") / "data" / "catalogs" / "controls.yaml"))


@cache
def load_catalog(path: Path | None = None) -> ControlCatalog:
    """Load the control catalog (the packaged one unless `path` is given)."""
    path = path or catalog_path()
    try:
        data, source = load_yaml(path)
    except ModelError as exc:
        raise LibraryError("the control catalog is invalid", exc.problems) from None
    try:
        catalog = ControlCatalog.model_validate(data)
    except ValidationError as exc:
        problems = [p.located_in(path) for p in pydantic_problems(exc, source, ControlCatalog)]
        raise LibraryError(f"the control catalog {path} is invalid", problems) from None
    ids = [c.id for c in catalog.controls]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise LibraryError(
            "the control catalog is invalid",
            [Problem(f"duplicate control id '{d}'", Location(path)) for d in duplicates],
        )
    return catalog


__all__ = ["CatalogControl", "ControlCatalog", "ControlCategory", "catalog_path", "load_catalog"]
