"""Load a model file and its includes, then validate it with pydantic.

Every problem found is collected before raising, so `nemecys validate` can show them all at
once. Pydantic's error locations are mapped back to `file:line:column` through the
`SourceMap`, and misspelt keys or enum values get a "did you mean" from the allowed names.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from nemecys.errors import Location, ModelError, Problem
from nemecys.model.schema import SystemModel
from nemecys.model.yamlsource import MAX_FILE_BYTES, PathKey, SourceMap, format_path, load_yaml

MODEL_FILE_NAME = "nemecys.yaml"
MAX_INCLUDE_DEPTH = 16

# Top-level sections that included files extend; every other section may appear in one file only.
_LIST_SECTIONS = (
    "zones",
    "components",
    "assets",
    "flows",
    "actors",
    "controls",
    "assumptions",
    "decisions",
)


@dataclass(frozen=True)
class LoadedModel:
    """A validated model with where each part came from."""

    model: SystemModel
    path: Path
    files: tuple[Path, ...]
    source: SourceMap
    document: dict[str, Any] = field(default_factory=dict)  # the merged YAML data, as read

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def locate(self, path: PathKey) -> Location | None:
        return self.source.find(path)


def _describe(value: object) -> str:
    """Name the YAML type of a parsed value, for messages."""
    if value is None:
        return "empty (null)"
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def resolve_project(project: Path) -> Path:
    """Return the model file for PROJECT: the file itself or `PROJECT/nemecys.yaml`."""
    if project.is_dir():
        candidate = project / MODEL_FILE_NAME
        if not candidate.is_file():
            raise ModelError(
                "cannot find the model",
                [
                    Problem(
                        f"folder has no {MODEL_FILE_NAME}",
                        Location(project),
                        hint=f"pass the model file itself, or add {MODEL_FILE_NAME} to the folder",
                    )
                ],
            )
        return candidate
    return project


def _max_bytes() -> int:
    raw = os.environ.get("NEMECYS_MAX_MODEL_BYTES")
    if not raw:
        return MAX_FILE_BYTES
    try:
        limit = int(raw)
    except ValueError:
        raise ModelError(
            "invalid setting",
            [
                Problem(
                    "NEMECYS_MAX_MODEL_BYTES is not an integer", value=raw, hint="give a byte count"
                )
            ],
        ) from None
    if limit <= 0:
        raise ModelError(
            "invalid setting",
            [
                Problem(
                    "NEMECYS_MAX_MODEL_BYTES must be a positive byte count",
                    value=raw,
                    expected="an integer above 0",
                    hint=f"unset it to use the default of {MAX_FILE_BYTES} bytes",
                )
            ],
        )
    return limit


def read_document(path: Path) -> tuple[dict[str, Any], SourceMap, tuple[Path, ...]]:
    """Read a model file and merge its includes into one document."""
    path = path.resolve()
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    source = SourceMap()
    files: list[Path] = []
    _merge_file(path, merged, source, files, problems, chain=())
    if problems:
        raise ModelError("the model is invalid", problems)
    return merged, source, tuple(files)


def _merge_file(
    path: Path,
    merged: dict[str, Any],
    source: SourceMap,
    files: list[Path],
    problems: list[Problem],
    chain: tuple[Path, ...],
) -> None:
    data, file_source = load_yaml(path, _max_bytes())
    files.append(path)
    source.locations.setdefault((), Location(path, 1, 1))
    if not isinstance(data, dict):
        problems.append(
            Problem(
                f"top level is {_describe(data)}, expected a mapping",
                file_source.find(()) or Location(path, 1, 1),
                expected="keys such as 'system', 'components', 'flows'",
            )
        )
        return

    includes = data.get("includes", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        problems.append(
            Problem(
                "'includes' must be a list of file paths",
                file_source.find(("includes",)),
                value=repr(includes),
            )
        )
        includes = []

    # Group this file's locations by top-level section once; remapping per section by a scan
    # of all locations made large models quadratic in their section count.
    by_section: dict[str, list[tuple[PathKey, Location, bool]]] = defaultdict(list)
    for p, loc in file_source.locations.items():
        if p and isinstance(p[0], str):
            by_section[p[0]].append((p, loc, False))
    for p, loc in file_source.key_locations.items():
        if p and isinstance(p[0], str):
            by_section[p[0]].append((p, loc, True))

    for key, value in data.items():
        if key == "includes":
            continue
        entries = by_section.get(key, [])
        if key in _LIST_SECTIONS and isinstance(value, list):
            existing = merged.setdefault(key, [])
            if not isinstance(existing, list):
                continue
            offset = len(existing)
            existing.extend(value)
            for p, loc, is_key in entries:
                target = source.key_locations if is_key else source.locations
                if len(p) > 1 and isinstance(p[1], int):
                    target[(key, p[1] + offset, *p[2:])] = loc
                elif len(p) == 1:
                    target.setdefault(p, loc)
        elif key in merged:
            problems.append(
                Problem(
                    f"section '{key}' is defined in more than one file",
                    file_source.find((key,), key=True),
                    hint=f"keep '{key}' in one file; only list sections ({', '.join(_LIST_SECTIONS)}) "
                    "can be split over includes",
                )
            )
        else:
            merged[key] = value
            for p, loc, is_key in entries:
                (source.key_locations if is_key else source.locations)[p] = loc

    for index, include in enumerate(includes):
        target = (path.parent / include).resolve()
        where = file_source.find(("includes", index))
        if target in chain or target == path:
            problems.append(
                Problem(
                    "include cycle", where, value=include, hint="remove the include that loops back"
                )
            )
            continue
        if len(chain) >= MAX_INCLUDE_DEPTH:
            problems.append(
                Problem(
                    f"includes nest deeper than {MAX_INCLUDE_DEPTH} levels", where, value=include
                )
            )
            continue
        if not target.is_file():
            problems.append(
                Problem(
                    "included file not found",
                    where,
                    value=include,
                    hint=f"paths are relative to {path.parent}",
                )
            )
            continue
        try:
            _merge_file(target, merged, source, files, problems, (*chain, path))
        except ModelError as exc:
            problems.extend(exc.problems)


def validate_document(
    path: Path,
    document: dict[str, Any],
    source: SourceMap,
    files: tuple[Path, ...],
    *,
    rule_ids: Collection[str] | None = None,
    catalog_ids: Collection[str] | None = None,
) -> LoadedModel:
    """Validate a merged document: schema and cross-references, every problem at once."""
    from nemecys.model.references import check_document

    problems: list[Problem] = []
    model: SystemModel | None = None
    try:
        model = SystemModel.model_validate(document)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, source))
    problems.extend(check_document(document, source, rule_ids=rule_ids, catalog_ids=catalog_ids))
    if problems or model is None:
        problems.sort(key=_problem_order)
        raise ModelError("the model is invalid", problems)
    return LoadedModel(
        model=model, path=path.resolve(), files=files, source=source, document=document
    )


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    location = problem.location
    if location is None:
        return ("", 0, 0)
    return (str(location.file), location.line, location.column)


def load_model(
    project: Path,
    *,
    rule_ids: Collection[str] | None = None,
    catalog_ids: Collection[str] | None = None,
) -> LoadedModel:
    """Read, merge and validate the model of PROJECT."""
    path = resolve_project(project)
    document, source, files = read_document(path)
    return validate_document(
        path, document, source, files, rule_ids=rule_ids, catalog_ids=catalog_ids
    )


# --- pydantic errors to problems --------------------------------------------------------------


def suggest(word: str, choices: typing.Iterable[str]) -> str | None:
    """Return the closest choice to a misspelt `word`, if one is close enough."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unwrap(annotation: Any) -> list[Any]:
    """Return the concrete classes inside Optional/Union/list/Annotated annotations."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(_unwrap(arg))
        return out
    return [annotation]


def _annotation_at(loc: tuple[str | int, ...], root: type[BaseModel] = SystemModel) -> Any:
    """Walk the schema along a pydantic error location; return the annotation found there."""
    current: Any = root
    for part in loc:
        candidates = _unwrap(current)
        step: Any = None
        for candidate in candidates:
            if isinstance(part, int) and typing.get_origin(candidate) is list:
                step = typing.get_args(candidate)[0]
                break
            if (
                isinstance(part, str)
                and isinstance(candidate, type)
                and issubclass(candidate, BaseModel)
                and part in candidate.model_fields
            ):
                step = candidate.model_fields[part].annotation
                break
        if step is None:
            return None
        current = step
    return current


def _allowed_keys(loc: tuple[str | int, ...], root: type[BaseModel]) -> list[str]:
    for candidate in _unwrap(_annotation_at(loc, root)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
    return []


def _allowed_values(loc: tuple[str | int, ...], root: type[BaseModel]) -> list[str]:
    values: list[str] = []
    for candidate in _unwrap(_annotation_at(loc, root)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            values.extend(str(member.value) for member in candidate)
        elif typing.get_origin(candidate) is typing.Literal:
            values.extend(str(arg) for arg in typing.get_args(candidate))
    return values


class LocatedValueError(ValueError):
    """A validator's error about a part of the document other than the object it checks."""

    def __init__(self, message: str, path: PathKey) -> None:
        super().__init__(message)
        self.path = path


def _field_name(loc: tuple[str | int, ...]) -> str:
    """Name the field of a location: the last key, with the index for list items."""
    keys = [part for part in loc if isinstance(part, str)]
    if not keys:
        return "document"
    if isinstance(loc[-1], int):
        return f"{keys[-1]}[{loc[-1]}]"
    return keys[-1]


def pydantic_problems(
    exc: ValidationError, source: SourceMap, root: type[BaseModel] = SystemModel
) -> list[Problem]:
    """Turn pydantic errors into located problems; `root` is the class validated."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        value = error.get("input")
        shown = None if isinstance(value, dict | list) else repr(value)
        original = error.get("ctx", {}).get("error")
        if isinstance(original, LocatedValueError):
            problems.append(
                Problem(str(original), source.find(original.path), path=format_path(original.path))
            )
            continue
        where = format_path(loc)
        if kind == "extra_forbidden":
            key = str(loc[-1])
            allowed = _allowed_keys(loc[:-1], root)
            guess = suggest(key, allowed)
            problems.append(
                Problem(
                    f"unknown key '{key}'",
                    source.find(loc, key=True),
                    expected=", ".join(allowed) if allowed else None,
                    hint=f"did you mean '{guess}'?" if guess else "remove it or check the spelling",
                    path=where,
                )
            )
        elif kind == "missing":
            problems.append(
                Problem(
                    f"missing required key '{loc[-1]}'",
                    source.find(loc[:-1]),
                    hint=f"add '{loc[-1]}:' here",
                    path=where,
                )
            )
        elif kind in ("enum", "literal_error"):
            allowed = _allowed_values(loc, root)
            guess = suggest(str(value), allowed) if isinstance(value, str) else None
            problems.append(
                Problem(
                    f"invalid value for '{_field_name(loc)}'",
                    source.find(loc),
                    value=shown,
                    expected="one of " + ", ".join(allowed) if allowed else error["msg"],
                    hint=f"did you mean '{guess}'?" if guess else None,
                    path=where,
                )
            )
        else:
            problems.append(
                Problem(
                    f"invalid value for '{_field_name(loc)}'" if loc else "invalid document",
                    source.find(loc),
                    value=shown,
                    expected=error["msg"],
                    path=where,
                )
            )
    return problems
