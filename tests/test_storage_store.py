"""SqlStore on SQLite and PostgreSQL: imports, alias merging, withdrawal, queries, triage."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nemecys.errors import InputError
from nemecys.feeds.reader import Record, collect, iter_records
from nemecys.storage.models import Base
from nemecys.storage.store import SqlStore
from nemecys.vulns.model import Advisory, AffectedPackage, EpssScore, Event, KevEntry, Range
from nemecys.vulns.store import TriageDecision

from ._storage_support import BACKENDS, database_url
from .conftest import shared

PYSEC = "vulndb/osv-pypi/vulns"
PYSEC_COUNT = 2661


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with database_url(request.param, tmp_path) as url, SqlStore.open(url) as opened:
        yield opened


@pytest.fixture(scope="session")
def pysec_records() -> list[Record]:
    return list(iter_records(collect([shared(PYSEC)])))


def osv(
    advisory_id: str,
    modified: str = "2024-01-01T00:00:00Z",
    aliases: tuple[str, ...] = (),
    package: str = "demo-lib",
    withdrawn: str | None = None,
    summary: str | None = None,
) -> Advisory:
    return Advisory(
        id=advisory_id,
        source="osv",
        aliases=aliases,
        modified=modified,
        withdrawn=withdrawn,
        summary=summary,
        affected=(
            AffectedPackage(
                ecosystem="PyPI",
                name=package,
                ranges=(Range("ECOSYSTEM", (Event(introduced="0"), Event(fixed="2.0"))),),
            ),
        ),
    )


def test_schema_matches_models(store: SqlStore) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_pysec_import_counts(store: SqlStore, pysec_records: list[Record]) -> None:
    summary = store.import_records(pysec_records, "pysec")
    withdrawn = sum(1 for r in pysec_records if isinstance(r, Advisory) and r.withdrawn)

    assert summary.counts["osv"].records == PYSEC_COUNT
    assert summary.counts["osv"].new == PYSEC_COUNT
    assert summary.counts["osv"].withdrawn == withdrawn
    assert withdrawn == 10
    status = store.status()
    osv_status = next(s for s in status.sources if s.source == "osv")
    assert osv_status.records == PYSEC_COUNT
    assert osv_status.withdrawn == 10
    assert osv_status.last_import is not None


def test_pysec_vulnerability_count_matches_union_find(
    store: SqlStore, pysec_records: list[Record]
) -> None:
    store.import_records(pysec_records, "pysec")

    # An independent union-find over the parsed records: ids of one record form one group.
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for record in pysec_records:
        assert isinstance(record, Advisory)
        ids = [record.id] if record.withdrawn else [record.id, *record.aliases]
        for other in ids[1:]:
            parent[find(other)] = find(ids[0])
        find(ids[0])
    assert store.status().vulnerabilities == len({find(node) for node in parent})
    assert store.status().aliases == len(parent)


def test_pysec_aliases_merge(store: SqlStore, pysec_records: list[Record]) -> None:
    store.import_records(pysec_records, "pysec")

    # PYSEC-2024-5 (case-utils) and PYSEC-2024-6 (cdo-local-uuid) share CVE-2024-22194 and a GHSA id.
    assert store.vulnerability_ids("CVE-2024-22194") == {
        "PYSEC-2024-5",
        "PYSEC-2024-6",
        "CVE-2024-22194",
        "GHSA-rgrf-6mf5-m882",
    }
    (advisory,) = [
        a for a in store.advisories_for_package("pypi", "Case_Utils") if a.id == "PYSEC-2024-5"
    ]
    assert advisory.aliases[:2] == ("CVE-2024-22194", "GHSA-rgrf-6mf5-m882")
    assert "PYSEC-2024-6" in advisory.aliases


def test_pysec_package_lookup_normalises_name(store: SqlStore, pysec_records: list[Record]) -> None:
    store.import_records(pysec_records, "pysec")

    django = {a.id for a in store.advisories_for_package("pypi", "Django")}
    assert "PYSEC-2021-98" in django
    jinja = store.advisories_for_package("PyPI", "Jinja2")
    (sandbox,) = [a for a in jinja if a.id == "PYSEC-2019-217"]
    assert sandbox.affected[0].ranges[0].events == (Event(introduced="0"), Event(fixed="2.10.1"))
    assert "2.10" in sandbox.affected[0].versions


def test_withdrawn_not_returned(store: SqlStore, pysec_records: list[Record]) -> None:
    store.import_records(pysec_records, "pysec")

    # PYSEC-2023-73 (redis) was withdrawn by the PyPA database.
    redis_ids = {a.id for a in store.advisories_for_package("pypi", "redis")}
    assert "PYSEC-2023-73" not in redis_ids
    assert {"PYSEC-2023-45", "PYSEC-2023-46"} <= redis_ids
    assert store.advisory("PYSEC-2023-73") is None
    kept = store.advisory("PYSEC-2023-73", include_withdrawn=True)
    assert kept is not None
    assert kept.withdrawn == "2023-06-06T10:37:00Z"


def test_reimport_is_idempotent(store: SqlStore, pysec_records: list[Record]) -> None:
    store.import_records(pysec_records, "first")
    before = store.status()

    again = store.import_records(pysec_records, "second")

    assert again.counts["osv"].new == 0
    assert again.counts["osv"].updated == 0
    assert again.counts["osv"].unchanged == PYSEC_COUNT
    after = store.status()
    assert after.vulnerabilities == before.vulnerabilities
    assert after.aliases == before.aliases
    assert [(s.source, s.records) for s in after.sources] == [
        (s.source, s.records) for s in before.sources
    ]


def test_newer_replaces_older_skipped(store: SqlStore) -> None:
    store.import_records([osv("OSV-1", "2024-01-01T00:00:00Z", summary="first")])

    newer = store.import_records(
        [osv("OSV-1", "2024-02-01T00:00:00.5Z", package="other-lib", summary="second")]
    )
    older = store.import_records([osv("OSV-1", "2023-12-31T23:59:59Z", summary="stale")])

    assert newer.counts["osv"].updated == 1
    assert older.counts["osv"].older == 1
    current = store.advisory("OSV-1")
    assert current is not None
    assert current.summary == "second"
    assert store.advisories_for_package("pypi", "demo-lib") == []
    assert [a.id for a in store.advisories_for_package("pypi", "other-lib")] == ["OSV-1"]


def test_timestamp_precision_does_not_reorder(store: SqlStore) -> None:
    # As text, "…23Z" sorts after "…23.9Z"; as times, the fraction is later.
    store.import_records([osv("OSV-2", "2023-11-07T20:24:23Z", summary="whole second")])
    later = store.import_records([osv("OSV-2", "2023-11-07T20:24:23.946863Z", summary="fraction")])

    assert later.counts["osv"].updated == 1
    current = store.advisory("OSV-2")
    assert current is not None
    assert current.summary == "fraction"


def test_later_import_merges_vulnerabilities(store: SqlStore) -> None:
    store.import_records(
        [osv("GHSA-aaaa", aliases=("CVE-2024-0001",)), osv("PYSEC-1", aliases=("CVE-2024-0002",))]
    )
    assert store.status().vulnerabilities == 2

    store.import_records(
        [osv("OSV-LINK", aliases=("CVE-2024-0001", "CVE-2024-0002"), package="linked")]
    )

    assert store.status().vulnerabilities == 1
    expected = {"GHSA-aaaa", "PYSEC-1", "OSV-LINK", "CVE-2024-0001", "CVE-2024-0002"}
    assert store.vulnerability_ids("PYSEC-1") == expected
    (ghsa,) = [a for a in store.advisories_for_package("pypi", "demo-lib") if a.id == "GHSA-aaaa"]
    assert set(ghsa.aliases) == expected - {"GHSA-aaaa"}


def test_merge_within_one_batch_chain(store: SqlStore) -> None:
    store.import_records(
        [osv("A-1", aliases=("X-1",)), osv("B-1", aliases=("X-2",)), osv("C-1", aliases=("X-3",))]
    )

    # One record links groups 1 and 2, another links 2 and 3, in the same import.
    store.import_records([osv("L-1", aliases=("X-1", "X-2")), osv("L-2", aliases=("X-2", "X-3"))])

    assert store.status().vulnerabilities == 1
    assert store.vulnerability_ids("C-1") == {
        "A-1",
        "B-1",
        "C-1",
        "L-1",
        "L-2",
        "X-1",
        "X-2",
        "X-3",
    }


def test_withdrawn_aliases_do_not_merge(store: SqlStore) -> None:
    store.import_records(
        [osv("GHSA-dup", aliases=("CVE-2024-9",), withdrawn="2024-03-01T00:00:00Z"), osv("PYSEC-9")]
    )

    assert store.vulnerability_ids("GHSA-dup") == {"GHSA-dup"}
    assert store.vulnerability_ids("CVE-2024-9") == frozenset()


def test_failed_import_changes_nothing(store: SqlStore) -> None:
    store.import_records([osv("KEEP-1")])
    before = store.status()

    def records() -> Iterator[Record]:
        yield osv("NEW-1")
        yield osv("KEEP-1", "2025-01-01T00:00:00Z", summary="changed")
        raise InputError("broken.json: invalid OSV record")

    with pytest.raises(InputError, match="broken.json"):
        store.import_records(records())

    assert store.advisory("NEW-1") is None
    kept = store.advisory("KEEP-1")
    assert kept is not None
    assert kept.summary is None
    after = store.status()
    assert after.imports == before.imports
    assert after.aliases == before.aliases


def test_interrupted_import_changes_nothing(store: SqlStore) -> None:
    store.import_records([osv("KEEP-2")])

    def records() -> Iterator[Record]:
        yield from (osv(f"BULK-{n}") for n in range(12_000))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.import_records(records())

    # Two full batches were written inside the transaction before the interrupt.
    assert store.advisory("BULK-1") is None
    assert store.advisory("KEEP-2") is not None
    assert [s.records for s in store.status().sources] == [1]


def test_csaf_medical_products(store: SqlStore) -> None:
    store.import_records(
        iter_records(collect([shared("vulndb/csaf-medical/icsma/2023/icsma-23-117-01.json")]))
    )

    with_products = {a.id: a for a in store.advisories_with_products()}
    assert set(with_products) == {"ICSMA-23-117-01/CVE-2023-1968", "ICSMA-23-117-01/CVE-2023-1966"}
    advisory = with_products["ICSMA-23-117-01/CVE-2023-1968"]
    names = [p.name for p in advisory.affected]
    assert names[:2] == ["iScan Control Software: 4.0.0", "iScan Control Software: 4.0.5"]
    first = advisory.affected[0]
    assert first.vendor == "Illumina"
    assert first.product == "iScan Control Software"
    assert first.product_version == "4.0.0"
    assert first.status == "known_affected"
    assert first.remediation is not None
    assert "UCS Vulnerability Instructions Guide" in first.remediation
    assert advisory.extra["document"] == "ICSMA-23-117-01"
    assert store.vulnerability_ids("CVE-2023-1968") == {
        "CVE-2023-1968",
        "ICSMA-23-117-01/CVE-2023-1968",
    }


def test_all_csaf_medical_advisories(store: SqlStore) -> None:
    summary = store.import_records(iter_records(collect([shared("vulndb/csaf-medical/icsma")])))

    documents = {a.extra["document"] for a in store.advisories_with_products()}
    assert len(documents) == 144
    assert summary.counts["csaf"].new == summary.counts["csaf"].records


def test_kev_lookup(store: SqlStore) -> None:
    summary = store.import_records(
        iter_records(collect([shared("vulndb/kev/known_exploited_vulnerabilities.json")]))
    )

    assert summary.counts["kev"].new == 1404
    found = store.kev(["CVE-2021-44228", "CVE-1999-0000"])
    assert list(found) == ["CVE-2021-44228"]
    log4shell = found["CVE-2021-44228"]
    assert log4shell.vendor == "Apache"
    assert log4shell.product == "Log4j2"
    assert log4shell.date_added == "2021-12-10"
    assert log4shell.ransomware == "Known"


def test_kev_change_updates_entry(store: SqlStore) -> None:
    entry = KevEntry(
        "CVE-2024-1111", "Acme", "Pump", "Acme Pump RCE", "2024-05-01", None, None, "Unknown"
    )
    store.import_records([entry])

    second = store.import_records([dataclasses.replace(entry, ransomware="Known")])

    assert second.counts["kev"].updated == 1
    assert store.kev(["CVE-2024-1111"])["CVE-2024-1111"].ransomware == "Known"


def test_epss_newer_date_replaces(store: SqlStore) -> None:
    store.import_records([EpssScore("CVE-2024-2222", 0.1, 0.5, "2024-05-01T00:00:00+0000")])

    newer = store.import_records([EpssScore("CVE-2024-2222", 0.3, 0.9, "2024-05-02T00:00:00+0000")])
    older = store.import_records([EpssScore("CVE-2024-2222", 0.2, 0.7, "2024-04-30T00:00:00+0000")])

    assert newer.counts["epss"].updated == 1
    assert older.counts["epss"].older == 1
    score = store.epss(["CVE-2024-2222"])["CVE-2024-2222"]
    assert score.score == pytest.approx(0.3)
    assert score.percentile == pytest.approx(0.9)
    assert score.date == "2024-05-02T00:00:00.000000Z"


def test_nvd_cpe_lookup(store: SqlStore) -> None:
    advisory = Advisory(
        id="CVE-2021-44228",
        source="nvd",
        modified="2024-07-24T17:08:24.167",
        affected=(
            AffectedPackage(
                cpe="cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*",
                ranges=(Range("VERS", vers="vers:generic/>=2.0.1|<2.3.1"),),
            ),
            AffectedPackage(
                cpe="cpe:2.3:o:siemens:sppa-t3000_ses3000_firmware:-:*:*:*:*:*:*:*",
                vulnerable=False,
            ),
        ),
    )
    store.import_records(
        [advisory, osv("GHSA-jfh8-c2jp-5v3q", aliases=("CVE-2021-44228",), package="log4j")]
    )

    (found,) = store.advisories_for_cpe("Apache", "LOG4J")
    assert found.id == "CVE-2021-44228"
    assert found.aliases == ("GHSA-jfh8-c2jp-5v3q",)
    assert found.affected == advisory.affected
    assert store.advisories_for_cpe("apache", "tomcat") == []


def test_purl_only_products_indexed(store: SqlStore) -> None:
    advisory = Advisory(
        id="VENDOR-2024-1/CVE-2024-3333",
        source="csaf",
        modified="2024-06-01T00:00:00Z",
        affected=(
            AffectedPackage(
                name="Gateway 2.1", product="Gateway", purl="pkg:maven/org.acme/gateway-core@2.1"
            ),
        ),
    )
    store.import_records([advisory])

    assert [a.id for a in store.advisories_for_package("maven", "org.acme:gateway-core")] == [
        advisory.id
    ]


def test_triage_round_trip(store: SqlStore) -> None:
    decision = TriageDecision(
        product="insulin-pump-app",
        component="pkg:pypi/jinja2",
        vulnerability="CVE-2019-10906",
        state="not_affected",
        justification="code_not_reachable",
        response=("will_not_fix",),
        detail="Templates are not rendered from user input.",
        author="analyst@example.org",
        timestamp="2024-06-01T10:00:00Z",
        component_version="2.10",
    )
    store.save_triage(decision)
    store.save_triage(
        dataclasses.replace(decision, vulnerability="CVE-2016-10745", state="in_triage")
    )
    store.save_triage(dataclasses.replace(decision, state="resolved"))

    stored = store.triage_for("insulin-pump-app")

    assert [(d.vulnerability, d.state) for d in stored] == [
        ("CVE-2016-10745", "in_triage"),
        ("CVE-2019-10906", "resolved"),
    ]
    assert stored[1].response == ("will_not_fix",)
    assert stored[1].component_version == "2.10"
    assert store.triage_for("other-product") == []
