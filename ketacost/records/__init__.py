"""Records kept for years: Good Faith Estimates, their sources, bills and dispute checks.

Needs the ``records`` extra (``pip install 'ketacost[records]'``: SQLAlchemy 2, Alembic,
psycopg 3, platformdirs), imported when a database is opened. SQLite by default, in the user's
data directory; ``url`` (or ``$KETACOST_DB``) for another file or a PostgreSQL server.

>>> from ketacost.records import init_records, rule_files_of        # doctest: +SKIP
>>> records = init_records("sqlite:////srv/clinic/records.sqlite3")  # doctest: +SKIP
>>> gfe_id = records.save_gfe(request=request, estimate=estimate, gfe=gfe, html=html,
...     pdf=pdf, rule_files=rule_files_of(request, payers))         # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ketacost._extras import require

from ._errors import NotInitialisedError, RecordNotFoundError, RecordsError, RetentionError
from ._rules import RuleFilesError, rule_files_of, used_rule_paths

if TYPE_CHECKING:
    from ._store import Records

__all__ = [
    "NotInitialisedError",
    "RecordNotFoundError",
    "Records",
    "RecordsError",
    "RetentionError",
    "RuleFilesError",
    "init_records",
    "open_records",
    "rule_files_of",
    "used_rule_paths",
]


def _require() -> None:
    for module in ("sqlalchemy", "alembic"):
        require(module, "records", feature="the records database")


def open_records(url: str | None = None, **options: Any) -> Records:
    """Open an initialised records database (creates nothing).

    Args:
        url: a database URL (default ``$KETACOST_DB``, else SQLite in the user data folder).
        options: passed to :class:`Records` (``retention_years``, ``actor``, ``clock``).

    Raises:
        NotInitialisedError: no database there, or its schema is not this version's.
        MissingExtraError: the records extra is not installed.
    """
    _require()
    from . import _db
    from ._store import Records

    parsed = _db.parse(url or _db.default_url())
    path = _db.sqlite_path(parsed)
    if path is not None and not path.is_file():
        raise NotInitialisedError(
            f"no records database at {path}: run 'ketacost records init' "
            f"(or give --db URL or ${_db.ENV})"
        )
    engine = _db.engine_for(parsed)
    try:
        _db.check_current(engine, parsed)
    except BaseException:
        engine.dispose()
        raise
    return Records(engine, parsed, **options)


def init_records(url: str | None = None, **options: Any) -> Records:
    """Create (or migrate) the records database to this version's schema, and open it.

    A SQLite file and the folders created for it are owner-only (0600 and 0700).
    """
    _require()
    from . import _db, _migrate
    from ._store import Records

    parsed = _db.parse(url or _db.default_url())
    path = _db.sqlite_path(parsed)
    if path is not None:
        _db.prepare_sqlite_file(path)
    engine = _db.engine_for(parsed)
    try:
        _db.reachable(engine, parsed)
        _migrate.upgrade(engine)
        records = Records(engine, parsed, **options)
        if not records.audit_entries():
            with engine.begin() as conn:
                records._audit(conn, "init", None, {"schema": _migrate.head_revision()})
    except BaseException:
        engine.dispose()
        raise
    return records


def __getattr__(name: str) -> Any:
    if name == "Records":
        _require()
        from ._store import Records

        return Records
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
