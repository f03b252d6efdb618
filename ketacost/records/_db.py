"""Where the records database is, and opening it: owner-only files, migrations run in code.

SQLite by default, in the user's data directory (``platformdirs.user_data_dir("ketacost")``);
``--db URL`` or ``KETACOST_DB`` for another file or a PostgreSQL server
(``postgresql://user@host/db``; psycopg 3 is the driver). Nothing here logs: SQLAlchemy's echo
stays off, so no statement or value (patient data) reaches a log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from ketacost._extras import require

from . import _migrate
from ._errors import NotInitialisedError, RecordsError

__all__ = [
    "ENV",
    "check_current",
    "default_url",
    "engine_for",
    "parse",
    "prepare_sqlite_file",
    "reachable",
    "shown",
    "sqlite_path",
]

#: The environment variable naming the records database.
ENV = "KETACOST_DB"
#: The SQLite file's name in the user's data directory.
DEFAULT_FILE = "records.sqlite3"


def default_url() -> str:
    """``$KETACOST_DB``, else a SQLite file in the user's data directory."""
    env = os.environ.get(ENV)
    if env:
        return env
    platformdirs = require("platformdirs", "records", feature="the records database")
    folder = Path(platformdirs.user_data_dir("ketacost"))
    return f"sqlite:///{folder / DEFAULT_FILE}"


def parse(url: str) -> URL:
    """The URL, with PostgreSQL's driver made psycopg 3 (the one the extra installs)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        why = "its port is not a number" if isinstance(exc, ValueError) else "cannot be read"
        raise RecordsError(f"not a database URL ({why}): {_hide_password(url)!r}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise RecordsError(
            f"records are kept in SQLite or PostgreSQL, not {parsed.get_backend_name()}"
        )
    return parsed


def _hide_password(url: str) -> str:
    """A URL string that did not parse, with anything that may be a password hidden.

    >>> _hide_password("postgresql://clinic:s3cret@db:x/records")
    'postgresql://clinic:***@db:x/records'
    """
    before, at, after = url.rpartition("@")
    if not at:
        return url
    scheme, sep, userinfo = before.rpartition("://")
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}{sep}{user}{colon}{'***' if colon else ''}@{after}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def shown(url: URL) -> str:
    """The URL as it may be printed (the password hidden)."""
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def prepare_sqlite_file(path: Path) -> None:
    """Create the file and the folders it needs, owner-only (0600 file, 0700 new folders).

    Folders that exist already are left as they are; the file is made 0600 even if it exists.
    """
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def engine_for(url: URL) -> Engine:
    """An engine for the URL (SQLite with foreign keys on).

    A database that cannot do what was asked (locked, gone, refused) raises a one-line
    :class:`RecordsError` naming the database with its password hidden, never the driver's
    exception or the statement (its values may be patient data).
    """
    try:
        engine = create_engine(url, echo=False, hide_parameters=True)
    except (ArgumentError, ValueError, TypeError) as exc:
        raise RecordsError(f"cannot use the records database {shown(url)}: {exc}") from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)

    def one_line(context: ExceptionContext) -> None:
        if isinstance(context.sqlalchemy_exception, OperationalError | InterfaceError):
            why = _first_line(context.original_exception)
            if context.connection is None:
                raise RecordsError(f"cannot open the records database {shown(url)}: {why}")
            raise RecordsError(f"the records database {shown(url)} failed: {why}")

    event.listen(engine, "handle_error", one_line)
    return engine


def reachable(engine: Engine, url: URL) -> None:
    """Connect once, or say which database could not be reached and why.

    Raises:
        RecordsError: the database cannot be opened (no server, refused, bad password).
    """
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise RecordsError(f"cannot open the records database {shown(url)}: {exc.orig}") from None


def check_current(engine: Engine, url: URL) -> None:
    """Refuse a database that is not at this version's newest migration.

    Raises:
        NotInitialisedError: no schema, an older one, or a newer one.
    """
    reachable(engine, url)
    current = _migrate.current_revision(engine)
    head = _migrate.head_revision()
    if current == head:
        return
    if current is None:
        has_tables = bool(inspect(engine).get_table_names())
        what = "holds other tables" if has_tables else "is empty"
        raise NotInitialisedError(
            f"the records database {shown(url)} {what}: run 'ketacost records init'"
        )
    raise NotInitialisedError(
        f"the records database {shown(url)} is at schema {current}, this ketacost needs {head}: "
        "run 'ketacost records init' to migrate it (or use the ketacost that made it)"
    )
