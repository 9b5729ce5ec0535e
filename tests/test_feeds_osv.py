"""OSV parsing: the real PyPA records, schema checks, and the OSV schema's own test data."""

from __future__ import annotations

import json

import pytest

from nemecys.errors import InputError
from nemecys.feeds.osv import load_yaml, parse_osv
from nemecys.feeds.reader import collect, iter_records
from nemecys.vulns.model import Advisory, Event, Range

from .conftest import shared


def minimal(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "GHSA-xxxx-yyyy-zzzz",
        "modified": "2024-01-02T03:04:05Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}
                ],
            }
        ],
    }
    record.update(changes)
    return record


def test_pysec_yaml_keeps_text() -> None:
    path = shared("vulndb/osv-pypi/vulns/jinja2/PYSEC-2019-217.yaml")
    advisory = parse_osv(load_yaml(path.read_bytes()), str(path))

    # Unquoted timestamps stay strings; quoted numeric versions keep their trailing zero.
    assert isinstance(advisory.modified, str)
    assert advisory.id == "PYSEC-2019-217"
    assert advisory.affected[0].ecosystem == "PyPI"
    assert advisory.affected[0].name == "jinja2"
    assert advisory.affected[0].purl == "pkg:pypi/jinja2"
    assert "2.10" in advisory.affected[0].versions
    assert advisory.affected[0].ranges == (
        Range("ECOSYSTEM", (Event(introduced="0"), Event(fixed="2.10.1"))),
    )


def test_unquoted_number_stays_text() -> None:
    document = load_yaml(
        b"id: X-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n- package: {ecosystem: PyPI, name: a}\n  versions: [1.10, 2]\n"
    )
    advisory = parse_osv(document, "inline.yaml")

    assert advisory.modified == "2024-01-01T00:00:00Z"
    assert advisory.affected[0].versions == ("1.10", "2")


def test_all_pysec_records_parse() -> None:
    records = list(iter_records(collect([shared("vulndb/osv-pypi/vulns")])))

    assert len(records) == 2661
    assert all(isinstance(r, Advisory) and r.id.startswith("PYSEC-") for r in records)
    withdrawn = sorted(r.id for r in records if isinstance(r, Advisory) and r.withdrawn)
    assert len(withdrawn) == 10
    assert "PYSEC-2023-73" in withdrawn


def test_withdrawn_ghsa_conversion() -> None:
    path = shared("vulndb/osv-schema/tools/ghsa/testdata/withdrawn.osv.json")
    advisory = parse_osv(json.loads(path.read_bytes()), str(path))

    assert advisory.withdrawn == "2018-10-11T17:29:49Z"
    assert advisory.aliases == ("CVE-2015-3227",)
    assert advisory.affected[0].ecosystem == "RubyGems"


def test_ghsa_expected_conversions_parse() -> None:
    folder = shared("vulndb/osv-schema/tools/ghsa/testdata")
    sources = collect([folder])
    records = list(iter_records(sources))

    # The GitHub inputs beside the expected OSV output are not OSV, so the folder skips them.
    assert len(records) == len(list(folder.glob("*.osv.json")))
    assert len(sources.skipped) == len(
        [p for p in folder.glob("*.json") if not p.name.endswith(".osv.json")]
    )


def test_linter_record_without_introduced_rejected() -> None:
    path = shared("vulndb/osv-schema/tools/osv-linter/testdata/nointroduced-CVE-2023-41045.json")

    with pytest.raises(
        InputError,
        match=r"nointroduced-CVE-2023-41045\.json: invalid OSV record: .*no 'introduced' event",
    ):
        list(iter_records(collect([path])))


def test_linter_valid_records_parse() -> None:
    folder = shared("vulndb/osv-schema/tools/osv-linter/testdata")
    files = sorted(p for p in folder.glob("*.json") if not p.name.startswith("nointroduced-"))

    ids = [r.id for r in iter_records(collect(files)) if isinstance(r, Advisory)]

    assert "GO-2020-0001" in ids
    assert "RHSA-2022:0216" in ids
    assert len(ids) == len(files)


def test_git_range_without_package() -> None:
    advisory = parse_osv(
        minimal(
            affected=[
                {
                    "ranges": [
                        {
                            "type": "GIT",
                            "repo": "https://example.org/r.git",
                            "events": [{"introduced": "0"}],
                        }
                    ]
                }
            ]
        ),
        "git.json",
    )

    assert advisory.affected[0].ecosystem is None
    assert advisory.affected[0].ranges[0].type == "GIT"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": None}, "id is missing"),
        ({"modified": None}, "modified is missing"),
        ({"modified": "yesterday"}, "modified is not an ISO 8601 timestamp"),
        ({"aliases": "CVE-1"}, "aliases must be an array"),
        (
            {"affected": [{"package": {"ecosystem": "PyPI"}}]},
            r"affected\[0\]\.package\.name is missing",
        ),
        ({"affected": [{"versions": ["1"]}]}, r"affected\[0\]\.package is missing"),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "a"},
                        "ranges": [{"type": "SEMVER", "events": []}],
                    }
                ]
            },
            "events is missing or empty",
        ),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "a"},
                        "ranges": [{"type": "RANGE", "events": [{"introduced": "0"}]}],
                    }
                ]
            },
            "type 'RANGE' is not one of",
        ),
        (
            {
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "a"},
                        "ranges": [
                            {"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1"}]}
                        ],
                    }
                ]
            },
            "exactly one of",
        ),
        ({"severity": [{"type": "CVSS_V3"}]}, r"severity\[0\]\.score is missing"),
    ],
)
def test_invalid_record_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_osv(minimal(**changes), "records/bad.json")
    assert str(info.value).startswith("records/bad.json: invalid OSV record")


def test_database_specific_cwes() -> None:
    advisory = parse_osv(minimal(database_specific={"cwe_ids": ["CWE-79"]}), "x.json")

    assert advisory.cwes == ("CWE-79",)
