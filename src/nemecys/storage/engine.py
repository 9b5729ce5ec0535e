"""Database URLs, engines and schema migrations for the advisory database.

The database is any SQLAlchemy URL; without one it is a SQLite file in the user's data
folder, so `nemecys db import` works with no setup. `open_engine` brings the schema to the
newest Alembic revision before returning, running the migrations shipped in
`nemecys/storage/migrations` from code (no alembic.ini is read).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from nemecys.errors import InputError

DB_ENV = "NEMECYS_DB"
MIGRATIONS = Path(__file__).parent / "migrations"
# How long a SQLite connection waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_S = 30


def default_database_path() -> Path:
    """Return `$XDG_DATA_HOME/nemecys/advisories.db`, or `~/.local/share/...` without it."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nemecys" / "advisories.db"


def resolve_url(url: str | None = None) -> str:
    """Return the database URL to use: `url`, else `$NEMECYS_DB`, else the default file.

    A value without `://` is taken as a SQLite file path.
    """
    value = url or os.environ.get(DB_ENV) or str(default_database_path())
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    return value


def display_url(url: str) -> str:
    """Return the URL with its password replaced by `***`, for messages and `db status`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def create_database_engine(url: str) -> Engine:
    """Create an engine for `url`; for a SQLite file, create its folder and tune the pragmas."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(
            f"invalid database URL {url!r}; expected e.g. sqlite:///path/advisories.db or "
            "postgresql+psycopg://user@host/dbname"
        ) from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # Cascading deletes of index rows need foreign keys, which SQLite leaves off by default.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets `db status` and scans read while an import writes. NORMAL sync in WAL mode
        # loses no committed data on a process crash, only on power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def schema_is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == head


def upgrade_schema(engine: Engine) -> None:
    """Apply every migration the database lacks, in one transaction."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_engine(url: str | None = None) -> Engine:
    """Create an engine for `url` (resolved as in `resolve_url`) with an up-to-date schema."""
    engine = create_database_engine(resolve_url(url))
    if not schema_is_current(engine):
        upgrade_schema(engine)
    return engine
