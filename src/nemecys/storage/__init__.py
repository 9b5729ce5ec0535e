"""The local advisory database: SQLAlchemy 2 models, Alembic migrations, `SqlStore`, `nemecys db`.

`SqlStore.open(url)` returns the store that the matcher and the triage workflow use. It works
on a SQLite file (the default, in the user's data folder) or on PostgreSQL, and it migrates
the schema when it opens the database.
"""

from nemecys.storage.store import SqlStore

__all__ = ["SqlStore"]
