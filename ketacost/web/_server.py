"""How ``ketacost serve`` holds up under slow, broken or many clients.

uvicorn's h11 protocol with a header time-out, a send time-out and the app's 503, and a log
filter against floods.

Imported by :func:`ketacost.web.serve`; uvicorn itself is imported only inside
:func:`guarded_protocol`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ketacost._errors import KetacostError

if TYPE_CHECKING:
    import asyncio

    from ._config import ServerSettings

__all__ = [
    "THROTTLED",
    "Throttle",
    "WorkerError",
    "connection_settings",
    "freeze_startup",
    "guarded_protocol",
    "send_at_once",
    "throttle_logs",
    "throttled_logs",
]

#: The loggers :func:`throttle_logs` guards against floods.
THROTTLED = ("uvicorn.error", "ketacost.web")


class Throttle(logging.Filter):
    """At most ``most`` records of one message (its template) per ``period`` seconds.

    The next one let through says how many were dropped. A flood of slow or broken
    connections once wrote 79 MB of log in 40 s.

    >>> t = Throttle(most=2)
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


class WorkerError(KetacostError, RuntimeError):
    """A worker of ``ketacost serve --workers`` could not start: the server has stopped."""


def connection_settings(settings: ServerSettings) -> dict[str, Any]:
    """The options of ``uvicorn.Config`` for the ``server:`` settings uvicorn applies itself.

    The header and send time-outs are :func:`guarded_protocol`'s, the body's the app's.
    """
    return {
        "limit_concurrency": settings.limit_concurrency,
        "timeout_keep_alive": settings.timeout_keep_alive_seconds,
        "timeout_graceful_shutdown": settings.timeout_graceful_shutdown_seconds,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "backlog": settings.backlog,
    }


def freeze_startup() -> None:
    """Put what the process has made so far (the rules, the app) out of the collector's sight.

    A server process keeps its rules and app for its life: after a collection of what is
    already garbage, ``gc.freeze()`` moves the rest to the permanent generation, so the
    collections that an estimate's many short-lived objects set off scan only those. In a
    one-process server under 4 clients (about 700 requests for one year of esketamine), the
    oldest generation's collections took 0.30 s over 7 (about 43 ms each: pauses that set
    the p99) before, 0.04 s after. Called by :func:`ketacost.web.serve` (which undoes it
    with ``gc.unfreeze()`` when it returns), by each worker of ``serve --workers``, and by
    :func:`ketacost.web.app_from_env` when called without arguments, as a server does.
    """
    gc.collect()
    gc.freeze()


def throttle_logs() -> Throttle:
    """Add one :class:`Throttle` to the loggers a flood of bad clients could fill; returned."""
    throttle = Throttle()
    for name in THROTTLED:
        logging.getLogger(name).addFilter(throttle)
    return throttle


@contextmanager
def throttled_logs() -> Iterator[None]:
    """:func:`throttle_logs` for a block (a server's run), the filters taken off after it."""
    throttle = throttle_logs()
    try:
        yield
    finally:
        for name in THROTTLED:
            logging.getLogger(name).removeFilter(throttle)


def send_at_once(transport: asyncio.BaseTransport) -> None:
    """Send a TCP connection's small writes at once (``TCP_NODELAY``), as asyncio means to.

    asyncio turns Nagle's algorithm off only on a socket whose protocol number is
    ``IPPROTO_TCP``. The sockets accepted from uvicorn's bound socket (``--workers``: made as
    ``socket.socket(family)``, protocol 0) are not, so each worker held back an answer's
    body behind its head until the client acknowledged the head, which a client delays by
    40 ms or more (Linux's least; 200 ms on Windows): every small answer (``/healthz``,
    ``?detail=summary``, a problem) took that much more. A Unix socket has no such delay,
    and is left alone; a socket that refuses the option (already closed) too.
    """
    sock = transport.get_extra_info("socket")
    if (
        sock is not None
        and sock.family in (socket.AF_INET, socket.AF_INET6)
        and sock.type == socket.SOCK_STREAM
    ):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Deadlines:
    """The head and send deadlines and the app's 503 of :func:`guarded_protocol`.

    Written against uvicorn's ``H11Protocol`` (the class it is mixed into).
    """

    header_timeout: float = 10.0
    send_timeout: float = 10.0
    idle: Any = None  # h11.IDLE, set with the class
    head_timer: asyncio.TimerHandle | None = None
    send_timer: asyncio.TimerHandle | None = None
    # set by H11Protocol
    loop: Any
    transport: Any
    conn: Any
    app: Any
    connections: Any
    tasks: Any
    limit_concurrency: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from ._ops import BUSY

        # the same test as uvicorn's (which runs before the request's task exists)
        limit, self.limit_concurrency = self.limit_concurrency, None
        app = self.app

        async def limited(scope: Any, receive: Any, send: Any) -> None:
            if limit is not None and (len(self.connections) >= limit or len(self.tasks) > limit):
                scope[BUSY] = True
            await app(scope, receive, send)

        self.app = limited

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        # Writing pauses as soon as a byte waits in the process (the system's buffer for
        # the connection is full), and resumes when none does. So "paused" means "the
        # client is not taking the answer", also once the connection is closing (asyncio's
        # default, 64 KiB, let a closed connection with less than that unsent live on).
        self.transport.set_write_buffer_limits(high=0)
        self._await_head()
        send_at_once(transport)  # after the guards: they hold even if it cannot

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is self.idle:
            self._await_head()  # a new request: its head is due from now (or before)
        super().data_received(data)  # type: ignore[misc]
        if self.conn.their_state is not self.idle:
            self._head_arrived()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        self._sent()
        super().connection_lost(exc)  # type: ignore[misc]

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        if self.send_timer is None:
            self.send_timer = self.loop.call_later(self.send_timeout, self._send_late)

    def resume_writing(self) -> None:
        self._sent()
        super().resume_writing()  # type: ignore[misc]

    def _await_head(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.header_timeout, self._head_late)

    def _head_arrived(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_late(self) -> None:
        self.head_timer = None
        if not self.transport.is_closing():
            self.transport.close()  # nothing to answer: the request never arrived

    def _sent(self) -> None:
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None

    def _send_late(self) -> None:
        self.send_timer = None
        # not close(), which would wait for the unsent bytes: abort() drops them, and
        # connection_lost wakes the request waiting to send, which then ends
        self.transport.abort()


def guarded_protocol(header_timeout: float, send_timeout: float) -> type[asyncio.Protocol]:
    """The h11 protocol of uvicorn, with two deadlines it lacks, and the app's 503.

    - The head: a connection whose request line and headers have not all arrived
      ``header_timeout`` seconds after it opened, or after the request's first byte, is
      closed. uvicorn (0.54) has no such time-out: its keep-alive timer starts only after a
      response and stops at the next byte, so a client sending a header a byte at a time
      (slowloris) held a connection, and a place under ``limit_concurrency``, for good.
    - The answer: a connection whose answer has waited ``send_timeout`` seconds for the
      client to take it is dropped (``transport.abort()``, which frees its place). uvicorn
      waits for a client that never reads for ever: four clients that pipelined requests and
      read nothing held every place of ``--limit-concurrency 4`` until SIGTERM.
    - Small writes leave at once (:func:`send_at_once`), whichever socket the connection
      was accepted from.
    - Beyond ``limit_concurrency`` a request is answered with the app's 503 problem (JSON,
      with the security headers) instead of uvicorn's plain text.

    The body's time-out is the app's (``body_timeout_seconds``, a 408). Pipelined requests
    wait in h11's buffer, which stays small: uvicorn stops reading while one is in progress
    (h11's ``PAUSED``), so the buffer holds at most what one read brings (256 KiB).
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedProtocol(_Deadlines, H11Protocol):
        pass

    GuardedProtocol.header_timeout = header_timeout
    GuardedProtocol.send_timeout = send_timeout
    GuardedProtocol.idle = h11.IDLE
    return GuardedProtocol
