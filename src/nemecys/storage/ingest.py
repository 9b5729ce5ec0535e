"""Bulk import of feed records into the advisory database, in one transaction per import.

Records arrive as a stream (the feed reader parses files as it goes) and are written in
batches: executemany on SQLite, COPY on PostgreSQL. The whole import runs in a single
transaction, so an invalid record anywhere, an interrupted process or a database error leaves
the database as it was.

For each advisory the stored copy with the same source and id decides what happens:

- none stored: inserted (`new`);
- stored with an older `modified` time: replaced together with its index rows (`updated`);
- same `modified` time: left alone (`unchanged`), which makes a repeated import a no-op;
- stored with a newer `modified` time: left alone (`older`).

When either side has no `modified` time, the content digest decides between `unchanged` and
`updated`. Every id and alias of an advisory joins one vulnerability number in `aliases`
(union-find over the ids of the batch and the numbers already stored), and an advisory that
links two stored vulnerabilities merges them into the lower number. Links are never split
again: an advisory that later drops an alias keeps the merge. A withdrawn advisory adds only
its own id, so its aliases merge nothing.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from packageurl import PackageURL
from psycopg import sql
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from nemecys.feeds._values import canonical_timestamp
from nemecys.feeds.nvd import cpe_vendor_product
from nemecys.storage.codec import encode
from nemecys.storage.models import (
    AdvisoryRow,
    AliasRow,
    Base,
    CpeIndexRow,
    EpssRow,
    ImportRow,
    KevRow,
    PackageIndexRow,
    ProductRow,
)
from nemecys.vulns.model import Advisory, AffectedPackage, EpssScore, KevEntry
from nemecys.vulns.store import package_key, purl_type_of

logger = logging.getLogger(__name__)

Record = Advisory | KevEntry | EpssScore
T = TypeVar("T")

# Records written per batch. Larger batches mean fewer round trips, and this size keeps a
# batch's parsed records and rows to a few tens of MB (an estimate for OSV-sized records).
BATCH_SIZE = 5000
# Values per `IN (...)` list; SQLite before 3.32 allows 999 bound parameters per statement.
IN_CHUNK = 900
# Rows an import must add to a PostgreSQL table before it refreshes the table's statistics.
ANALYZE_AFTER_ROWS = 5000
# Key of the PostgreSQL advisory lock that serialises imports ("neme" in ASCII).
PG_IMPORT_LOCK = 0x6E656D65


@dataclass
class SourceCounts:
    """Outcome counts of one import for one source (osv, nvd, csaf, kev or epss)."""

    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    withdrawn: int = 0


@dataclass
class ImportSummary:
    import_id: int
    started_at: str
    finished_at: str
    seconds: float
    counts: dict[str, SourceCounts] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(c.records for c in self.counts.values())

    @property
    def new(self) -> int:
        return sum(c.new for c in self.counts.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.counts.values())


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_import(
    engine: Engine,
    records: Iterable[Record],
    origin: str,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Write `records` in one transaction and log the import; return what changed.

    Any exception from `records` (an invalid file) or from the database rolls everything
    back and propagates. `on_batch` is called with the running record count after each batch.
    """
    started = now_utc()
    clock = datetime.now(UTC)
    with _automatic_gc_paused(), engine.begin() as connection:
        _lock_for_import(connection)
        writer = _Writer(connection)
        advisories: list[Advisory] = []
        kev: list[KevEntry] = []
        epss: list[EpssScore] = []
        seen = 0
        for record in records:
            seen += 1
            if isinstance(record, Advisory):
                advisories.append(record)
            elif isinstance(record, KevEntry):
                kev.append(record)
            else:
                epss.append(record)
            if len(advisories) + len(kev) + len(epss) >= batch_size:
                writer.write(advisories, kev, epss)
                advisories, kev, epss = [], [], []
                gc.collect(0)
                if on_batch is not None:
                    on_batch(seen)
        writer.write(advisories, kev, epss)
        finished = now_utc()
        writer.log(started, finished, origin)
        _refresh_statistics(connection, writer.written_rows)
    seconds = (datetime.now(UTC) - clock).total_seconds()
    summary = ImportSummary(writer.import_id, started, finished, seconds, dict(writer.counts))
    logger.info("import %d finished: %d records in %.2f s", summary.import_id, seen, seconds)
    return summary


@contextmanager
def _automatic_gc_paused() -> Iterator[None]:
    """Turn off Python's automatic cycle collection for the duration of an import.

    Parsing and batching create many container objects, and the automatic passes over
    them cost about a sixth of the import's CPU time (benchmarks/bench_import.py). The
    import collects the youngest generation after each batch instead, so reference cycles
    do not pile up. The setting is process-wide, so other threads run without automatic
    collection meanwhile; the previous state is restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _lock_for_import(connection: Connection) -> None:
    """Take the database's write lock now, so two imports run one after the other."""
    if connection.dialect.name == "sqlite":
        # pysqlite would start a deferred transaction at the first write; IMMEDIATE takes the
        # write lock before the import reads the numbers it will build on.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(PG_IMPORT_LOCK)))
        # Every statement of an import looks rows up by key. On tables without statistics
        # (new, or grown since autovacuum last ran), the planner guesses that an IN list of a
        # few hundred keys matches most rows, so it scans the whole table for each batch.
        # That made re-importing 50,000 records 12 times slower (benchmarks/bench_import.py).
        # SET LOCAL keeps the setting to this transaction.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")


def _refresh_statistics(connection: Connection, written_rows: Mapping[str, int]) -> None:
    """Update PostgreSQL's planner statistics of the tables that an import grew.

    Queries right after a large import would otherwise plan with the statistics of the
    smaller tables until autovacuum gets to them. ANALYZE samples a fixed number of rows, so
    it took about half a second on a table of 50,000 advisories whatever the import wrote.
    Small imports skip it.
    """
    if connection.dialect.name != "postgresql":
        return
    for table, rows in sorted(written_rows.items()):
        if rows >= ANALYZE_AFTER_ROWS:
            connection.exec_driver_sql(f'ANALYZE "{table}"')


@dataclass(frozen=True, slots=True)
class _Prepared:
    advisory: Advisory
    modified: str | None
    document: str
    digest: str


class _Writer:
    """Writes batches within the import's transaction and keeps the counts."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.counts: defaultdict[str, SourceCounts] = defaultdict(SourceCounts)
        self.written_rows: Counter[str] = Counter()  # rows inserted per table
        self.import_id = 1 + (
            connection.execute(select(func.coalesce(func.max(ImportRow.import_id), 0))).scalar_one()
        )
        self.next_vulnerability = 1 + (
            connection.execute(
                select(func.coalesce(func.max(AliasRow.vulnerability), 0))
            ).scalar_one()
        )

    def write(self, advisories: list[Advisory], kev: list[KevEntry], epss: list[EpssScore]) -> None:
        if advisories:
            self._advisories(advisories)
        if kev:
            self._kev(kev)
        if epss:
            self._epss(epss)

    def _insert(self, model: type[Base], rows: list[dict[str, Any]]) -> None:
        """Insert rows, with COPY on PostgreSQL through psycopg.

        SQLAlchemy sends a psycopg executemany as one pipelined statement per row, which
        took over 40 % of the client CPU time of an import. COPY streams the rows in one
        command.
        """
        self.written_rows[str(model.__tablename__)] += len(rows)
        raw: object = self.connection.connection.dbapi_connection
        if not isinstance(raw, psycopg.Connection):
            self.connection.execute(insert(model), rows)
            return
        columns = list(rows[0])
        command = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(str(model.__tablename__)),
            sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        )
        with raw.cursor() as cursor, cursor.copy(command) as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])

    # -- advisories ---------------------------------------------------------------------------

    def _advisories(self, batch: list[Advisory]) -> None:
        latest: dict[tuple[str, str], _Prepared] = {}
        for advisory in batch:
            counts = self.counts[advisory.source]
            counts.records += 1
            if advisory.withdrawn:
                counts.withdrawn += 1
            document, digest = encode(advisory)
            prepared = _Prepared(advisory, canonical_timestamp(advisory.modified), document, digest)
            key = (advisory.source, advisory.id)
            previous = latest.get(key)
            if previous is None:
                latest[key] = prepared
                continue
            # The same record twice in one batch counts like a re-import of the first copy.
            outcome = _decide(prepared, previous.modified, previous.digest)
            if outcome == "updated":
                latest[key] = prepared
                counts.updated += 1
            elif outcome == "unchanged":
                counts.unchanged += 1
            else:
                counts.older += 1

        stored = self._stored_advisories(list(latest))
        to_write: list[_Prepared] = []
        replaced: defaultdict[str, list[str]] = defaultdict(list)
        for key, prepared in latest.items():
            counts = self.counts[key[0]]
            if key not in stored:
                counts.new += 1
                to_write.append(prepared)
                continue
            outcome = _decide(prepared, *stored[key])
            if outcome == "updated":
                counts.updated += 1
                replaced[key[0]].append(key[1])
                to_write.append(prepared)
            elif outcome == "unchanged":
                counts.unchanged += 1
            else:
                counts.older += 1

        for source, ids in replaced.items():
            for part in chunks(ids):
                # Index rows go with them through ON DELETE CASCADE.
                self.connection.execute(
                    delete(AdvisoryRow).where(
                        AdvisoryRow.source == source, AdvisoryRow.id.in_(part)
                    )
                )
        if not to_write:
            return
        self._insert(
            AdvisoryRow,
            [
                {
                    "source": p.advisory.source,
                    "id": p.advisory.id,
                    "modified": p.modified,
                    "published": p.advisory.published,
                    "withdrawn": p.advisory.withdrawn,
                    "digest": p.digest,
                    "document": p.document,
                    "import_id": self.import_id,
                }
                for p in to_write
            ],
        )
        self._index([p.advisory for p in to_write if not p.advisory.withdrawn])
        self._link([_ids_of(p.advisory) for p in to_write])

    def _stored_advisories(
        self, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str | None, str]]:
        by_source: defaultdict[str, list[str]] = defaultdict(list)
        for source, advisory_id in keys:
            by_source[source].append(advisory_id)
        stored: dict[tuple[str, str], tuple[str | None, str]] = {}
        for source, ids in by_source.items():
            for part in chunks(ids):
                rows = self.connection.execute(
                    _STORED_ADVISORIES, {"source": source, "keys": list(part)}
                )
                for advisory_id, modified, digest in rows:
                    stored[(source, advisory_id)] = (modified, digest)
        return stored

    def _index(self, advisories: list[Advisory]) -> None:
        packages: list[dict[str, Any]] = []
        cpes: list[dict[str, Any]] = []
        products: list[dict[str, Any]] = []
        for advisory in advisories:
            keys = {"source": advisory.source, "advisory_id": advisory.id}
            package_keys: set[tuple[str, str]] = set()
            cpe_keys: set[tuple[str, str]] = set()
            for affected in advisory.affected:
                package = _package_key(affected)
                if package is not None:
                    package_keys.add(package)
                if affected.cpe:
                    vendor_product = cpe_vendor_product(affected.cpe)
                    if vendor_product is not None:
                        cpe_keys.add(vendor_product)
                if affected.product:
                    products.append(
                        {
                            **keys,
                            "position": len(products),
                            "full_name": affected.name or affected.product,
                            "vendor": affected.vendor.lower() if affected.vendor else None,
                            "product": affected.product.lower(),
                            "version": affected.product_version,
                            "status": affected.status,
                            "remediation": affected.remediation,
                        }
                    )
            packages.extend({**keys, "purl_type": t, "name": n} for t, n in package_keys)
            cpes.extend({**keys, "vendor": v, "product": p} for v, p in cpe_keys)
        if packages:
            self._insert(PackageIndexRow, packages)
        if cpes:
            self._insert(CpeIndexRow, cpes)
        if products:
            self._insert(ProductRow, products)

    def _link(self, id_sets: list[tuple[str, ...]]) -> None:
        """Give every id a vulnerability number, merging the numbers that the ids connect."""
        all_ids = sorted({i for ids in id_sets for i in ids})
        stored: dict[str, int] = {}
        for part in chunks(all_ids):
            rows = self.connection.execute(_STORED_ALIASES, {"keys": list(part)})
            stored.update((row.alias, row.vulnerability) for row in rows)

        # Nodes are ids (str) and stored vulnerability numbers (int), so an id connects the
        # batch to every stored group it already belongs to.
        parent: dict[str | int, str | int] = {}

        def find(node: str | int) -> str | int:
            root = parent.setdefault(node, node)
            while root != parent[root]:
                root = parent[root]
            while node != root:
                parent[node], node = root, parent[node]
            return root

        def union(a: str | int, b: str | int) -> None:
            root_a, root_b = find(a), find(b)
            if root_a != root_b:
                parent[root_b] = root_a

        for ids in id_sets:
            find(ids[0])
            for other in ids[1:]:
                union(ids[0], other)
        for alias, number in stored.items():
            union(alias, number)

        components: defaultdict[str | int, list[str | int]] = defaultdict(list)
        for node in list(parent):
            components[find(node)].append(node)

        new_rows: list[dict[str, Any]] = []
        for members in components.values():
            numbers = sorted(m for m in members if isinstance(m, int))
            if numbers:
                target = numbers[0]
                if len(numbers) > 1:
                    self.connection.execute(
                        update(AliasRow)
                        .where(AliasRow.vulnerability.in_(numbers[1:]))
                        .values(vulnerability=target)
                    )
            else:
                target = self.next_vulnerability
                self.next_vulnerability += 1
            new_rows.extend(
                {"alias": m, "vulnerability": target}
                for m in members
                if isinstance(m, str) and m not in stored
            )
        if new_rows:
            self._insert(AliasRow, new_rows)

    # -- KEV and EPSS -------------------------------------------------------------------------

    def _kev(self, batch: list[KevEntry]) -> None:
        counts = self.counts["kev"]
        counts.records += len(batch)
        latest = {entry.cve: entry for entry in batch}
        stored: dict[str, tuple[Any, ...]] = {}
        for part in chunks(list(latest)):
            rows = self.connection.execute(_STORED_KEV, {"keys": list(part)})
            stored.update({row[0]: tuple(row) for row in rows})
        rows_to_write: list[dict[str, Any]] = []
        replaced: list[str] = []
        for cve, entry in latest.items():
            values = _kev_values(entry)
            old = stored.get(cve)
            if old is None:
                counts.new += 1
            elif old == tuple(values[c.key] for c in _KEV_COLUMNS):
                counts.unchanged += 1
                continue
            else:
                counts.updated += 1
                replaced.append(cve)
            rows_to_write.append({**values, "import_id": self.import_id})
        counts.unchanged += len(batch) - len(latest)
        for part in chunks(replaced):
            self.connection.execute(delete(KevRow).where(KevRow.cve.in_(part)))
        if rows_to_write:
            self._insert(KevRow, rows_to_write)

    def _epss(self, batch: list[EpssScore]) -> None:
        counts = self.counts["epss"]
        counts.records += len(batch)
        latest = {score.cve: score for score in batch}
        stored: dict[str, tuple[str | None, float, float]] = {}
        for part in chunks(list(latest)):
            rows = self.connection.execute(_STORED_EPSS, {"keys": list(part)})
            stored.update({cve: (date, score, pct) for cve, date, score, pct in rows})
        rows_to_write: list[dict[str, Any]] = []
        replaced: list[str] = []
        for cve, score in latest.items():
            date = canonical_timestamp(score.date)
            old = stored.get(cve)
            if old is not None:
                old_date, old_score, old_percentile = old
                if date is not None and old_date is not None and date < old_date:
                    counts.older += 1
                    continue
                if (date, score.score, score.percentile) == (old_date, old_score, old_percentile):
                    counts.unchanged += 1
                    continue
                counts.updated += 1
                replaced.append(cve)
            else:
                counts.new += 1
            rows_to_write.append(
                {
                    "cve": cve,
                    "score": score.score,
                    "percentile": score.percentile,
                    "date": date,
                    "import_id": self.import_id,
                }
            )
        counts.unchanged += len(batch) - len(latest)
        for part in chunks(replaced):
            self.connection.execute(delete(EpssRow).where(EpssRow.cve.in_(part)))
        if rows_to_write:
            self._insert(EpssRow, rows_to_write)

    # -- import log ---------------------------------------------------------------------------

    def log(self, started: str, finished: str, origin: str) -> None:
        rows = [
            {
                "import_id": self.import_id,
                "source": source,
                "started_at": started,
                "finished_at": finished,
                "records": c.records,
                "new": c.new,
                "updated": c.updated,
                "unchanged": c.unchanged,
                "older": c.older,
                "withdrawn": c.withdrawn,
                "origin": origin,
            }
            for source, c in sorted(self.counts.items())
        ]
        if rows:
            self.connection.execute(insert(ImportRow), rows)


_KEV_COLUMNS = (
    KevRow.cve,
    KevRow.vendor,
    KevRow.product,
    KevRow.name,
    KevRow.date_added,
    KevRow.due_date,
    KevRow.required_action,
    KevRow.ransomware,
)

# Look-ups by a list of keys, built once: an `in_()` of literal values is coerced and compiled
# anew for every call, which cost more than the queries themselves.
_STORED_ADVISORIES = select(AdvisoryRow.id, AdvisoryRow.modified, AdvisoryRow.digest).where(
    AdvisoryRow.source == bindparam("source"),
    AdvisoryRow.id.in_(bindparam("keys", expanding=True)),
)
_STORED_ALIASES = select(AliasRow.alias, AliasRow.vulnerability).where(
    AliasRow.alias.in_(bindparam("keys", expanding=True))
)
_STORED_KEV = select(*_KEV_COLUMNS).where(KevRow.cve.in_(bindparam("keys", expanding=True)))
_STORED_EPSS = select(EpssRow.cve, EpssRow.date, EpssRow.score, EpssRow.percentile).where(
    EpssRow.cve.in_(bindparam("keys", expanding=True))
)


def _kev_values(entry: KevEntry) -> dict[str, Any]:
    return {
        "cve": entry.cve,
        "vendor": entry.vendor,
        "product": entry.product,
        "name": entry.name,
        "date_added": entry.date_added,
        "due_date": entry.due_date,
        "required_action": entry.required_action,
        "ransomware": entry.ransomware,
    }


def _decide(incoming: _Prepared, stored_modified: str | None, stored_digest: str) -> str:
    """Return "updated", "unchanged" or "older" for an incoming copy of a stored advisory."""
    if incoming.modified is not None and stored_modified is not None:
        if incoming.modified > stored_modified:
            return "updated"
        return "unchanged" if incoming.modified == stored_modified else "older"
    return "unchanged" if incoming.digest == stored_digest else "updated"


def _ids_of(advisory: Advisory) -> tuple[str, ...]:
    if advisory.withdrawn:
        return (advisory.id,)
    return (advisory.id, *dict.fromkeys(a for a in advisory.aliases if a != advisory.id))


def _package_key(affected: AffectedPackage) -> tuple[str, str] | None:
    """Return the index key of an affected package, from its ecosystem or else its purl."""
    if affected.ecosystem and affected.name:
        return package_key(purl_type_of(affected.ecosystem), affected.name)
    if affected.purl:
        try:
            purl = PackageURL.from_string(affected.purl)
        except ValueError:
            return None
        separator = ":" if purl.type == "maven" else "/"
        name = f"{purl.namespace}{separator}{purl.name}" if purl.namespace else purl.name
        return package_key(purl.type, name)
    return None
