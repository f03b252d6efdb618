"""The embeddable cost calculator and its JSON API (``pip install 'ketacost[web]'``).

    ketacost serve --config web.yaml --host 127.0.0.1 --port 8000

A clinic's site embeds the page with ``<script src="https://calc.example/embed.js"></script>``
(or an ``<iframe src="https://calc.example/calculator">``). FastAPI and uvicorn are imported
only when an app is built or served, so this package imports without them.

``ketacost serve`` bounds what a client can hold (the ``server:`` settings of the
configuration, see :class:`ServerSettings`): the request line and headers must arrive within
``header_timeout_seconds`` and the body within ``body_timeout_seconds`` (else 408); an idle
connection is closed after ``timeout_keep_alive_seconds``; beyond ``limit_concurrency``
connections and requests a request gets a 503 at once; SIGTERM stops the server within
``timeout_graceful_shutdown_seconds``. Put a reverse proxy in front for more than this (many
addresses at once, TLS).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketacost._errors import KetacostError
from ketacost._yaml import SourceMap, validate

from ._config import (
    Limits,
    ServerSettings,
    Treatment,
    WebConfig,
    WebConfigError,
    load_web_config,
    resolve,
)
from ._service import Calculator, CalculatorInput, EstimateResponse
from ._summary import Summary, summarize

if TYPE_CHECKING:
    import asyncio

    from fastapi import FastAPI

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
    try:
        __import__(module)
    except ImportError:
        raise ImportError(
            f"the web calculator needs {module}: pip install 'ketacost[web]'"
        ) from None


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
        ImportError: FastAPI is not installed.
    """
    _need("fastapi")
    from ._app import build_app

    return build_app(resolve(config), today=today)


def serve(
    config: str | os.PathLike[str] | Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    server: Mapping[str, int] | None = None,
) -> None:
    """Serve the calculator with uvicorn until interrupted (``ketacost serve``).

    Args:
        config: a configuration file, or ``None`` for the defaults (the bundled example
            clinic, every bundled payer, no embedding origins).
        host: the interface to listen on.
        port: the TCP port.
        server: settings that replace the file's ``server:`` ones (the command line's
            options), e.g. ``{"limit_concurrency": 16}``; checked against the same ranges.

    Raises:
        ListenError: the address cannot be listened on (the port is in use, ...).
        WebConfigError: the configuration, or a setting in ``server``, is invalid.

    uvicorn's access log is off: it would record each client's address and path. The app logs
    only route, status and duration (logger ``ketacost.web``, level DEBUG), and counts
    them in ``app.state.metrics``. A message repeated by many clients (uvicorn's "Invalid
    HTTP request received.", one per bad connection) is logged at most 5 times a minute.
    """
    _need("uvicorn")
    import uvicorn

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
    app = create_app(web_config)
    # Try the address first, so a busy port or an unknown host is one line (ListenError),
    # not uvicorn's log and exit code 3. uvicorn then binds it itself: handing it this socket
    # instead cost ~40 ms a request (measured with benchmarks/bench_web.py: 86 against 454
    # requests/s).
    listen(host, port).close()
    uvicorn_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="info",
        http=_protocol(settings.header_timeout_seconds),
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.timeout_keep_alive_seconds,
        timeout_graceful_shutdown=settings.timeout_graceful_shutdown_seconds,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        backlog=settings.backlog,
    )
    # after uvicorn.Config, which configures its loggers
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "ketacost.web")]
    throttle = _Throttle()
    for logger in loggers:
        logger.addFilter(throttle)
    try:
        uvicorn.Server(uvicorn_config).run()
    finally:
        for logger in loggers:
            logger.removeFilter(throttle)


class _Throttle(logging.Filter):
    """At most ``most`` records of one message (its template) per ``period`` seconds; the
    next one let through says how many were dropped. A flood of slow or broken connections
    once wrote 79 MB of log in 40 s.

    >>> t = _Throttle(most=2)
    >>> [t.filter(logging.makeLogRecord({"msg": "bad request"})) for _ in range(3)]
    [True, True, False]
    """

    def __init__(
        self, most: int = 5, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.most, self.period, self.clock = most, period, clock
        #: message -> (start of its window, records in the window, records dropped)
        self.windows: dict[str, tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)[:200]
        now = self.clock()
        if len(self.windows) > 1_000:  # messages built with their data: never a key each
            self.windows.clear()
        start, seen, dropped = self.windows.get(key, (now, 0, 0))
        if now - start >= self.period:
            start, seen = now, 0
        if seen >= self.most:
            self.windows[key] = (start, seen, dropped + 1)
            return False
        self.windows[key] = (start, seen + 1, 0)
        if dropped:
            record.msg = f"{record.msg} ({dropped} more like this were not logged)"
        return True


def _protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request line and headers have not
    all arrived ``header_timeout`` seconds after it opened or after the request's first byte;
    and answering a request beyond ``limit_concurrency`` with the app's 503 problem (JSON,
    with the security headers) instead of uvicorn's plain text.

    uvicorn (0.54) has no header time-out: its keep-alive timer starts only after a response
    and stops at the next byte, so a client sending a header a byte at a time (slowloris)
    holds a connection, and a place under ``limit_concurrency``, for as long as it likes.
    The body's time-out is the app's (``body_timeout_seconds``, a 408).
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from ._app import BUSY

    class GuardedProtocol(H11Protocol):
        head_timer: asyncio.TimerHandle | None = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # the same test as uvicorn's (which runs before the request's task exists)
            limit, self.limit_concurrency = self.limit_concurrency, None
            app = self.app

            async def limited(scope: Any, receive: Any, send: Any) -> None:
                if limit is not None and (
                    len(self.connections) >= limit or len(self.tasks) > limit
                ):
                    scope[BUSY] = True
                await app(scope, receive, send)

            self.app = limited

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self._await_head()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._await_head()  # a new request: its head is due from now (or before)
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._head_arrived()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_arrived()
            super().connection_lost(exc)

        def _await_head(self) -> None:
            if self.head_timer is None:
                self.head_timer = self.loop.call_later(header_timeout, self._head_late)

        def _head_arrived(self) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None

        def _head_late(self) -> None:
            self.head_timer = None
            if not self.transport.is_closing():
                self.transport.close()  # nothing to answer: the request never arrived

    return GuardedProtocol
