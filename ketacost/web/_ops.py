"""What an operator sees of the calculator: metrics, access logs, and the guard around it.

Metrics (``GET /metrics``, Prometheus text format, through ``prometheus_client``):

- ``ketacost_http_requests_total{route, method, status}``: requests answered;
- ``ketacost_http_request_duration_seconds{route, method}``: a histogram of their times.

``route`` is the route's template (``/v1/estimate``, seen below the ASGI ``root_path``, so the
same behind ``uvicorn --root-path /calc``), or ``other`` for a path the app does not serve: a
path can carry data, and a label of its own per path would grow without bound. For the same
reason ``method`` is one of :data:`METHODS`, or ``other`` for any other token a client sends
(in the access log too).
Nothing of a request's content (body, query, headers) is ever recorded. Each app has its own
registry, so several apps in one process (tests) do not share counts. With several worker
processes (gunicorn ``-w 4``), each process counts its own requests, and a scrape reaches one
of them; set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder, the same for every worker, before
the server starts (and empty it at each start), and ``/metrics`` answers the sum over the
workers (``prometheus_client``'s multiprocess mode). The folder is checked when the app is
built (it must exist and be writable: else :class:`WebConfigError` naming the variable); a
failure to record a request later is logged once and never turns an answer into an error.

Access log: one record per request on the logger ``ketacost.access`` (level INFO) with the
method, the route template, the status and the duration in milliseconds, as attributes
``method``, ``route``, ``status``, ``duration_ms`` of the record and as its message
(``POST /v1/estimate 200 12.3 ms``). Never the body, the query, the client's address or a
path the app does not serve. :func:`configure_access_log` writes them as text or JSON lines.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import IO, Any, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from ketacost._errors import FileIssue

from ._config import WebConfigError
from ._problems import problem

__all__ = [
    "ACCESS_LOG",
    "BUSY",
    "METHODS",
    "AccessLog",
    "Guard",
    "Metrics",
    "configure_access_log",
]

log = logging.getLogger("ketacost.web")
access = logging.getLogger("ketacost.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the method of a HEAD request is kept while the app sees it as a GET (see Guard).
HEAD = "ketacost.head"
#: Set in a request's scope by ``ketacost serve`` beyond its ``limit_concurrency``: the answer
#: is a 503 problem, with the headers, and the app is not run.
BUSY = "ketacost.busy"
INTERNAL_ERROR = "internal error; the clinic has been told. Please try again later."
#: The access log's forms (``--access-log``).
AccessLog = Literal["text", "json", "off"]
ACCESS_LOG: tuple[AccessLog, ...] = ("text", "json", "off")
#: Seconds: most answers take milliseconds; an estimate may take up to ``limits.max_seconds``.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The methods named in metrics and logs as they are; any other is ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The variable of ``prometheus_client``'s multiprocess mode.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: Marks the handler :func:`configure_access_log` installed (replaced, never added twice).
OURS = "_ketacost_access"


class Metrics:
    """Request counts and durations in a registry of this app's own."""

    def __init__(self) -> None:
        """A registry with the two metrics (checks ``PROMETHEUS_MULTIPROC_DIR`` when set).

        Raises:
            WebConfigError: ``PROMETHEUS_MULTIPROC_DIR`` names no folder, or one this
                process cannot write to.
        """
        _check_multiproc_dir(os.environ.get(MULTIPROC_DIR, ""))
        self.failed = False  # a record failed (logged once)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ketacost_http_requests",
            "Requests answered, by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "ketacost_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template and method.",
            ("route", "method"),
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration; a failure is logged once, not raised."""
        try:
            self.requests.labels(route, method, str(status)).inc()
            self.duration.labels(route, method).observe(seconds)
        except Exception as exc:  # e.g. the multiprocess folder removed after the start
            if not self.failed:
                self.failed = True
                log.error(
                    "Could not record a request's metrics (%s: %s); requests are still "
                    "answered, further failures are not logged",
                    type(exc).__name__,
                    exc,
                )

    def count(self, route: str, status: int, method: str = "POST") -> float:
        """Requests answered so far on ``route`` with ``status`` (0 when none)."""
        labels = {"route": route, "method": method, "status": str(status)}
        return self.registry.get_sample_value("ketacost_http_requests_total", labels) or 0.0

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format: the workers' sum in multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def _check_multiproc_dir(folder: str) -> None:
    """``PROMETHEUS_MULTIPROC_DIR``, when set, names a folder this process can write to."""
    if not folder:
        return
    if not os.path.isdir(folder):
        why = "names no folder" if not os.path.exists(folder) else "is not a folder"
    elif not os.access(folder, os.W_OK | os.X_OK):
        why = "names a folder this process cannot write to"
    else:
        return
    message = f"{why} ({folder}); create it, empty, before the server starts"
    raise WebConfigError([FileIssue(MULTIPROC_DIR, 0, 0, "", message)])


def route_path(scope: Scope) -> str:
    """The request's path below the ASGI ``root_path`` (the path the app's routes match)."""
    path: str = scope.get("path", "")
    root = str(scope.get("root_path", "")).rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


def method_label(method: object) -> str:
    """The method as metrics and logs name it: one of :data:`METHODS`, or ``other``."""
    return method if isinstance(method, str) and method in METHODS else "other"


class _JsonLines(logging.Formatter):
    """An access record as one JSON object a line (the fields of the module's doc)."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        }
        for name in ("method", "route", "status", "duration_ms"):
            line[name] = getattr(record, name, None)
        return json.dumps(line)


def configure_access_log(form: AccessLog, stream: IO[str] | None = None) -> None:
    """Write ``ketacost.access`` records to ``stream`` (default stdout) as text or JSON lines.

    ``off`` logs nothing. Calling it again replaces what an earlier call set up. The records
    no longer reach the root logger, so they are not written twice.

    Args:
        form: ``text`` (``2026-01-05T09:30:00.123Z POST /v1/estimate 200 12.3 ms``), ``json``
            (``{"time": ..., "method": ..., "route": ..., "status": ..., "duration_ms": ...}``)
            or ``off``.
        stream: where the lines go (default: standard output, as uvicorn's access log).
    """
    for handler in [h for h in access.handlers if getattr(h, OURS, False)]:
        access.removeHandler(handler)
    if form == "off":
        access.setLevel(logging.WARNING)
        return
    handler = logging.StreamHandler(stream or sys.stdout)
    setattr(handler, OURS, True)
    if form == "json":
        handler.setFormatter(_JsonLines())
    else:
        text = logging.Formatter("%(asctime)s.%(msecs)03dZ %(message)s", "%Y-%m-%dT%H:%M:%S")
        text.converter = time.gmtime
        handler.setFormatter(text)
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


class Guard:
    """Security headers, metrics, the access log, HEAD, and the last-resort 500.

    Security headers on every response; a count, a timing and an access record of every
    request; HEAD served as GET without the body; and the last resort: an unexpected
    exception becomes a 500 problem (inside this middleware, so it carries the headers too;
    Starlette's own handler sits outside every middleware and answers plain text).
    """

    def __init__(
        self,
        app: ASGIApp,
        headers: list[tuple[bytes, bytes]],
        metrics: Metrics,
        routes: AbstractSet[str],
    ) -> None:
        """Wrap ``app``; ``routes`` are the route templates named in metrics and logs."""
        self.app = app
        self.headers = headers
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request (or pass any other scope through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500
        started = False
        head = scope.get("method") == "HEAD"
        if head:
            # RFC 9110 9.3.2: HEAD is GET without the content, so every GET route has it
            scope = {**scope, "method": "GET", HEAD: True}

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", ()), *self.headers]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        path = scope.get("path", "")
        below = route_path(scope)
        route = below if below in self.routes else "other"
        method = "HEAD" if head else method_label(scope.get("method"))
        try:
            if scope.get(BUSY):
                log.warning("Exceeded the concurrency limit: answered 503.")
                await problem(
                    "busy",
                    "the calculator is busy; please try again in a minute",
                    path,
                    headers={"retry-after": "60", "connection": "close"},
                )(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            _log_internal_error(method, route, exc)
            if not started:  # else uvicorn closes the connection: the answer is cut short
                response = problem("internal-error", INTERNAL_ERROR, path)
                await response(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - began
            self.metrics.record(route, method, status, elapsed)
            if access.isEnabledFor(logging.INFO):
                ms = round(elapsed * 1e3, 1)
                fields = {"method": method, "route": route, "status": status, "duration_ms": ms}
                access.info("%s %s %d %.1f ms", method, route, status, ms, extra=fields)


def _log_internal_error(method: str, route: str, exc: Exception) -> None:
    """Log where an unexpected exception was raised, and its type.

    Not its message, which may quote the request (the one thing this app never logs).
    """
    where = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s %s answered 500: %s raised at\n%s", method, route, type(exc).__name__, where)
