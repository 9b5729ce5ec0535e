"""Create the advisory database: advisories, index tables, KEV, EPSS, triage, import log.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _advisory_reference() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["source", "advisory_id"],
        ["advisories.source", "advisories.id"],
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("modified", sa.String(27), nullable=True),
        sa.Column("published", sa.String(), nullable=True),
        sa.Column("withdrawn", sa.String(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", "source", name="advisories_pkey"),
    )
    op.create_table(
        "advisory_packages",
        sa.Column("purl_type", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("advisory_id", sa.String(), primary_key=True),
        _advisory_reference(),
    )
    op.create_index("ix_advisory_packages_advisory", "advisory_packages", ["source", "advisory_id"])
    op.create_table(
        "advisory_cpes",
        sa.Column("vendor", sa.String(), primary_key=True),
        sa.Column("product", sa.String(), primary_key=True),
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("advisory_id", sa.String(), primary_key=True),
        _advisory_reference(),
    )
    op.create_index("ix_advisory_cpes_advisory", "advisory_cpes", ["source", "advisory_id"])
    op.create_table(
        "advisory_products",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("advisory_id", sa.String(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("full_name", sa.String(), nullable=False),
        sa.Column("vendor", sa.String(), nullable=True),
        sa.Column("product", sa.String(), nullable=True),
        sa.Column("version", sa.String(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("remediation", sa.Text(), nullable=True),
        _advisory_reference(),
    )
    op.create_index(
        "ix_advisory_products_vendor_product", "advisory_products", ["vendor", "product"]
    )
    op.create_table(
        "aliases",
        sa.Column("alias", sa.String(), primary_key=True),
        sa.Column("vulnerability", sa.Integer(), nullable=False),
    )
    op.create_index("ix_aliases_vulnerability", "aliases", ["vulnerability"])
    op.create_table(
        "kev",
        sa.Column("cve", sa.String(32), primary_key=True),
        sa.Column("vendor", sa.String(), nullable=False),
        sa.Column("product", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("date_added", sa.String(32), nullable=False),
        sa.Column("due_date", sa.String(32), nullable=True),
        sa.Column("required_action", sa.Text(), nullable=True),
        sa.Column("ransomware", sa.String(32), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=False),
    )
    op.create_table(
        "epss",
        sa.Column("cve", sa.String(32), primary_key=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("date", sa.String(27), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=False),
    )
    op.create_table(
        "triage",
        sa.Column("product", sa.String(), primary_key=True),
        sa.Column("component", sa.String(), primary_key=True),
        sa.Column("vulnerability", sa.String(), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("justification", sa.String(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("timestamp", sa.String(40), nullable=True),
        sa.Column("component_version", sa.String(), nullable=True),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("started_at", sa.String(27), nullable=False),
        sa.Column("finished_at", sa.String(27), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("older", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
    )
    op.create_index("ix_imports_import_id", "imports", ["import_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_imports_import_id", "imports"),
        ("ix_aliases_vulnerability", "aliases"),
        ("ix_advisory_products_vendor_product", "advisory_products"),
        ("ix_advisory_cpes_advisory", "advisory_cpes"),
        ("ix_advisory_packages_advisory", "advisory_packages"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "imports",
        "triage",
        "epss",
        "kev",
        "aliases",
        "advisory_products",
        "advisory_cpes",
        "advisory_packages",
        "advisories",
    ):
        op.drop_table(table)
