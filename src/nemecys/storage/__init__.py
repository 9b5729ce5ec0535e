"""The local advisory database: SQLAlchemy 2 models and Alembic migrations."""
