"""EPSS scores (FIRST's Exploit Prediction Scoring System) from the published CSV as `EpssScore`.

The daily file starts with a comment line `#model_version:v2023.03.01,score_date:2023-04-12T00:00:00+0000`,
then the header `cve,epss,percentile`, then one row per CVE. The score is the probability
(0 to 1) of exploitation activity in the next 30 days; the percentile ranks it among all CVEs.
Older files without the comment line are accepted and give scores without a date.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator

from nemecys.feeds._values import invalid
from nemecys.vulns.model import EpssScore

KIND = "EPSS CSV"
HEADER = ("cve", "epss", "percentile")
_CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")


def looks_like_epss(first_line: str) -> bool:
    line = first_line.lstrip("\ufeff").strip().lower()
    return line.startswith("#model_version") or line.startswith("cve,epss")


def parse_epss(lines: Iterable[str], origin: str) -> Iterator[EpssScore]:
    """Yield one score per row; raise InputError naming the line of the first invalid row."""
    iterator = iter(lines)
    score_date: str | None = None
    header: list[str] | None = None
    line_number = 0
    for line_number, raw in enumerate(iterator, start=1):  # noqa: B007 - used after the loop
        line = raw.lstrip("\ufeff").strip()
        if not line:
            continue
        if line.startswith("#"):
            score_date = _comment_date(line) or score_date
            continue
        header = [name.strip().lower() for name in line.split(",")]
        break
    if header is None:
        raise invalid(origin, KIND, "the header line cve,epss,percentile is missing")
    missing = [name for name in HEADER if name not in header]
    if missing:
        raise invalid(
            origin,
            KIND,
            f"line {line_number}: the header lacks {', '.join(missing)}; expected cve,epss,percentile",
        )
    cve_col, score_col, pct_col = (header.index(name) for name in HEADER)

    for offset, row in enumerate(csv.reader(iterator), start=line_number + 1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) < len(header):
            raise invalid(
                origin, KIND, f"line {offset}: expected {len(header)} columns, got {len(row)}"
            )
        cve = row[cve_col].strip()
        if not _CVE_ID.match(cve):
            raise invalid(origin, KIND, f"line {offset}: {cve!r} is not a CVE id")
        yield EpssScore(
            cve=cve,
            score=_probability(row[score_col], origin, offset, "epss"),
            percentile=_probability(row[pct_col], origin, offset, "percentile"),
            date=score_date,
        )


def _comment_date(line: str) -> str | None:
    for part in line.lstrip("#").split(","):
        key, _, value = part.partition(":")
        if key.strip() == "score_date" and value.strip():
            return value.strip()
    return None


def _probability(value: str, origin: str, line: int, column: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise invalid(origin, KIND, f"line {line}: {column} {value!r} is not a number") from None
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise invalid(origin, KIND, f"line {line}: {column} {value!r} is outside 0 to 1")
    return number
