"""The embeddable cost calculator and its JSON API (``pip install 'ketacost[web]'``).

    ketacost serve --config web.yaml --host 127.0.0.1 --port 8000

A clinic's site embeds the page with ``<script src="https://calc.example/embed.js"></script>``
(or an ``<iframe src="https://calc.example/calculator">``). FastAPI and uvicorn are imported
only when an app is built or served, so this package imports without them.
"""

from __future__ import annotations

import os
import socket
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ketacost._errors import KetacostError

from ._config import Limits, Treatment, WebConfig, WebConfigError, load_web_config, resolve
from ._service import Calculator, CalculatorInput, EstimateResponse
from ._summary import Summary, summarize

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

__all__ = [
    "Calculator",
    "CalculatorInput",
    "EstimateResponse",
    "Limits",
    "ListenError",
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
) -> None:
    """Serve the calculator with uvicorn until interrupted (``ketacost serve``).

    Args:
        config: a configuration file, or ``None`` for the defaults (the bundled example
            clinic, every bundled payer, no embedding origins).
        host: the interface to listen on.
        port: the TCP port.

    Raises:
        ListenError: the address cannot be listened on (the port is in use, ...).

    uvicorn's access log is off: it would record each client's address and path. The app logs
    only route, status and duration (logger ``ketacost.web``, level DEBUG), and counts
    them in ``app.state.metrics``.
    """
    _need("uvicorn")
    import uvicorn

    app = create_app(load_web_config(config))
    # Try the address first, so a busy port or an unknown host is one line (ListenError),
    # not uvicorn's log and exit code 3. uvicorn then binds it itself: handing it this socket
    # instead cost ~40 ms a request (measured with benchmarks/bench_web.py: 86 against 454
    # requests/s).
    listen(host, port).close()
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, access_log=False, log_level="info")
    )
    server.run()
