"""CPE 2.3 names: parsing, and matching guarded against the known false-positive patterns.

CPE matching is the fallback for components without an ecosystem identity (firmware, OS
images, vendor binaries). Two guards keep it from reporting other products' flaws:

- NVD configurations list "running on" platform CPEs with `vulnerable: false` (a flaw in an
  app that runs on Windows names Windows too). Those entries never match.
- A vendor and product pair can name unrelated software in different ecosystems: the npm
  package `jackson` is not FasterXML's Java library. Vendor and product must both be equal,
  never a wildcard on the advisory side, and when both names state a target software
  (`node.js`, `java`, `python`) the two must agree.

Parsing follows the CPE 2.3 formatted-string binding (NISTIR 7695, section 6.2), including
backslash-quoted characters; CPE 2.2 URIs (`cpe:/a:vendor:product:version`) are accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANY = "*"
NOT_APPLICABLE = "-"

_FIELDS = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)
_SPLIT = re.compile(r"(?<!\\):")


@dataclass(frozen=True, slots=True)
class Cpe:
    """A CPE 2.3 name, its attributes unquoted and lower-cased; `*` is ANY, `-` is NA."""

    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    def __str__(self) -> str:
        values = [_quote(getattr(self, name)) for name in _FIELDS]
        return "cpe:2.3:" + ":".join(values)


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value).lower()


def _quote(value: str) -> str:
    if value in (ANY, NOT_APPLICABLE):
        return value
    return re.sub(r"([^A-Za-z0-9_.\-*?])", r"\\\1", value)


def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string or a CPE 2.2 URI.

    Raises ValueError for anything else, or for a name without vendor and product.
    """
    value = text.strip()
    if value.lower().startswith("cpe:2.3:"):
        parts = _SPLIT.split(value[8:])
        if len(parts) != 11:
            raise ValueError(
                f"invalid CPE 2.3 name {text!r}: expected 11 attributes, found {len(parts)}"
            )
        fields = [_unquote(p) if p not in (ANY, NOT_APPLICABLE) else p for p in parts]
    elif value.lower().startswith("cpe:/"):
        parts = value[5:].split(":")
        fields = [_unquote(p.replace("%", "")) if p else ANY for p in parts[:7]]
        fields += [ANY] * (11 - len(fields))
        fields[1:] = [f if f else ANY for f in fields[1:]]
    else:
        raise ValueError(f"invalid CPE name {text!r}: expected 'cpe:2.3:…' or 'cpe:/…'")
    cpe = Cpe(*fields)
    if cpe.part not in ("a", "o", "h", ANY):
        raise ValueError(f"invalid CPE name {text!r}: part must be a, o or h")
    if cpe.vendor in (ANY, NOT_APPLICABLE, "") or cpe.product in (ANY, NOT_APPLICABLE, ""):
        raise ValueError(f"invalid CPE name {text!r}: vendor and product are required")
    return cpe


def _specific(value: str) -> bool:
    return value not in (ANY, NOT_APPLICABLE, "")


def identity_matches(component: Cpe, advisory: Cpe) -> bool:
    """Return whether an advisory CPE names the same software as the component's CPE.

    Part, vendor and product must be equal; target software, target hardware and software
    edition must agree when both sides state them. Versions are not compared here.
    """
    if _specific(component.part) and _specific(advisory.part) and component.part != advisory.part:
        return False
    if component.vendor != advisory.vendor or component.product != advisory.product:
        return False
    for name in ("target_sw", "target_hw", "sw_edition"):
        mine, theirs = getattr(component, name), getattr(advisory, name)
        if _specific(mine) and _specific(theirs) and mine != theirs:
            return False
    return True


def version_of(cpe: Cpe) -> str | None:
    """Return the version a CPE names, with its update appended (`1.0` + `rc1` → `1.0-rc1`)."""
    if not _specific(cpe.version):
        return None
    if _specific(cpe.update):
        return f"{cpe.version}-{cpe.update}"
    return cpe.version
