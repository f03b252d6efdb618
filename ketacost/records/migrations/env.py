"""Alembic environment: run on the connection :mod:`ketacost.records._migrate` hands over.

There is no ``alembic.ini``: the configuration is built in code and carries the connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from ketacost.records._schema import metadata


def run_migrations() -> None:
    """Run the migrations on the connection handed over."""
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


# Alembic's context exists only while a command runs; imported otherwise (a test importing
# every module), this file does nothing.
if hasattr(context, "config"):
    run_migrations()
