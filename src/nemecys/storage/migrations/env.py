"""Alembic environment: runs migrations on the connection that `upgrade_schema` passes in.

There is no alembic.ini and no URL here; `nemecys.storage.engine` builds the Config in code
and hands over an open connection in `config.attributes["connection"]`. Developers creating a
new revision do the same, e.g. with `alembic.command.revision(config, autogenerate=True)`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from nemecys.storage.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run these migrations through nemecys.storage.engine.upgrade_schema, "
        "which supplies the database connection"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most column properties; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
