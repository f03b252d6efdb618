"""The factory :func:`app_from_env`: the calculator configured by ``KETACOST_*`` variables.

The variables, and which option of ``ketacost serve`` each one sets, are one table:
``ENV`` in :mod:`ketacost.cli._serve` (documented there, and in ``ketacost serve --help``).
The factory reads those that shape the app (``KETACOST_WEB_CONFIG``, ``KETACOST_ACCESS_LOG``,
``KETACOST_BODY_TIMEOUT``); under uvicorn or gunicorn the connection settings are the
server's own options (uvicorn's ``--limit-concurrency``, ``--timeout-keep-alive``, ...), and
the factory logs a warning naming any such variable that is set rather than ignore it
silently. An empty variable counts as not set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from ketacost._errors import FileIssue, KetacostError

from ._config import WebConfigError, load_web_config, server_setting_problem

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["FACTORY_OPTIONS", "app_from_env"]

#: The options whose variables the factory reads.
FACTORY_OPTIONS = ("config", "access-log", "body-timeout")


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
        gunicorn -k uvicorn_worker.UvicornWorker -w 4 'ketacost.web:app_from_env()'

    Reads ``KETACOST_WEB_CONFIG`` (the configuration file; none: the defaults),
    ``KETACOST_BODY_TIMEOUT`` (replaces ``server.body_timeout_seconds``) and
    ``KETACOST_ACCESS_LOG`` (``text``, the default, ``json`` or ``off``: the access log on
    standard output, in place of uvicorn's own, which is turned off). The other variables
    are ``ketacost serve``'s (``ketacost.cli._serve.ENV``).

    Args:
        environ: the variables (default: ``os.environ``).

    Raises:
        WebConfigError: a variable's value is not valid, or the configuration file it names
            (or a file that names) is missing or invalid; the message starts with the
            variable's name.
    """
    from . import create_app
    from ._ops import AccessLog, configure_access_log

    env = os.environ if environ is None else environ
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
    configure_access_log(cast("AccessLog", form))
    # uvicorn's own access log (on unless --no-access-log) records the client's address and
    # the whole path with its query: this app logs requests itself, without them
    logging.getLogger("uvicorn.access").disabled = True
    ignored = [n for o, n in _names().items() if o not in FACTORY_OPTIONS and env.get(n)]
    if ignored:
        logging.getLogger("ketacost.web").warning(
            "%s: read by `ketacost serve` only; under uvicorn or gunicorn use the server's own "
            "options",
            ", ".join(ignored),
        )
    return app
