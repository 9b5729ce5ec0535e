"""The CISA KEV catalog and EPSS CSV files: real catalog, published CSV layout, invalid rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from nemecys.errors import InputError
from nemecys.feeds.epss import parse_epss
from nemecys.feeds.kev import parse_kev
from nemecys.feeds.reader import collect, iter_records
from nemecys.vulns.model import EpssScore, KevEntry

from .conftest import shared

# The layout FIRST publishes daily: a comment line with model and date, then the header.
EPSS_CSV = """\
#model_version:v2023.03.01,score_date:2024-06-01T00:00:00+0000
cve,epss,percentile
CVE-2021-44228,0.97565,0.99998
CVE-2019-10906,0.00213,0.59811
CVE-2023-1968,0.00071,0.30211
"""


def test_real_kev_catalog() -> None:
    entries = list(
        iter_records(collect([shared("vulndb/kev/known_exploited_vulnerabilities.json")]))
    )

    assert len(entries) == 1404
    assert all(isinstance(e, KevEntry) for e in entries)
    by_cve = {e.cve: e for e in entries if isinstance(e, KevEntry)}
    git = by_cve["CVE-2025-48384"]
    assert (git.vendor, git.product, git.date_added, git.due_date) == (
        "Git",
        "Git",
        "2025-08-25",
        "2025-09-15",
    )
    assert git.ransomware == "Unknown"


def test_kev_invalid_entry_named() -> None:
    catalog = {
        "catalogVersion": "2025.01.01",
        "vulnerabilities": [{"cveID": "CVE-2024-1", "vendorProject": "Acme"}],
    }

    with pytest.raises(InputError, match=r"kev\.json: invalid KEV catalog: .*not a CVE id"):
        parse_kev(catalog, "kev.json")
    catalog["vulnerabilities"] = [{"cveID": "CVE-2024-12345", "vendorProject": "Acme"}]
    with pytest.raises(InputError, match=r"vulnerabilities\[0\]\.product is missing"):
        parse_kev(catalog, "kev.json")


def test_epss_published_layout() -> None:
    scores = list(parse_epss(EPSS_CSV.splitlines(keepends=True), "epss.csv"))

    assert [s.cve for s in scores] == ["CVE-2021-44228", "CVE-2019-10906", "CVE-2023-1968"]
    assert scores[0] == EpssScore("CVE-2021-44228", 0.97565, 0.99998, "2024-06-01T00:00:00+0000")


def test_epss_gzip_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "epss_scores-2024-06-01.csv.gz"
    path.write_bytes(gzip.compress(EPSS_CSV.encode("utf-8")))

    scores = list(iter_records(collect([path])))

    assert len(scores) == 3
    assert all(isinstance(s, EpssScore) and s.date == "2024-06-01T00:00:00+0000" for s in scores)


def test_epss_without_comment_line() -> None:
    scores = list(parse_epss(["cve,epss,percentile\n", "CVE-2024-0001,0.5,0.9\n"], "old.csv"))

    assert scores == [EpssScore("CVE-2024-0001", 0.5, 0.9, None)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "#model_version:v1,score_date:2024-06-01T00:00:00+0000\n",
            "header line cve,epss,percentile is missing",
        ),
        ("cve,score\nCVE-2024-0001,0.5\n", "the header lacks epss, percentile"),
        ("cve,epss,percentile\nCVE-2024-0001,0.5\n", "line 2: expected 3 columns, got 2"),
        ("cve,epss,percentile\nCVE-2024-0001,high,0.5\n", "line 2: epss 'high' is not a number"),
        (
            "cve,epss,percentile\nCVE-2024-0001,0.5,1.5\n",
            "line 2: percentile '1.5' is outside 0 to 1",
        ),
        (
            "cve,epss,percentile\nCVE-2024-0001,0.5,0.5\nGHSA-1,0.1,0.1\n",
            "line 3: 'GHSA-1' is not a CVE id",
        ),
    ],
)
def test_epss_invalid_rows(body: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        list(parse_epss(body.splitlines(keepends=True), "scores.csv"))
    assert str(info.value).startswith("scores.csv: invalid EPSS CSV")
