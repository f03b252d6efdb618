"""The embeddable cost calculator and its JSON API (``pip install 'ketacost[web]'``).

    ketacost serve --config web.yaml --host 127.0.0.1 --port 8000 [--workers 2]

(``--workers``: one process per core, see ``_workers``) or, under an ASGI server of the
clinic's choice, the factory :func:`app_from_env` (configured by ``KETACOST_*`` environment
variables, the same as ``ketacost serve``'s)::

    uvicorn --factory ketacost.web:app_from_env --host 127.0.0.1 --port 8000
    export PROMETHEUS_MULTIPROC_DIR=/run/ketacost-metrics  # empty, for every worker
    gunicorn -k uvicorn_worker.UvicornWorker -w 4 'ketacost.web:app_from_env()'

For operators: ``GET /healthz`` (the rules hash and version), ``GET /metrics`` (Prometheus:
counts and timings only) and an access log (logger ``ketacost.access``; see ``_ops``). Every
error is an RFC 9457 problem (``application/problem+json``; see ``_problems``).

A clinic's site embeds the page with ``<script src="https://calc.example/embed.js"></script>``
(or an ``<iframe src="https://calc.example/calculator">``). FastAPI and uvicorn are imported
only when an app is built or served, so this package imports without them.

``ketacost serve`` bounds what a client can hold (the ``server:`` settings of the
configuration, see :class:`ServerSettings`): the request line and headers must arrive within
``header_timeout_seconds`` and the body within ``body_timeout_seconds`` (else 408); a
connection whose answer the client does not read for ``send_timeout_seconds`` is dropped; an
idle connection is closed after ``timeout_keep_alive_seconds``; beyond ``limit_concurrency``
connections and requests a request gets a 503 at once; SIGTERM stops the server within
``timeout_graceful_shutdown_seconds``. Put a reverse proxy in front for more than this (many
addresses at once, TLS).
"""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ketacost._errors import KetacostError
from ketacost._extras import require
from ketacost._source import SourceMap
from ketacost._validation import validate

from ._config import (
    Limits,
    ServerSettings,
    Treatment,
    WebConfig,
    WebConfigError,
    load_web_config,
    resolve,
)
from ._env import app_from_env
from ._server import (
    WorkerError,
    connection_settings,
    freeze_startup,
    guarded_protocol,
    throttled_logs,
)
from ._service import Calculator, CalculatorInput, EstimateResponse
from ._summary import Summary, summarize

if TYPE_CHECKING:
    from fastapi import FastAPI

#: The most worker processes ``serve`` starts.
MAX_WORKERS = 32

__all__ = [
    "Calculator",
    "CalculatorInput",
    "EstimateResponse",
    "Limits",
    "ListenError",
    "ServerSettings",
    "Summary",
    "Treatment",
    "WebConfig",
    "WebConfigError",
    "WorkerError",
    "app_from_env",
    "create_app",
    "load_web_config",
    "serve",
    "summarize",
]


class ListenError(KetacostError, OSError):
    """The server cannot listen on the address asked for (busy port, unknown host, ...)."""


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``.

    Raises:
        ListenError: one line saying why not (the port is in use, the host is unknown).
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ListenError(
            f"cannot listen on {host}:{port}: {reason[:1].lower()}{reason[1:]}"
        ) from None


def _need(module: str) -> None:
    require(module, "web", library=module, feature="the web calculator")


def _need_all() -> None:
    for module in ("fastapi", "prometheus_client"):
        _need(module)


def create_app(config: WebConfig, *, today: Callable[[], date] = date.today) -> FastAPI:
    """The calculator as an ASGI application.

    Args:
        config: which clinic, payers, treatments and embedding origins
            (:func:`load_web_config` reads one from a file; ``WebConfig()`` is the default).
        today: where the page's default first-visit date comes from (a clock; tests pass a
            fixed date). The estimates themselves depend only on the request.

    Raises:
        WebConfigError, ClinicFileError, PayerFileError: the configuration or a file it names
            is invalid.
        MissingExtraError: FastAPI is not installed (``pip install 'ketacost[web]'``).
    """
    _need_all()
    from ._app import build_app

    return build_app(resolve(config), today=today)


def serve(
    config: str | os.PathLike[str] | Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    server: Mapping[str, int] | None = None,
    access_log: str = "text",
    workers: int = 1,
) -> None:
    """Serve the calculator with uvicorn until interrupted (``ketacost serve``).

    Args:
        config: a configuration file, or ``None`` for the defaults (the bundled example
            clinic, every bundled payer, no embedding origins).
        host: the interface to listen on.
        port: the TCP port.
        server: settings that replace the file's ``server:`` ones (the command line's
            options), e.g. ``{"limit_concurrency": 16}``; checked against the same ranges.
        access_log: ``text`` (the default), ``json`` (JSON lines) or ``off``: each request's
            method, route template, status and duration on standard output (logger
            ``ketacost.access``; see :func:`ketacost.web._ops.configure_access_log`).
        workers: processes that answer (1 to 32); more than one share the address under
            uvicorn's supervisor, each with these settings (``limit_concurrency`` holds per
            process) and, unless ``PROMETHEUS_MULTIPROC_DIR`` is set, one metrics folder made
            for them (see :mod:`ketacost.web._workers`). From the main thread only, and in
            a script under ``if __name__ == "__main__":`` (each worker imports it again).

    Raises:
        ListenError: the address cannot be listened on (the port is in use, ...).
        WebConfigError: the configuration, or a setting in ``server``, is invalid.
        WorkerError: (``workers`` > 1) a worker could not start, e.g. its files changed
            since the server started; every worker has been stopped.

    uvicorn's access log is off: it would record each client's address and path. The app logs
    only method, route template, status and duration (``access_log``), and counts them at
    ``GET /metrics``. A message repeated by many clients (uvicorn's "Invalid
    HTTP request received.", one per bad connection) is logged at most 5 times a minute.
    """
    _need_all()
    _need("uvicorn")
    import uvicorn

    from ._ops import ACCESS_LOG, configure_access_log

    if access_log not in ACCESS_LOG:
        raise ValueError(f"access_log must be one of text, json, off (got {access_log!r})")
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be from 1 to {MAX_WORKERS} (got {workers!r})")

    web_config = load_web_config(config)
    if server:
        settings = validate(
            ServerSettings,
            {**web_config.server.model_dump(), **server},
            SourceMap.empty("<command line>"),
            WebConfigError,
        )
        web_config = web_config.model_copy(update={"server": settings})  # validated just now
    settings = web_config.server
    from ._app import build_app

    resolved = resolve(web_config)  # with workers: the files checked before any starts
    # Try the address first, so a busy port or an unknown host is one line (ListenError),
    # not uvicorn's log and exit code 3. uvicorn then binds it itself: handing it this socket
    # instead cost ~40 ms a request (measured with benchmarks/bench_web.py: 86 against 454
    # requests/s).
    listen(host, port).close()
    if workers > 1:
        from ._workers import run_workers

        run_workers(config, resolved, host=host, port=port, access_log=access_log, workers=workers)
        return
    app = build_app(resolved)
    freeze_startup()
    configure_access_log(access_log)
    uvicorn_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="info",
        http=guarded_protocol(settings.header_timeout_seconds, settings.send_timeout_seconds),
        **connection_settings(settings),
    )
    try:
        with throttled_logs():  # after uvicorn.Config, which configures its loggers
            uvicorn.Server(uvicorn_config).run()
    finally:
        gc.unfreeze()  # the caller's process as it was (freeze_startup)
