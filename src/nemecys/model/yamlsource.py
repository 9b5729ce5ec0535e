"""Safe YAML reading that keeps the file, line and column of every value.

PyYAML's safe loader builds plain Python objects and forgets where they came from. Error
messages must point at `file:line:column`, so this module composes the node tree with the safe
loader, then converts it itself while it records the start mark of each mapping value and
sequence item under its path (a tuple of keys and indexes). Only the safe loader's scalar
constructors run, so no tag can build a Python object.

Limits guard against hostile files: a byte limit per file and a node limit that also stops
alias expansion ("billion laughs").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nemecys.errors import Location, ModelError, Problem
from nemecys.perf import paused_gc

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 500_000

PathKey = tuple[str | int, ...]

_SAFE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
)

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


@dataclass
class SourceMap:
    """Locations of values in the merged document, keyed by their path."""

    locations: dict[PathKey, Location] = field(default_factory=dict)
    key_locations: dict[PathKey, Location] = field(default_factory=dict)

    def find(self, path: PathKey, *, key: bool = False) -> Location | None:
        """Return the location of `path`, or of its nearest ancestor that has one."""
        if key and path in self.key_locations:
            return self.key_locations[path]
        probe = path
        while True:
            if probe in self.locations:
                return self.locations[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def merge(self, other: SourceMap, prefix: PathKey = ()) -> None:
        for p, loc in other.locations.items():
            self.locations[prefix + p] = loc
        for p, loc in other.key_locations.items():
            self.key_locations[prefix + p] = loc


def format_path(path: PathKey) -> str:
    """Render ('flows', 2, 'source') as 'flows[2].source'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 file, rejecting files above `max_bytes` before reading them."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelError(
            "cannot read the model",
            [
                Problem(
                    "file not found",
                    Location(path),
                    hint="check the path and the working directory",
                )
            ],
        ) from None
    if size > max_bytes:
        raise ModelError(
            "cannot read the model",
            [
                Problem(
                    f"file is {size:,} bytes, above the limit of {max_bytes:,} bytes",
                    Location(path),
                    hint="split the model with 'includes:', or raise the limit with "
                    "NEMECYS_MAX_MODEL_BYTES if the file is trusted",
                )
            ],
        )
    raw = path.read_bytes() if path.is_file() else None
    if raw is None:
        raise ModelError(
            "cannot read the model",
            [Problem("path is not a regular file, expected a YAML file", Location(path))],
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ModelError(
            "cannot read the model",
            [
                Problem(
                    f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    Location(path, line, column),
                    hint="save the file as UTF-8",
                )
            ],
        ) from None


class _Converter:
    def __init__(self, loader: yaml.SafeLoader, file: Path) -> None:
        self.loader = loader
        self.file = file
        self.nodes = 0
        self.source = SourceMap()

    def location(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ModelError(
                "cannot read the model",
                [
                    Problem(
                        f"document expands to more than {MAX_NODES:,} values (too many aliases?)",
                        self.location(node),
                        hint="remove deep alias chains; the model should not need them",
                    )
                ],
            )
        self.source.locations[path] = self.location(node)
        if node.tag not in _SAFE_TAGS:
            raise self._error(
                node,
                f"unsupported YAML tag '{node.tag}'",
                hint="remove the tag; model files hold plain data, and tags that build objects are never run",
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self.loader.construct_object(node)
        # Dates stay strings: the model stores them as written.
        if isinstance(value, dt.date | dt.datetime):
            return node.value
        return value

    def _pairs(
        self, node: yaml.MappingNode, merged: bool = False
    ) -> Iterator[tuple[yaml.Node, yaml.Node, bool]]:
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self._error(
                            source, "merge key '<<' needs a mapping or a list of mappings"
                        )
                    yield from self._pairs(source, merged=True)
            else:
                yield key_node, value_node, merged

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit: set[str] = set()
        for key_node, value_node, is_merged in self._pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(key_node, "mapping keys must be plain strings")
            key = str(self.loader.construct_object(key_node))
            if key in explicit and not is_merged:
                raise self._error(
                    key_node, f"duplicate key '{key}'", hint="each key may appear once in a mapping"
                )
            if is_merged and key in result:
                continue  # explicit keys win over merged ones, as YAML 1.1 merge keys specify
            if not is_merged:
                explicit.add(key)
            self.source.key_locations[(*path, key)] = self.location(key_node)
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _error(self, node: yaml.Node, message: str, hint: str | None = None) -> ModelError:
        return ModelError(
            "cannot read the model", [Problem(message, self.location(node), hint=hint)]
        )


def load_yaml(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[Any, SourceMap]:
    """Parse one YAML file into plain data plus a `SourceMap` of its values."""
    text = read_text(path, max_bytes)
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise ModelError(
            "cannot read the model",
            [
                Problem(
                    "file is empty",
                    Location(path, 1, 1),
                    expected="a mapping with at least 'system' and 'components'",
                    hint="run 'nemecys schema' for the format, or start from examples/",
                )
            ],
        )
    loader = _Loader(text)
    try:
        with paused_gc():
            node = loader.get_single_node()
            if node is None:
                return None, SourceMap()
            converter = _Converter(loader, path)
            return converter.convert(node, ()), converter.source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        hint = "check indentation and quoting around this position"
        if exc.context and exc.problem:
            hint = f"{exc.context}; {hint}"
        raise ModelError("cannot read the model", [Problem(message, location, hint=hint)]) from None
    except yaml.reader.ReaderError as exc:
        # Raised for characters YAML forbids (NUL and other control characters).
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ModelError(
            "cannot read the model",
            [
                Problem(
                    f"YAML does not allow the character U+{exc.character:04X} here",
                    Location(path, line, column),
                    hint="remove the control character",
                )
            ],
        ) from None
    except yaml.YAMLError as exc:
        raise ModelError(
            "cannot read the model", [Problem(f"YAML error: {exc}", Location(path))]
        ) from None
    except RecursionError:
        raise ModelError(
            "cannot read the model",
            [Problem("document is nested too deeply", Location(path))],
        ) from None
    finally:
        loader.dispose()
