"""`SqlStore`: the advisory database behind the `AdvisoryStore` and `TriageStore` protocols.

Queries return the stored advisories with their `aliases` completed: an advisory carries every
id of the vulnerability it belongs to (its own aliases first, then the other ids that the
alias table links to it, sorted). The `AdvisoryStore` queries never return withdrawn advisories.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, Select, and_, distinct, func, select
from sqlalchemy.orm import Session, aliased

from nemecys.storage.codec import decode
from nemecys.storage.engine import open_engine
from nemecys.storage.ingest import ImportSummary, Record, chunks, run_import
from nemecys.storage.models import (
    AdvisoryRow,
    AliasRow,
    CpeIndexRow,
    EpssRow,
    ImportRow,
    KevRow,
    PackageIndexRow,
    ProductRow,
    TriageRow,
)
from nemecys.vulns.model import Advisory, EpssScore, KevEntry
from nemecys.vulns.store import CPE_COVERAGE, TriageDecision, package_key


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: str
    records: int
    withdrawn: int = 0
    last_import: str | None = None  # finish time of the newest import that read this source


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    url: str  # with the password hidden
    sources: tuple[SourceStatus, ...] = ()
    vulnerabilities: int = 0
    aliases: int = 0
    epss_date: str | None = None
    imports: int = 0


class SqlStore:
    """Advisories, KEV entries, EPSS scores and triage decisions in a SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> SqlStore:
        """Open the database at `url` (see `engine.resolve_url`), migrating it when needed."""
        return cls(open_engine(url))

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------

    def import_records(self, records: Iterable[Record], origin: str = "") -> ImportSummary:
        """Import records in one transaction; see `nemecys.storage.ingest` for the rules."""
        return run_import(self.engine, records, origin)

    # -- AdvisoryStore ------------------------------------------------------------------------

    def advisories_for_package(self, purl_type: str, name: str) -> Sequence[Advisory]:
        key_type, key_name = package_key(purl_type.lower(), name)
        query = (
            select(AdvisoryRow.document)
            .join(
                PackageIndexRow,
                and_(
                    PackageIndexRow.source == AdvisoryRow.source,
                    PackageIndexRow.advisory_id == AdvisoryRow.id,
                ),
            )
            .where(PackageIndexRow.purl_type == key_type, PackageIndexRow.name == key_name)
        )
        return self._advisories(query)

    def advisories_for_cpe(self, vendor: str, product: str) -> Sequence[Advisory]:
        query = (
            select(AdvisoryRow.document)
            .join(
                CpeIndexRow,
                and_(
                    CpeIndexRow.source == AdvisoryRow.source,
                    CpeIndexRow.advisory_id == AdvisoryRow.id,
                ),
            )
            .where(CpeIndexRow.vendor == vendor.lower(), CpeIndexRow.product == product.lower())
        )
        return self._advisories(query)

    def advisories_with_products(self) -> Sequence[Advisory]:
        with_products = (
            select(ProductRow.source, ProductRow.advisory_id).distinct().subquery("with_products")
        )
        query = select(AdvisoryRow.document).join(
            with_products,
            and_(
                with_products.c.source == AdvisoryRow.source,
                with_products.c.advisory_id == AdvisoryRow.id,
            ),
        )
        return self._advisories(query)

    def covered_types(self) -> set[str]:
        with Session(self.engine) as session:
            types = set(session.scalars(select(PackageIndexRow.purl_type).distinct()))
            if session.scalar(select(CpeIndexRow.vendor).limit(1)) is not None:
                types.add(CPE_COVERAGE)
        return types

    def kev(self, ids: Iterable[str]) -> dict[str, KevEntry]:
        found: dict[str, KevEntry] = {}
        with Session(self.engine) as session:
            for part in chunks(sorted(set(ids))):
                for row in session.scalars(select(KevRow).where(KevRow.cve.in_(part))):
                    found[row.cve] = KevEntry(
                        cve=row.cve,
                        vendor=row.vendor,
                        product=row.product,
                        name=row.name,
                        date_added=row.date_added,
                        due_date=row.due_date,
                        required_action=row.required_action,
                        ransomware=row.ransomware,
                    )
        return found

    def epss(self, ids: Iterable[str]) -> dict[str, EpssScore]:
        found: dict[str, EpssScore] = {}
        with Session(self.engine) as session:
            for part in chunks(sorted(set(ids))):
                for row in session.scalars(select(EpssRow).where(EpssRow.cve.in_(part))):
                    found[row.cve] = EpssScore(row.cve, row.score, row.percentile, row.date)
        return found

    # -- lookups beyond the protocol ----------------------------------------------------------

    def advisory(
        self, advisory_id: str, source: str | None = None, include_withdrawn: bool = False
    ) -> Advisory | None:
        """Return the advisory with this id (from `source`, when given), or None."""
        query = select(AdvisoryRow.document).where(AdvisoryRow.id == advisory_id)
        if source is not None:
            query = query.where(AdvisoryRow.source == source)
        found = self._advisories(query, include_withdrawn=include_withdrawn)
        return found[0] if found else None

    def vulnerability_ids(self, any_id: str) -> frozenset[str]:
        """Return every id linked to `any_id` (itself included), or an empty set if unknown."""
        return frozenset(self._linked_ids([any_id]).get(any_id, ()))

    def status(self) -> DatabaseStatus:
        with Session(self.engine) as session:
            newest = select(ImportRow.source, func.max(ImportRow.finished_at)).group_by(
                ImportRow.source
            )
            last_import = dict(session.execute(newest).all())
            sources: list[SourceStatus] = []
            advisory_counts = session.execute(
                select(
                    AdvisoryRow.source, func.count(), func.count(AdvisoryRow.withdrawn)
                ).group_by(AdvisoryRow.source)
            )
            for source, records, withdrawn in advisory_counts:
                sources.append(SourceStatus(source, records, withdrawn, last_import.get(source)))
            for source, model in (("kev", KevRow), ("epss", EpssRow)):
                count = session.scalar(select(func.count()).select_from(model)) or 0
                if count or source in last_import:
                    sources.append(SourceStatus(source, count, 0, last_import.get(source)))
            return DatabaseStatus(
                url=self.url,
                sources=tuple(sorted(sources, key=lambda s: s.source)),
                vulnerabilities=session.scalar(select(func.count(distinct(AliasRow.vulnerability))))
                or 0,
                aliases=session.scalar(select(func.count()).select_from(AliasRow)) or 0,
                epss_date=session.scalar(select(func.max(EpssRow.date))),
                imports=session.scalar(select(func.count(distinct(ImportRow.import_id)))) or 0,
            )

    # -- TriageStore --------------------------------------------------------------------------

    def save_triage(self, decision: TriageDecision) -> None:
        """Store a decision, replacing an earlier one on the same product, component and id."""
        with Session(self.engine) as session, session.begin():
            session.merge(
                TriageRow(
                    product=decision.product,
                    component=decision.component,
                    vulnerability=decision.vulnerability,
                    state=decision.state,
                    justification=decision.justification,
                    response=list(decision.response),
                    detail=decision.detail,
                    author=decision.author,
                    timestamp=decision.timestamp,
                    component_version=decision.component_version,
                )
            )

    def triage_for(self, product: str) -> Sequence[TriageDecision]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(TriageRow)
                .where(TriageRow.product == product)
                .order_by(TriageRow.component, TriageRow.vulnerability)
            )
            return [
                TriageDecision(
                    product=row.product,
                    component=row.component,
                    vulnerability=row.vulnerability,
                    state=row.state,
                    justification=row.justification,
                    response=tuple(row.response),
                    detail=row.detail,
                    author=row.author,
                    timestamp=row.timestamp,
                    component_version=row.component_version,
                )
                for row in rows
            ]

    # -- helpers ------------------------------------------------------------------------------

    def _advisories(self, query: Select[str], include_withdrawn: bool = False) -> list[Advisory]:
        if not include_withdrawn:
            query = query.where(AdvisoryRow.withdrawn.is_(None))
        query = query.order_by(AdvisoryRow.source, AdvisoryRow.id)
        with Session(self.engine) as session:
            advisories = [decode(document) for document in session.scalars(query)]
        linked = self._linked_ids([a.id for a in advisories])
        return [_with_all_ids(advisory, linked.get(advisory.id, ())) for advisory in advisories]

    def _linked_ids(self, ids: Sequence[str]) -> dict[str, set[str]]:
        start = aliased(AliasRow)
        other = aliased(AliasRow)
        linked: defaultdict[str, set[str]] = defaultdict(set)
        with Session(self.engine) as session:
            for part in chunks(sorted(set(ids))):
                rows = session.execute(
                    select(start.alias, other.alias)
                    .join(other, other.vulnerability == start.vulnerability)
                    .where(start.alias.in_(part))
                )
                for known, linked_id in rows:
                    linked[known].add(linked_id)
        return linked


def _with_all_ids(advisory: Advisory, linked: Iterable[str]) -> Advisory:
    known = {advisory.id, *advisory.aliases}
    more = sorted(set(linked) - known)
    if not more:
        return advisory
    return dataclasses.replace(advisory, aliases=(*advisory.aliases, *more))
