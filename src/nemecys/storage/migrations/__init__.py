"""Alembic migrations of the advisory database, run from `nemecys.storage.engine`."""
