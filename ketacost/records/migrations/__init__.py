"""Alembic migrations of the records database, run by :func:`ketacost.records.init_records`."""
