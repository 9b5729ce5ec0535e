"""Measure `db import` throughput into SQLite and PostgreSQL.

Generates an OSV ecosystem archive shaped like osv.dev's `all.zip`: one JSON record per member,
each with one or two aliases, an ECOSYSTEM range and a list of versions. Every tenth record
shares a CVE with the one before it, so alias merging is exercised. Then it times three things
per backend, reporting wall time and this process's CPU time (which excludes the PostgreSQL
server's work):

- `zip`: reading the archive, parsing every record and writing it (what `db import` does);
- `store`: writing already-parsed records, which isolates the database work;
- `reimport`: importing the same archive again, which must find nothing new.

With ../shared/data present it also times the 2,661 real PyPA YAML records.

Usage: python benchmarks/bench_import.py [--records N] [--postgres URL]
PostgreSQL runs when --postgres or NEMECYS_TEST_POSTGRES_URL is given, in a schema created
for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nemecys.feeds.reader import collect, iter_records
from nemecys.storage.store import SqlStore

ROOT = Path(__file__).resolve().parents[1]
PYSEC = ROOT.parent / "shared" / "data" / "vulndb" / "osv-pypi" / "vulns"


def synthetic_record(number: int, rng: random.Random) -> dict[str, object]:
    package = f"package-{number % 5000}"
    aliases = [f"CVE-2024-{number:06d}"]
    if number % 10 == 1:
        aliases = [f"CVE-2024-{number - 1:06d}"]  # the same CVE as the previous record
    if number % 3 == 0:
        aliases.append(f"GHSA-{number:04x}-bench-{number % 97:04d}")
    fixed = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    return {
        "schema_version": "1.6.0",
        "id": f"BENCH-{number:07d}",
        "modified": "2024-06-01T12:00:00.123456Z",
        "published": "2024-05-01T00:00:00Z",
        "aliases": aliases,
        "summary": f"Synthetic advisory {number} for {package}",
        "details": "Improper input validation lets a remote attacker crash the service. " * 3,
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package, "purl": f"pkg:pypi/{package}"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
                "versions": [f"0.{minor}.0" for minor in range(rng.randint(3, 15))],
            }
        ],
        "references": [
            {"type": "ADVISORY", "url": f"https://example.org/advisories/{number}"},
            {"type": "FIX", "url": f"https://example.org/commits/{number:040x}"},
        ],
        "database_specific": {"cwe_ids": ["CWE-20"]},
    }


def write_archive(path: Path, count: int) -> None:
    rng = random.Random(20240601)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(count):
            archive.writestr(f"BENCH-{number:07d}.json", json.dumps(synthetic_record(number, rng)))


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    schema = f"nemecys_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def process_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], int]) -> tuple[int, float, float]:
    """Run `action`; return its record count, wall seconds and this process's CPU seconds."""
    start, cpu_start = time.perf_counter(), process_seconds()
    records = action()
    return records, time.perf_counter() - start, process_seconds() - cpu_start


def import_paths(store: SqlStore, paths: list[Path]) -> int:
    with collect(paths) as sources:
        return store.import_records(iter_records(sources), "bench").records


def report(backend: str, case: str, records: int, seconds: float, cpu: float) -> None:
    print(
        f"| {backend} | {case} | {records} | {seconds:.2f} | {records / seconds:,.0f} "
        f"| {cpu:.2f} | {records / cpu:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000, help="synthetic records to import")
    parser.add_argument(
        "--postgres", default=os.environ.get("NEMECYS_TEST_POSTGRES_URL"), help="PostgreSQL URL"
    )
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"load average before the run: {os.getloadavg()[0]:.2f}")
    print("| backend | case | records | wall s | records/s | CPU s | records per CPU s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="nemecys-bench-") as folder:
        archive = Path(folder) / "all.zip"
        write_archive(archive, args.records)
        with collect([archive]) as sources:
            parsed = list(iter_records(sources))

        cases: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
            ("sqlite", lambda: sqlite_url(Path(folder)))
        ]
        if args.postgres:
            cases.append(("postgresql", lambda: postgres_schema(args.postgres)))
        for name, make in cases:
            with make() as url, SqlStore.open(url) as store:
                records, seconds, cpu = timed(lambda: import_paths(store, [archive]))
                report(name, "zip", records, seconds, cpu)
                records, seconds, cpu = timed(lambda: import_paths(store, [archive]))
                report(name, "reimport", records, seconds, cpu)
            with make() as url, SqlStore.open(url) as store:
                records, seconds, cpu = timed(lambda: store.import_records(parsed, "bench").records)
                report(name, "store", records, seconds, cpu)
            if PYSEC.is_dir():
                with make() as url, SqlStore.open(url) as store:
                    records, seconds, cpu = timed(lambda: import_paths(store, [PYSEC]))
                    report(name, "pysec-yaml", records, seconds, cpu)


@contextmanager
def sqlite_url(folder: Path) -> Iterator[str]:
    path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for leftover in folder.glob(path.name + "*"):
            leftover.unlink()


if __name__ == "__main__":
    main()
