"""Find and open the advisory database for a scan, without creating an empty one by accident.

`nemecys.storage.engine.open_engine` creates a missing SQLite file, which suits `nemecys db
import`. A scan against a new, empty file would report no vulnerabilities at all, so scans and
`nemecys assess` first check that the file exists and name the commands that create it when it does not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from nemecys.errors import InputError

if TYPE_CHECKING:
    from nemecys.storage.store import SqlStore


def create_hint(option: str = "", subject: str = "it") -> str:
    """Return "create SUBJECT with" and the commands, with `option` (such as --db URL)."""
    suffix = f" {option}" if option else ""
    return (
        f"create {subject} with 'nemecys db update{suffix}' (downloads OSV, KEV and EPSS) or "
        f"'nemecys db import{suffix} FILES' (OSV, NVD, CSAF, KEV or EPSS files)"
    )


def find_database(db: str | None) -> str | None:
    """Return the URL of the advisory database to use, or None when none has been created.

    An explicit `db` or `$NEMECYS_DB` must name an existing SQLite file (any other database
    URL is returned as given). Without either, the default file is used when it exists.
    Raises InputError for an explicit SQLite file that does not exist.
    """
    from nemecys.storage.engine import DB_ENV, default_database_path, resolve_url

    explicit = db or os.environ.get(DB_ENV)
    if not explicit:
        default = default_database_path()
        return resolve_url(str(default)) if default.is_file() else None
    url = resolve_url(explicit)
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        where = "--db" if db else f"${DB_ENV}"
        raise InputError(
            f"advisory database not found: {path} (from {where}); " + create_hint(f"--db {path}")
        )
    return url


def missing_database_message() -> str:
    """Return the message for a scan that found no advisory database at all."""
    from nemecys.storage.engine import DB_ENV, default_database_path

    return (
        f"no advisory database found: {default_database_path()} does not exist and "
        f"neither --db nor ${DB_ENV} names another; {create_hint()}"
    )


def open_database(url: str) -> SqlStore:
    """Open the advisory database at `url`; raise InputError when it cannot be opened."""
    from nemecys.storage.engine import display_url
    from nemecys.storage.store import SqlStore

    try:
        return SqlStore.open(url)
    except SQLAlchemyError as exc:
        raise InputError(
            f"cannot open the advisory database {display_url(url)}: {database_reason(exc)}"
        ) from None


def database_reason(exc: SQLAlchemyError) -> str:
    """Return the first line of the driver's message for a database error."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


__all__ = [
    "create_hint",
    "database_reason",
    "find_database",
    "missing_database_message",
    "open_database",
]
