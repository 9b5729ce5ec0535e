"""Typed access to fields of parsed JSON or YAML documents, with errors that name the record.

Feed documents arrive as `object` from `json.loads` or `yaml.load`. These helpers check a
field's type once, so each parser reads like the format's specification and every failure
message names the file (and zip entry) plus the field path that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from nemecys.errors import InputError


def invalid(origin: str, kind: str, message: str) -> InputError:
    """Build the error for a record that breaks its format, naming where it came from."""
    return InputError(f"{origin}: invalid {kind}: {message}")


# The `type(...) is` checks below are fast paths for the dicts and lists that json and yaml
# return. The isinstance checks against the collections.abc types took about a tenth of the
# parse time.


def mapping(value: object, origin: str, kind: str, where: str) -> Mapping[str, object]:
    if type(value) is dict:
        return value
    if not isinstance(value, Mapping):
        raise invalid(origin, kind, f"{where} must be an object, got {type(value).__name__}")
    return value


def sequence(value: object, origin: str, kind: str, where: str) -> Sequence[object]:
    """Return a JSON array; a missing or null value is an empty one."""
    if type(value) is list:
        return value
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise invalid(origin, kind, f"{where} must be an array, got {type(value).__name__}")
    return value


def text(
    data: Mapping[str, object], key: str, origin: str, kind: str, where: str = ""
) -> str | None:
    """Return an optional string field; null and absent both mean None."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(
            origin, kind, f"{where}{key} must be a string, got {type(value).__name__} {value!r}"
        )
    return value


def required_text(
    data: Mapping[str, object], key: str, origin: str, kind: str, where: str = ""
) -> str:
    value = text(data, key, origin, kind, where)
    if value is None or not value.strip():
        raise invalid(origin, kind, f"{where}{key} is missing")
    return value


def strings(
    data: Mapping[str, object], key: str, origin: str, kind: str, where: str = ""
) -> tuple[str, ...]:
    items = sequence(data.get(key), origin, kind, f"{where}{key}")
    if all(type(item) is str for item in items):
        return tuple(items)  # type: ignore[arg-type] # all items were just checked
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise invalid(
                origin, kind, f"{where}{key}[{index}] must be a string, got {type(item).__name__}"
            )
    return tuple(item for item in items if isinstance(item, str))


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp; a value without a zone is taken as UTC.

    Raises ValueError for text that is not a timestamp.
    """
    cleaned = value.strip()
    if cleaned.endswith(("z", "Z")):
        cleaned = cleaned[:-1] + "+00:00"
    # EPSS writes zones as +0000; fromisoformat in Python 3.11 reads that form too.
    parsed = datetime.fromisoformat(cleaned)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def canonical_timestamp(value: str | None) -> str | None:
    """Return a UTC timestamp with fixed width, so text comparison orders by time.

    Sources write the same instant as `2023-11-07T20:24:23Z` or `2023-11-07T20:24:23.946863Z`,
    which compare wrongly as text. Returns None for None; raises ValueError for non-timestamps.
    """
    if value is None:
        return None
    return parse_timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timestamp(
    data: Mapping[str, object], key: str, origin: str, kind: str, where: str = ""
) -> str | None:
    """Return an optional timestamp field as the source wrote it, after checking that it parses."""
    value = text(data, key, origin, kind, where)
    if value is None:
        return None
    try:
        parse_timestamp(value)
    except ValueError:
        raise invalid(
            origin, kind, f"{where}{key} is not an ISO 8601 timestamp: {value!r}"
        ) from None
    return value
