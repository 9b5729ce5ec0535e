"""SQLAlchemy 2 ORM models of the advisory database.

An advisory is stored whole, as the JSON of the normalised `Advisory`, keyed by its id and
source. The other tables are indexes built from it at import time, so that each lookup of the
matcher is a single indexed query:

- `aliases`: every advisory id and alias, mapped to a vulnerability number. Advisories that
  share any id get the same number (they describe one vulnerability).
- `advisory_packages`: (purl type, normalised name) of each affected package, as
  `nemecys.vulns.store.package_key` computes it.
- `advisory_cpes`: lower-cased CPE vendor and product of each NVD configuration entry.
- `advisory_products`: the CSAF products of each advisory, with status and remediation.

Withdrawn advisories are stored (so a later import can compare dates) but not indexed in
`advisory_packages`, `advisory_cpes` or `advisory_products`. The Alembic migrations in
`migrations/versions` create this schema; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AdvisoryRow(Base):
    __tablename__ = "advisories"
    # The id leads the key: imports look up hundreds of ids of one source at a time, and
    # with the source first PostgreSQL scanned every row of that source for each lookup.
    __table_args__ = (PrimaryKeyConstraint("id", "source", name="advisories_pkey"),)

    source: Mapped[str] = mapped_column(String(16))
    id: Mapped[str] = mapped_column(String)
    # UTC with microseconds and a fixed width, so that text comparison orders by time.
    modified: Mapped[str | None] = mapped_column(String(27))
    published: Mapped[str | None] = mapped_column(String)
    withdrawn: Mapped[str | None] = mapped_column(String)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of `document`
    document: Mapped[str] = mapped_column(Text)  # the Advisory as compact JSON
    import_id: Mapped[int] = mapped_column(Integer)


def _advisory_reference() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["source", "advisory_id"],
        ["advisories.source", "advisories.id"],
        ondelete="CASCADE",
    )


class PackageIndexRow(Base):
    __tablename__ = "advisory_packages"
    __table_args__ = (
        _advisory_reference(),
        Index("ix_advisory_packages_advisory", "source", "advisory_id"),
    )

    purl_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    advisory_id: Mapped[str] = mapped_column(String, primary_key=True)


class CpeIndexRow(Base):
    __tablename__ = "advisory_cpes"
    __table_args__ = (
        _advisory_reference(),
        Index("ix_advisory_cpes_advisory", "source", "advisory_id"),
    )

    vendor: Mapped[str] = mapped_column(String, primary_key=True)
    product: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    advisory_id: Mapped[str] = mapped_column(String, primary_key=True)


class ProductRow(Base):
    """One CSAF product named by an advisory's product status."""

    __tablename__ = "advisory_products"
    __table_args__ = (
        _advisory_reference(),
        Index("ix_advisory_products_vendor_product", "vendor", "product"),
    )

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    advisory_id: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String)
    vendor: Mapped[str | None] = mapped_column(String)  # lower-cased for lookups
    product: Mapped[str | None] = mapped_column(String)  # lower-cased for lookups
    version: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String(32))
    remediation: Mapped[str | None] = mapped_column(Text)


class AliasRow(Base):
    __tablename__ = "aliases"
    __table_args__ = (Index("ix_aliases_vulnerability", "vulnerability"),)

    alias: Mapped[str] = mapped_column(String, primary_key=True)
    vulnerability: Mapped[int] = mapped_column(Integer)


class KevRow(Base):
    __tablename__ = "kev"

    cve: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor: Mapped[str] = mapped_column(String)
    product: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    date_added: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[str | None] = mapped_column(String(32))
    required_action: Mapped[str | None] = mapped_column(Text)
    ransomware: Mapped[str | None] = mapped_column(String(32))
    import_id: Mapped[int] = mapped_column(Integer)


class EpssRow(Base):
    __tablename__ = "epss"

    cve: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    # The file's score_date; UTC with a fixed width like AdvisoryRow.modified.
    date: Mapped[str | None] = mapped_column(String(27))
    import_id: Mapped[int] = mapped_column(Integer)


class TriageRow(Base):
    """The latest analyst decision on one vulnerability in one component of one product."""

    __tablename__ = "triage"

    product: Mapped[str] = mapped_column(String, primary_key=True)
    component: Mapped[str] = mapped_column(String, primary_key=True)
    vulnerability: Mapped[str] = mapped_column(String, primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    justification: Mapped[str | None] = mapped_column(String)
    response: Mapped[list[str]] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String)
    timestamp: Mapped[str | None] = mapped_column(String(40))
    component_version: Mapped[str | None] = mapped_column(String)


class ImportRow(Base):
    """One source's share of one import: what it read and what changed."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[str] = mapped_column(String(27))
    finished_at: Mapped[str] = mapped_column(String(27))
    records: Mapped[int] = mapped_column(Integer)
    new: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    older: Mapped[int] = mapped_column(Integer)
    withdrawn: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(Text)  # the imported paths or URLs
