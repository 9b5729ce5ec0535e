"""Databases for the storage tests: a SQLite file, or a throw-away PostgreSQL schema.

PostgreSQL runs only when NEMECYS_TEST_POSTGRES_URL names a server (CI sets it). Each test
gets its own schema, created empty and dropped afterwards, so parallel runs never share rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "NEMECYS_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database of `backend`; skip when PostgreSQL is not configured."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'advisories.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set, so there is no PostgreSQL server to test against")
    schema = f"nemecys_test_{uuid.uuid4().hex[:16]}"
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
