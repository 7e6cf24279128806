"""Metadata store: SQLAlchemy models, Alembic migrations, and repositories."""
