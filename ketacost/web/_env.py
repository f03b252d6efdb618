"""The factory :func:`app_from_env`: the calculator configured by ``KETACOST_*`` variables.

The variables, and which option of ``ketacost serve`` each one sets, are one table:
``ENV`` in :mod:`ketacost.cli._serve` (documented there, and in ``ketacost serve --help``).
The factory reads those that shape the app (``KETACOST_WEB_CONFIG``, ``KETACOST_ACCESS_LOG``,
``KETACOST_BODY_TIMEOUT``); under uvicorn or gunicorn the connection settings are the
server's own options (uvicorn's ``--limit-concurrency``, ``--timeout-keep-alive``, ...), and
the factory logs a warning naming any such variable that is set, and any such ``server:``
setting of the configuration file that is not its default, rather than ignore it silently.
An empty variable counts as not set.

Called by the server (no argument), a bad variable or configuration file is one line logged
at ERROR on ``ketacost.web`` and exit code 3 (gunicorn's "worker failed to boot": it stops
rather than restart the worker forever), never a traceback.

With ``KETACOST_ACCESS_LOG`` not set, an operator's logging is left alone: when the logger
``ketacost.access`` or the root logger already has a handler (``gunicorn --log-config``,
``uvicorn --log-config``), the access records go to those handlers, at INFO, and no handler
of the factory's own is added (it would write every line twice).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from ketacost._errors import FileIssue, KetacostError

from ._config import (
    ServerSettings,
    WebConfig,
    WebConfigError,
    load_web_config,
    server_setting_problem,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["FACTORY_OPTIONS", "app_from_env"]

#: The options whose variables the factory reads.
FACTORY_OPTIONS = ("config", "access-log", "body-timeout")
#: Exit code of a factory that cannot build the app (gunicorn: the worker failed to boot).
BOOT_ERROR = 3

log = logging.getLogger("ketacost.web")


def _error(variable: str, message: str) -> WebConfigError:
    """The error of a variable: ``KETACOST_BODY_TIMEOUT: must be at least 1 (got 0)``."""
    return WebConfigError([FileIssue(variable, 0, 0, "", message)])


def _names() -> dict[str, str]:
    from ketacost.cli._serve import ENV

    return ENV


def _get(environ: Mapping[str, str], option: str) -> str | None:
    value = environ.get(_names()[option], "")
    return value or None


def _body_timeout(environ: Mapping[str, str]) -> int | None:
    text = _get(environ, "body-timeout")
    if text is None:
        return None
    name = _names()["body-timeout"]
    try:
        seconds = int(text)
    except ValueError:
        raise _error(name, f"must be a whole number of seconds (got {text!r})") from None
    problem = server_setting_problem("body_timeout_seconds", seconds)
    if problem is not None:
        raise _error(name, problem)
    return seconds


def access_log_form(environ: Mapping[str, str]) -> str:
    """``KETACOST_ACCESS_LOG``: ``text`` (when not set), ``json`` or ``off``."""
    form = _get(environ, "access-log") or "text"
    if form not in ("text", "json", "off"):
        raise _error(_names()["access-log"], f"must be one of text, json, off (got {form!r})")
    return form


def app_from_env(environ: Mapping[str, str] | None = None) -> FastAPI:
    """The calculator app, configured by ``KETACOST_*`` environment variables.

    A factory for ASGI servers, called with no argument::

        uvicorn --factory ketacost.web:app_from_env --host 127.0.0.1 --port 8000
        export PROMETHEUS_MULTIPROC_DIR=/run/ketacost-metrics  # empty, for every worker
        gunicorn -k uvicorn_worker.UvicornWorker -w 4 'ketacost.web:app_from_env()'

    Reads ``KETACOST_WEB_CONFIG`` (the configuration file; none: the defaults),
    ``KETACOST_BODY_TIMEOUT`` (replaces ``server.body_timeout_seconds``) and
    ``KETACOST_ACCESS_LOG`` (``text``, the default, ``json`` or ``off``: the access log on
    standard output, in place of uvicorn's own, which is turned off). The other variables
    are ``ketacost serve``'s (``ketacost.cli._serve.ENV``).

    Args:
        environ: the variables. Not given (the server's call): ``os.environ``, and an error
            is logged (one line, ERROR, logger ``ketacost.web``) and ends the process with
            exit code 3 (``BOOT_ERROR``); the app built, what the process holds is put out
            of the garbage collector's sight for good (``gc.freeze()``, see
            :func:`ketacost.web._server.freeze_startup`), as suits a server's process.

    Raises:
        WebConfigError: (``environ`` given) a variable's value is not valid, or the
            configuration file it names (or a file that names) is missing or invalid; the
            message starts with the variable's name.
        SystemExit: (``environ`` not given) the same, after logging it.
    """
    if environ is not None:
        return _app(environ)
    try:
        app = _app(os.environ)
    except WebConfigError as exc:
        log.error("Cannot start the calculator: %s", exc)
        sys.exit(BOOT_ERROR)
    from ._server import freeze_startup

    freeze_startup()  # the server's process: its rules and app live as long as it does
    return app


def _app(env: Mapping[str, str]) -> FastAPI:
    """The app of ``env`` (see :func:`app_from_env`); raises WebConfigError."""
    from . import create_app

    form = access_log_form(env)
    body_timeout = _body_timeout(env)
    path = _get(env, "config")
    try:
        config = load_web_config(path)
    except KetacostError as exc:  # the file is missing or invalid, or a file it names
        raise _error(_names()["config"], str(exc)) from None
    if body_timeout is not None:
        server = config.server.model_copy(update={"body_timeout_seconds": body_timeout})
        config = config.model_copy(update={"server": server})  # checked by _body_timeout
    app = create_app(config)
    _access_log(form, explicit=_get(env, "access-log") is not None)
    # uvicorn's own access log (on unless --no-access-log) records the client's address and
    # the whole path with its query: this app logs requests itself, without them
    logging.getLogger("uvicorn.access").disabled = True
    _warn_ignored(env, config)
    return app


def _access_log(form: str, *, explicit: bool) -> None:
    """Set up the access log, or leave an operator's logging alone (see the module's doc)."""
    from ._ops import OURS, AccessLog, access, configure_access_log

    theirs = [h for h in access.handlers if not getattr(h, OURS, False)]
    if explicit or not (theirs or logging.getLogger().handlers):
        configure_access_log(cast("AccessLog", form))
    elif access.level == logging.NOTSET:
        access.setLevel(logging.INFO)


def _warn_ignored(env: Mapping[str, str], config: WebConfig) -> None:
    """Warn of each ``ketacost serve``-only variable set, and file setting not the default."""
    ignored = [n for o, n in _names().items() if o not in FACTORY_OPTIONS and env.get(n)]
    if ignored:
        log.warning(
            "%s: read by `ketacost serve` only; under uvicorn or gunicorn use the server's own "
            "options",
            ", ".join(ignored),
        )
    settings = [
        f"server.{name}"
        for name, field in ServerSettings.model_fields.items()
        if name != "body_timeout_seconds" and getattr(config.server, name) != field.default
    ]
    if settings:
        log.warning(
            "%s (configuration file): read by `ketacost serve` only; under uvicorn or gunicorn "
            "use the server's own options",
            ", ".join(settings),
        )
