"""Alembic environment: run on the connection :mod:`ketacost.records._migrate` hands over.

There is no ``alembic.ini``: the configuration is built in code and carries the connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from ketacost.records._schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
