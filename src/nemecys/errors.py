"""Exceptions shared by every subsystem.

    NemecysError                  base; `diagnostics()` is what the CLI prints
    ├── ModelError                the system model is invalid (one or more `Problem`s)
    ├── LibraryError              a threat rule, control catalog or risk matrix is invalid
    └── InputError                another input file (SBOM, import source) cannot be used

Only the CLI turns these into exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A position in a text file; line and column count from 1."""

    file: Path
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return str(self.file)
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with enough context for the user to fix it."""

    message: str
    location: Location | None = None
    value: str | None = None
    expected: str | None = None
    hint: str | None = None
    path: str | None = None  # where inside the document, e.g. flows[2].source

    def located_in(self, file: Path) -> Problem:
        """Return this problem with `file` as its location when it has none."""
        if self.location is not None:
            return self
        return replace(self, location=Location(file))

    def render(self) -> str:
        head = f"{self.location}: " if self.location else ""
        lines = [f"{head}{self.message}"]
        if self.path:
            lines.append(f"    at: {self.path}")
        if self.value is not None:
            lines.append(f"    value: {self.value}")
        if self.expected:
            lines.append(f"    expected: {self.expected}")
        if self.hint:
            lines.append(f"    hint: {self.hint}")
        return "\n".join(lines)


class NemecysError(Exception):
    """Base of every error nemecys raises on purpose."""

    def diagnostics(self) -> str:
        return str(self)


class _ProblemsError(NemecysError):
    def __init__(self, summary: str, problems: list[Problem]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = problems

    def diagnostics(self) -> str:
        body = "\n".join(p.render() for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        return f"{self.summary} ({count} {noun}):\n{body}"


class ModelError(_ProblemsError):
    """The system model failed to parse or validate."""


class LibraryError(_ProblemsError):
    """A threat library, control catalog or risk matrix failed to load."""


class InputError(NemecysError):
    """An input file other than the model (an SBOM, an import source) cannot be used."""
