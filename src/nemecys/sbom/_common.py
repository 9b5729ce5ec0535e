"""Helpers shared by the format readers: warnings, unique component keys, tolerant values.

The readers accept real-world SBOMs that break their schema in small ways (a number where a string
belongs, a duplicate bom-ref, a dependency on an unknown component). Such defects become warnings
on the `ReadContext` instead of errors, so one bad entry does not hide the other thousand
components. Only input that cannot be read as the detected format raises `InputError`.

Defects that leave the component list itself incomplete (a component list that is not a list, an
entry that is not an object, a component without a name) are recorded separately as `defects`.
The quality report shows them beside the warnings, and strict reading (`nemecys assess`) rejects
a document that has any.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemecys.errors import InputError, Location, Problem
from nemecys.sbom.fda import END_OF_SUPPORT, LEVEL_OF_SUPPORT, support_field
from nemecys.sbom.model import SbomDocument

# Warnings kept per document; more are counted, not stored, so a broken generator cannot flood
# the report.
MAX_WARNINGS = 200

# Nesting of components inside components (CycloneDX) beyond which a document is rejected. npm
# SBOMs nest node_modules about ten levels deep; the limit guards the recursive walk.
MAX_COMPONENT_DEPTH = 100

# SoftwareComponent has no SWID field yet, so a SWID tag id travels as this property.
# TODO: move to a dedicated `swid` field once SoftwareComponent has one.
SWID_PROPERTY = "nemecys:swid:tagId"

_GENERATED_KEY_PREFIX = "nemecys:component:"


@dataclass(frozen=True, slots=True)
class SbomReading:
    """A parsed SBOM with the defects the reader tolerated."""

    document: SbomDocument
    warnings: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()


@dataclass
class ReadContext:
    """Per-document state of a reader: the source name, warnings and the keys handed out."""

    source: str
    warnings: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    suppressed: int = 0
    _keys: set[str] = field(default_factory=set)
    _generated: int = 0

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.suppressed += 1

    def defect(self, message: str) -> None:
        """Record a defect that leaves the component list incomplete."""
        if len(self.defects) < MAX_WARNINGS:
            self.defects.append(message)
        else:
            self.suppressed += 1

    def final_warnings(self) -> tuple[str, ...]:
        if self.suppressed:
            return (*self.warnings, f"{self.suppressed} more warnings not shown")
        return tuple(self.warnings)

    def error(
        self, message: str, *, hint: str, line: int = 0, column: int = 0, where: str | None = None
    ) -> InputError:
        """Build an InputError that names the file, the position, the problem and the fix."""
        problem = Problem(
            message,
            location=Location(Path(self.source), line, column or (1 if line else 0)),
            path=where,
            hint=hint,
        )
        return InputError(problem.render())

    def claim_key(self, wanted: str | None, where: str) -> str:
        """Reserve `wanted` as a component key, or a generated one when it is empty or taken.

        A second component with an already used key gets `key#2`, `key#3`, …, so both stay in the
        document. Dependencies that name the key point at the first one.
        """
        if wanted:
            if wanted not in self._keys:
                self._keys.add(wanted)
                return wanted
            suffix = 2
            while f"{wanted}#{suffix}" in self._keys:
                suffix += 1
            renamed = f"{wanted}#{suffix}"
            self.warn(f"{where}: duplicate identifier '{wanted}'; this entry is keyed '{renamed}'")
            self._keys.add(renamed)
            return renamed
        while True:
            self._generated += 1
            generated = f"{_GENERATED_KEY_PREFIX}{self._generated}"
            if generated not in self._keys:
                self._keys.add(generated)
                return generated

    def text(self, value: object, where: str) -> str | None:
        """Return `value` as stripped text, None when absent or empty; warn on a non-text value."""
        if value is None:
            return None
        if isinstance(value, str):
            return value.strip() or None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float) and math.isfinite(value):
            return str(value)
        self.warn(f"{where}: expected text, found {type(value).__name__}; ignored")
        return None

    def items(self, value: object, where: str, *, components: bool = False) -> list[Any]:
        """Return `value` as a list; warn and return [] when it is something else.

        With `components`, the value is a list of components and a wrong type is a defect.
        """
        if value is None:
            return []
        if isinstance(value, list):
            return value
        message = f"{where}: expected a list, found {type(value).__name__}; ignored"
        if components:
            self.defect(message)
        else:
            self.warn(message)
        return []

    def mapping(
        self, value: object, where: str, *, component: bool = False
    ) -> Mapping[str, Any] | None:
        """Return `value` as a mapping; warn and return None when it is something else.

        With `component`, the value is a component entry and a wrong type is a defect.
        """
        if value is None:
            return None
        if isinstance(value, dict):
            return value
        message = f"{where}: expected an object, found {type(value).__name__}; ignored"
        if component:
            self.defect(message)
        else:
            self.warn(message)
        return None


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Return the values without repeats, in first-seen order."""
    return tuple(dict.fromkeys(values))


def support_values(properties: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    """Return the (level of support, end of support) found among name/value properties.

    The first non-empty value of each field wins, so a later duplicate property cannot override it.
    """
    level: str | None = None
    end: str | None = None
    for name, value in properties:
        target = support_field(name)
        if not value.strip():
            continue
        if target == LEVEL_OF_SUPPORT and level is None:
            level = value
        elif target == END_OF_SUPPORT and end is None:
            end = value
    return level, end
