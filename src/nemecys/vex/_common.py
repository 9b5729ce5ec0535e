"""JSON loading with size limits, typed field access and timestamp normalisation for VEX files.

Every reader goes through `load_json`, so a VEX file gets the same size limit and the same
error text whatever its format. The field getters raise `InputError` that names the file and
the JSON path of the bad value, because VEX files are often written by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nemecys.errors import InputError

# VEX documents list decisions, not components, and the published CycloneDX, OpenVEX and CSAF
# VEX examples are under 20 KB each. 32 MiB leaves room for CycloneDX SBOMs with embedded
# vulnerabilities and still bounds the memory a parse takes.
MAX_VEX_BYTES = 32 * 1024 * 1024


def read_bytes(path: Path, kind: str = "VEX") -> bytes:
    """Read a file after checking that it exists and is within `MAX_VEX_BYTES`."""
    if not path.is_file():
        raise InputError(f"{kind} file not found: {path}")
    size = path.stat().st_size
    if size > MAX_VEX_BYTES:
        raise InputError(
            f"{kind} file {path} is {size:,} bytes, above the limit of {MAX_VEX_BYTES:,} bytes"
        )
    return path.read_bytes()


def load_json(data: bytes | str, source: str, kind: str = "VEX") -> Any:
    """Parse JSON text, raising InputError with the line and column of a syntax error."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_VEX_BYTES:
        raise InputError(
            f"{kind} input {source} is {size:,} bytes, above the limit of {MAX_VEX_BYTES:,} bytes"
        )
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise InputError(f"{kind} file {source} is not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{kind} file {source} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
    except RecursionError:
        raise InputError(f"{kind} file {source} nests JSON too deeply to parse") from None


class Fields:
    """Typed access to one JSON object, with errors that name the file and the JSON path."""

    def __init__(self, value: Any, source: str, path: str) -> None:
        if not isinstance(value, dict):
            raise InputError(
                f"{source}: {path or 'document'} must be a JSON object, not {_json_type(value)}"
            )
        self.data: dict[str, Any] = value
        self.source = source
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.source}: {self.at(key)}: {message}")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "is missing")
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_json_type(value)}")
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, not {_json_type(value)}")
        return float(value)

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"must be a JSON array, not {_json_type(value)}")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        values = self.array(key)
        for index, item in enumerate(values):
            if not isinstance(item, str):
                raise InputError(
                    f"{self.source}: {self.at(key)}[{index}]: must be a string, "
                    f"not {_json_type(item)}"
                )
        return tuple(values)

    def child(self, key: str) -> Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        return Fields(value, self.source, self.at(key))

    def children(self, key: str) -> list[Fields]:
        return [
            Fields(item, self.source, f"{self.at(key)}[{index}]")
            for index, item in enumerate(self.array(key))
        ]

    def timestamp(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            return normalize_timestamp(value)
        except ValueError:
            raise self.error(
                key, f"invalid date-time {value!r}; expected ISO 8601 such as 2024-05-01T12:00:00Z"
            ) from None


def normalize_timestamp(value: str) -> str:
    """Return an ISO 8601 date-time in UTC with a trailing Z.

    Raises ValueError for text that is not ISO 8601. A value without a UTC offset is taken as
    UTC. Fractions beyond microseconds (OpenVEX tools write nanoseconds) are truncated, so the
    same instant read from any format compares equal as text.
    """
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_timestamp(parsed)


def format_timestamp(moment: datetime) -> str:
    """Format a date-time as UTC ISO 8601 with a trailing Z, without zero microseconds."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def parse_timestamp(value: str) -> datetime:
    """Parse a timestamp written by `normalize_timestamp` or any ISO 8601 date-time."""
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
