"""The FDA support fields of an SBOM component: level of support and end-of-support date.

FDA premarket cybersecurity guidance requests, for each SBOM component, the level of support the
component's maker provides and the component's end-of-support date. Neither CycloneDX nor SPDX 2
has a dedicated field, so SBOM authors write them as free-form properties. The real medical-device
SBOMs we test against use the CycloneDX property names "Level of Support" and "End-of-Support";
other authors use variants such as "fda:levelOfSupport" or "cdx:fda:end_of_support_date".
`support_field` maps a property name to the field it carries, and the `classify_*` functions turn
the free text into a few states the quality report can count.

Native fields are read by the format readers directly: SPDX 2.3 `validUntilDate` (defined as the
end of the supplier's support period) and SPDX 3 `supportLevel` and `validUntilTime`.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from enum import StrEnum

LEVEL_OF_SUPPORT = "level_of_support"
END_OF_SUPPORT = "end_of_support"

# Property names after `_normalise_name`: the namespace prefix, case and punctuation are removed.
_FIELD_BY_NAME = {
    "levelofsupport": LEVEL_OF_SUPPORT,
    "supportlevel": LEVEL_OF_SUPPORT,
    "endofsupport": END_OF_SUPPORT,
    "endofsupportdate": END_OF_SUPPORT,
    "eosdate": END_OF_SUPPORT,
    "supportend": END_OF_SUPPORT,
    "supportenddate": END_OF_SUPPORT,
    "supportenddateutc": END_OF_SUPPORT,
}

# Text that states the value is not known; such a value does not answer the FDA question.
_PLACEHOLDERS = frozenset(
    {"", "unknown", "n/a", "na", "none", "tbd", "tba", "noassertion", "unspecified", "-", "?"}
)

# Words in a level-of-support or end-of-support text that mean support has ended.
_ENDED = re.compile(
    r"\b(deprecated|inactive|unsupported|unmaintained|abandoned|obsolete|retired|"
    r"end[- ]?of[- ]?(life|support)|eol|eos|no[- ]?longer|no[- ]?support|not[- ]?supported|"
    r"endofsupport|nosupport)\b",
    re.IGNORECASE,
)

_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


class SupportState(StrEnum):
    """Reading of a level-of-support or end-of-support value."""

    MISSING = "missing"  # no value at all
    UNKNOWN = "unknown"  # a placeholder such as "Unknown" or "N/A"
    ENDED = "ended"  # support ended or maintenance stopped ("Deprecated", "Inactive", "No longer supported")
    DATE = "date"  # an ISO 8601 date (end of support only)
    TEXT = "text"  # any other statement ("Actively maintained", "Open source")


def _normalise_name(name: str) -> str:
    local = name.rsplit(":", 1)[-1].lower()
    squashed = re.sub(r"[^a-z0-9]", "", local)
    return squashed.removeprefix("fda") or squashed


def support_field(property_name: str) -> str | None:
    """Return LEVEL_OF_SUPPORT or END_OF_SUPPORT when the property carries that FDA field."""
    return _FIELD_BY_NAME.get(_normalise_name(property_name))


def parse_support_date(value: str | None) -> date | None:
    """Parse an end-of-support value written as an ISO 8601 date, or return None.

    A full date or date-time gives that day. "YYYY-MM" gives the last day of the month and "YYYY"
    the last day of the year, so a component is only called out of support once the whole period
    has passed. Other notations (such as 12/31/2027) are not parsed, because day and month order
    cannot be distinguished.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if match := _YEAR_MONTH.match(text):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12:
            return date(year, month, calendar.monthrange(year, month)[1])
        return None
    if match := _YEAR.match(text):
        year = int(match[1])
        return date(year, 12, 31) if year >= 1 else None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def classify_level_of_support(value: str | None) -> SupportState:
    """Classify a level-of-support text as missing, unknown, ended or a statement."""
    if value is None:
        return SupportState.MISSING
    text = value.strip()
    if text.lower() in _PLACEHOLDERS:
        return SupportState.UNKNOWN if text else SupportState.MISSING
    if _ENDED.search(text):
        return SupportState.ENDED
    return SupportState.TEXT


def classify_end_of_support(value: str | None) -> SupportState:
    """Classify an end-of-support value as missing, unknown, a date, ended or other text."""
    if value is None:
        return SupportState.MISSING
    text = value.strip()
    if text.lower() in _PLACEHOLDERS:
        return SupportState.UNKNOWN if text else SupportState.MISSING
    if parse_support_date(text) is not None:
        return SupportState.DATE
    if _ENDED.search(text):
        return SupportState.ENDED
    return SupportState.TEXT
